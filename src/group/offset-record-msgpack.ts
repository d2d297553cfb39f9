/**
 * The msgpack records of the single-partition offsets log `__consumer_offsets-0` that Sluice
 * wrote before it used Kafka's own record format (offset-record.ts). Kept only to migrate such
 * a data directory on open (offsets-migration.ts); nothing writes this format any more.
 *
 * Records were ordinary RecordBatch v2 records whose key and value are msgpack maps (fixed short field names, so a field can be added later and old
 * readers skip it).
 *
 *   key   { g: string  group id,
 *           t: string  topic,
 *           p: int     partition }
 *   value { o:  int    committed offset,
 *           e:  int    leader epoch (-1: unknown),
 *           m:  string metadata ('' when none),
 *           ts: int    commit timestamp (ms),
 *           x?: int    expire timestamp (ms), only when OffsetCommit v2-4 gave a retention }
 *         or a null value (tombstone): the offset was deleted or expired.
 *
 * Each commit request is one batch (all its partitions, all or nothing); replay applies records
 * in offset order, the last write of a key wins and a tombstone removes it.
 */
import { Packr } from 'msgpackr';
import type { CommittedOffset } from './types.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });

export interface LegacyOffsetKey {
  groupId: string;
  topic: string;
  partition: number;
}

export function encodeLegacyOffsetKey(k: LegacyOffsetKey): Buffer {
  return packr.pack({ g: k.groupId, t: k.topic, p: k.partition });
}

export function encodeLegacyOffsetValue(v: CommittedOffset): Buffer {
  const o: Record<string, unknown> = { o: v.offset, e: v.leaderEpoch, m: v.metadata, ts: v.commitTimestamp };
  if (v.expireTimestamp >= 0) o.x = v.expireTimestamp;
  return packr.pack(o);
}

/** The key, or null when the bytes are not an offset key. */
export function decodeLegacyOffsetKey(b: Buffer): LegacyOffsetKey | null {
  const k = packr.unpack(b) as { g?: unknown; t?: unknown; p?: unknown } | null;
  if (k === null || typeof k !== 'object') return null;
  if (typeof k.g !== 'string' || typeof k.t !== 'string' || !Number.isInteger(k.p)) return null;
  return { groupId: k.g, topic: k.t, partition: k.p as number };
}

/** The value, or null when the bytes are not an offset value. */
export function decodeLegacyOffsetValue(b: Buffer): CommittedOffset | null {
  const v = packr.unpack(b) as { o?: unknown; e?: unknown; m?: unknown; ts?: unknown; x?: unknown } | null;
  if (v === null || typeof v !== 'object' || typeof v.o !== 'number') return null;
  return {
    offset: v.o,
    leaderEpoch: typeof v.e === 'number' ? v.e : -1,
    metadata: typeof v.m === 'string' ? v.m : '',
    commitTimestamp: typeof v.ts === 'number' ? v.ts : 0,
    expireTimestamp: typeof v.x === 'number' ? v.x : -1,
  };
}
