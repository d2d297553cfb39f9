/**
 * Fuzz: random mutations of valid request frames (every API, every advertised version) fed
 * to decodeRequest. The only acceptable failures are ProtocolError (incl. UnknownApiError)
 * and UnsupportedVersionError; nothing else may escape, nothing may hang. Seeded, bounded.
 */
import { describe, expect, it } from 'vitest';
import {
  APIS,
  ProtocolError,
  UnsupportedVersionError,
  decodeRequest,
  encodeRequest,
  inRange,
  type ApiKey,
  type Field,
  type ScalarType,
} from '../src/protocol/index.js';

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function scalar(type: ScalarType, rnd: () => number): unknown {
  const n = Math.floor(rnd() * 200) - 100;
  switch (type) {
    case 'bool':
      return rnd() < 0.5;
    case 'string':
      return 'x'.repeat(Math.floor(rnd() * 6));
    case 'bytes':
    case 'records':
      return Buffer.alloc(Math.floor(rnd() * 30), n & 0xff);
    case 'uuid':
      return '01234567-89ab-cdef-0123-456789abcdef';
    case 'uint16':
    case 'uint32':
      return Math.abs(n);
    default:
      return n;
  }
}

function populate(fields: readonly Field[], version: number, rnd: () => number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of fields) {
    if (!inRange(f.versions, version)) continue;
    const t = f.type;
    if (inRange(f.nullableVersions, version) && rnd() < 0.2) o[f.name] = null;
    else if (typeof t === 'string') o[f.name] = scalar(t, rnd);
    else if ('array' in t) {
      const n = 1 + Math.floor(rnd() * 2);
      o[f.name] = Array.from({ length: n }, () =>
        typeof t.array === 'string' ? scalar(t.array, rnd) : populate(t.array, version, rnd),
      );
    } else o[f.name] = populate(t.struct, version, rnd);
  }
  return o;
}

function mutate(frame: Buffer, rnd: () => number): Buffer {
  const at = (n: number) => Math.floor(rnd() * n);
  let b = Buffer.from(frame);
  const rounds = 1 + at(3);
  for (let i = 0; i < rounds && b.length > 0; i++) {
    switch (at(7)) {
      case 0: // flip a bit
        b[at(b.length)]! ^= 1 << at(8);
        break;
      case 1: // an interesting byte
        b[at(b.length)] = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe][at(6)]!;
        break;
      case 2: // truncate
        b = b.subarray(0, at(b.length));
        break;
      case 3: // insert random bytes
      {
        const p = at(b.length + 1);
        const ins = Buffer.alloc(1 + at(8));
        for (let j = 0; j < ins.length; j++) ins[j] = at(256);
        b = Buffer.concat([b.subarray(0, p), ins, b.subarray(p)]);
        break;
      }
      case 4: // an interesting int32 (a hostile length or count)
        if (b.length >= 4) b.writeUInt32BE([0x7fffffff, 0xffffffff, 0x80000000, 0xfffffffe, 0x00ffffff][at(5)]!, at(b.length - 3));
        break;
      case 5: // an interesting int16
        if (b.length >= 2) b.writeUInt16BE([0x7fff, 0xffff, 0x8000, 0xfffe][at(4)]!, at(b.length - 1));
        break;
      default: // delete a slice
      {
        const p = at(b.length);
        b = Buffer.concat([b.subarray(0, p), b.subarray(p + 1 + at(6))]);
      }
    }
  }
  return b;
}

describe('fuzz decodeRequest', () => {
  const seeds: Buffer[] = [];
  const rnd0 = prng(12345);
  for (const e of APIS.values()) {
    for (let v = e.minVersion; v <= e.maxVersion; v++) {
      const body = populate(e.request.fields, v, rnd0);
      const c = encodeRequest(e.apiKey as ApiKey, v, 1000 + v, 'fuzz', body);
      seeds.push(Buffer.concat(c.chunks, c.length));
    }
  }

  it('valid frames decode', () => {
    for (const frame of seeds) expect(() => decodeRequest(frame)).not.toThrow();
  });

  it('mutated frames only ever throw ProtocolError or UnsupportedVersionError', () => {
    const rnd = prng(20240601);
    const ITERATIONS = 40_000;
    let decoded = 0;
    let rejected = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const frame = mutate(seeds[Math.floor(rnd() * seeds.length)]!, rnd);
      try {
        decodeRequest(frame);
        decoded++;
      } catch (err) {
        if (!(err instanceof ProtocolError || err instanceof UnsupportedVersionError)) {
          throw new Error(`iteration ${i}: ${String(err)} for frame ${frame.toString('hex')}`, { cause: err });
        }
        rejected++;
      }
    }
    expect(decoded + rejected).toBe(ITERATIONS);
    expect(rejected).toBeGreaterThan(ITERATIONS / 4); // the mutations do bite
  });
});
