/**
 * Wires the transaction coordinator into a broker: producer ids from the broker's allocator
 * (etcd blocks in a cluster), partitions from the engine, markers written here or, in a
 * cluster, sent to each partition's leader with WriteTxnMarkers (Kafka's
 * TransactionMarkerChannelManager), and state writes that count once `__transaction_state`'s
 * in-sync replicas have them.
 */
import type { BrokerContext } from '../broker/api/context.js';
import { leaderEpochOf, servedPartition } from '../broker/api/leadership.js';
import { OFFSETS_TOPIC } from '../group/index.js';
import { ErrorCode, KafkaError, errorName } from '../protocol/error-codes.js';
import { TransactionCoordinator } from './coordinator.js';
import { eachTarget, writeTxnMarker, type MarkerFailure, type MarkerTarget, type TxnMarker } from './markers.js';
import { TRANSACTION_STATE_TOPIC } from './transaction-log-record.js';

export interface TransactionSettings {
  /** transaction.max.timeout.ms (default 900000). */
  maxTimeoutMs?: number;
  /** transaction.abort.timed.out.transaction.cleanup.interval.ms (default 10000). */
  abortTimedOutIntervalMs?: number;
  /** transaction.state.log.num.partitions, when the data directory gets the topic (default 50). */
  stateLogPartitions?: number;
  /** transactional.id.expiration.ms (default 604800000, 7 days). */
  transactionalIdExpirationMs?: number;
  /** transaction.state.log.replication.factor in a cluster (default 3, at most the brokers alive). */
  stateLogReplicationFactor?: number;
  /** transaction.state.log.min.isr in a cluster (default 2, at most the replication factor). */
  stateLogMinIsr?: number;
}

const SILENT = { info() {}, warn() {} };
/** How long a marker or state write may wait for the in-sync replicas. */
const REPLICATION_WAIT_MS = 10_000;

/** Opens the broker's coordinator; in a cluster, ctx.cluster and ctx.replicas must be set first. */
export function openTransactionCoordinator(ctx: BrokerContext, settings: TransactionSettings = {}, durability: 'pagecache' | 'fsync' = 'pagecache'): Promise<TransactionCoordinator> {
  const sluice = ctx.sluice;
  const cluster = ctx.cluster;
  return TransactionCoordinator.open({
    dir: sluice.dir,
    durability,
    logger: ctx.logger ?? SILENT,
    stateLogPartitions: settings.stateLogPartitions,
    maxTimeoutMs: settings.maxTimeoutMs,
    abortTimedOutIntervalMs: settings.abortTimedOutIntervalMs,
    transactionalIdExpirationMs: settings.transactionalIdExpirationMs,
    stateLogReplication: { factor: settings.stateLogReplicationFactor ?? 3, minIsr: settings.stateLogMinIsr ?? 2 },
    allocateProducerId: () => (cluster ? cluster.nextProducerId() : ctx.producers.allocate()),
    hasPartition: (topic, index) => {
      if (cluster) return (cluster.topic(topic)?.replicas.length ?? 0) > index;
      return sluice.hasTopic(topic) && sluice.partitionCount(topic) > index;
    },
    offsets: { topic: OFFSETS_TOPIC, partitionFor: (groupId) => sluice.groups.offsetStore.partitionFor(groupId) },
    writeMarkers: (marker, targets) => writeMarkers(ctx, marker, targets),
    cluster: cluster && {
      beforeAppend: (p) => {
        const code = cluster.leadershipError(TRANSACTION_STATE_TOPIC, p);
        if (code !== ErrorCode.NONE) throw new KafkaError(ErrorCode.NOT_COORDINATOR, `broker ${ctx.nodeId} no longer leads ${TRANSACTION_STATE_TOPIC}-${p}`);
        try {
          ctx.replicas!.checkMinIsr(TRANSACTION_STATE_TOPIC, p, stateMinIsr(ctx));
        } catch (err) {
          throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, (err as Error).message);
        }
      },
      replicated: async (p, endOffset) => {
        const code = await ctx.replicas!.awaitReplication(TRANSACTION_STATE_TOPIC, p, endOffset, stateMinIsr(ctx), REPLICATION_WAIT_MS);
        if (code === ErrorCode.NONE) return;
        // As Kafka's coordinator maps its append errors: a lost leadership sends the client to
        // the new coordinator; anything else is worth a retry here.
        const mapped = code === ErrorCode.NOT_LEADER_OR_FOLLOWER ? ErrorCode.NOT_COORDINATOR : ErrorCode.COORDINATOR_NOT_AVAILABLE;
        throw new KafkaError(mapped, `${TRANSACTION_STATE_TOPIC}-${p}: the state change was not replicated (${errorName(code)})`);
      },
    },
  });
}

/** min.insync.replicas of the cluster's `__transaction_state` (Kafka's transaction.state.log.min.isr). */
function stateMinIsr(ctx: BrokerContext): number {
  return Number(ctx.cluster?.topic(TRANSACTION_STATE_TOPIC)?.config['min.insync.replicas'] ?? 1);
}

/**
 * Writes one transaction's markers: those of partitions this broker leads here, the others in
 * one WriteTxnMarkers per leader. Resolves with what is not written yet.
 */
async function writeMarkers(ctx: BrokerContext, marker: TxnMarker, targets: readonly MarkerTarget[]): Promise<MarkerFailure[]> {
  const byLeader = new Map<number, MarkerTarget[]>();
  for (const t of targets) {
    const leader = ctx.cluster ? (ctx.cluster.partitionState(t.topic, t.partition)?.leader ?? -1) : ctx.nodeId;
    let list = byLeader.get(leader);
    if (list === undefined) byLeader.set(leader, (list = []));
    list.push(t);
  }
  const failures: MarkerFailure[] = [];
  await Promise.all(
    [...byLeader].map(async ([leader, list]) => {
      if (leader === ctx.nodeId) failures.push(...(await eachTarget(list, (t) => writeMarkerHere(ctx, t.topic, t.partition, marker))));
      else if (leader < 0 || ctx.brokerChannel === undefined) failures.push(...list.map((t) => ({ ...t, reason: 'the partition has no leader' })));
      else failures.push(...(await sendMarkers(ctx, leader, marker, list)));
    }),
  );
  return failures;
}

/** WriteTxnMarkers to broker `leader` for `targets`; the partitions it did not write come back. */
async function sendMarkers(ctx: BrokerContext, leader: number, marker: TxnMarker, targets: MarkerTarget[]): Promise<MarkerFailure[]> {
  const byTopic = new Map<string, number[]>();
  for (const t of targets) byTopic.set(t.topic, [...(byTopic.get(t.topic) ?? []), t.partition]);
  try {
    const res = await ctx.brokerChannel!.request(leader, 27, {
      markers: [
        {
          producerId: marker.producerId,
          producerEpoch: marker.producerEpoch,
          transactionResult: marker.commit,
          coordinatorEpoch: marker.coordinatorEpoch,
          topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
        },
      ],
    });
    const codes = new Map<string, number>();
    for (const m of res.markers) for (const t of m.topics) for (const p of t.partitions) codes.set(`${t.name}\u0000${p.partitionIndex}`, p.errorCode);
    return targets.flatMap((t) => {
      const code = codes.get(`${t.topic}\u0000${t.partition}`);
      if (code === ErrorCode.NONE) return [];
      return [{ ...t, reason: code === undefined ? `broker ${leader} did not answer for it` : `broker ${leader} answered ${errorName(code)}` }];
    });
  } catch (err) {
    return targets.map((t) => ({ ...t, reason: `WriteTxnMarkers to broker ${leader} failed: ${(err as Error).message}` }));
  }
}

/**
 * Appends a marker to a partition this broker leads (WriteTxnMarkers, or the coordinator's own
 * partitions); in a cluster it is done once the in-sync replicas have it, so a new leader
 * never lacks a marker the coordinator counted. Throws a KafkaError (NOT_LEADER_OR_FOLLOWER,
 * UNKNOWN_TOPIC_OR_PARTITION, ...) when it cannot.
 */
export async function writeMarkerHere(ctx: BrokerContext, topic: string, index: number, marker: TxnMarker): Promise<void> {
  if (topic === OFFSETS_TOPIC) {
    const code = ctx.cluster?.leadershipError(topic, index) ?? ErrorCode.NONE;
    if (code !== ErrorCode.NONE) throw new KafkaError(code, `broker ${ctx.nodeId} does not lead ${topic}-${index}`);
    await ctx.sluice.groups.offsetStore.writeTxnMarker(index, marker.producerId, marker.producerEpoch, marker.commit, marker.coordinatorEpoch);
    return;
  }
  const partition = servedPartition(ctx, topic, index);
  const info = await writeTxnMarker(partition, marker, leaderEpochOf(ctx, topic, index));
  if (ctx.replicas) {
    const code = await ctx.replicas.awaitReplication(topic, index, info.lastOffset + 1, 1, REPLICATION_WAIT_MS);
    if (code !== ErrorCode.NONE) throw new KafkaError(code, `${topic}-${index}: the marker was not replicated`);
  }
}
