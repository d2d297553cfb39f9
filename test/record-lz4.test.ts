import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decompressFrameSync } from 'lz4-napi';
import { LZ4_BLOCK_SIZE, lz4FrameCompress, lz4FrameCompressAsync } from '../src/record/lz4.js';

describe('LZ4 frame writer', () => {
  it("writes Kafka's frame header: magic, FLG 0x60, BD 0x40, header checksum 0x82", () => {
    const f = lz4FrameCompress(Buffer.from('hello hello hello hello hello'));
    expect(f.subarray(0, 7).toString('hex')).toBe('04224d18604082');
    expect(f.subarray(f.length - 4).readUInt32LE(0)).toBe(0); // end mark
  });

  it('round trips through an independent decoder, across block boundaries', async () => {
    const text = Buffer.from('{"level":"info","msg":"request served"} '.repeat(9000)); // > 5 blocks
    for (const size of [0, 1, LZ4_BLOCK_SIZE - 1, LZ4_BLOCK_SIZE, LZ4_BLOCK_SIZE + 1, text.length]) {
      const data = text.subarray(0, size);
      expect(decompressFrameSync(lz4FrameCompress(data)).equals(data)).toBe(true);
      expect(decompressFrameSync(await lz4FrameCompressAsync(data)).equals(data)).toBe(true);
    }
  });

  it('stores incompressible blocks raw with the high bit of the block size set', () => {
    const noise = crypto.randomBytes(LZ4_BLOCK_SIZE + 100);
    const f = lz4FrameCompress(noise);
    expect(f.readUInt32LE(7)).toBe((LZ4_BLOCK_SIZE | 0x80000000) >>> 0);
    expect(f.length).toBe(7 + 4 + LZ4_BLOCK_SIZE + 4 + 100 + 4);
    expect(decompressFrameSync(f).equals(noise)).toBe(true);
  });
});
