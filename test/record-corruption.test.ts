import { describe, expect, it } from 'vitest';
import { crc32c } from '../src/native.js';
import {
  assembleBatch,
  buildBatch,
  Compression,
  CorruptRecordError,
  decompress,
  decompressAsync,
  isValidBatch,
  readRecords,
  verifyBatch,
  type CompressionName,
  type RecordInput,
} from '../src/record/index.js';

const T0 = 1_700_000_000_000;
const SMALL: RecordInput[] = [
  { key: 'k', value: 'value-1', timestamp: T0, headers: [{ key: 'h', value: 'x' }] },
  { key: null, value: 'v2', timestamp: T0 + 3 },
];

/** Rewrites the CRC so that a mutation gets past it and reaches the parser. */
function recrc(b: Buffer): Buffer {
  b.writeUInt32BE(crc32c(b.subarray(21)), 17);
  return b;
}

/** Runs fn; anything thrown must be a CorruptRecordError. */
function onlyCorrupt(fn: () => unknown): 'ok' | 'corrupt' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof CorruptRecordError) return 'corrupt';
    throw err;
  }
}

/** A deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('single bit flips', () => {
  it.each(['none', 'lz4', 'gzip'] as CompressionName[])('%s: every flip from byte 8 on is detected', (codec) => {
    const good = buildBatch(SMALL, { compression: codec, producerId: 5, producerEpoch: 1, baseSequence: 0 });
    expect(verifyBatch(good)).toBe(good.length);
    let flips = 0;
    for (let byte = 0; byte < good.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const b = Buffer.from(good);
        b[byte]! ^= 1 << bit;
        const outsideCrc = byte < 8 || (byte >= 12 && byte < 16); // baseOffset, partitionLeaderEpoch
        if (outsideCrc) {
          // By design (Kafka's): the broker patches these without touching the CRC.
          expect(isValidBatch(b)).toBe(true);
        } else {
          expect(() => verifyBatch(b), `byte ${byte} bit ${bit}`).toThrow(CorruptRecordError);
          expect(onlyCorrupt(() => readRecords(b))).toBe('corrupt');
          flips++;
        }
      }
    }
    expect(flips).toBe((good.length - 12) * 8);
  });

  it('names the position, the base offset and the fault', () => {
    const good = buildBatch(SMALL, { baseOffset: 77 });
    const chain = Buffer.concat([Buffer.alloc(10), good]);
    chain[10 + 70]! ^= 4;
    expect(() => verifyBatch(chain, 10)).toThrow(/batch at byte 10 \(baseOffset 77\): CRC32C mismatch: stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}/);
  });
});

describe('truncation', () => {
  it.each(['none', 'snappy'] as CompressionName[])('%s: every prefix is refused by verifyBatch and readRecords', (codec) => {
    const good = buildBatch(SMALL, { compression: codec });
    for (let n = 0; n < good.length; n++) {
      const b = good.subarray(0, n);
      expect(() => verifyBatch(b)).toThrow(CorruptRecordError);
      expect(onlyCorrupt(() => readRecords(b))).toBe('corrupt');
      expect(onlyCorrupt(() => readRecords(b, { verifyCrc: false }))).toBe('corrupt');
    }
  });

  it('a record section cut short inside a valid CRC is refused', () => {
    const good = buildBatch(SMALL);
    for (let n = 62; n < good.length; n++) {
      const b = Buffer.from(good.subarray(0, n));
      b.writeInt32BE(n - 12, 8);
      expect(onlyCorrupt(() => readRecords(recrc(b)))).toBe('corrupt');
    }
  });
});

describe('hostile fields behind a valid CRC', () => {
  const good = buildBatch(SMALL);

  it('a record count larger than the bytes can hold', () => {
    for (const count of [3, 1000, 2 ** 31 - 1, -1]) {
      const b = Buffer.from(good);
      b.writeInt32BE(count, 57);
      recrc(b);
      expect(() => readRecords(b)).toThrow(CorruptRecordError);
    }
    const b = Buffer.from(good);
    b.writeInt32BE(2 ** 31 - 1, 57);
    expect(() => verifyBatch(recrc(b))).toThrow(/cannot fit/);
  });

  it('fewer records declared than present', () => {
    const b = Buffer.from(good);
    b.writeInt32BE(1, 57);
    expect(() => readRecords(recrc(b))).toThrow(/bytes follow the last of 1 records/);
  });

  it('compression codecs 5, 6 and 7', () => {
    for (const codec of [5, 6, 7]) {
      const b = Buffer.from(good);
      b.writeInt16BE(codec, 21);
      recrc(b);
      expect(() => verifyBatch(b)).toThrow(/unknown compression codec/);
      expect(() => readRecords(b, { verifyCrc: false })).toThrow(/unknown compression codec/);
      expect(() => decompress(codec, Buffer.alloc(10))).toThrow(CorruptRecordError);
    }
  });

  it('huge and negative lengths inside a record', () => {
    // record 0 starts at 61: length varint, attributes, tsDelta, offsetDelta, keyLength...
    const patches: [number, number[]][] = [
      [61, [0xfe, 0xff, 0xff, 0xff, 0x0f]], // record length 2^31-1
      [61, [0x01]], // record length -1
      [61, [0x02]], // record length 1
      [65, [0xfe]], // keyLength: continuation into the next byte
      [65, [0x03]], // keyLength -2
      [65, [0x7e]], // keyLength 63, past the record
      [67, [0xff]], // value length varint runs on
      [67, [0x7f]], // value length -64
    ];
    for (const [at, bytes] of patches) {
      const b = Buffer.from(good);
      b.set(bytes, at);
      expect(onlyCorrupt(() => readRecords(recrc(b)))).toBe('corrupt');
    }
  });

  it('random mutations never escape as anything but CorruptRecordError', () => {
    const inputs: Buffer[] = (['none', 'gzip', 'snappy', 'lz4'] as CompressionName[]).map((c) =>
      buildBatch([...SMALL, { key: 'kk', value: 'x'.repeat(40), headers: { a: 'b', c: null } }], { compression: c }),
    );
    const rand = prng(12345);
    const outcomes = { ok: 0, corrupt: 0 };
    for (let i = 0; i < 20_000; i++) {
      const b = Buffer.from(inputs[i % inputs.length]!);
      const edits = 1 + Math.floor(rand() * 4);
      for (let e = 0; e < edits; e++) {
        const at = 21 + Math.floor(rand() * (b.length - 21));
        b[at] = rand() < 0.5 ? Math.floor(rand() * 256) : b[at]! ^ (1 << Math.floor(rand() * 8));
      }
      recrc(b);
      outcomes[onlyCorrupt(() => readRecords(b))]++;
    }
    expect(outcomes.corrupt).toBeGreaterThan(0);
  });
});

describe('decompression bounds', () => {
  const section = Buffer.alloc(10);

  it('gzip output over the limit', () => {
    const b = buildBatch([{ value: Buffer.alloc(1 << 20) }], { compression: 'gzip' });
    expect(b.length).toBeLessThan(2000);
    expect(() => readRecords(b, { maxDecompressedSize: 1 << 19 })).toThrow(CorruptRecordError);
  });

  it('an lz4 frame whose content size or blocks exceed the limit', () => {
    // magic, FLG (version 1, independent, content size), BD 64 KiB, content size 2^40, HC
    const frame = Buffer.from('04224d18' + '68' + '40' + '0000000000010000' + '00' + '00000000', 'hex');
    expect(() => decompress(Compression.Lz4, frame)).toThrow(/would decompress to/);
    const big = buildBatch([{ value: Buffer.alloc(300_000) }], { compression: 'lz4' });
    expect(() => readRecords(big, { maxDecompressedSize: 100_000 })).toThrow(/would decompress to/);
    expect(readRecords(big)[0]!.value!.length).toBe(300_000);
  });

  it('lz4 frames that are malformed', () => {
    expect(() => decompress(Compression.Lz4, Buffer.from('nonsense!'))).toThrow(/not an lz4 frame/);
    expect(() => decompress(Compression.Lz4, Buffer.from('04224d186040820500', 'hex'))).toThrow(CorruptRecordError);
    expect(() => decompress(Compression.Lz4, Buffer.alloc(0))).toThrow(CorruptRecordError);
  });

  it('a zstd frame whose window or content size exceeds the limit', () => {
    // magic, FHD 0x00 (no content size, not single segment), window descriptor 0xf8 (2 GiB)
    const window = Buffer.from('28b52ffd' + '00' + 'f8' + '010000', 'hex');
    expect(() => decompress(Compression.Zstd, window)).toThrow(/would decompress to/);
    // FHD 0xe0: single segment, 8-byte content size 2^40
    const content = Buffer.from('28b52ffd' + 'e0' + '0000000000010000' + '010000', 'hex');
    expect(() => decompress(Compression.Zstd, content)).toThrow(/would decompress to/);
    // 1 KiB window, then one last RLE block of 26 KiB of 'a': 11 bytes in, bounded before decoding
    const rle = Buffer.from('28b52ffd' + '00' + '00' + '034003' + '61', 'hex');
    expect(() => decompress(Compression.Zstd, rle, { maxSize: 2000 })).toThrow(/would decompress to 26624/);
  });

  it('zstd input that is not a frame', () => {
    expect(() => decompress(Compression.Zstd, Buffer.from('not zstd at all'))).toThrow(/not a zstd frame/);
    expect(() => decompress(Compression.Zstd, Buffer.from('28b52ffd08', 'hex'))).toThrow(CorruptRecordError);
  });

  it('snappy that claims more than it can hold', () => {
    // raw block claiming 4 GiB
    expect(() => decompress(Compression.Snappy, Buffer.from('ffffffff0f00', 'hex'))).toThrow(CorruptRecordError);
    // raw block claiming 1000 bytes out of 3
    expect(() => decompress(Compression.Snappy, Buffer.from('e80700', 'hex'))).toThrow(/claims 1000 bytes/);
    // xerial block lengths that point outside the data
    const header = '82534e41505059000000000100000001';
    for (const len of ['7fffffff', 'ffffffff', '000000']) {
      expect(() => decompress(Compression.Snappy, Buffer.from(header + len, 'hex'))).toThrow(CorruptRecordError);
    }
  });

  it('async decompression reports the same errors', async () => {
    await expect(decompressAsync(Compression.Gzip, section)).rejects.toThrow(CorruptRecordError);
    await expect(decompressAsync(Compression.Lz4, section)).rejects.toThrow(CorruptRecordError);
    await expect(decompressAsync(Compression.Snappy, Buffer.from('e80700', 'hex'))).rejects.toThrow(CorruptRecordError);
    await expect(decompressAsync(6, section)).rejects.toThrow(CorruptRecordError);
  });

  it('a compressed section that decompresses to garbage records', () => {
    const b = assembleBatch(Buffer.from('not really gzip'), { count: 1, baseTimestamp: 0, maxTimestamp: 0, compression: 'gzip' });
    expect(() => readRecords(b)).toThrow(/cannot decompress gzip records/);
  });
});
