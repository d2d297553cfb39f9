/**
 * Transaction markers: the control batch (src/record/control.ts) that ends a producer's
 * transaction in one partition. The log side (partition-txns.ts) watches every append, so
 * appending the marker in the partition's order is all that ends the transaction there.
 *
 * The coordinator hands a decided transaction's markers to a MarkerWriter: on a lone broker
 * and embedded it appends them itself; in a cluster (src/txn/broker.ts) a partition led
 * elsewhere gets its marker through WriteTxnMarkers to its leader, as Kafka's
 * TransactionMarkerChannelManager sends them.
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

export interface MarkerTarget {
  topic: string;
  partition: number;
}

/** A partition whose marker is not written yet, and why (it is tried again). */
export interface MarkerFailure extends MarkerTarget {
  reason: string;
}

/** Writes `marker` to every target; resolves with the ones that failed (none: all written). */
export type MarkerWriter = (marker: TxnMarker, targets: readonly MarkerTarget[]) => Promise<MarkerFailure[]>;

/** Appends the commit or abort marker of `m` to `partition`, after every append queued before it. */
export function writeTxnMarker(partition: Partition, m: TxnMarker, leaderEpoch = 0): Promise<LogAppendInfo> {
  const batch = buildEndTransactionMarker({ committed: m.commit, producerId: m.producerId, producerEpoch: m.producerEpoch, coordinatorEpoch: m.coordinatorEpoch });
  return partition.appendInOrder(Promise.resolve(batch), true, { leaderEpoch });
}

/** Runs `write` for each target at once and collects the failures. */
export async function eachTarget(targets: readonly MarkerTarget[], write: (t: MarkerTarget) => Promise<void>): Promise<MarkerFailure[]> {
  const failures: MarkerFailure[] = [];
  await Promise.all(
    targets.map(async (t) => {
      try {
        await write(t);
      } catch (err) {
        failures.push({ ...t, reason: (err as Error).message });
      }
    }),
  );
  return failures;
}
