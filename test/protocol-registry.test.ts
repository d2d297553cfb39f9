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
    // Brokers send WriteTxnMarkers to each other (a coordinator to partition leaders).
    expect(byKey.get(ApiKey.WriteTxnMarkers)).toMatchObject({ name: 'WriteTxnMarkers', minVersion: 0, maxVersion: 1 });
    expect(byKey.size).toBe(39);
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

  it('truncated body: ProtocolError naming the field, with the header', () => {
    const cut = catchError(() => decodeRequest(heartbeat.subarray(0, heartbeat.length - 3)));
    expect(cut).toBeInstanceOf(ProtocolError);
    expect((cut as ProtocolError).field).toMatch(/^HeartbeatRequest\./);
    expect((cut as ProtocolError).header?.correlationId).toBe(77);
    expect(catchError(() => decodeRequest(Buffer.alloc(5)))).toBeInstanceOf(ProtocolError);
  });

  // Until issue 12 this was a ProtocolError ("N bytes after the body") that closed the
  // connection; Kafka reads a request by its frame size and ignores what is left, and
  // librdkafka 2.3+ depends on that (its all-topics Metadata v12 carries 3 spare bytes).
  it('trailing bytes after the body are counted and ignored, as Kafka does', () => {
    const plain = decodeRequest(heartbeat);
    expect(plain.trailingBytes).toBe(0);
    const extra = decodeRequest(Buffer.concat([heartbeat, Buffer.from([0, 1, 2])]));
    expect(extra.trailingBytes).toBe(3);
    expect(extra.body).toEqual(plain.body);
    expect(extra.header.correlationId).toBe(77);

    const allTopics = join(encodeRequest(ApiKey.Metadata, 12, 9, 'rdkafka', { topics: null, allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false }));
    const m = decodeRequest(Buffer.concat([allTopics, Buffer.alloc(3)]));
    expect(m.apiKey === ApiKey.Metadata && m.body.topics).toBeNull();
    expect(m.trailingBytes).toBe(3);
  });

  it('unknown tagged fields in the header and the body are skipped; bounds still hold', () => {
    // Metadata v12 (flexible): header v2 and the body each end in a tagged section.
    const base = join(encodeRequest(ApiKey.Metadata, 12, 5, 'c', { topics: [{ name: 't' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }));
    const headerEnd = 2 + 2 + 4 + 2 + 1; // key, version, correlation id, client id "c"
    expect(base[headerEnd]).toBe(0); // no header tags
    const unknownTag = Buffer.from([1, 0x63, 3, 0xaa, 0xbb, 0xcc]); // 1 field: tag 99, 3 bytes
    const withTags = Buffer.concat([base.subarray(0, headerEnd), unknownTag, base.subarray(headerEnd + 1, base.length - 1), unknownTag]);
    const d = decodeRequest(withTags);
    expect(d.apiKey === ApiKey.Metadata && d.body.topics?.map((t) => t.name)).toEqual(['t']);
    expect(d.trailingBytes).toBe(0);
    // A tagged field claiming more bytes than the frame holds is still an error.
    const lying = Buffer.concat([base.subarray(0, base.length - 1), Buffer.from([1, 0x63, 0x7f, 0])]);
    expect(catchError(() => decodeRequest(lying))).toBeInstanceOf(ProtocolError);
    // So is an array longer than the element cap, trailing bytes or not.
    const many = join(encodeRequest(ApiKey.Metadata, 12, 6, 'c', { topics: Array.from({ length: 11 }, (_, i) => ({ name: `t${i}` })), allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }));
    expect(catchError(() => decodeRequest(Buffer.concat([many, Buffer.alloc(2)]), 10))).toBeInstanceOf(ProtocolError);
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
  if (d === 'null') return null;
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
