/**
 * One batch through the cleaner (storage/cleaner-batch.ts) and the builder options it uses
 * (assembleBatch's lastOffsetDelta and empty batches): header fields kept, records copied
 * byte for byte with their offsets, batches the cleaner must leave whole.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  assembleBatch,
  buildBatch,
  buildEndTransactionMarker,
  Compression,
  InvalidRecordError,
  readBatchHeader,
  readRecords,
  verifyBatch,
  type RecordInput,
} from '../src/record/index.js';
import { cleanBatch, type CleanParams } from '../src/storage/cleaner-batch.js';
import { KeyMap } from '../src/storage/cleaner-map.js';

const T0 = 1_700_000_000_000;
const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** A map in which each key's latest offset is given. */
function mapOf(latest: Record<string, number>): KeyMap {
  const map = new KeyMap();
  for (const [k, offset] of Object.entries(latest)) {
    const b = Buffer.from(k);
    map.put(b, 0, b.length, offset);
  }
  return map;
}

const params = (latest: Record<string, number>, tombstoneHorizon = -Infinity): CleanParams => ({
  map: mapOf(latest),
  tombstoneHorizon,
  maxDecompressedSize: 64 << 20,
});

const RECORDS: RecordInput[] = [
  { key: 'a', value: 'a0', timestamp: T0, headers: [{ key: 'h', value: 'x' }] },
  { key: 'b', value: 'b0', timestamp: T0 + 7 },
  { key: null, value: 'keyless', timestamp: T0 + 3 },
  { key: 'c', value: null, timestamp: T0 + 9 },
  { key: 'a'.repeat(100), value: 'long key', timestamp: T0 + 1, headers: { n: null } },
];

describe('assembleBatch with lastOffsetDelta', () => {
  it('writes an empty batch that keeps its offset range', () => {
    const batch = assembleBatch(Buffer.alloc(0), { baseOffset: 40, count: 0, lastOffsetDelta: 4, baseTimestamp: T0, maxTimestamp: T0 + 5 });
    expect(verifyBatch(batch)).toBe(batch.length);
    const h = readBatchHeader(batch);
    expect([h.baseOffset, h.lastOffset, h.recordsCount, h.sizeInBytes]).toEqual([40, 44, 0, 61]);
    expect(readRecords(batch)).toEqual([]);
  });

  it('refuses what cannot be a batch, and keeps the old rule without the option', () => {
    expect(() => assembleBatch(Buffer.alloc(0), { count: 0, baseTimestamp: T0, maxTimestamp: T0 })).toThrow(InvalidRecordError);
    expect(() => assembleBatch(Buffer.alloc(0), { count: 3, lastOffsetDelta: 1, baseTimestamp: T0, maxTimestamp: T0 })).toThrow(InvalidRecordError);
    expect(() => assembleBatch(Buffer.alloc(3), { count: 0, lastOffsetDelta: 1, baseTimestamp: T0, maxTimestamp: T0 })).toThrow(InvalidRecordError);
    expect(() =>
      assembleBatch(Buffer.alloc(0), { count: 0, lastOffsetDelta: 1, baseTimestamp: T0, maxTimestamp: T0, compression: 'gzip' }),
    ).toThrow(InvalidRecordError);
    // Without the option, the same bytes as before.
    const built = buildBatch(RECORDS, { now: T0 });
    const again = assembleBatch(built.subarray(61), { count: RECORDS.length, baseTimestamp: T0, maxTimestamp: T0 + 9 });
    expect(again.equals(built)).toBe(true);
  });
});

describe('cleanBatch', () => {
  const header = { baseOffset: 100, producerId: 4242, producerEpoch: 3, baseSequence: 17, partitionLeaderEpoch: 7 };

  it('returns the very same bytes when every record stays', () => {
    const batch = buildBatch(RECORDS, { ...header, now: T0 });
    const out = cleanBatch(batch, params({ a: 100, b: 101 }));
    expect(out.bytes).toBe(batch);
    expect([out.records, out.removed]).toEqual([5, 0]);
  });

  for (const compression of ['none', 'gzip', 'lz4', 'snappy'] as const) {
    it(`drops superseded records and keeps header, offsets and record bytes (${compression})`, () => {
      const batch = buildBatch(RECORDS, { ...header, compression, now: T0 });
      const out = cleanBatch(batch, params({ a: 500, c: 500 }));
      expect([out.records, out.removed, out.tombstonesRemoved]).toEqual([3, 2, 1]);
      expect(verifyBatch(out.bytes)).toBe(out.bytes.length);
      const before = readBatchHeader(batch);
      const after = readBatchHeader(out.bytes);
      for (const f of ['baseOffset', 'lastOffsetDelta', 'attributes', 'baseTimestamp', 'maxTimestamp', 'producerId', 'producerEpoch', 'baseSequence', 'partitionLeaderEpoch'] as const) {
        expect(after[f]).toBe(before[f]);
      }
      expect(after.recordsCount).toBe(3);
      const kept = readRecords(out.bytes);
      const all = readRecords(batch);
      expect(kept).toEqual([all[1], all[2], all[4]]); // offsets 101, 102, 104: a gap at 103
      expect(kept.map((r) => r.offset)).toEqual([101, 102, 104]);
    });
  }

  it('keeps LogAppendTime batches LogAppendTime', () => {
    const batch = buildBatch(RECORDS.slice(0, 2), { now: T0 + 60_000, timestampType: 'LogAppendTime' });
    const out = cleanBatch(batch, params({ a: 9 }));
    const h = readBatchHeader(out.bytes);
    expect([h.timestampType, h.maxTimestamp, h.recordsCount, h.lastOffsetDelta]).toEqual([1, T0 + 60_000, 1, 1]);
    expect(readRecords(out.bytes)[0]!.timestamp).toBe(T0 + 60_000);
  });

  it('writes an empty uncompressed batch when every record goes', () => {
    const batch = buildBatch(RECORDS.slice(0, 2), { ...header, compression: 'lz4', now: T0 });
    const out = cleanBatch(batch, params({ a: 999, b: 999 }));
    const h = readBatchHeader(out.bytes);
    expect([h.baseOffset, h.lastOffset, h.recordsCount, h.compression, h.producerId, h.baseSequence]).toEqual([100, 101, 0, Compression.None, 4242, 17]);
    expect(readRecords(out.bytes)).toEqual([]);
  });

  it('removes a tombstone that is its key’s latest only past the horizon', () => {
    const batch = buildBatch([{ key: 'c', value: null, timestamp: T0 }], { now: T0 });
    expect(cleanBatch(batch, params({ c: 0 }, T0)).removed).toBe(0); // maxTimestamp T0 is not below T0
    const out = cleanBatch(batch, params({ c: 0 }, T0 + 1));
    expect([out.removed, out.tombstonesRemoved, readBatchHeader(out.bytes).recordsCount]).toEqual([1, 1, 0]);
  });

  it('cleans transactional batches without letting their tombstones expire, and leaves control batches whole', () => {
    const txn = buildBatch([...RECORDS.slice(0, 2), { key: 'c', value: null, timestamp: T0 }], { ...header, transactional: true, now: T0 });
    const out = cleanBatch(txn, params({ a: 999 }, T0 + 1e9));
    const h = readBatchHeader(out.bytes);
    expect([h.isTransactional, h.recordsCount, h.lastOffsetDelta, h.producerId]).toEqual([true, 2, 2, 4242]);
    expect(readRecords(out.bytes).map((r) => r.offset)).toEqual([101, 102]); // the tombstone at 102 stays
    expect(out.tombstonesRemoved).toBe(0);
    const marker = buildEndTransactionMarker({ committed: true, producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, baseOffset: 5, timestamp: T0 });
    expect(cleanBatch(marker, params({})).bytes).toBe(marker);
  });

  it('keeps a zstd batch whole unless every record goes', () => {
    const batch = fs.readFileSync(path.join(fixtures, 'batch-v2-zstd-stream.bin'));
    const partial = cleanBatch(batch, params({ 'host-0': 1e6 }));
    expect(partial.bytes).toBe(batch);
    expect(partial.removed).toBe(0);
    const all = cleanBatch(batch, params({ 'host-0': 1e6, 'host-1': 1e6, 'host-2': 1e6, 'host-3': 1e6 }));
    expect(readBatchHeader(all.bytes).recordsCount).toBe(0);
    expect(readBatchHeader(all.bytes).lastOffsetDelta).toBe(49);
  });

  it('keeps the expired tombstone of a key whose stale copy had to stay in a zstd batch', () => {
    const p = params({ 'host-0': 1000, 'host-9': 1001 }, T0 + 1e9);
    expect(cleanBatch(fs.readFileSync(path.join(fixtures, 'batch-v2-zstd-stream.bin')), p).removed).toBe(0);
    const tombstones = buildBatch(
      [
        { key: 'host-0', value: null, timestamp: T0 },
        { key: 'host-9', value: null, timestamp: T0 },
      ],
      { baseOffset: 1000, now: T0 },
    );
    const out = cleanBatch(tombstones, p);
    expect(readRecords(out.bytes).map((r) => r.key!.toString())).toEqual(['host-0']);
    expect(out.tombstonesRemoved).toBe(1);
  });
});
