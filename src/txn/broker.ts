/**
 * Wires the transaction coordinator into a broker: producer ids from the broker's allocator
 * (etcd blocks in a cluster), partitions from the engine, offsets markers through the group
 * coordinator.
 */
import type { BrokerContext } from '../broker/api/context.js';
import { OFFSETS_TOPIC } from '../group/index.js';
import { TransactionCoordinator } from './coordinator.js';
import { leaderEpochOf, servedPartition } from '../broker/api/leadership.js';

export interface TransactionSettings {
  /** transaction.max.timeout.ms (default 900000). */
  maxTimeoutMs?: number;
  /** transaction.abort.timed.out.transaction.cleanup.interval.ms (default 10000). */
  abortTimedOutIntervalMs?: number;
  /** transaction.state.log.num.partitions, when the data directory gets the topic (default 50). */
  stateLogPartitions?: number;
}

const SILENT = { info() {}, warn() {} };

export function openTransactionCoordinator(ctx: BrokerContext, settings: TransactionSettings = {}, durability: 'pagecache' | 'fsync' = 'pagecache'): Promise<TransactionCoordinator> {
  const sluice = ctx.sluice;
  const store = () => sluice.groups.offsetStore;
  return TransactionCoordinator.open({
    dir: sluice.dir,
    durability,
    logger: ctx.logger ?? SILENT,
    stateLogPartitions: settings.stateLogPartitions,
    maxTimeoutMs: settings.maxTimeoutMs,
    abortTimedOutIntervalMs: settings.abortTimedOutIntervalMs,
    allocateProducerId: () => (ctx.cluster ? ctx.cluster.nextProducerId() : ctx.producers.allocate()),
    // In a cluster only partitions this broker leads: a marker never goes into a follower's log.
    // (Markers for partitions led elsewhere, WriteTxnMarkers, are not built yet.)
    partition: (topic, index) => servedPartition(ctx, topic, index),
    leaderEpoch: (topic, index) => leaderEpochOf(ctx, topic, index),
    hasPartition: (topic, index) => {
      try {
        servedPartition(ctx, topic, index);
        return true;
      } catch {
        return false;
      }
    },
    offsets: {
      topic: OFFSETS_TOPIC,
      partitionFor: (groupId) => store().partitionFor(groupId),
      writeTxnMarker: (p, producerId, producerEpoch, commit, coordinatorEpoch) => store().writeTxnMarker(p, producerId, producerEpoch, commit, coordinatorEpoch),
    },
  });
}
