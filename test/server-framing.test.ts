/**
 * FrameDecoder alone: frames cut at every possible place come out whole and in order, a frame
 * inside one chunk is a view of it (no copy), and bad size prefixes are caught as soon as their
 * 4 bytes are in, before any body byte arrives.
 */
import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameSizeError, MIN_FRAME_BYTES, RELEASABLE_FRAME_BYTES } from '../src/server/framing.js';

function framed(body: Buffer): Buffer {
  const out = Buffer.alloc(4 + body.length);
  out.writeInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

function bodies(count: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const b = Buffer.alloc(MIN_FRAME_BYTES + ((i * 37) % 300));
    for (let j = 0; j < b.length; j++) b[j] = (i * 31 + j) & 0xff;
    out.push(b);
  }
  return out;
}

function drain(d: FrameDecoder): Buffer[] {
  const out: Buffer[] = [];
  for (let f = d.next(); f !== null; f = d.next()) out.push(Buffer.from(f));
  return out;
}

/** Deterministic pseudo-random numbers, so a failure replays. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('FrameDecoder', () => {
  it('returns every frame whole and in order whatever the chunking', () => {
    const expected = bodies(200);
    const stream = Buffer.concat(expected.map(framed));
    const random = lcg(7);
    for (const maxPiece of [1, 2, 3, 5, 13, 64, 1000, stream.length]) {
      const d = new FrameDecoder(1 << 20);
      const got: Buffer[] = [];
      for (let pos = 0; pos < stream.length; ) {
        const n = Math.max(1, Math.min(stream.length - pos, Math.ceil(random() * maxPiece)));
        d.push(stream.subarray(pos, pos + n));
        pos += n;
        got.push(...drain(d));
      }
      expect(got).toEqual(expected);
      expect(d.bufferedBytes).toBe(0);
    }
  });

  it('a frame inside one chunk is a view of that chunk; a frame over several chunks is joined once', () => {
    const a = Buffer.alloc(20, 1);
    const b = Buffer.alloc(30, 2);
    const chunk = Buffer.concat([framed(a), framed(b)]);
    const d = new FrameDecoder(1000);
    d.push(chunk);
    const f1 = d.next()!;
    const f2 = d.next()!;
    expect(f1.buffer).toBe(chunk.buffer);
    expect(f1.byteOffset).toBe(chunk.byteOffset + 4);
    expect(f2.buffer).toBe(chunk.buffer);
    expect(f2.byteOffset).toBe(chunk.byteOffset + 4 + 20 + 4);
    expect(d.next()).toBeNull();

    const whole = framed(Buffer.alloc(50, 3));
    d.push(whole.subarray(0, 10));
    expect(d.next()).toBeNull();
    d.push(whole.subarray(10, 30));
    expect(d.next()).toBeNull();
    d.push(whole.subarray(30));
    const joined = d.next()!;
    expect(joined).toEqual(Buffer.alloc(50, 3));
    expect(joined.buffer).not.toBe(whole.buffer);
  });

  it('reads a size prefix split across chunks', () => {
    const whole = framed(Buffer.alloc(300, 9));
    const d = new FrameDecoder(1000);
    d.push(whole.subarray(0, 1));
    d.push(whole.subarray(1, 3));
    expect(d.next()).toBeNull();
    d.push(whole.subarray(3, 5));
    expect(d.next()).toBeNull();
    d.push(whole.subarray(5));
    expect(d.next()).toEqual(Buffer.alloc(300, 9));
  });

  it('rejects an oversized prefix as soon as it arrives, before the body', () => {
    const d = new FrameDecoder(1000);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(1001, 0);
    d.push(prefix);
    let error: unknown;
    try {
      d.next();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FrameSizeError);
    expect((error as FrameSizeError).tooLarge).toBe(true);
    expect((error as FrameSizeError).size).toBe(1001);
    // A size right at the limit is fine (and costs nothing until its bytes arrive).
    const ok = new FrameDecoder(1000);
    const atLimit = Buffer.alloc(4);
    atLimit.writeInt32BE(1000, 0);
    ok.push(atLimit);
    expect(ok.next()).toBeNull();
    expect(ok.bufferedBytes).toBe(0);
  });

  it('rejects negative sizes and sizes too small for a request header', () => {
    for (const size of [-1, -2147483648, 0, 1, 7]) {
      const d = new FrameDecoder(1000);
      const prefix = Buffer.alloc(4 + 8);
      prefix.writeInt32BE(size, 0);
      d.push(prefix);
      let error: unknown;
      try {
        d.next();
      } catch (err) {
        error = err;
      }
      expect(error, `size ${size}`).toBeInstanceOf(FrameSizeError);
      expect((error as FrameSizeError).tooLarge).toBe(false);
    }
    const d = new FrameDecoder(1000);
    d.push(framed(Buffer.alloc(8)));
    expect(d.next()).toEqual(Buffer.alloc(8));
  });

  it('clear() drops everything held', () => {
    const d = new FrameDecoder(1000);
    d.push(framed(Buffer.alloc(100)).subarray(0, 50));
    expect(d.bufferedBytes).toBe(50);
    d.clear();
    expect(d.bufferedBytes).toBe(0);
    d.push(framed(Buffer.alloc(10, 4)));
    expect(d.next()).toEqual(Buffer.alloc(10, 4));
  });

  it('assembles a large frame in a buffer of its own as it arrives, never holding the chunks', () => {
    const size = RELEASABLE_FRAME_BYTES + 3 * 65536 + 17;
    expect(size).toBeGreaterThan(RELEASABLE_FRAME_BYTES);
    const body = Buffer.alloc(size);
    for (let i = 0; i < size; i++) body[i] = (i * 7) & 0xff;
    const next = framed(Buffer.alloc(8, 5));
    const stream = Buffer.concat([framed(body), next]);
    const d = new FrameDecoder(size);
    let frame: Buffer | null = null;
    for (let pos = 0; pos < stream.length; pos += 65536) {
      // Each chunk its own allocation, as a socket read is, so retention would show.
      d.push(Buffer.from(stream.subarray(pos, Math.min(stream.length, pos + 65536))));
      frame ??= d.next();
      if (frame === null) expect(d.bufferedBytes).toBe(Math.min(stream.length, pos + 65536) - 4);
    }
    expect(frame).not.toBeNull();
    expect(frame!.length).toBe(size);
    expect(frame!.equals(body)).toBe(true);
    expect(frame!.buffer.byteLength).toBe(size);
    // The frame after it, which began in the last chunk of the big one, comes out whole too.
    expect(d.next()).toEqual(Buffer.alloc(8, 5));
    expect(d.bufferedBytes).toBe(0);
  });

  it('clear() in the middle of a large frame drops it, and the decoder starts afresh', () => {
    const size = 2 * 1024 * 1024;
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(size, 0);
    const d = new FrameDecoder(size);
    d.push(Buffer.concat([prefix, Buffer.alloc(65536, 1)]));
    expect(d.next()).toBeNull();
    d.push(Buffer.alloc(65536, 2));
    expect(d.bufferedBytes).toBe(2 * 65536);
    d.clear();
    expect(d.bufferedBytes).toBe(0);
    d.push(framed(Buffer.alloc(10, 4)));
    expect(d.next()).toEqual(Buffer.alloc(10, 4));
  });
});
