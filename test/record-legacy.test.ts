/**
 * Message formats 0/1 (record/legacy/): the reader's checks, up-conversion to RecordBatch v2
 * (plain and compressed wrappers, the magic 0 LZ4 header checksum quirk), down-conversion
 * from v2 (offsets, budgets, control batches, LogAppendTime), and the pool's conversions
 * against the inline ones. Messages here are written byte by byte by the test itself.
 */
import { crc32 } from 'node:zlib';
import { decompressFrameSync } from 'lz4-napi';
import { afterAll, describe, expect, it } from 'vitest';
import { buildBatch, compress, Compression, CorruptRecordError, InvalidRecordError, readBatchHeader, readRecords, TimestampType } from '../src/record/index.js';
import { batchesToMessageSet, messageSetToBatch } from '../src/record/legacy/convert.js';
import { countMessages, readMessageSet, withOldKafkaLz4HeaderChecksum, xxh32 } from '../src/record/legacy/message-set.js';
import { WorkerPool } from '../src/workers/index.js';

interface Msg {
  offset?: number;
  magic: 0 | 1;
  attributes?: number;
  timestamp?: number;
  key: string | Buffer | null;
  value: string | Buffer | null;
}

/** One message-set entry, laid out by hand: offset | size | crc | magic | attributes | [timestamp] | key | value. */
function entry(m: Msg): Buffer {
  const key = m.key === null ? null : Buffer.from(m.key);
  const value = m.value === null ? null : Buffer.from(m.value);
  const body = Buffer.alloc(2 + (m.magic === 1 ? 8 : 0) + 8 + (key?.length ?? 0) + (value?.length ?? 0));
  let p = 0;
  body[p++] = m.magic;
  body[p++] = m.attributes ?? 0;
  if (m.magic === 1) {
    body.writeBigInt64BE(BigInt(m.timestamp ?? -1), p);
    p += 8;
  }
  for (const b of [key, value]) {
    body.writeInt32BE(b === null ? -1 : b.length, p);
    p += 4;
    if (b !== null) p += b.copy(body, p);
  }
  const head = Buffer.alloc(16);
  head.writeBigInt64BE(BigInt(m.offset ?? 0), 0);
  head.writeInt32BE(body.length + 4, 8);
  head.writeUInt32BE(crc32(body), 12);
  return Buffer.concat([head, body]);
}

function set(...msgs: Msg[]): Buffer {
  return Buffer.concat(msgs.map((m, i) => entry({ offset: i, ...m })));
}

/** A wrapper message whose value is `inner` compressed with `codec`. */
function wrapper(magic: 0 | 1, codec: number, inner: Buffer, extra: Partial<Msg> = {}): Msg {
  let value = compress(codec as Compression, inner);
  if (codec === Compression.Lz4 && magic === 0) value = withOldKafkaLz4HeaderChecksum(value);
  return { magic, attributes: codec | (extra.attributes ?? 0), key: null, value, timestamp: extra.timestamp, offset: extra.offset };
}

function records(batch: Buffer) {
  return readRecords(batch).map((r) => ({ o: r.offset, k: r.key?.toString() ?? null, v: r.value?.toString() ?? null, t: r.timestamp }));
}

function expectCorrupt(fn: () => unknown, pattern: RegExp) {
  expect(fn).toThrow(CorruptRecordError);
  expect(fn).toThrow(pattern);
}

const MAX = { maxDecompressedSize: 1 << 20 };

describe('xxh32 and the LZ4 header checksum', () => {
  it('matches known values', () => {
    expect(xxh32(new Uint8Array(0))).toBe(0x02cc5d05);
    // FLG 0x60, BD 0x40: the header checksum byte Sluice's own LZ4 frames carry.
    expect((xxh32(Buffer.from([0x60, 0x40])) >>> 8) & 0xff).toBe(0x82);
  });

  it('an old-Kafka magic 0 frame is refused by the decoder as is, and read by the converter', () => {
    const inner = set({ magic: 0, key: 'k', value: 'lz4 '.repeat(50) });
    const w = wrapper(0, Compression.Lz4, inner);
    expect(() => decompressFrameSync(w.value as Buffer)).toThrow();
    expect(records(messageSetToBatch(set(w)))).toEqual([{ o: 0, k: 'k', v: 'lz4 '.repeat(50), t: -1 }]);
  });
});

describe('up-conversion (Produce v0-2)', () => {
  it('magic 0: keys, values, nulls; no timestamps (-1); codec none', () => {
    const batch = messageSetToBatch(set({ magic: 0, key: null, value: 'a' }, { magic: 0, key: 'k', value: null }, { magic: 0, key: 'k2', value: 'b' }));
    expect(readBatchHeader(batch).compression).toBe(Compression.None);
    expect(readBatchHeader(batch).timestampType).toBe(TimestampType.CreateTime);
    expect(records(batch)).toEqual([
      { o: 0, k: null, v: 'a', t: -1 },
      { o: 1, k: 'k', v: null, t: -1 },
      { o: 2, k: 'k2', v: 'b', t: -1 },
    ]);
  });

  it('magic 1: timestamps kept', () => {
    const batch = messageSetToBatch(set({ magic: 1, key: 'a', value: '1', timestamp: 1_700_000_000_005 }, { magic: 1, key: 'b', value: '2', timestamp: 1_700_000_000_001 }));
    expect(records(batch).map((r) => r.t)).toEqual([1_700_000_000_005, 1_700_000_000_001]);
    expect(readBatchHeader(batch).maxTimestamp).toBe(1_700_000_000_005);
  });

  for (const [name, codec] of [['gzip', Compression.Gzip], ['snappy', Compression.Snappy], ['lz4', Compression.Lz4]] as const) {
    for (const magic of [0, 1] as const) {
      it(`${name} wrappers of magic ${magic}: inner messages in order, the batch keeps the codec`, () => {
        const inner1 = set(...[0, 1, 2].map((i) => ({ magic, key: `k${i}`, value: `v${i}`.repeat(20), timestamp: 1_700_000_000_000 + i })));
        const inner2 = set({ magic, key: null, value: 'last', timestamp: 1_700_000_000_009 });
        const batch = messageSetToBatch(Buffer.concat([entry({ ...wrapper(magic, codec, inner1), offset: 2 }), entry({ ...wrapper(magic, codec, inner2), offset: 3 })]));
        expect(readBatchHeader(batch).compression).toBe(codec);
        const t = (i: number) => (magic === 1 ? 1_700_000_000_000 + i : -1);
        expect(records(batch)).toEqual([
          { o: 0, k: 'k0', v: 'v0'.repeat(20), t: t(0) },
          { o: 1, k: 'k1', v: 'v1'.repeat(20), t: t(1) },
          { o: 2, k: 'k2', v: 'v2'.repeat(20), t: t(2) },
          { o: 3, k: null, v: 'last', t: t(9) },
        ]);
      });
    }
  }

  it('a magic 1 wrapper stamped LogAppendTime gives its timestamp to every inner message', () => {
    const inner = set({ magic: 1, key: 'a', value: '1', timestamp: 5 }, { magic: 1, key: 'b', value: '2', timestamp: 6 });
    const batch = messageSetToBatch(set(wrapper(1, Compression.Gzip, inner, { attributes: 0x08, timestamp: 1_700_000_000_777 })));
    expect(records(batch).map((r) => r.t)).toEqual([1_700_000_000_777, 1_700_000_000_777]);
  });

  it('bad input is a CorruptRecordError naming the byte position, never a crash', () => {
    const good = set({ magic: 1, key: 'k', value: 'v', timestamp: 1 }, { magic: 1, key: 'k', value: 'v', timestamp: 2 });
    const badCrc = Buffer.from(good);
    badCrc[badCrc.length - 1]! ^= 0xff;
    expectCorrupt(() => messageSetToBatch(badCrc), /message at byte 36 fails its CRC32/);
    expectCorrupt(() => messageSetToBatch(good.subarray(0, good.length - 3)), /only \d+ bytes follow \(truncated message set\)/);
    expectCorrupt(() => messageSetToBatch(good.subarray(0, good.length - 30)), /cut short|truncated/);
    expectCorrupt(() => messageSetToBatch(Buffer.alloc(0)), /no messages/);
    const small = Buffer.from(good);
    small.writeInt32BE(5, 8);
    expectCorrupt(() => messageSetToBatch(small), /size 5, below the smallest/);
    const negative = Buffer.from(good);
    negative.writeInt32BE(-100, 8);
    expectCorrupt(() => messageSetToBatch(negative), /size -100/);
    expectCorrupt(() => messageSetToBatch(set({ magic: 2 as 1, key: 'k', value: 'v' })), /magic 2/);
    expectCorrupt(() => messageSetToBatch(set({ magic: 0, attributes: 5, key: null, value: 'x' })), /unknown codec 5/);
    const nested = set(wrapper(1, Compression.Gzip, set(wrapper(1, Compression.Gzip, good))));
    expectCorrupt(() => messageSetToBatch(nested), /nested compression/);
    expectCorrupt(() => messageSetToBatch(set({ magic: 1, attributes: Compression.Gzip, key: null, value: 'not gzip at all' })), /does not decompress/);
    // A key length pointing past its message (the CRC is right: it covers the lie).
    const liar = entry({ magic: 0, key: 'kk', value: 'v' });
    liar.writeInt32BE(1000, 18);
    liar.writeUInt32BE(crc32(liar.subarray(16)), 12);
    expectCorrupt(() => messageSetToBatch(liar), /key length 1000, outside the message/);
    // A wrapper that inflates past the bound.
    const bomb = set(wrapper(1, Compression.Gzip, set({ magic: 1, key: null, value: Buffer.alloc(2 << 20) })));
    expectCorrupt(() => messageSetToBatch(bomb, MAX), /does not decompress/);
  });
});

describe('up-conversion of mutated message sets', () => {
  /** Recomputes the CRC of every top-level message whose size field still fits, so mutations reach past the CRC check. */
  function recrc(buf: Buffer): void {
    for (let pos = 0; pos + 16 <= buf.length; ) {
      const size = buf.readInt32BE(pos + 8);
      if (size < 4 || pos + 12 + size > buf.length) return;
      buf.writeUInt32BE(crc32(buf.subarray(pos + 16, pos + 12 + size)), pos + 12);
      pos += 12 + size;
    }
  }

  it('only ever throws CorruptRecordError or InvalidRecordError (2,000 mutations, fixed seed)', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const inner = set(...[0, 1, 2, 3].map((i) => ({ magic: 1 as const, key: `k${i}`, value: `v${i}`, timestamp: i })));
    const sources = [
      set({ magic: 0, key: 'a', value: 'b' }, { magic: 1, key: null, value: 'c', timestamp: 9 }),
      ...[Compression.Gzip, Compression.Snappy, Compression.Lz4].flatMap((codec) => [set(wrapper(1, codec, inner)), set(wrapper(0, codec, inner))]),
    ];
    let accepted = 0;
    for (let i = 0; i < 2000; i++) {
      const buf = Buffer.from(sources[rand(sources.length)]!);
      for (let m = 1 + rand(3); m > 0; m--) {
        const at = rand(buf.length);
        if (rand(3) === 0) buf.writeInt32BE([0, -1, -2, 0x7fffffff, 13, 21, buf.length][rand(7)]!, Math.min(at, buf.length - 4));
        else buf[at] = rand(256);
      }
      recrc(buf);
      const cut = rand(4) === 0 ? buf.subarray(0, rand(buf.length)) : buf;
      try {
        messageSetToBatch(cut, MAX);
        accepted++;
      } catch (err) {
        if (!(err instanceof CorruptRecordError) && !(err instanceof InvalidRecordError)) throw err;
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });
});

function chain(): Buffer {
  // offsets 10-12 uncompressed CreateTime, a control batch at 13, 14-16 gzip, 17-18 LogAppendTime
  const a = buildBatch([0, 1, 2].map((i) => ({ key: `k${i}`, value: `v${i}`, timestamp: 1_700_000_000_000 + i, headers: [{ key: 'h', value: 'x' }] })), { baseOffset: 10 });
  const ctl = buildBatch([{ key: Buffer.from([0, 0, 0, 1]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }], { baseOffset: 13, control: true, transactional: true, producerId: 1, producerEpoch: 0 });
  const b = buildBatch([3, 4, 5].map((i) => ({ key: i === 4 ? null : `k${i}`, value: i === 5 ? null : `v${i}`, timestamp: 1_700_000_000_000 + i })), { baseOffset: 14, compression: 'gzip' });
  const c = buildBatch([{ key: 'k6', value: 'v6' }, { key: 'k7', value: 'v7' }], { baseOffset: 17, timestampType: 'LogAppendTime', now: 1_700_000_000_999 });
  return Buffer.concat([a, ctl, b, c]);
}

function readSet(data: Buffer) {
  return readMessageSet(data, MAX).records.map((r) => ({ o: r.offset, m: r.magic, k: r.key?.toString() ?? null, v: r.value?.toString() ?? null, t: r.timestamp }));
}

describe('down-conversion (Fetch v0-3)', () => {
  const all = { fromOffset: 10, maxBytes: 1 << 20, minOne: true };

  it('magic 1: absolute offsets, timestamps, nulls; control batch and headers left out; compressed batches served plain', () => {
    const out = batchesToMessageSet(chain(), { ...all, magic: 1 });
    expect(out.messages).toBe(8);
    expect(countMessages(out.data)).toBe(8);
    expect(readSet(out.data)).toEqual([
      { o: 10, m: 1, k: 'k0', v: 'v0', t: 1_700_000_000_000 },
      { o: 11, m: 1, k: 'k1', v: 'v1', t: 1_700_000_000_001 },
      { o: 12, m: 1, k: 'k2', v: 'v2', t: 1_700_000_000_002 },
      { o: 14, m: 1, k: 'k3', v: 'v3', t: 1_700_000_000_003 },
      { o: 15, m: 1, k: null, v: 'v4', t: 1_700_000_000_004 },
      { o: 16, m: 1, k: 'k5', v: null, t: 1_700_000_000_005 },
      { o: 17, m: 1, k: 'k6', v: 'v6', t: 1_700_000_000_999 },
      { o: 18, m: 1, k: 'k7', v: 'v7', t: 1_700_000_000_999 },
    ]);
    // LogAppendTime shows in the attributes of those messages (bit 3); none are compressed.
    const attrs: number[] = [];
    for (let pos = 0; pos < out.data.length; pos += 12 + out.data.readInt32BE(pos + 8)) attrs.push(out.data[pos + 17]!);
    expect(attrs).toEqual([0, 0, 0, 0, 0, 0, 8, 8]);
  });

  it('magic 0: same records, no timestamps', () => {
    const out = batchesToMessageSet(chain(), { ...all, magic: 0 });
    expect(readSet(out.data).map((r) => [r.o, r.m, r.k, r.t])).toEqual([10, 11, 12, 14, 15, 16, 17, 18].map((o, i) => [o, 0, [null, 'k0', 'k1', 'k2', 'k3', null, 'k5', 'k6', 'k7'][i + 1] ?? null, -1]));
  });

  it('records below fromOffset are left out', () => {
    const out = batchesToMessageSet(chain().subarray(0), { ...all, magic: 1, fromOffset: 15 });
    expect(readSet(out.data).map((r) => r.o)).toEqual([15, 16, 17, 18]);
  });

  it('budgets: whole messages while they fit; the first whatever its size with minOne, none without', () => {
    const one = 12 + 22 + 2 + 2; // a magic 1 message with a 2-byte key and value
    expect(readSet(batchesToMessageSet(chain(), { ...all, magic: 1, maxBytes: 3 * one + 5 }).data).map((r) => r.o)).toEqual([10, 11, 12]);
    expect(readSet(batchesToMessageSet(chain(), { ...all, magic: 1, maxBytes: 10 }).data).map((r) => r.o)).toEqual([10]);
    expect(batchesToMessageSet(chain(), { ...all, magic: 1, maxBytes: 10, minOne: false })).toEqual({ data: Buffer.alloc(0), messages: 0 });
    expect(batchesToMessageSet(chain(), { ...all, magic: 1, maxBytes: 3 * one }).data.length).toBe(3 * one);
  });

  it('up then down gives back what the producer sent', () => {
    const sent = set(...[0, 1, 2, 3].map((i) => ({ magic: 1 as const, key: i === 2 ? null : `key-${i}`, value: `value-${i}`, timestamp: 1_600_000_000_000 + i })));
    const batch = messageSetToBatch(set(wrapper(1, Compression.Gzip, sent)));
    const back = batchesToMessageSet(batch, { magic: 1, fromOffset: 0, maxBytes: 1 << 20, minOne: true });
    expect(back.data.equals(sent)).toBe(true);
  });
});

describe('conversions on the worker pool', () => {
  const pool = new WorkerPool({ threads: 1 });
  afterAll(() => pool.close());

  it('give the same bytes as inline, above the threshold', async () => {
    const many = Array.from({ length: 2000 }, (_, i) => ({ magic: 1 as const, key: `k${i}`, value: `value ${i} `.repeat(8), timestamp: 1_700_000_000_000 + i }));
    const sent = set(wrapper(1, Compression.Gzip, set(...many.slice(0, 1000))), ...many.slice(1000));
    expect(sent.length).toBeGreaterThan(64 * 1024);
    const before = pool.stats().pooledRuns;
    const up = await pool.upConvert(Buffer.from(sent));
    expect(up.equals(messageSetToBatch(sent))).toBe(true);
    const opts = { magic: 1 as const, fromOffset: 0, maxBytes: 1 << 30, minOne: true };
    const down = await pool.downConvert(up, opts);
    expect(down.equals(batchesToMessageSet(up, opts).data)).toBe(true);
    expect(countMessages(down)).toBe(2000);
    expect(pool.stats().pooledRuns - before).toBe(2);
    const bad = Buffer.from(sent);
    bad[bad.length - 1]! ^= 1;
    await expect(pool.upConvert(bad)).rejects.toThrow(CorruptRecordError);
  });
});
