/**
 * The registry and decodeRequest's error contract; and, where the Kafka 3.8.0 schemas are
 * present beside the repository (../shared/kafka-protocol, not shipped), a field-by-field
 * check of every definition against them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  APIS,
  ApiKey,
  ProtocolError,
  UnknownApiError,
  UnsupportedVersionError,
  advertisedApis,
  decodeRequest,
  encodeRequest,
  isFlexible,
  isFlexibleVersion,
  requestHeaderVersion,
  responseHeaderVersion,
  type Field,
  type MessageDef,
} from '../src/protocol/index.js';

const join = (c: { chunks: Buffer[]; length: number }) => Buffer.concat(c.chunks, c.length);

describe('registry', () => {
  it("advertises Kafka 3.8.0's full ranges (Produce and Fetch from v0, as librdkafka's codec checks need)", () => {
    const byKey = new Map(advertisedApis().map((a) => [a.apiKey, a]));
    expect(byKey.get(ApiKey.Produce)).toMatchObject({ minVersion: 0, maxVersion: 11 });
    expect(byKey.get(ApiKey.Fetch)).toMatchObject({ minVersion: 0, maxVersion: 16 });
    expect(byKey.get(ApiKey.ApiVersions)).toMatchObject({ name: 'ApiVersions', minVersion: 0, maxVersion: 3 });
    expect(byKey.get(ApiKey.OffsetDelete)).toMatchObject({ minVersion: 0, maxVersion: 0 });
    expect(byKey.size).toBe(28);
    const keys = advertisedApis().map((a) => a.apiKey);
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
  });

  it('request and response definitions agree; header table agrees with the definitions', () => {
    for (const e of APIS.values()) {
      expect(e.request.apiKey).toBe(e.apiKey);
      expect(e.response.apiKey).toBe(e.apiKey);
      expect(e.response.validVersions).toEqual(e.request.validVersions);
      expect(e.response.flexibleVersions).toBe(e.request.flexibleVersions);
      for (let v = 0; v <= e.request.validVersions[1] + 1; v++) {
        const flexible = v <= e.request.validVersions[1] && isFlexibleVersion(e.request, v);
        expect(isFlexible(e.apiKey, v)).toBe(flexible);
        expect(requestHeaderVersion(e.apiKey, v)).toBe(flexible ? 2 : 1);
        expect(responseHeaderVersion(e.apiKey, v)).toBe(flexible && e.apiKey !== ApiKey.ApiVersions ? 1 : 0);
      }
    }
  });
});

describe('decodeRequest errors', () => {
  const heartbeat = join(encodeRequest(ApiKey.Heartbeat, 4, 77, 'c', { groupId: 'g', generationId: 1, memberId: 'm' }));

  it('decodes a good frame', () => {
    const d = decodeRequest(heartbeat);
    expect(d.apiKey).toBe(ApiKey.Heartbeat);
    expect(d.header.correlationId).toBe(77);
    expect(d.body).toEqual({ groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null });
  });

  it('unknown api key: UnknownApiError, a ProtocolError carrying the header', () => {
    const frame = Buffer.from(heartbeat);
    frame.writeInt16BE(999, 0);
    const err = catchError(() => decodeRequest(frame));
    expect(err).toBeInstanceOf(UnknownApiError);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as UnknownApiError).header?.correlationId).toBe(77);
  });

  it('known API, version outside the advertised range: UnsupportedVersionError', () => {
    for (const [key, version] of [
      [ApiKey.Produce, 12],
      [ApiKey.Fetch, 17],
      [ApiKey.ApiVersions, 4],
      [ApiKey.Heartbeat, -1],
    ] as const) {
      const frame = join(encodeRequest(ApiKey.Heartbeat, 0, 5, 'c', {}));
      frame.writeInt16BE(key, 0);
      frame.writeInt16BE(version, 2);
      const err = catchError(() => decodeRequest(frame));
      expect(err).toBeInstanceOf(UnsupportedVersionError);
      const u = err as UnsupportedVersionError;
      expect([u.apiKey, u.apiVersion, u.errorCode, u.header.correlationId]).toEqual([key, version, 35, 5]);
      expect(u.maxVersion).toBe(APIS.get(key)!.maxVersion);
    }
  });

  it('truncated body and trailing bytes: ProtocolError naming the field, with the header', () => {
    const cut = catchError(() => decodeRequest(heartbeat.subarray(0, heartbeat.length - 3)));
    expect(cut).toBeInstanceOf(ProtocolError);
    expect((cut as ProtocolError).field).toMatch(/^HeartbeatRequest\./);
    expect((cut as ProtocolError).header?.correlationId).toBe(77);
    const extra = catchError(() => decodeRequest(Buffer.concat([heartbeat, Buffer.from([0])])));
    expect(extra).toBeInstanceOf(ProtocolError);
    expect((extra as ProtocolError).message).toMatch(/after the body/);
    expect(catchError(() => decodeRequest(Buffer.alloc(5)))).toBeInstanceOf(ProtocolError);
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

// ---- cross-check against Kafka's schema files, when they are beside the repository ----

const SCHEMAS = new URL('../../shared/kafka-protocol/', import.meta.url);

interface JsonField {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  tag?: number;
  taggedVersions?: string;
  default?: string | number | boolean;
  fields?: JsonField[];
}

function loadSchema(name: string): { apiKey: number; validVersions: string; flexibleVersions: string; fields: JsonField[]; commonStructs?: { name: string; fields: JsonField[] }[] } {
  const text = readFileSync(new URL(`${name}.json`, SCHEMAS), 'utf8');
  return JSON.parse(text.split('\n').filter((l) => !l.trim().startsWith('//')).join('\n'));
}

function range(s: string | undefined): unknown {
  if (s === undefined || s === 'none') return undefined;
  if (s.endsWith('+')) return [Number(s.slice(0, -1))];
  const [a, b] = s.includes('-') ? s.split('-') : [s, s];
  return [Number(a), Number(b)];
}

function expectedDefault(f: JsonField): unknown {
  if (f.default === undefined) return undefined;
  const d = String(f.default);
  if (f.type === 'bool') return d === 'true';
  if (f.type === 'string') return d === 'null' ? null : d;
  return Number.parseInt(d, d.startsWith('0x') ? 16 : 10);
}

function compareFields(ours: readonly Field[], theirs: JsonField[], common: Map<string, JsonField[]>, path: string): void {
  expect(ours.map((f) => f.name), path).toEqual(theirs.map((f) => f.name[0]!.toLowerCase() + f.name.slice(1)));
  theirs.forEach((j, i) => {
    const f = ours[i]!;
    const p = `${path}.${f.name}`;
    expect(f.versions, p).toEqual(range(j.versions));
    expect(f.nullableVersions, p).toEqual(range(j.nullableVersions));
    expect(f.tag, p).toBe(j.tag);
    expect(f.taggedVersions, p).toEqual(range(j.taggedVersions));
    expect(f.default, p).toEqual(expectedDefault(j));
    const isArray = j.type.startsWith('[]');
    const base = isArray ? j.type.slice(2) : j.type;
    const sub = j.fields ?? common.get(base);
    const t = f.type;
    if (sub !== undefined) {
      const nested = typeof t === 'object' ? ('array' in t ? t.array : t.struct) : undefined;
      expect(typeof t === 'object' && (isArray ? 'array' in t : 'struct' in t), p).toBe(true);
      compareFields(nested as readonly Field[], sub, common, p);
    } else if (isArray) {
      expect(t, p).toEqual({ array: base });
    } else {
      expect(t, p).toBe(base);
    }
  });
}

describe.skipIf(!existsSync(SCHEMAS))('definitions match the Kafka 3.8.0 schemas', () => {
  for (const entry of APIS.values()) {
    for (const def of [entry.request, entry.response] as MessageDef[]) {
      if (def.apiKey === ApiKey.OffsetDelete) continue; // not among the shared schemas
      it(def.name, () => {
        const j = loadSchema(def.name);
        expect(def.apiKey).toBe(j.apiKey);
        expect(def.validVersions).toEqual(range(j.validVersions));
        expect(def.flexibleVersions).toBe(j.flexibleVersions === 'none' ? 'none' : Number(j.flexibleVersions.slice(0, -1)));
        const common = new Map((j.commonStructs ?? []).map((c) => [c.name, c.fields]));
        compareFields(def.fields, j.fields, common, def.name);
      });
    }
  }
});
