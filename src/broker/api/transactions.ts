/**
 * The transaction APIs: InitProducerId with a transactional id, AddPartitionsToTxn (24, with
 * v4+ batched verification), AddOffsetsToTxn (25), EndTxn (26), TxnOffsetCommit (28),
 * DescribeProducers (61), DescribeTransactions (65) and ListTransactions (66). The decisions are the coordinator's
 * (src/txn/coordinator.ts); this file maps requests and answers, and gives clients of the
 * versions before KIP-588 INVALID_PRODUCER_EPOCH where newer ones get PRODUCER_FENCED.
 *
 * In a cluster a transactional id is coordinated by one broker: the leader of the
 * `__transaction_state` partition the id hashes to (coordinator-placement.ts), so every
 * instance of a producer meets the same coordinator and fencing holds. Other brokers answer
 * NOT_COORDINATOR. The coordinator sends markers to partitions led elsewhere with
 * WriteTxnMarkers (27), which this file serves too.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { partitionKey } from '../../txn/transaction-state.js';
import type { BrokerContext } from './context.js';
import { coordinatorError, transactionCoordinatorError } from './coordinator-placement.js';
import { errorCodeOf, errorMessageOf } from './errors.js';
import { servedPartition } from './leadership.js';
import { needsRemoteVerification, verifyWithCoordinator } from '../../txn/verification.js';
import { writeMarkerHere } from '../../txn/broker.js';

/** PRODUCER_FENCED exists from these versions on (KIP-588); older clients know INVALID_PRODUCER_EPOCH. */
function fenced(code: number, version: number, firstVersion: number): number {
  return code === ErrorCode.PRODUCER_FENCED && version < firstVersion ? ErrorCode.INVALID_PRODUCER_EPOCH : code;
}

export async function handleTransactionalInitProducerId(
  ctx: BrokerContext,
  req: { transactionalId: string; transactionTimeoutMs: number; producerId: number; producerEpoch: number },
  version: number,
) {
  if (ctx.transactions === undefined) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1, producerEpoch: -1 };
  const placed = transactionCoordinatorError(ctx, req.transactionalId);
  if (placed !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: placed, producerId: -1, producerEpoch: -1 };
  const expected = version >= 3 && req.producerId >= 0 ? { producerId: req.producerId, producerEpoch: req.producerEpoch } : null;
  const r = await ctx.transactions.initProducerId(req.transactionalId, req.transactionTimeoutMs, expected);
  return { throttleTimeMs: 0, errorCode: fenced(r.errorCode, version, 4), producerId: r.producerId, producerEpoch: r.producerEpoch };
}

type TxnTopics = { name: string; partitions: number[] }[];

function topicResults(topics: TxnTopics, codes: Map<string, number>) {
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: codes.get(partitionKey(t.name, p)) ?? ErrorCode.NONE })),
  }));
}

export async function handleAddPartitionsToTxn(
  ctx: BrokerContext,
  req: {
    transactions: { transactionalId: string; producerId: number; producerEpoch: number; verifyOnly: boolean; topics: TxnTopics }[];
    v3AndBelowTransactionalId: string;
    v3AndBelowProducerId: number;
    v3AndBelowProducerEpoch: number;
    v3AndBelowTopics: TxnTopics;
  },
  version: number,
) {
  const txns = ctx.transactions;
  const all = (topics: TxnTopics, code: number) => topicResults(topics, new Map(topics.flatMap((t) => t.partitions.map((p) => [partitionKey(t.name, p), code] as const))));
  if (version < 4) {
    if (txns === undefined) return { throttleTimeMs: 0, resultsByTopicV3AndBelow: all(req.v3AndBelowTopics, ErrorCode.COORDINATOR_NOT_AVAILABLE) };
    const placed = transactionCoordinatorError(ctx, req.v3AndBelowTransactionalId);
    if (placed !== ErrorCode.NONE) return { throttleTimeMs: 0, resultsByTopicV3AndBelow: all(req.v3AndBelowTopics, placed) };
    const codes = await txns.addPartitions(req.v3AndBelowTransactionalId, req.v3AndBelowProducerId, req.v3AndBelowProducerEpoch, req.v3AndBelowTopics);
    for (const [k, c] of codes) codes.set(k, fenced(c, version, 2));
    return { throttleTimeMs: 0, resultsByTopicV3AndBelow: topicResults(req.v3AndBelowTopics, codes) };
  }
  // v4+ is sent by brokers (KIP-890 verification), one entry per transaction.
  const results = await Promise.all(
    req.transactions.map(async (t) => {
      if (txns === undefined) return { transactionalId: t.transactionalId, topicResults: all(t.topics, ErrorCode.COORDINATOR_NOT_AVAILABLE) };
      const placed = transactionCoordinatorError(ctx, t.transactionalId);
      if (placed !== ErrorCode.NONE) return { transactionalId: t.transactionalId, topicResults: all(t.topics, placed) };
      const codes = t.verifyOnly
        ? txns.verifyPartitions(t.transactionalId, t.producerId, t.producerEpoch, t.topics)
        : await txns.addPartitions(t.transactionalId, t.producerId, t.producerEpoch, t.topics);
      return { transactionalId: t.transactionalId, topicResults: topicResults(t.topics, codes) };
    }),
  );
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction: results };
}

export async function handleAddOffsetsToTxn(ctx: BrokerContext, req: { transactionalId: string; producerId: number; producerEpoch: number; groupId: string }, version: number) {
  if (ctx.transactions === undefined) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
  const placed = transactionCoordinatorError(ctx, req.transactionalId);
  if (placed !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: placed };
  const code = await ctx.transactions.addOffsets(req.transactionalId, req.producerId, req.producerEpoch, req.groupId);
  return { throttleTimeMs: 0, errorCode: fenced(code, version, 2) };
}

export async function handleEndTxn(ctx: BrokerContext, req: { transactionalId: string; producerId: number; producerEpoch: number; committed: boolean }, version: number) {
  if (ctx.transactions === undefined) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
  const placed = transactionCoordinatorError(ctx, req.transactionalId);
  if (placed !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: placed };
  const code = await ctx.transactions.endTransaction(req.transactionalId, req.producerId, req.producerEpoch, req.committed);
  return { throttleTimeMs: 0, errorCode: fenced(code, version, 2) };
}

export async function handleTxnOffsetCommit(
  ctx: BrokerContext,
  req: {
    transactionalId: string;
    groupId: string;
    producerId: number;
    producerEpoch: number;
    generationId: number;
    memberId: string;
    groupInstanceId: string | null;
    topics: { name: string; partitions: { partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }[] }[];
  },
  version: number,
) {
  const all = (code: number) => ({
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code })) })),
  });
  const placed = coordinatorError(ctx, req.groupId);
  if (placed !== ErrorCode.NONE) return all(placed);
  if (ctx.transactions === undefined) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  if (needsRemoteVerification(ctx, req.transactionalId)) {
    // The transaction's coordinator is another broker: asked, as for a transactional produce.
    const store = ctx.sluice.groups.offsetStore;
    const partition = store.partition(store.partitionFor(req.groupId))!;
    try {
      const guard = await verifyWithCoordinator(ctx, req.transactionalId, req.producerId, req.producerEpoch, partition, ErrorCode.COORDINATOR_NOT_AVAILABLE);
      if (!partition.txns.guardHolds(req.producerId, guard)) return all(ErrorCode.INVALID_TXN_STATE);
    } catch (err) {
      return all(fenced(errorCodeOf(err), version, 3));
    }
  } else {
    const check = ctx.transactions.checkTxnOffsetCommit(req.transactionalId, req.producerId, req.producerEpoch, req.groupId);
    if (check !== ErrorCode.NONE) return all(fenced(check, version, 3));
  }
  const res = await ctx.sluice.groups.commitTransactionalOffsets({
    groupId: req.groupId,
    generationId: req.generationId,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId,
    producerId: req.producerId,
    producerEpoch: req.producerEpoch,
    topics: req.topics,
  });
  return { throttleTimeMs: 0, topics: res.topics };
}

export function handleListTransactions(ctx: BrokerContext, req: { stateFilters: string[]; producerIdFilters: number[]; durationFilter: number }) {
  const known = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'Dead', 'PrepareEpochFence'];
  const unknownStateFilters = req.stateFilters.filter((s) => !known.includes(s));
  const transactionStates = ctx.transactions?.list(req.stateFilters, req.producerIdFilters, req.durationFilter) ?? [];
  return { throttleTimeMs: 0, errorCode: ctx.transactions ? ErrorCode.NONE : ErrorCode.COORDINATOR_NOT_AVAILABLE, unknownStateFilters, transactionStates };
}

export function handleDescribeTransactions(ctx: BrokerContext, req: { transactionalIds: string[] }) {
  return {
    throttleTimeMs: 0,
    transactionStates: req.transactionalIds.map((id) =>
      ctx.transactions && transactionCoordinatorError(ctx, id) === ErrorCode.NONE
        ? ctx.transactions.describe(id)
        : { errorCode: ctx.transactions ? transactionCoordinatorError(ctx, id) : ErrorCode.COORDINATOR_NOT_AVAILABLE, transactionalId: id, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerId: -1, producerEpoch: -1, topics: [] },
    ),
  };
}

export function handleDescribeProducers(ctx: BrokerContext, req: { topics: { name: string; partitionIndexes: number[] }[] }) {
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((p) => {
        try {
          const partition = servedPartition(ctx, t.name, p);
          // currentTxnStartOffset is how kafka-transactions.sh finds a hanging transaction.
          const activeProducers = ctx.producers
            .forPartition(partition)
            .describe()
            .map((s) => ({ ...s, lastTimestamp: -1, coordinatorEpoch: -1, currentTxnStartOffset: partition.txns.ongoingFirstOffset(s.producerId) }));
          return { partitionIndex: p, errorCode: ErrorCode.NONE, errorMessage: null, activeProducers };
        } catch (err) {
          return { partitionIndex: p, errorCode: errorCodeOf(err), errorMessage: errorMessageOf(err), activeProducers: [] };
        }
      }),
    })),
  };
}

/**
 * WriteTxnMarkers (27): a transaction coordinator on another broker asks this partition leader
 * to end a producer's transaction in its partitions. Each marker is done once the partition's
 * in-sync replicas have it (txn/broker.ts writeMarkerHere).
 */
export async function handleWriteTxnMarkers(ctx: BrokerContext, req: { markers: { producerId: number; producerEpoch: number; transactionResult: boolean; coordinatorEpoch: number; topics: { name: string; partitionIndexes: number[] }[] }[] }) {
  return {
    markers: await Promise.all(
      req.markers.map(async (m) => {
        const marker = { producerId: m.producerId, producerEpoch: m.producerEpoch, commit: m.transactionResult, coordinatorEpoch: m.coordinatorEpoch };
        const topics = await Promise.all(
          m.topics.map(async (t) => ({
            name: t.name,
            partitions: await Promise.all(
              t.partitionIndexes.map(async (partitionIndex) => {
                try {
                  await writeMarkerHere(ctx, t.name, partitionIndex, marker);
                  return { partitionIndex, errorCode: ErrorCode.NONE };
                } catch (err) {
                  ctx.logger?.debug?.({ topic: t.name, partition: partitionIndex, producerId: m.producerId, err }, 'WriteTxnMarkers: marker not written');
                  return { partitionIndex, errorCode: errorCodeOf(err) };
                }
              }),
            ),
          })),
        );
        return { producerId: m.producerId, topics };
      }),
    ),
  };
}
