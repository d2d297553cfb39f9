/**
 * Deep validation of batch chains, in a worker and inline: good chains pass with their
 * counts, each kind of corruption fails naming the right batch position, and both paths
 * agree. Corrupt batches are crafted with a valid CRC where the fault is behind it, so
 * only the deep checks can catch them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  assembleBatch,
  buildBatch,
  compress,
  Compression,
  computeBatchCrc,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  MAGIC_OFFSET,
  RECORDS_COUNT_OFFSET,
  writeVarint,
  type CompressionName,
} from '../src/record/index.js';
import { validateChain, WorkerPool, type ValidationResult } from '../src/workers/index.js';

const pooled = new WorkerPool({ threads: 2, validateInlineBelow: 0 });
const inline = new WorkerPool({ inline: true });
afterAll(async () => {
  await pooled.close();
  await inline.close();
});

function batch(count: number, compression: CompressionName = 'none', baseOffset = 0): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `{"n":${i},"msg":"hello ${i}"}`, timestamp: 1000 + i }));
  return buildBatch(records, { compression, baseOffset, now: 5000 });
}

/** One record, by hand: lets a test write any offsetDelta, length or trailing bytes. */
function record(offsetDelta: number, value: string, opts: { lengthDelta?: number; extra?: number[] } = {}): Buffer {
  const body = Buffer.alloc(64 + value.length);
  let p = 0;
  body[p++] = 0; // attributes
  p = writeVarint(body, p, 0); // timestampDelta
  p = writeVarint(body, p, offsetDelta);
  p = writeVarint(body, p, -1); // null key
  p = writeVarint(body, p, value.length);
  p += body.write(value, p);
  p = writeVarint(body, p, 0); // no headers
  for (const b of opts.extra ?? []) body[p++] = b;
  const head = Buffer.alloc(5);
  const h = writeVarint(head, 0, p + (opts.lengthDelta ?? 0));
  return Buffer.concat([head.subarray(0, h), body.subarray(0, p)]);
}

function handBatch(records: Buffer[], count: number, codec: Compression = Compression.None, trailing = Buffer.alloc(0)): Buffer {
  const sectionBytes = Buffer.concat([...records, trailing]);
  const data = codec === Compression.None ? sectionBytes : compress(codec, sectionBytes);
  return assembleBatch(data, { count, baseTimestamp: 1000, maxTimestamp: 1000, compression: codec });
}

function recrc(b: Buffer): Buffer {
  b.writeUInt32BE(computeBatchCrc(b, 0, b.length), CRC_OFFSET);
  return b;
}

function copyOf(b: Buffer): Buffer {
  const c = Buffer.allocUnsafeSlow(b.length);
  b.copy(c);
  return c;
}

/** Validates in a worker and inline; checks they agree and returns the result. */
async function check(chain: Buffer): Promise<ValidationResult> {
  const expected = validateChain(chain, 64 << 20);
  const viaInline = await inline.validate(chain);
  const viaPool = await pooled.validate(copyOf(chain));
  const strip = (r: ValidationResult) => ({ ...r, data: r.data.toString('hex') });
  expect(strip(viaPool)).toEqual(strip(expected));
  expect(strip(viaInline)).toEqual(strip(expected));
  expect(viaPool.data.equals(chain)).toBe(true); // handed back intact
  return viaPool;
}

async function expectBad(chain: Buffer, position: number, message: RegExp): Promise<void> {
  const r = await check(chain);
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.position).toBe(position);
  expect(r.error).toMatch(message);
}

describe('validate: good chains', () => {
  for (const codec of ['none', 'lz4', 'gzip', 'snappy'] as CompressionName[]) {
    it(`accepts a ${codec} chain and counts batches and records`, async () => {
      const chain = Buffer.concat([batch(3, codec, 0), batch(500, codec, 3), batch(1, codec, 503)]);
      expect(await check(chain)).toMatchObject({ ok: true, batches: 3, records: 504 });
    });
  }

  it('accepts hand-made records with headers-free nulls', async () => {
    const chain = handBatch([record(0, 'a'), record(1, ''), record(2, 'ccc')], 3);
    expect(await check(chain)).toMatchObject({ ok: true, batches: 1, records: 3 });
  });

  it('moves an owned chain to the worker and hands it back in the result', async () => {
    const chain = Buffer.concat([batch(2000, 'lz4'), batch(10)]);
    const mine = copyOf(chain);
    const r = await pooled.validate(mine);
    expect(mine.length).toBe(0);
    expect(r.ok).toBe(true);
    expect(r.data.equals(chain)).toBe(true);
  });
});

describe('validate: where it runs', () => {
  it('by default keeps a small plain chain inline and sends a large lz4 chain to a worker', async () => {
    const pool = new WorkerPool({ threads: 1 });
    try {
      expect(await pool.validate(batch(3))).toMatchObject({ ok: true, records: 3 });
      expect(pool.stats()).toMatchObject({ inlineRuns: 1, pooledRuns: 0 });
      const big = batch(5000, 'lz4');
      expect(big.length).toBeGreaterThan(24 * 1024);
      expect(await pool.validate(big)).toMatchObject({ ok: true, records: 5000 });
      expect(pool.stats()).toMatchObject({ inlineRuns: 1, pooledRuns: 1 });
    } finally {
      await pool.close();
    }
  });
});

describe('validate: each corruption, at the right position', () => {
  const first = batch(4);
  const at = first.length; // the second batch's position in a two-batch chain

  it('an empty input', async () => {
    await expectBad(Buffer.alloc(0), 0, /no record batches/);
  });

  it('a flipped bit (CRC) in the second batch', async () => {
    const second = batch(5, 'lz4', 4);
    second[second.length - 3]! ^= 0x10;
    await expectBad(Buffer.concat([first, second]), at, /CRC32C mismatch/);
  });

  it('a partial batch at the end', async () => {
    const second = batch(5, 'none', 4);
    await expectBad(Buffer.concat([first, second.subarray(0, second.length - 7)]), at, /claims \d+ bytes but only/);
    await expectBad(Buffer.concat([first, second.subarray(0, 30)]), at, /a batch header needs 61/);
  });

  it('a wrong magic', async () => {
    const second = batch(5, 'none', 4);
    second[MAGIC_OFFSET] = 1;
    await expectBad(Buffer.concat([first, second]), at, /magic is 1/);
  });

  it('recordsCount larger than the records (CRC valid)', async () => {
    const b = handBatch([record(0, 'a'.repeat(20)), record(1, 'b'.repeat(20))], 3);
    await expectBad(Buffer.concat([first, b]), at, /record 2: the records end before it/);
    const tiny = handBatch([record(0, 'a'), record(1, 'b')], 3);
    await expectBad(Buffer.concat([first, tiny]), at, /3 records cannot fit in 16 bytes/);
  });

  it('recordsCount smaller than the records (CRC valid)', async () => {
    const b = handBatch([record(0, 'a'), record(1, 'b'), record(2, 'c')], 2);
    await expectBad(Buffer.concat([first, b]), at, /bytes follow the last of its 2 records/);
  });

  it('the same count mismatch inside an lz4 section', async () => {
    const b = handBatch([record(0, 'a'), record(1, 'b'), record(2, 'c')], 2, Compression.Lz4);
    await expectBad(Buffer.concat([first, b]), at, /bytes follow the last of its 2 records/);
  });

  it('offset deltas out of order or with a gap', async () => {
    await expectBad(Buffer.concat([first, handBatch([record(0, 'a'), record(2, 'b')], 2)]), at, /record 1: offsetDelta is 2, expected 1/);
    await expectBad(handBatch([record(1, 'a'), record(0, 'b')], 2), 0, /record 0: offsetDelta is 1, expected 0/);
    await expectBad(handBatch([record(0, 'a'), record(0, 'b')], 2, Compression.Gzip), 0, /record 1: offsetDelta is 0, expected 1/);
    const repeated = handBatch([record(0, 'a'), record(1, 'b'), record(1, 'c')], 3, Compression.Snappy);
    await expectBad(Buffer.concat([first, repeated]), at, /record 2: offsetDelta is 1, expected 2/);
  });

  it('lastOffsetDelta that does not match the count', async () => {
    const b = batch(3);
    b.writeInt32BE(5, LAST_OFFSET_DELTA_OFFSET);
    await expectBad(Buffer.concat([first, recrc(b)]), at, /lastOffsetDelta 5 does not match its 3 records/);
  });

  it('a batch with no records', async () => {
    const b = batch(1);
    b.writeInt32BE(0, RECORDS_COUNT_OFFSET);
    b.writeInt32BE(-1, LAST_OFFSET_DELTA_OFFSET);
    await expectBad(Buffer.concat([first, recrc(b)]), at, /holds no records/);
  });

  it('a record length past the section', async () => {
    await expectBad(Buffer.concat([first, handBatch([record(0, 'a', { lengthDelta: 40 })], 1)]), at, /record 0: bad length/);
  });

  it('a record with bytes left after its last field', async () => {
    await expectBad(Buffer.concat([first, handBatch([record(0, 'abc', { extra: [0, 0] })], 1)]), at, /record 0: 2 bytes left over/);
  });

  it('a value length past its record', async () => {
    // Shorten the record's length by one: its value then runs past the record's end.
    await expectBad(handBatch([record(0, 'abcdef', { lengthDelta: -2 })], 1), 0, /record 0: bad value length 6|record 0: varint runs past/);
  });

  it('compressed bytes that are not the codec (CRC valid)', async () => {
    const b = assembleBatch(Buffer.from('definitely not an lz4 frame'), { count: 1, baseTimestamp: 0, maxTimestamp: 0, compression: 'lz4' });
    await expectBad(Buffer.concat([first, b]), at, /not an lz4 frame/);
  });

  it('a section that decompresses past maxSize', async () => {
    const chain = batch(5000, 'gzip');
    const small = await pooled.validate(copyOf(chain), 1000);
    expect(small).toMatchObject({ ok: false, position: 0 });
  });
});
