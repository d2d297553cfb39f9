/**
 * KIP-890 part 1 where the transaction coordinator is another broker: before a transactional
 * batch (or a TxnOffsetCommit) is appended to a partition, its leader asks the coordinator
 * with AddPartitionsToTxn v4+ `verifyOnly` whether the partition is in the producer's ongoing
 * transaction. A guard (partition-txns.ts) made before the question is asked is dropped when a
 * marker of that producer lands, so an answer that was true when given but is stale by the
 * append (the transaction ended meanwhile) cannot let a batch in after its marker. A verified
 * guard stands for the rest of the transaction: later batches of the same producer and epoch
 * need no round trip.
 *
 * Where the coordinator is this broker, the produce path checks its state synchronously at the
 * append instead (coordinator.ts checkProduce), which is stronger and free.
 */
import type { BrokerContext } from '../broker/api/context.js';
import type { Partition } from '../broker/partition.js';
import { ErrorCode, KafkaError, errorName } from '../protocol/error-codes.js';
import { coordinatorNode, TRANSACTION_KEY } from '../broker/api/coordinator-placement.js';
import type { VerificationGuard } from './partition-txns.js';

/** Coordinator answers that mean "not now" rather than "no". */
const RETRIABLE = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.CONCURRENT_TRANSACTIONS, ErrorCode.REQUEST_TIMED_OUT]);

/**
 * True when this broker must ask another one: it is in a cluster and does not coordinate
 * `transactionalId` itself.
 */
export function needsRemoteVerification(ctx: BrokerContext, transactionalId: string): boolean {
  return ctx.cluster !== undefined && ctx.transactions !== undefined && !ctx.transactions.coordinates(transactionalId);
}

/**
 * Verifies that `partition` is in the ongoing transaction of `transactionalId` (producer
 * `producerId` at `producerEpoch`) and returns the guard to check with `guardHolds` right
 * before the append. Throws a KafkaError when it is not: the coordinator's own code, except
 * that "try again" answers become `retriableAs` (NOT_ENOUGH_REPLICAS for Produce, as Kafka
 * 3.6+ answers, which every producer retries).
 */
export async function verifyWithCoordinator(
  ctx: BrokerContext,
  transactionalId: string,
  producerId: number,
  producerEpoch: number,
  partition: Partition,
  retriableAs: number,
): Promise<VerificationGuard> {
  const guard = partition.txns.verificationGuard(producerId, producerEpoch);
  if (guard.verified) return guard;
  const where = `${partition.topic}-${partition.index}`;
  const code = await askCoordinator(ctx, transactionalId, producerId, producerEpoch, partition.topic, partition.index).catch((err: unknown) => {
    ctx.logger?.debug?.({ transactionalId, partition: where, err }, 'transaction verification could not reach the coordinator');
    return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  });
  if (code !== ErrorCode.NONE) {
    const why =
      code === ErrorCode.INVALID_TXN_STATE
        ? `${where} is not in an ongoing transaction of '${transactionalId}' (add it with AddPartitionsToTxn first; a batch sent after EndTxn is refused)`
        : `the coordinator of '${transactionalId}' answered ${errorName(code)} when asked whether ${where} is in its transaction`;
    throw new KafkaError(RETRIABLE.has(code) ? retriableAs : code, why);
  }
  if (partition.txns.guardHolds(producerId, guard)) guard.verified = true;
  return guard;
}

/** AddPartitionsToTxn verifyOnly for one partition, to the coordinator of `transactionalId`. */
async function askCoordinator(ctx: BrokerContext, transactionalId: string, producerId: number, producerEpoch: number, topic: string, index: number): Promise<number> {
  const coordinator = coordinatorNode(ctx, transactionalId, TRANSACTION_KEY);
  if (coordinator === ctx.nodeId) {
    return ctx.transactions?.verifyPartitions(transactionalId, producerId, producerEpoch, [{ name: topic, partitions: [index] }]).values().next().value ?? ErrorCode.COORDINATOR_NOT_AVAILABLE;
  }
  if (coordinator < 0 || ctx.brokerChannel === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  const res = await ctx.brokerChannel.request(coordinator, 24, {
    transactions: [{ transactionalId, producerId, producerEpoch, verifyOnly: true, topics: [{ name: topic, partitions: [index] }] }],
    v3AndBelowTransactionalId: '',
    v3AndBelowProducerId: -1,
    v3AndBelowProducerEpoch: -1,
    v3AndBelowTopics: [],
  });
  if (res.errorCode !== ErrorCode.NONE) return res.errorCode;
  const answer = res.resultsByTransaction.find((t) => t.transactionalId === transactionalId)?.topicResults.find((t) => t.name === topic)?.resultsByPartition.find((p) => p.partitionIndex === index);
  return answer?.partitionErrorCode ?? ErrorCode.COORDINATOR_NOT_AVAILABLE;
}
