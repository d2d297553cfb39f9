/**
 * ListOffsets MAX_TIMESTAMP (timestamp -3, v7+): the offset of the record holding the largest
 * timestamp, as Kafka answers since KAFKA-16310, not the last offset of its batch. The segments
 * know which batch has it (offsetOfMaxTimestamp is that batch's last offset); that one batch is
 * read and its records searched for the first one with the timestamp. Under LogAppendTime every
 * record of a batch carries the batch's time, so that is the batch's first offset, as in Kafka.
 * Not on a hot path: it decodes one batch per call.
 */
import { readRecords } from '../../record/index.js';
import { LENGTH_OFFSET, LOG_OVERHEAD } from '../../record/layout.js';
import type { Partition } from '../partition.js';

/** The largest timestamp in the partition and the offset of the record holding it; -1/-1 when empty. */
export function maxTimestampRecord(part: Partition): { timestamp: number; offset: number } {
  const m = part.log.maxTimestampAndOffset();
  if (m.offset < 0) return m;
  const read = part.log.read(m.offset, 1, m.offset + 1);
  if (read.records.length < LOG_OVERHEAD) return m;
  const batch = read.records.subarray(0, read.records.readInt32BE(LENGTH_OFFSET) + LOG_OVERHEAD);
  for (const r of readRecords(batch, { verifyCrc: false })) {
    if (r.timestamp === m.timestamp) return { timestamp: m.timestamp, offset: r.offset };
  }
  return m; // a batch whose header claims a timestamp none of its records has (stored before the record checks)
}
