import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MappedFile, crc32c, crc32cIsHardware, liveMappings, scanBatches } from '../src/native.js';
import { numberedBatch } from './helpers/batches.js';
import { tmpDir } from './helpers/tmp.js';

const gc = (globalThis as { gc?: () => void }).gc;

/** Collects garbage until finalizers of dropped views have run. */
async function settleGc(): Promise<void> {
  for (let i = 0; gc && i < 5; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('crc32c', () => {
  it('matches the published check value of CRC-32C', () => {
    // "123456789" -> 0xE3069283 (the CRC catalogue's check value for CRC-32/ISCSI).
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    expect(typeof crc32cIsHardware()).toBe('boolean');
  });

  it('continues from an initial value across any split', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog, twice over and more');
    const whole = crc32c(data);
    for (let i = 0; i <= data.length; i++) {
      expect(crc32c(data.subarray(i), crc32c(data.subarray(0, i)))).toBe(whole);
    }
  });

  it('agrees with a bit-at-a-time reference at every block boundary of the fast paths', () => {
    const reference = (b: Uint8Array, start = 0): number => {
      let c = ~start >>> 0;
      for (const byte of b) {
        c ^= byte;
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      }
      return ~c >>> 0;
    };
    const data = randomBytes(3 * 8192 * 2 + 3 * 256 * 3 + 100);
    // Around the 3 x 256 and 3 x 8192 block sizes, at odd offsets, and whole.
    const lengths = [0, 1, 7, 8, 9, 767, 768, 769, 1544, 3 * 8192 - 1, 3 * 8192, 3 * 8192 + 1, 3 * 8192 + 3 * 256 + 13, 2 * 3 * 8192, data.length - 3];
    for (const n of lengths) {
      for (const offset of [0, 3]) {
        const part = data.subarray(offset, offset + n);
        expect(crc32c(part)).toBe(reference(part));
        expect(crc32c(part, 0x12345678)).toBe(reference(part, 0x12345678));
      }
    }
  });

  it('reads a subarray, not the whole underlying buffer', () => {
    const big = Buffer.from('xx123456789yy');
    expect(crc32c(big.subarray(2, 11))).toBe(0xe3069283);
  });
});

describe('scanBatches', () => {
  it('finds the end of a valid chain and stops at the first bad byte', () => {
    const a = numberedBatch(0, 3);
    const b = numberedBatch(3, 2);
    const chain = Buffer.concat([a, b]);
    expect(scanBatches(chain, 0, chain.length)).toBe(chain.length);
    const flipped = Buffer.from(chain);
    flipped[a.length + 30] ^= 1;
    expect(scanBatches(flipped, 0, flipped.length)).toBe(a.length);
    expect(scanBatches(chain, 0, chain.length - 1)).toBe(a.length);
    const badMagic = Buffer.from(chain);
    badMagic[16] = 1;
    expect(scanBatches(badMagic, 0, badMagic.length)).toBe(0);
  });

  it('rejects ranges outside the buffer', () => {
    expect(() => scanBatches(Buffer.alloc(10), 0, 11)).toThrow(RangeError);
  });
});

describe('MappedFile', () => {
  it('appends several buffers in one call and views them without copying', () => {
    const file = path.join(tmpDir(), 'a.log');
    const f = new MappedFile(file, 1 << 20);
    expect(f.append(Buffer.from('hello '), Buffer.from('world'))).toBe(0);
    expect(f.append(Buffer.from('!'))).toBe(11);
    expect(f.size).toBe(12);
    const v = f.view(6, 5);
    expect(v.toString()).toBe('world');
    f.write(6, Buffer.from('WORLD'));
    expect(v.toString()).toBe('WORLD'); // the view sees writes: it is the mapping, not a copy
    f.close();
    expect(fs.statSync(file).size).toBe(12); // close trims the reserved space
  });

  it('reserves disk ahead of the tail but keeps the file length equal to the data', () => {
    const file = path.join(tmpDir(), 'a.log');
    const f = new MappedFile(file, 1 << 30);
    f.append(Buffer.alloc(100_000, 1));
    expect(f.allocated).toBeGreaterThan(f.size);
    expect(f.allocated).toBeLessThan(1 << 22); // a chunk, never the whole capacity
    expect(fs.statSync(file).size).toBe(100_000);
    f.trim();
    expect(f.allocated).toBe(100_000);
    f.close();
  });

  it('refuses to pass its capacity and reports errors with errno, syscall and path', () => {
    const dir = tmpDir();
    const f = new MappedFile(path.join(dir, 'small.log'), 4096);
    expect(() => f.append(Buffer.alloc(5000))).toThrow(expect.objectContaining({ code: 'ERR_SLUICE_SEGMENT_FULL' }));
    expect(() => f.view(0, 1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    f.close();
    expect(() => f.append(Buffer.alloc(1))).toThrow(expect.objectContaining({ code: 'ERR_SLUICE_CLOSED' }));
    const missing = path.join(dir, 'nope', 'x.log');
    try {
      new MappedFile(missing, 4096, { create: false });
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'open', path: missing });
    }
  });

  it('keeps views readable after close and unlink, and unmaps when the last view is collected', async () => {
    const file = path.join(tmpDir(), 'a.log');
    await settleGc();
    const before = liveMappings();
    const f = new MappedFile(file, 1 << 20);
    f.append(Buffer.from('still here'));
    let v: Buffer | null = f.view(0, 10);
    f.close();
    fs.unlinkSync(file);
    expect(v.toString()).toBe('still here');
    expect(liveMappings()).toBe(before + 1);
    v = null;
    expect(gc, 'tests run with --expose-gc (vitest.config.ts)').toBeDefined();
    for (let i = 0; i < 10 && liveMappings() > before; i++) {
      gc!();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(liveMappings()).toBe(before);
  });

  it('truncates under live views: cut pages read as zeros, no fault', () => {
    const file = path.join(tmpDir(), 'a.log');
    const f = new MappedFile(file, 1 << 20);
    f.append(Buffer.alloc(20_000, 0x41));
    const v = f.view(0, 20_000);
    f.truncate(5000);
    expect(f.size).toBe(5000);
    expect(v[4999]).toBe(0x41);
    expect(v[19_999]).toBe(0); // beyond the cut: zero page, not SIGBUS
    f.append(Buffer.alloc(10, 0x42));
    expect(f.view(5000, 10).equals(Buffer.alloc(10, 0x42))).toBe(true);
    f.close();
    expect(fs.statSync(file).size).toBe(5010);
  });

  it('reopens an existing file at its length', () => {
    const file = path.join(tmpDir(), 'a.log');
    const f = new MappedFile(file, 1 << 20);
    f.append(Buffer.from('abc'));
    f.close();
    const g = new MappedFile(file, 1 << 20, { create: false });
    expect(g.size).toBe(3);
    expect(g.append(Buffer.from('d'))).toBe(3);
    expect(g.view(0, 4).toString()).toBe('abcd');
    g.sync();
    g.close();
  });
});
