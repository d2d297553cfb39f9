/**
 * Transaction markers: the control batch (src/record/control.ts) that ends a producer's
 * transaction in one partition. The log side (partition-txns.ts) watches every append, so
 * appending the marker in the partition's order is all that ends the transaction there.
 */
import type { Partition } from '../broker/partition.js';
import { buildEndTransactionMarker } from '../record/control.js';
import type { LogAppendInfo } from '../storage/index.js';

export interface TxnMarker {
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
}

/** Appends the commit or abort marker of `m` to `partition`, after every append queued before it. */
export function writeTxnMarker(partition: Partition, m: TxnMarker, leaderEpoch = 0): Promise<LogAppendInfo> {
  const batch = buildEndTransactionMarker({ committed: m.commit, producerId: m.producerId, producerEpoch: m.producerEpoch, coordinatorEpoch: m.coordinatorEpoch });
  return partition.appendInOrder(Promise.resolve(batch), true, { leaderEpoch });
}
