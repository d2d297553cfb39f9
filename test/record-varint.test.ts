import { describe, expect, it } from 'vitest';
import {
  CorruptRecordError,
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  state,
  varint,
  varlong,
  writeVarint,
  writeVarlong,
} from '../src/record/index.js';

/** Reference zigzag varint encoder on BigInt, written from the protobuf spec. */
function reference(value: bigint, bits: 32n | 64n): Buffer {
  let z = BigInt.asUintN(Number(bits), (value << 1n) ^ (value >> (bits - 1n)));
  const out: number[] = [];
  do {
    let b = Number(z & 0x7fn);
    z >>= 7n;
    if (z !== 0n) b |= 0x80;
    out.push(b);
  } while (z !== 0n);
  return Buffer.from(out);
}

function encodeVarint(v: number): Buffer {
  const buf = Buffer.alloc(10);
  return buf.subarray(0, writeVarint(buf, 0, v));
}
function encodeVarlong(v: number): Buffer {
  const buf = Buffer.alloc(10);
  return buf.subarray(0, writeVarlong(buf, 0, v));
}

describe('varint (int32)', () => {
  const known: [number, string][] = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [63, '7e'],
    [-64, '7f'],
    [64, '8001'],
    [-65, '8101'],
    [300, 'd804'],
    [2 ** 31 - 1, 'feffffff0f'],
    [-(2 ** 31), 'ffffffff0f'],
  ];
  it.each(known)('%d encodes as %s', (v, hex) => {
    expect(encodeVarint(v).toString('hex')).toBe(hex);
    expect(sizeOfVarint(v)).toBe(hex.length / 2);
    expect(readVarint(state(Buffer.from(hex, 'hex')))).toBe(v);
  });

  it('matches the BigInt reference on boundaries and random values', () => {
    const values = [0, 1, -1, 63, 64, -64, -65, 8191, 8192, -8193, 2 ** 20, 2 ** 27, 2 ** 28, -(2 ** 28) - 1];
    for (let i = 0; i < 2000; i++) values.push((Math.random() * 2 ** 32) | 0);
    for (const v of values) {
      const bytes = encodeVarint(v);
      expect(bytes.equals(reference(BigInt(v), 32n))).toBe(true);
      expect(sizeOfVarint(v)).toBe(bytes.length);
      const s = state(bytes);
      expect(readVarint(s)).toBe(v);
      expect(s.start).toBe(bytes.length);
    }
  });

  it('codec form encodes and decodes through a State', () => {
    const s = state(Buffer.alloc(16));
    varint.encode(s, -65);
    varint.encode(s, 300);
    const r = state(s.buffer, 0, s.start);
    expect([varint.decode(r), varint.decode(r)]).toEqual([-65, 300]);
    expect(varint.sizeOf(300)).toBe(2);
  });

  it('rejects truncated and over-long input', () => {
    expect(() => readVarint(state(Buffer.from([0x80])))).toThrow(CorruptRecordError);
    expect(() => readVarint(state(Buffer.alloc(0)))).toThrow(CorruptRecordError);
    expect(() => readVarint(state(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])))).toThrow(CorruptRecordError);
    // the end of the State is a wall even when the buffer goes on
    expect(() => readVarint(state(Buffer.from([0x80, 0x01]), 0, 1))).toThrow(CorruptRecordError);
  });
});

describe('varlong (int64 as a safe number)', () => {
  const values = [
    0,
    -1,
    63,
    64,
    -65,
    2 ** 31 - 1,
    2 ** 31,
    -(2 ** 31),
    -(2 ** 31) - 1,
    2 ** 32,
    2 ** 35 - 1,
    2 ** 35,
    1_700_000_000_000,
    -1_700_000_000_000,
    2 ** 52,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER - 1,
  ];
  it.each(values)('%d round-trips and matches the reference', (v) => {
    const bytes = encodeVarlong(v);
    expect(bytes.toString('hex')).toBe(reference(BigInt(v), 64n).toString('hex'));
    expect(sizeOfVarlong(v)).toBe(bytes.length);
    const s = state(bytes);
    expect(readVarlong(s)).toBe(v);
    expect(s.start).toBe(bytes.length);
  });

  it('matches the reference on random safe integers', () => {
    for (let i = 0; i < 2000; i++) {
      const v = Math.round((Math.random() - 0.5) * 2 * Number.MAX_SAFE_INTEGER * Math.random() ** 8) || 0; // no -0
      const bytes = encodeVarlong(v);
      expect(bytes.equals(reference(BigInt(v), 64n))).toBe(true);
      expect(sizeOfVarlong(v)).toBe(bytes.length);
      expect(varlong.decode(state(bytes))).toBe(v);
    }
  });

  it('reads the 10-byte encoding of int64 min and max as corrupt (not a safe number)', () => {
    expect(() => readVarlong(state(reference(2n ** 63n - 1n, 64n)))).toThrow(CorruptRecordError);
    expect(() => readVarlong(state(reference(-(2n ** 63n), 64n)))).toThrow(CorruptRecordError);
  });

  it('rejects truncated and over-long input', () => {
    expect(() => readVarlong(state(Buffer.from([0x80, 0x80])))).toThrow(CorruptRecordError);
    expect(() => readVarlong(state(Buffer.alloc(11, 0x80)))).toThrow(CorruptRecordError);
  });
});
