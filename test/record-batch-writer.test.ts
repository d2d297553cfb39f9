import { describe, expect, it } from 'vitest';
import { Arenas, BatchWriter, recordSizeBound } from '../src/record/batch-writer.js';
import { assembleBatch, buildBatch, compress, Compression, InvalidRecordError, readRecords, RECORD_BATCH_OVERHEAD, type RecordInput } from '../src/record/index.js';

const NOW = 1_700_000_000_000;

function write(records: RecordInput[], limit = 1 << 30, arenas = new Arenas(1 << 20, 64)): BatchWriter {
  const w = new BatchWriter(NOW, limit, arenas);
  for (const r of records) expect(w.tryAppend(r.key, r.value, r.headers, r.timestamp)).toBe(true);
  return w;
}

const MIXED: RecordInput[] = [
  { value: Buffer.from('plain') },
  { key: 'k1', value: 'string value with ünïcode', timestamp: NOW - 5000 },
  { key: Buffer.alloc(300, 7), value: null, headers: [{ key: 'a', value: 'x' }, { key: 'a', value: null }] },
  { key: null, value: new Uint8Array([1, 2, 3]), headers: { trace: Buffer.from('t'), empty: '' }, timestamp: NOW + 2 ** 33 },
  { value: 'x'.repeat(70_000) },
];

describe('BatchWriter', () => {
  it('writes the same bytes as buildBatch, one record at a time', () => {
    const w = write(MIXED);
    expect(w.count).toBe(MIXED.length);
    expect(w.finish().equals(buildBatch(MIXED, { now: NOW }))).toBe(true);
    expect([w.baseTimestamp, w.maxTimestamp]).toEqual([NOW, NOW + 2 ** 33]);
  });

  it('writes plain records (a value and nothing else) the same way, however they mix with others', () => {
    const v = (i: number) => Buffer.alloc(i * 37, i);
    const cases: RecordInput[][] = [
      Array.from({ length: 300 }, (_, i) => ({ value: v(i % 7) })), // offset deltas past one varint byte
      [{ value: v(1) }, { value: v(2), timestamp: NOW - 1 }, { value: v(3) }, { value: v(4), key: 'k' }, { value: v(5) }],
      [{ value: v(1), timestamp: NOW + 5 }, { value: v(2) }, { value: v(3) }],
      [{ value: Buffer.alloc(0) }, { value: Buffer.alloc(200, 1) }, { value: Buffer.alloc(70_000, 3) }, { value: v(1) }],
    ];
    for (const records of cases) {
      const w = write(records);
      expect(w.finish().equals(buildBatch(records, { now: NOW }))).toBe(true);
      expect(records.map((_, i) => w.timestampAt(i))).toEqual(records.map((r) => r.timestamp ?? NOW));
    }
  });

  it('gives a section that compresses into the same batch as buildBatch', () => {
    const w = write(MIXED);
    const batch = assembleBatch(compress(Compression.Lz4, w.section()), { compression: 'lz4', count: w.count, baseTimestamp: w.baseTimestamp, maxTimestamp: w.maxTimestamp });
    expect(batch.equals(buildBatch(MIXED, { now: NOW, compression: 'lz4' }))).toBe(true);
  });

  it('keeps each record\'s timestamp', () => {
    const w = write(MIXED);
    expect(MIXED.map((_, i) => w.timestampAt(i))).toEqual(MIXED.map((r) => r.timestamp ?? NOW));
    const plain = write([{ value: 'a' }, { value: 'b' }]);
    expect([plain.timestampAt(0), plain.timestampAt(1)]).toEqual([NOW, NOW]);
  });

  it('refuses a record past the limit once it holds one, and always takes the first', () => {
    const w = new BatchWriter(NOW, RECORD_BATCH_OVERHEAD + 250, new Arenas(0));
    expect(w.tryAppend(null, Buffer.alloc(100), null, undefined)).toBe(true);
    expect(w.tryAppend(null, Buffer.alloc(100), null, undefined)).toBe(true);
    const size = w.sizeInBytes;
    expect(w.tryAppend(null, Buffer.alloc(100), null, undefined)).toBe(false);
    expect(w.sizeInBytes).toBe(size); // nothing written
    const big = new BatchWriter(NOW, 100, new Arenas(0));
    expect(big.tryAppend(null, Buffer.alloc(5000, 1), null, undefined)).toBe(true);
    expect(readRecords(big.finish())[0]!.value!.equals(Buffer.alloc(5000, 1))).toBe(true);
  });

  it('reuses released buffers without mixing up batches', () => {
    const arenas = new Arenas(1 << 20, 64);
    const batches: Buffer[] = [];
    for (let b = 0; b < 5; b++) {
      const w = new BatchWriter(NOW, 1 << 20, arenas);
      for (let i = 0; i < 50 * (b + 1); i++) w.tryAppend(null, `batch ${b} record ${i}`, null, undefined);
      batches.push(Buffer.from(w.finish())); // a copy: the writer's buffer goes back to the arenas
      w.release();
      expect(arenas.heldBytes).toBeGreaterThan(0);
    }
    batches.forEach((batch, b) => {
      const values = readRecords(batch).map((r) => r.value!.toString());
      expect(values).toEqual(Array.from({ length: 50 * (b + 1) }, (_, i) => `batch ${b} record ${i}`));
    });
    const held = arenas.heldBytes;
    const reused = arenas.take(64);
    expect(arenas.heldBytes).toBe(held - reused.length);
    arenas.clear();
    expect(arenas.heldBytes).toBe(0);
  });

  it('keeps no more free buffers than it is allowed', () => {
    const arenas = new Arenas(1000, 64);
    arenas.give(Buffer.alloc(600));
    arenas.give(Buffer.alloc(600));
    expect(arenas.heldBytes).toBe(600);
  });

  it('refuses bad fields with InvalidRecordError', () => {
    const w = new BatchWriter(NOW, 1 << 20, new Arenas(0));
    expect(() => w.tryAppend(null, 42 as never, null, undefined)).toThrow(InvalidRecordError);
    expect(() => w.tryAppend(null, 'v', null, 1.5)).toThrow(InvalidRecordError);
    expect(() => w.finish()).toThrow(InvalidRecordError); // no records
  });
});

describe('recordSizeBound', () => {
  it('bounds the bytes a record takes in a batch of its own', () => {
    for (const r of MIXED) {
      const actual = buildBatch([r], { now: NOW }).length;
      const bound = recordSizeBound(r.key, r.value, r.headers, r.timestamp);
      expect(bound).toBeGreaterThanOrEqual(actual);
      if (typeof r.value !== 'string' && typeof r.key !== 'string') expect(bound - actual).toBeLessThan(80);
    }
  });

  it('names the field of the wrong type', () => {
    expect(() => recordSizeBound(7, 'v', null, undefined)).toThrow(/record key must be/);
    expect(() => recordSizeBound(null, {}, null, undefined)).toThrow(/record value must be/);
    expect(() => recordSizeBound(null, 'v', [{ key: 1, value: 'x' }] as never, undefined)).toThrow(/header needs a string key/);
    expect(() => recordSizeBound(null, 'v', { h: 5 } as never, undefined)).toThrow(/header value must be/);
    expect(() => recordSizeBound(null, 'v', 'h' as never, undefined)).toThrow(/headers must be an array or an object/);
    expect(() => recordSizeBound(null, 'v', null, Number.NaN)).toThrow(/timestamp must be an integer/);
  });
});
