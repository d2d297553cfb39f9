import { randomBytes } from 'node:crypto';
import { compressFrameSync } from 'lz4-napi';
import { compressSync as snappyRaw } from 'snappy';
import { describe, expect, it } from 'vitest';
import {
  assembleBatch,
  batchesIn,
  buildBatch,
  buildBatchAsync,
  buildEndTransactionMarker,
  compress,
  compressAsync,
  Compression,
  ControlRecordType,
  controlRecordKey,
  CorruptRecordError,
  decompress,
  decompressAsync,
  encodeRecords,
  InvalidRecordError,
  readBatchHeader,
  readEndTransactionMarker,
  readRecords,
  TimestampType,
  UnsupportedCompressionError,
  verifyBatch,
  type CompressionName,
  type RecordInput,
  type RecordOutput,
} from '../src/record/index.js';

const T0 = 1_700_000_000_000;

/** A record as plain data, for toEqual. */
function plain(r: RecordOutput) {
  return {
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key === null ? null : r.key.toString('hex'),
    value: r.value === null ? null : r.value.toString('hex'),
    headers: r.headers.map((h) => [h.key, h.value === null ? null : h.value.toString('hex')]),
  };
}

const bytesHex = (v: Buffer | Uint8Array | string | null | undefined): string | null =>
  v === null || v === undefined ? null : typeof v === 'string' ? Buffer.from(v).toString('hex') : Buffer.from(v).toString('hex');

/** What readRecords should give back for `records` built at `baseOffset`. */
function expected(records: RecordInput[], baseOffset = 0, now = T0) {
  return records.map((r, i) => ({
    offset: baseOffset + i,
    timestamp: r.timestamp ?? now,
    key: bytesHex(r.key),
    value: bytesHex(r.value),
    headers: Array.isArray(r.headers)
      ? r.headers.map((h) => [h.key, bytesHex(h.value)])
      : Object.entries(r.headers ?? {}).map(([k, v]) => [k, bytesHex(v)]),
  }));
}

const SAMPLE: RecordInput[] = [
  { key: 'k0', value: 'v0', timestamp: T0 },
  { key: null, value: null, timestamp: T0 + 1 },
  { key: '', value: '', timestamp: T0 - 100 },
  { key: 'ключ 🔑', value: 'zürich ✓ 日本語 😀', timestamp: T0 + 2 ** 33 },
  { key: new Uint8Array([1, 2, 3]), value: new Uint8Array(0), timestamp: T0 },
  { key: Buffer.from('buf'), value: Buffer.from([0, 0xff, 0x80]), timestamp: T0 },
  { value: 'no key, default time' },
  { value: 'array headers', headers: [{ key: 'a', value: '1' }, { key: 'a', value: null }, { key: 'ü', value: Buffer.from([9]) }, { key: '', value: '' }] },
  { value: 'object headers', headers: { trace: 'abc', empty: '', none: null, bytes: new Uint8Array([7, 8]) } },
  { value: 'x'.repeat(300), key: 'y'.repeat(200) }, // lengths past one varint byte
];

const CODECS: CompressionName[] = ['none', 'gzip', 'snappy', 'lz4'];

describe('round trips', () => {
  it.each(CODECS)('%s', (codec) => {
    const b = buildBatch(SAMPLE, { compression: codec, baseOffset: 1000, now: T0 });
    expect(verifyBatch(b)).toBe(b.length);
    const h = readBatchHeader(b);
    expect(h.compression).toBe(Compression[(codec[0]!.toUpperCase() + codec.slice(1)) as 'None']);
    expect(h.recordsCount).toBe(SAMPLE.length);
    expect(h.lastOffsetDelta).toBe(SAMPLE.length - 1);
    expect(h.baseTimestamp).toBe(T0);
    expect(h.maxTimestamp).toBe(T0 + 2 ** 33);
    expect(readRecords(b).map(plain)).toEqual(expected(SAMPLE, 1000));
  });

  it('keys and values of an uncompressed batch are views of it', () => {
    const b = buildBatch([{ key: 'key', value: 'value' }]);
    const [r] = readRecords(b);
    expect(r!.key!.buffer).toBe(b.buffer);
    expect(r!.value!.byteOffset).toBe(b.byteOffset + b.length - 1 - 5);
  });

  it('those views are Buffers in every respect', () => {
    const b = buildBatch([{ key: 'key', value: 'hello world', headers: [{ key: 'h', value: 'hv' }] }]);
    const [r] = readRecords(b);
    for (const v of [r!.key!, r!.value!, r!.headers[0]!.value!]) {
      expect(v).toBeInstanceOf(Buffer);
      expect(Buffer.isBuffer(v)).toBe(true);
      expect(v.constructor).toBe(Buffer);
      expect(v.subarray(1)).toBeInstanceOf(Buffer);
    }
    expect(r!.value!.toString('utf8', 6)).toBe('world');
    expect(r!.value!.equals(Buffer.from('hello world'))).toBe(true);
    expect(Buffer.concat([r!.key!, r!.value!]).toString()).toBe('keyhello world');
    expect(JSON.stringify(r!.key)).toBe(JSON.stringify(Buffer.from('key')));
  });

  it('zstd cannot be written, with a clear error', () => {
    expect(() => buildBatch(SAMPLE, { compression: 'zstd' })).toThrow(UnsupportedCompressionError);
    expect(() => buildBatch(SAMPLE, { compression: Compression.Zstd })).toThrow(/zstd.*read but not written.*lz4, gzip or snappy/);
  });

  it('rejects an unknown codec name', () => {
    expect(() => buildBatch(SAMPLE, { compression: 'brotli' as CompressionName })).toThrow(RangeError);
  });

  it('reads raw (librdkafka) snappy as well as the xerial framing', () => {
    const section = encodeRecords(SAMPLE, { now: T0 });
    const raw = assembleBatch(snappyRaw(section.data), { ...section, compression: 'snappy' });
    const xerial = buildBatch(SAMPLE, { compression: 'snappy', now: T0 });
    expect(raw.subarray(61, 69).equals(xerial.subarray(61, 69))).toBe(false);
    expect(xerial.subarray(61, 77).toString('hex')).toBe('82534e415050590000000001' + '00000001');
    expect(readRecords(raw).map(plain)).toEqual(expected(SAMPLE));
  });

  it('reads LZ4 frames with block and content checksums', () => {
    const section = encodeRecords(SAMPLE, { now: T0 });
    const frame = compressFrameSync(section.data, { blockChecksums: true, contentChecksum: true });
    expect(frame[4]).toBe(0x74); // FLG: version 1, independent blocks, block + content checksums
    const b = assembleBatch(frame, { ...section, compression: 'lz4' });
    expect(readRecords(b).map(plain)).toEqual(expected(SAMPLE));
  });

  it('writes Kafka\'s LZ4 frame: 64 KiB independent blocks, no checksums', () => {
    const b = buildBatch(SAMPLE, { compression: 'lz4' });
    expect(b.subarray(61, 67).toString('hex')).toBe('04224d186040');
  });

  it.each(CODECS)('%s: a section larger than the codec blocks (snappy 32 KiB, lz4 64 KiB)', (codec) => {
    const records: RecordInput[] = [];
    for (let i = 0; i < 400; i++) records.push({ key: `k${i}`, value: i % 2 ? randomBytes(700) : Buffer.alloc(700, i), timestamp: T0 + i });
    const b = buildBatch(records, { compression: codec, now: T0 });
    expect(readRecords(b).map(plain)).toEqual(expected(records));
  });

  it('grows its scratch for many records and many headers', () => {
    const records: RecordInput[] = [];
    for (let i = 0; i < 5000; i++) {
      records.push({ value: `v${i}`, timestamp: T0 + i, headers: i % 10 ? undefined : Array.from({ length: 50 }, (_, j) => ({ key: `h${j}`, value: `${i}` })) });
    }
    for (const codec of ['none', 'lz4'] as const) {
      const b = buildBatch(records, { compression: codec, now: T0 });
      expect(readRecords(b).map(plain)).toEqual(expected(records));
    }
  });

  it('encodeRecords + compress + assembleBatch equals buildBatch', () => {
    for (const codec of [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4]) {
      const section = encodeRecords(SAMPLE, { now: T0 });
      const b = assembleBatch(compress(codec, section.data), { ...section, compression: codec, baseOffset: 5 });
      expect(b.equals(buildBatch(SAMPLE, { compression: codec, baseOffset: 5, now: T0 }))).toBe(true);
    }
  });

  it('buildBatchAsync equals buildBatch', async () => {
    for (const codec of CODECS) {
      const a = await buildBatchAsync(SAMPLE, { compression: codec, now: T0 });
      expect(a.equals(buildBatch(SAMPLE, { compression: codec, now: T0 }))).toBe(true);
    }
  });

  it('compress / decompress, sync and async, round-trip every writable codec', async () => {
    const data = Buffer.concat([randomBytes(50_000), Buffer.alloc(100_000, 'a')]);
    for (const codec of [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4]) {
      const c = compress(codec, data);
      expect(decompress(codec, c).equals(data)).toBe(true);
      expect((await decompressAsync(codec, await compressAsync(codec, data))).equals(data)).toBe(true);
    }
  });
});

describe('timestamps', () => {
  it('defaults to now, keeps deltas of either sign, and reports max', () => {
    const records: RecordInput[] = [{ value: 'a', timestamp: T0 }, { value: 'b', timestamp: T0 - 2 ** 40 }, { value: 'c' }, { value: 'd', timestamp: T0 + 2 ** 35 }];
    const b = buildBatch(records, { now: T0 + 7 });
    const h = readBatchHeader(b);
    expect([h.baseTimestamp, h.maxTimestamp, h.timestampType]).toEqual([T0, T0 + 2 ** 35, TimestampType.CreateTime]);
    expect(readRecords(b).map((r) => r.timestamp)).toEqual([T0, T0 - 2 ** 40, T0 + 7, T0 + 2 ** 35]);
  });

  it('takes the base from the first record even when it has none', () => {
    const b = buildBatch([{ value: 'a' }, { value: 'b', timestamp: 5 }], { now: 10 });
    expect(readBatchHeader(b)).toMatchObject({ baseTimestamp: 10, maxTimestamp: 10 });
    expect(readRecords(b).map((r) => r.timestamp)).toEqual([10, 5]);
  });

  it('LogAppendTime stamps every record with now', () => {
    const b = buildBatch([{ value: 'a', timestamp: 1 }, { value: 'b', timestamp: 2 }], { timestampType: 'LogAppendTime', now: T0 });
    const h = readBatchHeader(b);
    expect([h.timestampType, h.baseTimestamp, h.maxTimestamp, h.attributes & 0x08]).toEqual([TimestampType.LogAppendTime, T0, T0, 8]);
    expect(readRecords(b).map((r) => r.timestamp)).toEqual([T0, T0]);
  });

  it('uses the default clock when no now is given', () => {
    const before = Date.now();
    const h = readBatchHeader(buildBatch([{ value: 'a' }]));
    expect(h.baseTimestamp).toBeGreaterThanOrEqual(before);
    expect(h.baseTimestamp).toBeLessThanOrEqual(Date.now());
  });
});

describe('input the builder refuses', () => {
  it('an empty batch', () => {
    expect(() => buildBatch([])).toThrow(InvalidRecordError);
    expect(() => encodeRecords([])).toThrow(/at least one record/);
  });
  it('keys, values and header values that are not bytes or strings', () => {
    expect(() => buildBatch([{ value: 42 as unknown as string }])).toThrow(InvalidRecordError);
    expect(() => buildBatch([{ key: {} as unknown as string, value: 'v' }])).toThrow(InvalidRecordError);
    expect(() => buildBatch([{ value: 'v', headers: [{ key: 'h', value: 1 as unknown as string }] }])).toThrow(InvalidRecordError);
    expect(() => buildBatch([{ value: 'v', headers: [{ key: null as unknown as string, value: 'x' }] }])).toThrow(InvalidRecordError);
  });
  it('timestamps that are not integers', () => {
    expect(() => buildBatch([{ value: 'v', timestamp: 1.5 }])).toThrow(InvalidRecordError);
    expect(() => buildBatch([{ value: 'v', timestamp: 1 }, { value: 'w', timestamp: NaN }])).toThrow(InvalidRecordError);
    expect(() => buildBatch([{ value: 'v', timestamp: 1 }, { value: 'w', timestamp: 2 ** 60 }])).toThrow(InvalidRecordError);
  });
});

describe('batch chains', () => {
  const a = buildBatch([{ value: 'a' }], { baseOffset: 0 });
  const b = buildBatch([{ value: 'b' }, { value: 'c' }], { baseOffset: 1, compression: 'lz4' });
  const c = buildBatch([{ value: 'd' }], { baseOffset: 3 });

  it('walks every batch as a view', () => {
    const chain = Buffer.concat([a, b, c]);
    const batches = [...batchesIn(chain)];
    expect(batches.map((x) => readBatchHeader(x).baseOffset)).toEqual([0, 1, 3]);
    expect(batches[1]!.buffer).toBe(chain.buffer);
    expect(batches.flatMap((x) => readRecords(x).map((r) => r.value!.toString()))).toEqual(['a', 'b', 'c', 'd']);
  });

  it('skips a trailing partial batch silently, wherever it is cut', () => {
    const chain = Buffer.concat([a, b, c]);
    for (let cut = a.length + b.length; cut < chain.length; cut++) {
      expect([...batchesIn(chain.subarray(0, cut))].length).toBe(2);
    }
    expect([...batchesIn(chain.subarray(0, 5))]).toEqual([]);
    expect([...batchesIn(Buffer.alloc(0))]).toEqual([]);
  });

  it('walks a range of a buffer', () => {
    const chain = Buffer.concat([a, b, c]);
    expect([...batchesIn(chain, a.length, a.length + b.length)].map((x) => readBatchHeader(x).baseOffset)).toEqual([1]);
  });

  it('throws on a magic other than 2 and on a length below the minimum', () => {
    const bad = Buffer.concat([a, b]);
    bad[a.length + 16] = 1;
    const it1 = batchesIn(bad);
    expect(it1.next().done).toBe(false);
    expect(() => it1.next()).toThrow(CorruptRecordError);
    const short = Buffer.from(a);
    short.writeInt32BE(10, 8);
    expect(() => [...batchesIn(short)]).toThrow(/batchLength 10/);
  });
});

describe('control batches', () => {
  it('an end-transaction marker round-trips', () => {
    for (const committed of [true, false]) {
      const b = buildEndTransactionMarker({ committed, producerId: 77, producerEpoch: 2, coordinatorEpoch: 9, baseOffset: 500, timestamp: T0 });
      expect(verifyBatch(b)).toBe(b.length);
      const h = readBatchHeader(b);
      expect([h.isControl, h.isTransactional, h.producerId, h.producerEpoch, h.baseSequence, h.recordsCount]).toEqual([true, true, 77, 2, -1, 1]);
      expect(readEndTransactionMarker(b)).toEqual({
        committed,
        type: committed ? ControlRecordType.Commit : ControlRecordType.Abort,
        coordinatorEpoch: 9,
        producerId: 77,
        producerEpoch: 2,
        offset: 500,
        timestamp: T0,
      });
      const [r] = readRecords(b);
      expect(r!.key!.toString('hex')).toBe(committed ? '00000001' : '00000000');
      expect(r!.value!.toString('hex')).toBe('000000000009');
    }
  });

  it('refuses what is not a marker', () => {
    expect(() => readEndTransactionMarker(buildBatch([{ value: 'x' }]))).toThrow(/not a control batch/);
    const leaderChange = buildBatch([{ key: controlRecordKey.encode(ControlRecordType.LeaderChange), value: 'x' }], { control: true });
    expect(readBatchHeader(leaderChange).isControl).toBe(true);
    expect(() => readEndTransactionMarker(leaderChange)).toThrow(/type 2/);
    const shortValue = buildBatch([{ key: controlRecordKey.encode(ControlRecordType.Commit), value: Buffer.alloc(3) }], { control: true, transactional: true });
    expect(() => readEndTransactionMarker(shortValue)).toThrow(CorruptRecordError);
  });
});

describe('readRecords options', () => {
  it('verifyCrc: false decodes a batch whose CRC is wrong; the default refuses it', () => {
    const b = buildBatch([{ value: 'hello' }]);
    b.writeUInt32BE(0, 17);
    expect(() => readRecords(b)).toThrow(/CRC32C mismatch/);
    expect(readRecords(b, { verifyCrc: false })[0]!.value!.toString()).toBe('hello');
  });

  it('maxDecompressedSize bounds the decompressed section', () => {
    const b = buildBatch([{ value: Buffer.alloc(100_000) }], { compression: 'gzip' });
    expect(readRecords(b).length).toBe(1);
    expect(() => readRecords(b, { maxDecompressedSize: 50_000 })).toThrow(CorruptRecordError);
  });
});

describe('batch options the builder refuses', () => {
  it('int64 fields that are not safe integers, int16/int32 fields out of range', () => {
    expect(() => buildBatch([{ value: 'v' }], { baseOffset: 1.5 })).toThrow(RangeError);
    expect(() => buildBatch([{ value: 'v' }], { producerId: 2 ** 64 })).toThrow(RangeError);
    expect(() => buildBatch([{ value: 'v' }], { producerEpoch: 40000 })).toThrow(RangeError);
    expect(() => buildBatch([{ value: 'v' }], { baseSequence: 2 ** 31 })).toThrow(RangeError);
  });
});
