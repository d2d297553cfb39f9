/**
 * Zigzag variable-length integers, as Kafka's record format uses them (protobuf's scheme).
 *
 *   zigzag(v)  = (v << 1) ^ (v >> 63)       small magnitudes, either sign, stay small
 *   encoding   = 7 bits per byte, least significant group first, high bit = "more follows"
 *
 *   varint   int32, 1..5 bytes     lengths, counts, offsetDelta
 *   varlong  int64, 1..10 bytes    timestampDelta; here a JS number, exact for every safe
 *                                  integer (|v| <= 2^53 - 1), computed on two 32-bit halves
 *
 * Two ways in: the plain functions (sizeOfVarint, writeVarint, ...) that the builder's hot
 * loop calls with a buffer and a position, and hypercore-style codecs ({ sizeOf, encode,
 * decode } over a State) for everything else. Decoding checks every byte against
 * `state.end` and throws CorruptRecordError; it never reads past it. Not thread-safe (a
 * State belongs to one reader); the functions themselves keep no state.
 */
import { CorruptRecordError } from './errors.js';

/** A cursor over `buffer[start, end)`; decode advances `start`. */
export interface State {
  buffer: Uint8Array;
  start: number;
  end: number;
}

/** A small codec piece: size it, write it, read it back. */
export interface Codec<T> {
  sizeOf(value: T): number;
  encode(state: State, value: T): void;
  decode(state: State): T;
}

const TWO_32 = 4294967296;

export function state(buffer: Uint8Array, start = 0, end = buffer.length): State {
  return { buffer, start, end };
}

/** Bytes the zigzag varint of int32 `value` takes (1..5). */
export function sizeOfVarint(value: number): number {
  const z = ((value << 1) ^ (value >> 31)) >>> 0;
  return z < 0x80 ? 1 : z < 0x4000 ? 2 : z < 0x200000 ? 3 : z < 0x10000000 ? 4 : 5;
}

/** Writes int32 `value` at `pos`; returns the position after it. No bounds check. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  let z = ((value << 1) ^ (value >> 31)) >>> 0;
  while (z > 0x7f) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
  return pos;
}

/** Bytes the zigzag varlong of safe integer `value` takes (1..10). */
export function sizeOfVarlong(value: number): number {
  if ((value | 0) === value) return sizeOfVarint(value);
  const hi = Math.floor(value / TWO_32) | 0;
  const lo = value >>> 0;
  let zhi = (((hi << 1) | (lo >>> 31)) ^ (hi >> 31)) >>> 0;
  let n = 5; // the low 35 bits
  zhi >>>= 3;
  while (zhi !== 0) {
    n++;
    zhi >>>= 7;
  }
  return n;
}

/** Writes safe integer `value` as a varlong at `pos`; returns the position after it. */
export function writeVarlong(buf: Uint8Array, pos: number, value: number): number {
  if ((value | 0) === value) return writeVarint(buf, pos, value);
  const hi = Math.floor(value / TWO_32) | 0;
  const lo = value >>> 0;
  let zhi = (((hi << 1) | (lo >>> 31)) ^ (hi >> 31)) >>> 0;
  let zlo = ((lo << 1) ^ (hi >> 31)) >>> 0;
  while (zhi !== 0 || zlo > 0x7f) {
    buf[pos++] = (zlo & 0x7f) | 0x80;
    zlo = ((zlo >>> 7) | (zhi << 25)) >>> 0;
    zhi >>>= 7;
  }
  buf[pos++] = zlo;
  return pos;
}

function truncated(s: State): never {
  throw new CorruptRecordError(`varint runs past the end of its field at byte ${s.start}`);
}

/** Reads an int32 varint at `s.start`, advancing it. At most 5 bytes, like Kafka. */
export function readVarint(s: State): number {
  const buf = s.buffer;
  let pos = s.start;
  const end = s.end;
  if (pos >= end) truncated(s);
  let b = buf[pos++]!;
  let z = b & 0x7f;
  if (b > 0x7f) {
    for (let shift = 7; ; shift += 7) {
      if (pos >= end) truncated(s);
      b = buf[pos++]!;
      if (shift === 28) {
        if (b > 0x0f) throw new CorruptRecordError(`varint longer than 32 bits at byte ${s.start}`);
        z |= b << 28;
        break;
      }
      z |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
  }
  s.start = pos;
  return (z >>> 1) ^ -(z & 1);
}

/** Reads a varlong at `s.start`, advancing it; throws if it is not a safe integer. */
export function readVarlong(s: State): number {
  const buf = s.buffer;
  let pos = s.start;
  const end = s.end;
  let lo = 0;
  let hi = 0;
  for (let shift = 0; ; shift += 7) {
    if (shift > 63) throw new CorruptRecordError(`varlong longer than 64 bits at byte ${s.start}`);
    if (pos >= end) truncated(s);
    const b = buf[pos++]!;
    const g = b & 0x7f;
    if (shift < 28) lo |= g << shift;
    else if (shift === 28) {
      lo |= g << 28;
      hi = g >>> 4;
    } else hi |= g << (shift - 32);
    if (b < 0x80) break;
  }
  const m = -(lo & 1);
  const vlo = (((lo >>> 1) | (hi << 31)) ^ m) >>> 0;
  const vhi = ((hi >>> 1) ^ m) | 0;
  const value = vhi * TWO_32 + vlo;
  if (!Number.isSafeInteger(value)) {
    throw new CorruptRecordError(`varlong at byte ${s.start} is outside the safe integer range`);
  }
  s.start = pos;
  return value;
}

export const varint: Codec<number> = {
  sizeOf: sizeOfVarint,
  encode(s, value) {
    s.start = writeVarint(s.buffer, s.start, value);
  },
  decode: readVarint,
};

export const varlong: Codec<number> = {
  sizeOf: sizeOfVarlong,
  encode(s, value) {
    s.start = writeVarlong(s.buffer, s.start, value);
  },
  decode: readVarlong,
};
