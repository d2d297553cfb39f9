import { randomBytes } from 'node:crypto';
import { compressSync } from 'lz4-napi';
import { describe, expect, it } from 'vitest';
import { lz4DecodeBlock } from '../src/native.js';

/** lz4-napi's compressSync is one LZ4 block after a 4-byte little-endian size. */
function block(data: Buffer): Buffer {
  const framed = compressSync(data);
  expect(framed.readUInt32LE(0)).toBe(data.length);
  return framed.subarray(4);
}

/** A seeded stream of inputs that exercise every path of the decoder. */
function* inputs(): Generator<[string, Buffer]> {
  let seed = 12345;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  // Kafka-sized JSON log lines: short literals and 4-18 byte matches (the decoder's fast path).
  const lines: string[] = [];
  for (let i = 0; i < 2000; i++) lines.push(JSON.stringify({ ts: 1733300000000 + i * 7, level: ['info', 'warn', 'debug'][rand(3)], msg: `request ${rand(100000)} done`, ms: rand(500) }));
  yield ['log lines', Buffer.from(lines.join('\n'))];
  // Overlapping matches with offsets 1..7 (runs, short periods) next to long ones.
  for (let period = 1; period <= 9; period++) {
    const unit = randomBytes(period);
    const parts: Buffer[] = [];
    for (let i = 0; i < 50; i++) parts.push(Buffer.alloc(rand(40) + 1, unit), randomBytes(rand(5)));
    yield [`period ${period}`, Buffer.concat(parts)];
  }
  // Long literal runs (15+ length bytes), long matches (255+ extension bytes), tiny inputs.
  yield ['random', randomBytes(70_000)];
  yield ['zeros', Buffer.alloc(65_536)];
  yield ['random then repeated', Buffer.concat([randomBytes(3000), Buffer.alloc(5000, 7), randomBytes(20)])];
  for (let n = 0; n < 40; n++) yield [`tiny ${n}`, randomBytes(n)];
  for (let n = 0; n < 200; n++) {
    const line = lines[rand(lines.length)]!;
    yield [`short log ${n}`, Buffer.from(line.repeat(1 + rand(3)).slice(0, rand(line.length * 2) + 1))];
  }
}

describe('lz4DecodeBlock (native)', () => {
  it('decodes what lz4 compresses, byte for byte, on every path', () => {
    for (const [name, data] of inputs()) {
      if (data.length === 0) continue;
      const b = block(data);
      // Exact room and generous room take different copy paths near the end of the output.
      for (const room of [data.length, data.length + 64]) {
        const out = Buffer.alloc(room);
        const n = lz4DecodeBlock(b, out, 0);
        expect(n, name).toBe(data.length);
        expect(out.subarray(0, n).equals(data), name).toBe(true);
      }
      // Too little room is refused, never written past.
      if (data.length > 1) {
        const guard = Buffer.alloc(data.length + 64, 0xaa);
        expect(lz4DecodeBlock(b, guard.subarray(0, data.length - 1), 0), name).toBe(-1);
        expect(guard.subarray(data.length - 1).every((x) => x === 0xaa), name).toBe(true);
      }
    }
  });

  it('refuses damaged blocks without reading or writing outside its ranges', () => {
    const data = Buffer.from(Array.from({ length: 400 }, (_, i) => `{"n":${i},"msg":"hello world ${i % 13}"}`).join('\n'));
    const good = block(data);
    let seed = 99;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const bad = Buffer.from(good.subarray(0, rand(3) === 0 ? rand(good.length) : good.length));
      for (let m = rand(4); m > 0 && bad.length > 0; m--) bad[rand(bad.length)] = rand(256);
      const room = rand(2) === 0 ? data.length : rand(data.length + 100);
      const guard = Buffer.alloc(room + 64, 0xaa);
      const n = lz4DecodeBlock(bad, guard.subarray(0, room), 0);
      expect(n).toBeGreaterThanOrEqual(-1);
      expect(n).toBeLessThanOrEqual(room);
      expect(guard.subarray(room).every((x) => x === 0xaa)).toBe(true);
      if (n === -1) refused++;
    }
    expect(refused).toBeGreaterThan(100);
    // A match reaching before the start of the output is refused (offset 5 with 1 byte written).
    expect(lz4DecodeBlock(Buffer.from([0x10, 0x41, 0x05, 0x00, 0x10, 0x42]), Buffer.alloc(64), 0)).toBe(-1);
    // Offset 0 is refused; an empty block is refused.
    expect(lz4DecodeBlock(Buffer.from([0x10, 0x41, 0x00, 0x00, 0x10, 0x42]), Buffer.alloc(64), 0)).toBe(-1);
    expect(lz4DecodeBlock(Buffer.alloc(0), Buffer.alloc(64), 0)).toBe(-1);
  });
});
