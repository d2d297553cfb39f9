/**
 * ListOffsets (api key 2): timestamp -2 is the log start offset (earliest), -1 the high
 * watermark (latest; the last stable offset with isolationLevel 1, read_committed), -3 the offset of the
 * record with the largest timestamp (v7+, max-timestamp.ts), and any other time the first
 * offset whose timestamp is at or after it (-1 / -1 when none). Version 0 answers in oldStyleOffsets.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerContext } from './context.js';
import { errorCodeOf } from './errors.js';
import { servedPartition } from './leadership.js';
import { maxTimestampRecord } from './max-timestamp.js';
import { READ_COMMITTED } from './fetch.js';

export const EARLIEST_TIMESTAMP = -2;
export const LATEST_TIMESTAMP = -1;
export const MAX_TIMESTAMP = -3;

export interface ListOffsetsRequest {
  replicaId: number;
  isolationLevel: number;
  topics: { name: string; partitions: { partitionIndex: number; currentLeaderEpoch: number; timestamp: number; maxNumOffsets: number }[] }[];
}

export function handleListOffsets(ctx: BrokerContext, req: ListOffsetsRequest, version: number) {
  const topics = req.topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => {
      const base = { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE as number, oldStyleOffsets: [] as number[], timestamp: -1, offset: -1, leaderEpoch: 0 };
      try {
        const part = servedPartition(ctx, t.name, p.partitionIndex, p.currentLeaderEpoch);
        let offset = -1;
        let timestamp = -1;
        if (p.timestamp === EARLIEST_TIMESTAMP) offset = part.logStartOffset;
        else if (p.timestamp === LATEST_TIMESTAMP) offset = req.isolationLevel === READ_COMMITTED ? part.lastStableOffset : part.highWatermark;
        else if (p.timestamp === MAX_TIMESTAMP) {
          const m = maxTimestampRecord(part);
          offset = m.offset;
          timestamp = m.timestamp;
        } else {
          const found = part.log.offsetForTimestamp(p.timestamp);
          // read_committed: an offset at or past the last stable offset is not readable yet (as Kafka answers).
          if (found && !(req.isolationLevel === READ_COMMITTED && found.offset >= part.lastStableOffset)) {
            offset = found.offset;
            timestamp = found.timestamp;
          }
        }
        if (version === 0) return { ...base, oldStyleOffsets: offset >= 0 ? [offset] : [] };
        return { ...base, offset, timestamp };
      } catch (err) {
        return { ...base, errorCode: errorCodeOf(err) };
      }
    }),
  }));
  return { throttleTimeMs: 0, topics };
}
