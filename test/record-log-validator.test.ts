/**
 * Kafka's LogValidator rules (src/record/log-validator.ts) on crafted batches: each lie a
 * client can tell in a header or in the record framing, compressed lies, decompression
 * bombs, the maxTimestamp fix (with a CRC that still verifies), LogAppendTime, timestamp
 * bounds and keyless records on a compacted topic with their batch indexes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { lz4FrameCompress } from '../src/record/lz4.js';
import { lz4FrameDecode } from '../src/record/lz4-decode.js';
import { compress, decompress } from '../src/record/compression.js';
import { assembleBatch, buildBatch, encodeRecords, type RecordInput } from '../src/record/builder.js';
import { computeBatchCrc, readBatchHeader, readInt64, writeInt64 } from '../src/record/header.js';
import { verifyBatch, readRecords } from '../src/record/reader.js';
import {
  ATTRIBUTE_TIMESTAMP_TYPE,
  ATTRIBUTES_OFFSET,
  Compression,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORDS_OFFSET,
  type CompressionName,
} from '../src/record/layout.js';
import { validateForAppend, type LogValidatorConfig } from '../src/record/log-validator.js';
import { validateChain, WorkerPool } from '../src/workers/index.js';

const NOW = 1_700_000_000_000;
const LONG_MAX = 9223372036854775807;
const base: LogValidatorConfig = {
  compacted: false,
  logAppendTime: false,
  timestampBeforeMaxMs: LONG_MAX,
  timestampAfterMaxMs: LONG_MAX,
  now: NOW,
  maxDecompressedSize: 64 * 1024 * 1024,
};
const CODECS: CompressionName[] = ['none', 'gzip', 'snappy', 'lz4'];

function records(n: number, ts = NOW): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `value ${i}`, timestamp: ts, headers: i % 2 ? [{ key: 'h', value: 'v' }] : [] }));
}

function fixCrc(batch: Buffer): Buffer {
  batch.writeUInt32BE(computeBatchCrc(batch, 0, batch.length), CRC_OFFSET);
  return batch;
}

/** A batch around a records section we wrote by hand, compressed with `codec`, header claiming `count` records. */
function batchOf(section: Buffer, count: number, codec: CompressionName = 'none'): Buffer {
  const c = { none: Compression.None, gzip: Compression.Gzip, snappy: Compression.Snappy, lz4: Compression.Lz4, zstd: Compression.Zstd }[codec];
  return assembleBatch(compress(c, section), { count, baseTimestamp: NOW, maxTimestamp: NOW, compression: c });
}

function section(n: number): Buffer {
  return Buffer.from(encodeRecords(records(n)).data);
}

/** The byte offsets at which each record of an uncompressed section starts (lengths < 64, one varint byte). */
function recordStarts(s: Buffer): number[] {
  const out: number[] = [];
  for (let p = 0; p < s.length; p += 1 + (s[p]! >> 1)) out.push(p);
  return out;
}

function invalid(batch: Buffer, config: Partial<LogValidatorConfig> = {}): string {
  const r = validateForAppend(batch, { ...base, ...config });
  expect(r.ok).toBe(false);
  if (r.ok) throw new Error('unreachable');
  expect(r.kind).toBe('invalid-record');
  expect(r.recordErrors).toEqual([]);
  return r.message;
}

describe('validateForAppend: honest batches', () => {
  it.each(CODECS)('accepts %s batches and counts their records', (codec) => {
    const chain = Buffer.concat([buildBatch(records(5), { compression: codec }), buildBatch(records(3), { compression: codec })]);
    const before = Buffer.from(chain);
    const r = validateForAppend(chain, base);
    expect(r).toMatchObject({ ok: true, batches: 2, records: 8, patched: 0 });
    expect(chain.equals(before)).toBe(true);
  });

  it.each(['batch-v2-zstd-file.bin', 'batch-v2-zstd-stream.bin', 'batch-v2-gzip.bin', 'batch-v2-lz4.bin', 'batch-v2-snappy-raw.bin', 'batch-v2-snappy-xerial.bin', 'batch-v2-none-headers.bin'])(
    'accepts the frozen fixture %s (other producers\' framing)',
    (file) => {
      const batch = fs.readFileSync(path.join(import.meta.dirname, 'fixtures', file));
      const r = validateForAppend(Buffer.from(batch), { ...base, now: readBatchHeader(batch).maxTimestamp });
      expect(r.ok, r.ok ? '' : r.message).toBe(true);
    },
  );
});

describe('validateForAppend: header lies', () => {
  it.each(CODECS)('%s: a record count above what the batch holds (1 record claiming 1,000,001)', (codec) => {
    const batch = Buffer.from(buildBatch(records(1), { compression: codec }));
    batch.writeInt32BE(1_000_001, RECORDS_COUNT_OFFSET);
    batch.writeInt32BE(1_000_000, LAST_OFFSET_DELTA_OFFSET);
    expect(invalid(fixCrc(batch))).toMatch(/1000001 records/);
  });

  it.each(CODECS)('%s: a record count below what the batch holds', (codec) => {
    expect(invalid(batchOf(section(3), 2, codec))).toMatch(/bytes follow the last of its 2 records/);
  });

  it('a count that does not match lastOffsetDelta, zero and negative counts', () => {
    for (const [count, delta] of [[2, 0], [0, -1], [-5, -6]] as const) {
      const batch = Buffer.from(buildBatch(records(1)));
      batch.writeInt32BE(count, RECORDS_COUNT_OFFSET);
      batch.writeInt32BE(delta, LAST_OFFSET_DELTA_OFFSET);
      invalid(fixCrc(batch));
    }
  });

  it('an idempotent batch with a negative base sequence', () => {
    const batch = buildBatch(records(1), { producerId: 7, producerEpoch: 0, baseSequence: -1 });
    expect(invalid(batch)).toMatch(/baseSequence -1/);
  });
});

describe('validateForAppend: record framing lies', () => {
  it.each(CODECS)('%s: offset deltas out of order', (codec) => {
    const s = section(3);
    const starts = recordStarts(s);
    // length, attributes, timestampDelta (0: one byte), then offsetDelta
    expect(s[starts[1]! + 3]).toBe(2); // zigzag 1
    s[starts[1]! + 3] = 4; // 2
    s[starts[2]! + 3] = 2; // 1
    expect(invalid(batchOf(s, 3, codec))).toMatch(/offsetDelta is 2, expected 1/);
  });

  it.each(CODECS)('%s: a record length running past the section', (codec) => {
    const s = section(2);
    s[recordStarts(s)[1]!] = 0x7e; // 63, far more than is left
    expect(invalid(batchOf(s, 2, codec))).toMatch(/bad length 63/);
  });

  it.each(CODECS)('%s: a record length shorter than its fields', (codec) => {
    const s = section(2);
    const at = recordStarts(s)[0]!;
    const shorter = Buffer.concat([Buffer.from([(((s[at]! >> 1) - 1) << 1)]), s.subarray(at + 1)]);
    expect(invalid(batchOf(shorter, 2, codec))).toMatch(/record 0/);
  });

  it('a varint that never ends', () => {
    const s = section(1);
    s.fill(0xff, 3, s.length); // from the offsetDelta on: continuation bits to the end
    expect(invalid(batchOf(s, 1))).toMatch(/varint/);
  });

  it('a key length beyond the record, a value length below -1', () => {
    const s = section(1);
    s[4] = 0x40; // key length 32
    expect(invalid(batchOf(s, 1))).toMatch(/bad key length 32/);
    const t = section(1);
    const keyLen = t[4]! >> 1;
    t[5 + keyLen] = 0x03; // value length -2
    expect(invalid(batchOf(t, 1))).toMatch(/bad value length -2/);
  });

  it('a header count the record cannot hold, and a negative one', () => {
    for (const [count, pattern] of [[0x7e, /bad header count 63/], [0x01, /bad header count -1/]] as const) {
      const s = section(1); // record 0 has no headers: its last byte is the count (0)
      s[s.length - 1] = count;
      expect(invalid(batchOf(s, 1))).toMatch(pattern);
    }
  });

  it('bytes after the last record', () => {
    const s = Buffer.concat([section(2), Buffer.from([0, 0, 0])]);
    expect(invalid(batchOf(s, 2))).toMatch(/3 bytes follow/);
  });

  it('a compressed section that does not decompress', () => {
    const batch = Buffer.from(buildBatch(records(20), { compression: 'gzip' }));
    batch.fill(0x55, RECORDS_OFFSET + 12, RECORDS_OFFSET + 30);
    expect(invalid(fixCrc(batch))).toMatch(/gzip|batch at byte 0/);
    const lz4 = Buffer.from(buildBatch(records(20), { compression: 'lz4' }));
    lz4.fill(0xff, RECORDS_OFFSET + 11, lz4.length - 4); // every block's sequences garbage
    expect(invalid(fixCrc(lz4))).toMatch(/lz4/);
  });
});

describe('validateForAppend: hostile bytes never throw', () => {
  it('unknown codec bits, truncated chains and random noise come back as invalid-record', () => {
    const odd = Buffer.from(buildBatch(records(2)));
    odd.writeInt16BE(6, ATTRIBUTES_OFFSET);
    invalid(fixCrc(odd));
    const whole = buildBatch(records(3), { compression: 'lz4' });
    invalid(whole.subarray(0, whole.length - 5));
    invalid(whole.subarray(0, 40));
    let seed = 7;
    for (let n = 0; n < 2000; n++) {
      const b = Buffer.from(buildBatch(records(1 + (n % 5)), { compression: CODECS[n % 4] }));
      for (let k = 0; k < 4; k++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        const at = RECORDS_OFFSET + (seed % (b.length - RECORDS_OFFSET));
        b[at] = seed >>> 24;
      }
      const copy = Buffer.from(fixCrc(b));
      const r = validateForAppend(b, base); // must not throw
      if (!r.ok) expect(r.kind).toMatch(/invalid-(record|timestamp)/);
      // The native fast path and the TypeScript walk against workers/validate.ts, written apart.
      expect(r.ok, `mutation ${n}`).toBe(validateChain(copy, 64 << 20).ok);
    }
  });
});

describe('validateForAppend: decompressed size cap', () => {
  it.each(['gzip', 'lz4'] as const)('%s: refuses a section that would decompress past the limit', (codec) => {
    const big = Buffer.alloc(4 * 1024 * 1024); // compresses to almost nothing
    const c = codec === 'gzip' ? Compression.Gzip : Compression.Lz4;
    const batch = assembleBatch(codec === 'gzip' ? gzipSync(big) : lz4FrameCompress(big), { count: 1, baseTimestamp: NOW, maxTimestamp: NOW, compression: c });
    expect(invalid(batch, { maxDecompressedSize: 1024 * 1024 })).toMatch(/1048576/);
  });
});

describe('validateForAppend: maxTimestamp and timestamp type', () => {
  it.each(CODECS)('%s: maxTimestamp -1 (Sarama) is set from the records and the CRC still verifies', (codec) => {
    const recs = [10, 50, 20].map((d, i) => ({ value: `v${i}`, timestamp: NOW + d }));
    const batch = Buffer.from(buildBatch(recs, { compression: codec }));
    writeInt64(batch, MAX_TIMESTAMP_OFFSET, -1);
    fixCrc(batch);
    const r = validateForAppend(batch, base);
    expect(r).toMatchObject({ ok: true, patched: 1 });
    expect(readInt64(batch, MAX_TIMESTAMP_OFFSET)).toBe(NOW + 50);
    expect(() => verifyBatch(batch, 0)).not.toThrow();
    expect(readRecords(batch).map((x) => x.timestamp)).toEqual([NOW + 10, NOW + 50, NOW + 20]);
  });

  it('a LogAppendTime bit on a CreateTime topic is cleared (CRC fixed); a LogAppendTime topic is left to the append', () => {
    const batch = Buffer.from(buildBatch(records(2, NOW - 5)));
    batch.writeInt16BE(batch.readInt16BE(ATTRIBUTES_OFFSET) | ATTRIBUTE_TIMESTAMP_TYPE, ATTRIBUTES_OFFSET);
    fixCrc(batch);
    const copy = Buffer.from(batch);
    expect(validateForAppend(copy, { ...base, logAppendTime: true })).toMatchObject({ ok: true, patched: 0 });
    expect(copy.equals(batch)).toBe(true);
    expect(validateForAppend(batch, base)).toMatchObject({ ok: true, patched: 1 });
    expect(batch.readInt16BE(ATTRIBUTES_OFFSET) & ATTRIBUTE_TIMESTAMP_TYPE).toBe(0);
    expect(() => verifyBatch(batch, 0)).not.toThrow();
  });

  it('works the same on the worker pool (headers fixed in the bytes handed back)', async () => {
    const pool = new WorkerPool({ threads: 1, validateInlineBelow: 0 });
    try {
      const batch = Buffer.from(buildBatch([{ value: 'a', timestamp: NOW + 7 }], { compression: 'lz4' }));
      writeInt64(batch, MAX_TIMESTAMP_OFFSET, -1);
      fixCrc(batch);
      const r = await pool.validateForAppend(batch, base);
      expect(r).toMatchObject({ ok: true, patched: 1 });
      expect(readInt64(r.data, MAX_TIMESTAMP_OFFSET)).toBe(NOW + 7);
      expect(pool.stats().pooledRuns).toBe(1);
      const bad = Buffer.from(buildBatch(records(1)));
      bad.writeInt32BE(3, RECORDS_COUNT_OFFSET);
      bad.writeInt32BE(2, LAST_OFFSET_DELTA_OFFSET);
      const r2 = await pool.validateForAppend(fixCrc(bad), base);
      expect(r2).toMatchObject({ ok: false, kind: 'invalid-record' });
    } finally {
      await pool.close();
    }
  });
});

describe('validateForAppend: per-record errors with batch indexes', () => {
  it('timestamps outside message.timestamp.before/after.max.ms: INVALID_TIMESTAMP listing each record', () => {
    const recs = [0, -10_000, 5, 10_000, -1].map((d, i) => ({ value: `v${i}`, timestamp: NOW + d }));
    const r = validateForAppend(buildBatch(recs), { ...base, timestampBeforeMaxMs: 1000, timestampAfterMaxMs: 1000 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.kind).toBe('invalid-timestamp');
    expect(r.recordErrors.map((e) => e.batchIndex)).toEqual([1, 3]);
    expect(r.recordErrors[0]!.batchIndexErrorMessage).toMatch(/out of range/);
    // LogAppendTime topics do not check producer timestamps (Kafka stamps them anyway).
    expect(validateForAppend(buildBatch(recs), { ...base, logAppendTime: true, timestampBeforeMaxMs: 1000, timestampAfterMaxMs: 1000 }).ok).toBe(true);
  });

  it.each(CODECS)('%s: keyless records on a compacted topic: INVALID_RECORD listing each of them', (codec) => {
    const recs = [{ key: 'a', value: '1' }, { key: null, value: '2' }, { key: 'c', value: '3' }, { value: '4' }];
    const r = validateForAppend(buildBatch(recs, { compression: codec }), { ...base, compacted: true });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.kind).toBe('invalid-record');
    expect(r.recordErrors).toEqual([
      { batchIndex: 1, batchIndexErrorMessage: 'a compacted topic cannot accept a record without a key' },
      { batchIndex: 3, batchIndexErrorMessage: 'a compacted topic cannot accept a record without a key' },
    ]);
    expect(r.message).toMatch(/2 of 4 records rejected/);
  });
});

describe('lz4FrameDecode (native blocks)', () => {
  it('decodes what lz4-napi decodes, for Kafka frames of many blocks and stored blocks', () => {
    const text = Buffer.from(Array.from({ length: 20000 }, (_, i) => `{"i":${i},"lvl":"info","msg":"line ${i % 97}"}\n`).join(''));
    const random = Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 2654435761) >>> 24));
    for (const data of [text, random, Buffer.from('x')]) {
      const frame = lz4FrameCompress(data);
      expect(lz4FrameDecode(frame, 0, frame.length, 64 << 20).equals(data)).toBe(true);
      expect(lz4FrameDecode(frame, 0, frame.length, 64 << 20, true).equals(decompress(Compression.Lz4, frame))).toBe(true);
    }
  });

  it('refuses a block whose match points before the output', () => {
    // FLG 0x60 BD 0x40 HC; block: token 0x10 (1 literal, match 4) 'a', offset 5 (> 1 byte written)
    const frame = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82, 5, 0, 0, 0, 0x10, 0x61, 5, 0, 0x00, 0, 0, 0, 0]);
    frame.writeUInt32LE(5, 7);
    expect(() => lz4FrameDecode(frame, 0, frame.length, 1 << 20)).toThrow(/malformed/);
  });
});
