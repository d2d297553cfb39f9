/**
 * The small cluster-level APIs: DescribeCluster, FindCoordinator (this broker coordinates
 * every group), OffsetForLeaderEpoch (a single leader epoch, 0), InitProducerId (idempotent
 * producers; transactional ids go to transactions.ts) and SaslHandshake (no SASL: refused cleanly).
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { servedPartition } from './leadership.js';
import type { BrokerContext } from './context.js';
import { authorizedOperations, CLUSTER_OPERATIONS } from './authorized-operations.js';
import { errorCodeOf } from './errors.js';
import { brokersOf, controllerIdOf } from './leadership.js';
import { clusterCoordinator } from './coordinator-placement.js';

export function handleDescribeCluster(ctx: BrokerContext, req: { includeClusterAuthorizedOperations?: boolean } = {}) {
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    endpointType: 1,
    clusterId: ctx.clusterId,
    controllerId: controllerIdOf(ctx),
    brokers: brokersOf(ctx).map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
    clusterAuthorizedOperations: authorizedOperations(req.includeClusterAuthorizedOperations, CLUSTER_OPERATIONS),
  };
}

export async function handleFindCoordinator(ctx: BrokerContext, req: { key: string; keyType: number; coordinatorKeys: string[] }, version: number) {
  // A group (key type 0) by its __consumer_offsets partition, a transactional id (1) by its __transaction_state partition.
  if (ctx.cluster && (req.keyType === 0 || req.keyType === 1)) {
    const keys = version >= 4 ? req.coordinatorKeys : [req.key];
    const answers = await Promise.all(keys.map(async (key) => ({ key, ...(await clusterCoordinator(ctx, key, req.keyType)) })));
    if (version >= 4) return { throttleTimeMs: 0, coordinators: answers };
    const a = answers[0]!;
    return { throttleTimeMs: 0, errorCode: a.errorCode, errorMessage: a.errorMessage, nodeId: a.nodeId, host: a.host, port: a.port };
  }
  const answer = (key: string) => {
    const supported = req.keyType === 0 || req.keyType === 1;
    return {
      key,
      nodeId: supported ? ctx.nodeId : -1,
      host: supported ? ctx.settings.advertisedHost : '',
      port: supported ? ctx.settings.advertisedPort : -1,
      errorCode: supported ? ErrorCode.NONE : ErrorCode.INVALID_REQUEST,
      errorMessage: supported ? null : `coordinator key type ${req.keyType} is not known (0 group, 1 transaction)`,
    };
  };
  if (version >= 4) return { throttleTimeMs: 0, coordinators: req.coordinatorKeys.map(answer) };
  const a = answer(req.key);
  return { throttleTimeMs: 0, errorCode: a.errorCode, errorMessage: a.errorMessage, nodeId: a.nodeId, host: a.host, port: a.port };
}

/**
 * Where a leader epoch ends (KIP-101/279): followers ask it before fetching, to truncate what
 * diverges; clients ask it after a leader change to detect truncation. In a cluster the
 * partition's leader-epoch checkpoint answers, on the leader only; alone, one epoch (0) ever.
 */
export function handleOffsetForLeaderEpoch(ctx: BrokerContext, req: { topics: { topic: string; partitions: { partition: number; currentLeaderEpoch: number; leaderEpoch: number }[] }[] }) {
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) => {
        try {
          const part = servedPartition(ctx, t.topic, p.partition, p.currentLeaderEpoch);
          if (p.leaderEpoch < 0) return { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch: -1, endOffset: -1 };
          if (ctx.cluster) {
            const answer = part.enableLeaderEpochs().endOffsetFor(p.leaderEpoch, part.logEndOffset);
            return { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch: answer.epoch, endOffset: answer.endOffset };
          }
          return { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch: 0, endOffset: part.logEndOffset };
        } catch (err) {
          return { errorCode: errorCodeOf(err), partition: p.partition, leaderEpoch: -1, endOffset: -1 };
        }
      }),
    })),
  };
}

export async function handleInitProducerId(ctx: BrokerContext, req: { transactionalId: string | null; producerId: number; producerEpoch: number }) {
  // A producer re-initialising its id (v3+) just gets a fresh one with epoch 0.
  try {
    // In a cluster, ids come from blocks taken in etcd, so two brokers never give the same one.
    const producerId = ctx.cluster ? await ctx.cluster.nextProducerId() : ctx.producers.allocate();
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
  } catch (err) {
    return { throttleTimeMs: 0, errorCode: errorCodeOf(err), producerId: -1, producerEpoch: -1 };
  }
}

export function handleSaslHandshake() {
  return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: [] as string[] };
}
