/**
 * The transaction coordinator of an embedded Sluice with no broker around it: producer ids
 * from the data directory's allocator, partitions from the engine, offsets markers through the
 * group coordinator. A KafkaBroker hands its own coordinator to the engine instead, so the
 * embedded producers and the wire clients of one process share one coordinator.
 */
import type { GroupCoordinator } from '../group/index.js';
import { OFFSETS_TOPIC } from '../group/index.js';
import type { Partition } from '../broker/partition.js';
import { ProducerStateManager } from '../broker/api/producer-state.js';
import type { StorageLogger } from '../storage/index.js';
import { TransactionCoordinator } from './coordinator.js';
import { eachTarget, writeTxnMarker } from './markers.js';

export interface EmbeddedTransactionHost {
  readonly dir: string;
  readonly groups: GroupCoordinator;
  partition(topic: string, index: number): Partition;
}

export function openEmbeddedTransactionCoordinator(host: EmbeddedTransactionHost, durability: 'pagecache' | 'fsync', logger: StorageLogger): Promise<TransactionCoordinator> {
  const ids = new ProducerStateManager(host.dir);
  const store = () => host.groups.offsetStore;
  return TransactionCoordinator.open({
    dir: host.dir,
    durability,
    logger,
    allocateProducerId: () => ids.allocate(),
    hasPartition: (topic, index) => {
      try {
        host.partition(topic, index);
        return true;
      } catch {
        return false;
      }
    },
    offsets: { topic: OFFSETS_TOPIC, partitionFor: (groupId) => store().partitionFor(groupId) },
    writeMarkers: (m, targets) =>
      eachTarget(targets, async (t) => {
        if (t.topic === OFFSETS_TOPIC) await store().writeTxnMarker(t.partition, m.producerId, m.producerEpoch, m.commit, m.coordinatorEpoch);
        else await writeTxnMarker(host.partition(t.topic, t.partition), m);
      }),
  });
}
