/**
 * WorkerPool codec tasks against their inline results: compress, decompress, buildBatch,
 * buffer hand-over, errors across the thread boundary, and the pool switched off.
 * Uses the compiled worker entry in dist/ (npm test runs tsc first).
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildBatch,
  compress,
  Compression,
  CorruptRecordError,
  decompress,
  readRecords,
  UnsupportedCompressionError,
  type CompressionName,
  type RecordInput,
} from '../src/record/index.js';
import { WorkerPool, WorkerPoolClosedError } from '../src/workers/index.js';

/** JSON log lines, deterministic, ~100 bytes each. */
function lines(count: number, seed = 1): RecordInput[] {
  const out: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    const v = `{"ts":${1_700_000_000_000 + i},"lvl":"${['info', 'warn', 'error'][(i * seed) % 3]}","path":"/v1/orders/${(i * 7919 + seed) % 10007}","ms":${i % 97}}`;
    out.push({ key: i % 5 === 0 ? null : `k${i}`, value: v, headers: i % 3 === 0 ? [{ key: 'trace', value: `t${i}` }] : undefined, timestamp: 1_700_000_000_000 + i });
  }
  return out;
}

/** A records section of ~`size` bytes that owns its ArrayBuffer (so pooled calls move it). */
function section(size: number): Buffer {
  const text = lines(Math.ceil(size / 90)).map((r) => r.value as string).join('\n');
  const out = Buffer.allocUnsafeSlow(Math.min(size, Buffer.byteLength(text)));
  out.write(text);
  return out;
}

function copyOf(b: Buffer): Buffer {
  const c = Buffer.allocUnsafeSlow(b.length);
  b.copy(c);
  return c;
}

// Thresholds 0: every call that can go to a worker does.
const pooled = new WorkerPool({ threads: 2, compressInlineBelow: 0, decompressInlineBelow: 0, validateInlineBelow: 0 });
const inline = new WorkerPool({ inline: true });
afterAll(async () => {
  await pooled.close();
  await inline.close();
});

const codecs: CompressionName[] = ['lz4', 'gzip', 'snappy'];

describe('compress and decompress in a worker', () => {
  for (const codec of codecs) {
    it(`${codec}: round trips and matches the inline bytes`, async () => {
      for (const size of [1, 100, 70_000, 300_000]) {
        const data = section(size);
        const expected = compress(Compression[codecName(codec)], data);
        const viaPool = await pooled.compress(codec, copyOf(data));
        expect(Buffer.isBuffer(viaPool)).toBe(true);
        expect(viaPool.equals(expected)).toBe(true);
        expect((await inline.compress(codec, copyOf(data))).equals(expected)).toBe(true);
        const back = await pooled.decompress(codec, copyOf(viaPool));
        expect(Buffer.isBuffer(back)).toBe(true);
        expect(back.equals(data)).toBe(true);
        expect((await pooled.decompress(Compression[codecName(codec)], copyOf(viaPool))).equals(data)).toBe(true);
        expect((await inline.decompress(codec, copyOf(viaPool))).equals(data)).toBe(true);
      }
    });
  }

  it('codec none never leaves the calling thread and returns the same bytes', async () => {
    const data = section(5000);
    const before = pooled.stats().pooledRuns;
    expect(await pooled.compress('none', data)).toBe(data);
    expect(await pooled.decompress(Compression.None, data)).toBe(data);
    expect(pooled.stats().pooledRuns).toBe(before);
  });

  it('moves an input that owns its ArrayBuffer and copies a slice, leaving it intact', async () => {
    const data = section(50_000);
    const expected = compress(Compression.Lz4, data);
    const owned = copyOf(data);
    expect((await pooled.compress('lz4', owned)).equals(expected)).toBe(true);
    expect(owned.length).toBe(0); // moved to the worker

    const big = Buffer.concat([Buffer.from('prefix'), data, Buffer.from('suffix')]);
    const slice = big.subarray(6, 6 + data.length);
    expect((await pooled.compress('lz4', slice)).equals(expected)).toBe(true);
    expect(slice.equals(data)).toBe(true); // copied, not moved
  });

  it('honours maxSize in the worker', async () => {
    const data = section(200_000);
    const lz4 = compress(Compression.Lz4, data);
    await expect(pooled.decompress('lz4', copyOf(lz4), 1000)).rejects.toBeInstanceOf(CorruptRecordError);
    const gz = compress(Compression.Gzip, data);
    await expect(pooled.decompress('gzip', copyOf(gz), 1000)).rejects.toBeInstanceOf(CorruptRecordError);
  });
});

describe('buildBatch', () => {
  const options = { now: 1_700_000_000_500, baseOffset: 42, producerId: 7, producerEpoch: 1, baseSequence: 3, partitionLeaderEpoch: 5 };

  for (const codec of [...codecs, 'none'] as CompressionName[]) {
    it(`${codec}: the pooled batch is the inline batch, byte for byte, and decodes to the records`, async () => {
      for (const count of [1, 10, 2000]) {
        const records = lines(count, count);
        const expected = buildBatch(records, { ...options, compression: codec });
        const viaPool = await pooled.buildBatch(records, { ...options, compression: codec });
        expect(viaPool.equals(expected)).toBe(true);
        expect((await inline.buildBatch(records, { ...options, compression: codec })).equals(expected)).toBe(true);
        const decoded = readRecords(viaPool);
        expect(decoded.map((r) => r.value!.toString())).toEqual(records.map((r) => r.value));
        expect(decoded.map((r) => r.offset)).toEqual(records.map((_, i) => 42 + i));
      }
    });
  }

  it('keeps LogAppendTime, transactional and control flags', async () => {
    const records = lines(500);
    const o = { now: 123, timestampType: 'LogAppendTime', transactional: true, compression: 'lz4' } as const;
    expect((await pooled.buildBatch(records, o)).equals(buildBatch(records, o))).toBe(true);
  });

  it('goes to a worker above the threshold and stays inline below it', async () => {
    const pool = new WorkerPool({ threads: 1, compressInlineBelow: 10_000 });
    try {
      await pool.buildBatch(lines(5), { compression: 'lz4' });
      expect(pool.stats()).toMatchObject({ inlineRuns: 1, pooledRuns: 0, threads: 1 });
      await pool.buildBatch(lines(1000), { compression: 'lz4' });
      expect(pool.stats()).toMatchObject({ inlineRuns: 1, pooledRuns: 1, completed: 1 });
    } finally {
      await pool.close();
    }
  });
});

describe('errors across the worker boundary', () => {
  it('rebuilds CorruptRecordError with its code and message', async () => {
    const garbage = Buffer.from('this is not an lz4 frame at all, not even close');
    let inlineErr: unknown;
    try {
      decompress(Compression.Lz4, garbage);
    } catch (err) {
      inlineErr = err;
    }
    const err = await pooled.decompress('lz4', copyOf(garbage)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptRecordError);
    expect((err as CorruptRecordError).code).toBe('ERR_SLUICE_CORRUPT_RECORD');
    expect((err as CorruptRecordError).name).toBe('CorruptRecordError');
    expect((err as Error).message).toBe((inlineErr as Error).message);
    expect((err as Error).stack).toContain('thrown in a worker thread');
  });

  it('rejects zstd compression with UnsupportedCompressionError, pooled or not', async () => {
    await expect(pooled.compress('zstd', section(100_000))).rejects.toBeInstanceOf(UnsupportedCompressionError);
    await expect(pooled.buildBatch(lines(10), { compression: 'zstd' })).rejects.toBeInstanceOf(UnsupportedCompressionError);
  });

  it('rejects every call after close with WorkerPoolClosedError', async () => {
    const pool = new WorkerPool({ threads: 1, compressInlineBelow: 0 });
    await pool.compress('lz4', section(1000));
    await pool.close();
    await expect(pool.compress('lz4', section(1000))).rejects.toBeInstanceOf(WorkerPoolClosedError);
    await expect(pool.validate(Buffer.alloc(0))).rejects.toBeInstanceOf(WorkerPoolClosedError);
    await pool.close(); // twice is fine
  });
});

describe('pool off (inline: true)', () => {
  it('never starts a worker and counts every call as inline', async () => {
    const pool = new WorkerPool({ inline: true, compressInlineBelow: 0 });
    await pool.compress('lz4', section(500_000));
    await pool.decompress('gzip', compress(Compression.Gzip, section(500_000)));
    await pool.buildBatch(lines(3000), { compression: 'snappy' });
    expect(pool.stats()).toEqual({ threads: 0, queueSize: 0, utilization: 0, completed: 0, inlineRuns: 3, pooledRuns: 0 });
    await pool.close();
  });
});

function codecName(c: CompressionName): 'Lz4' | 'Gzip' | 'Snappy' {
  return c === 'lz4' ? 'Lz4' : c === 'gzip' ? 'Gzip' : 'Snappy';
}
