/**
 * Every API, every version of Kafka 3.8.0's range: a fully populated request and response
 * (every field of the definition given a random value, nulls where the version allows)
 * survives encode -> decode, with the fields the version lacks back at their defaults; and
 * re-encoding the decoded value gives the same bytes.
 */
import { describe, expect, it } from 'vitest';
import {
  APIS,
  UUID_ZERO,
  Reader,
  Writer,
  decode,
  defaults,
  encode,
  inRange,
  type Field,
  type MessageDef,
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

const CHARS = 'abcXYZ09-_.é日本';

function randomScalar(type: ScalarType, rnd: () => number): unknown {
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  switch (type) {
    case 'bool':
      return rnd() < 0.5;
    case 'int8':
      return int(-128, 127);
    case 'int16':
      return int(-32768, 32767);
    case 'uint16':
      return int(0, 65535);
    case 'int32':
      return int(-2147483648, 2147483647);
    case 'uint32':
      return int(0, 4294967295);
    case 'int64': {
      const v = Math.floor((rnd() - 0.5) * 2 ** 54);
      return v === 0 ? 0 : Math.max(-(2 ** 53 - 1), Math.min(2 ** 53 - 1, v));
    }
    case 'float64':
      return (rnd() - 0.5) * 1e6;
    case 'string': {
      let s = '';
      const n = int(0, 12);
      for (let i = 0; i < n; i++) s += CHARS[int(0, CHARS.length - 1)];
      return s;
    }
    case 'bytes':
    case 'records': {
      const b = Buffer.alloc(int(0, 40));
      for (let i = 0; i < b.length; i++) b[i] = int(0, 255);
      return b;
    }
    case 'uuid': {
      const b = Buffer.alloc(16);
      for (let i = 0; i < 16; i++) b[i] = int(0, 255);
      const h = b.toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
  }
}

/** Default of a field, written out from the schema rules (independently of the engine). */
function defaultOf(f: Field): unknown {
  const t = f.type;
  if (typeof t === 'string') {
    if (f.default !== undefined) return f.default;
    switch (t) {
      case 'bool':
        return false;
      case 'string':
        return '';
      case 'uuid':
        return UUID_ZERO;
      case 'bytes':
        return Buffer.alloc(0);
      case 'records':
        return null;
      default:
        return 0;
    }
  }
  if ('array' in t) return [];
  return Object.fromEntries(t.struct.map((sf) => [sf.name, defaultOf(sf)]));
}

/** [input, expected after a round trip at `version`]. */
function populate(fields: readonly Field[], version: number, rnd: () => number): [Record<string, unknown>, Record<string, unknown>] {
  const input: Record<string, unknown> = {};
  const expected: Record<string, unknown> = {};
  for (const f of fields) {
    const present = inRange(f.versions, version);
    const nullable = present && inRange(f.nullableVersions, version);
    let v: unknown;
    let e: unknown;
    const t = f.type;
    if (nullable && rnd() < 0.2) {
      v = e = null;
    } else if (typeof t === 'string') {
      v = e = randomScalar(t, rnd);
    } else if ('array' in t) {
      const n = Math.floor(rnd() * 3) + (typeof t.array === 'string' ? 0 : 1);
      const vs: unknown[] = [];
      const es: unknown[] = [];
      for (let i = 0; i < n; i++) {
        if (typeof t.array === 'string') {
          const x = randomScalar(t.array, rnd);
          vs.push(x);
          es.push(x);
        } else {
          const [iv, ie] = populate(t.array, version, rnd);
          vs.push(iv);
          es.push(ie);
        }
      }
      v = vs;
      e = es;
    } else {
      [v, e] = populate(t.struct, version, rnd);
    }
    input[f.name] = v;
    expected[f.name] = present ? e : defaultOf(f);
  }
  return [input, expected];
}

function roundTrip(def: MessageDef, version: number, value: Record<string, unknown>): [unknown, Buffer] {
  const w = new Writer(16);
  encode(def, version, value, w);
  const bytes = w.toBuffer();
  const r = new Reader(bytes);
  const decoded = decode(def, version, r);
  expect(r.pos).toBe(bytes.length);
  return [decoded, bytes];
}

describe('every API, every version: populated request and response round trip', () => {
  for (const entry of APIS.values()) {
    for (const def of [entry.request, entry.response]) {
      const [min, max] = def.validVersions;
      for (let v = min; v <= max; v++) {
        it(`${def.name} v${v}`, () => {
          for (let seed = 1; seed <= 4; seed++) {
            const [input, expected] = populate(def.fields, v, prng(seed * 1000 + v + def.apiKey * 31));
            const [decoded, bytes] = roundTrip(def, v, input);
            expect(decoded).toEqual(expected);
            // Re-encoding what was decoded gives the same bytes.
            const w = new Writer();
            encode(def, v, decoded as Record<string, unknown>, w);
            expect(w.toBuffer().equals(bytes)).toBe(true);
          }
          // An empty object encodes as all defaults and decodes to defaults().
          const [decoded] = roundTrip(def, v, {});
          expect(decoded).toEqual(defaults(def, v));
          expect(decoded).toEqual(populateDefaults(def.fields));
        });
      }
    }
  }
});

function populateDefaults(fields: readonly Field[]): Record<string, unknown> {
  return Object.fromEntries(fields.map((f) => [f.name, defaultOf(f)]));
}

describe('versioned presence', () => {
  it('a field absent in a version is neither written nor read', () => {
    const def = APIS.get(0)!.request; // Produce: transactionalId from v3
    const body = { transactionalId: 'tx', acks: -1, timeoutMs: 1000, topicData: [] };
    const w2 = new Writer();
    encode(def, 2, body, w2);
    const w3 = new Writer();
    encode(def, 3, body, w3);
    expect(w3.length - w2.length).toBe(2 + 2); // int16 length + 'tx'
    const back = decode(def, 2, new Reader(w2.toBuffer()));
    expect(back.transactionalId).toBeNull(); // its default
  });

  it('null where the version does not allow it is refused on encode', () => {
    const def = APIS.get(3)!.request; // Metadata: topics nullable from v1
    expect(() => encode(def, 0, { topics: null }, new Writer())).toThrow(/not nullable/);
    const w = new Writer();
    encode(def, 1, { topics: null }, w);
    expect(w.toBuffer()).toEqual(Buffer.from('ffffffff', 'hex'));
  });
});
