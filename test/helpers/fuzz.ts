/**
 * A network fuzzer for the broker: valid requests of every advertised API at every advertised
 * version, built with Sluice's own codec from a realistic environment (topics that exist,
 * record batches in every codec, a real group member), then mutated and sent over a pool of
 * pipelining connections.
 *
 * Reproducible: every burst of frames is generated from its own PRNG, seeded from
 * (run seed, connection index, burst number), so `burstFrames(seed, templates, conn, burst)`
 * regenerates the exact bytes of any burst a failure names. The interleaving of connections
 * is timing, not seed: a bug that needs two connections racing shows up as the set of bursts
 * in flight when it happened (reported by the runner).
 *
 *   burst on the wire   frame frame ... frame sentinel
 *   sentinel            a valid ApiVersions v0 request with correlation id SENTINEL_ID: when
 *                       its answer arrives, every frame before it was read and answered (or
 *                       dropped, acks=0); the connection is reused for the next burst
 *
 * A burst ends when the sentinel is answered, when the broker closes the connection (allowed
 * for bad frames) or after burstTimeoutMs (a frame whose size prefix promised more bytes, a
 * long poll): the runner then closes the connection itself and opens another.
 */
import net from 'node:net';
import { buildBatch, computeBatchCrc, CRC_OFFSET, ATTRIBUTES_OFFSET } from '../../src/record/index.js';
import { encodeSubscription, encodeAssignment } from '../../src/group/consumer-protocol.js';
import { APIS, decodeRequest, encodeRequest, inRange, UnsupportedVersionError, type ApiKey, type Field, type MessageDef, type ScalarType } from '../../src/protocol/index.js';

// ---- PRNG ---------------------------------------------------------------------------------

/** sfc32: small, fast, good enough statistically; four 32-bit words of state. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...seeds: number[]) {
    // splitmix32 over the seeds, so nearby seeds give unrelated streams.
    let h = 0x9e3779b9;
    const mix = (x: number): number => {
      h = (h + (x | 0) + 0x9e3779b9) | 0;
      let z = h;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    for (const s of seeds) mix(s);
    this.a = mix(1);
    this.b = mix(2);
    this.c = mix(3);
    this.d = mix(4);
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
}

// ---- environment and templates --------------------------------------------------------------

/** What the valid requests refer to: state that exists on the broker when the fuzz starts. */
export interface FuzzEnv {
  /** Topics the fuzzer may read, write, alter and delete (never the control topic). */
  topics: { name: string; id: string; partitions: number }[];
  groupId: string;
  memberId: string;
  generationId: number;
  producerId: number;
}

/** One valid request, size prefix included. */
export interface Template {
  apiKey: number;
  version: number;
  name: string;
  frame: Buffer;
}

const CODECS = ['none', 'gzip', 'snappy', 'lz4'] as const;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** A small record batch of 1-5 records in a random codec; idempotent sometimes. */
export function randomBatch(rng: Rng, env: FuzzEnv): Buffer {
  const n = 1 + rng.int(5);
  const records = Array.from({ length: n }, (_, i) => ({
    key: rng.chance(0.7) ? `k${rng.int(100)}` : null,
    value: `fuzz-value-${i}-${'x'.repeat(rng.int(60))}`,
    headers: rng.chance(0.3) ? [{ key: 'h', value: Buffer.from('v') }] : [],
  }));
  const idempotent = rng.chance(0.2);
  return buildBatch(records, {
    compression: rng.pick(CODECS),
    ...(idempotent ? { producerId: env.producerId, producerEpoch: 0, baseSequence: rng.int(3) } : {}),
  });
}

const BATCH_POOL = 64;
const pools = new WeakMap<FuzzEnv, Buffer[]>();

/** 64 valid batches per environment, built once (compression is the costly part). */
function batchPool(env: FuzzEnv): Buffer[] {
  let pool = pools.get(env);
  if (pool === undefined) {
    const rng = new Rng(0xba7c4);
    pool = Array.from({ length: BATCH_POOL }, () => randomBatch(rng, env));
    pools.set(env, pool);
  }
  return pool;
}

/**
 * A batch mutated past its CRC field with the CRC recomputed, so the broker's checks go deeper
 * than the checksum: record counts, lengths, varints, compressed payloads, attributes.
 */
export function mutatedBatch(rng: Rng, env: FuzzEnv): Buffer {
  const batch = Buffer.from(batchPool(env)[rng.int(BATCH_POOL)]!);
  const edits = 1 + rng.int(4);
  for (let i = 0; i < edits; i++) {
    const pos = ATTRIBUTES_OFFSET + rng.int(batch.length - ATTRIBUTES_OFFSET);
    batch[pos] = rng.chance(0.5) ? rng.pick(BOUNDARY_BYTES) : rng.int(256);
  }
  batch.writeUInt32BE(computeBatchCrc(batch, 0, batch.length), CRC_OFFSET);
  return batch;
}

type Builder = (v: number, env: FuzzEnv, rng: Rng) => Record<string, unknown>;

/** Valid bodies per API key; fields a version lacks are ignored by the encoder. */
const BUILDERS: Partial<Record<number, Builder>> = {
  0: (_v, env, rng) => {
    const t = rng.pick(env.topics);
    return {
      transactionalId: null,
      acks: rng.pick([-1, 1, 1, 0]),
      timeoutMs: 5000,
      topicData: [{ name: t.name, partitionData: [{ index: rng.int(t.partitions), records: randomBatch(rng, env) }] }],
    };
  },
  1: (_v, env, rng) => {
    const t = rng.pick(env.topics);
    return {
      replicaId: -1,
      maxWaitMs: rng.pick([0, 5, 50]),
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: rng.int(2),
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: t.name,
          topicId: t.id,
          partitions: Array.from({ length: t.partitions }, (_, p) => ({
            partition: p,
            currentLeaderEpoch: -1,
            fetchOffset: rng.int(4),
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: 65536,
          })),
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    };
  },
  2: (_v, env, rng) => {
    const t = rng.pick(env.topics);
    return {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: t.name, partitions: [{ partitionIndex: rng.int(t.partitions), currentLeaderEpoch: -1, timestamp: rng.pick([-1, -2, -3, Date.now() - 60_000]), maxNumOffsets: 1 }] }],
    };
  },
  3: (v, env, rng) => {
    const t = rng.pick(env.topics);
    const all = v >= 1 && rng.chance(0.3);
    return {
      topics: all ? null : [{ name: v >= 10 && rng.chance(0.5) ? null : t.name, topicId: v >= 10 ? t.id : ZERO_UUID }],
      allowAutoTopicCreation: rng.chance(0.5),
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: rng.chance(0.5),
    };
  },
  8: (_v, env, rng) => {
    const t = rng.pick(env.topics);
    return {
      groupId: rng.pick([env.groupId, 'fz-g2']),
      generationIdOrMemberEpoch: rng.pick([env.generationId, -1]),
      memberId: rng.pick([env.memberId, '']),
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: [{ name: t.name, partitions: [{ partitionIndex: rng.int(t.partitions), committedOffset: rng.int(10), committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: rng.chance(0.5) ? 'meta' : null }] }],
    };
  },
  9: (v, env, rng) => {
    const t = rng.pick(env.topics);
    const topics = v >= 2 && rng.chance(0.3) ? null : [{ name: t.name, partitionIndexes: [0, t.partitions - 1] }];
    return {
      groupId: env.groupId,
      topics,
      groups: [{ groupId: env.groupId, memberId: null, memberEpoch: -1, topics }],
      requireStable: rng.chance(0.5),
    };
  },
  10: (_v, env, rng) => ({ key: env.groupId, keyType: rng.pick([0, 0, 1]), coordinatorKeys: [env.groupId, 'fz-g2'] }),
  11: (_v, env, rng) => ({
    groupId: rng.pick([env.groupId, 'fz-g2', 'fz-g3']),
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: rng.pick([100, 1000]),
    memberId: rng.pick(['', env.memberId]),
    groupInstanceId: rng.chance(0.2) ? 'fz-static' : null,
    protocolType: 'consumer',
    protocols: [
      { name: 'range', metadata: encodeSubscription({ topics: env.topics.map((t) => t.name) }) },
      { name: 'roundrobin', metadata: encodeSubscription({ topics: [env.topics[0]!.name] }, 0) },
    ],
    reason: null,
  }),
  12: (_v, env, rng) => ({ groupId: env.groupId, generationId: rng.pick([env.generationId, 0]), memberId: env.memberId, groupInstanceId: null }),
  13: (_v, env, rng) => ({
    groupId: rng.pick([env.groupId, 'fz-g2']),
    memberId: rng.pick([env.memberId, 'nobody']),
    members: [{ memberId: rng.pick([env.memberId, 'nobody']), groupInstanceId: null, reason: 'fuzz' }],
  }),
  14: (_v, env, rng) => ({
    groupId: env.groupId,
    generationId: env.generationId,
    memberId: env.memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: rng.chance(0.5) ? [] : [{ memberId: env.memberId, assignment: encodeAssignment({ assignedPartitions: [{ topic: env.topics[0]!.name, partitions: [0] }] }) }],
  }),
  15: (_v, env) => ({ groups: [env.groupId, 'fz-g2'], includeAuthorizedOperations: true }),
  16: (_v, _env, rng) => ({ statesFilter: rng.chance(0.5) ? ['Stable', 'Empty'] : [], typesFilter: rng.chance(0.5) ? ['classic'] : [] }),
  17: (_v, _env, rng) => ({ mechanism: rng.pick(['PLAIN', 'SCRAM-SHA-256', 'GSSAPI']) }),
  18: () => ({ clientSoftwareName: 'sluice-fuzz', clientSoftwareVersion: '1.0' }),
  19: (_v, _env, rng) => ({
    topics: [
      {
        name: `fz-new-${rng.int(20)}`,
        numPartitions: rng.pick([1, 2, 3, -1]),
        replicationFactor: rng.pick([1, -1]),
        assignments: [],
        configs: rng.chance(0.5) ? [{ name: 'retention.ms', value: '600000' }, { name: 'cleanup.policy', value: rng.pick(['delete', 'compact']) }] : [],
      },
    ],
    timeoutMs: 5000,
    validateOnly: rng.chance(0.3),
  }),
  20: (_v, _env, rng) => {
    const name = `fz-new-${rng.int(20)}`;
    return { topics: [{ name, topicId: ZERO_UUID }], topicNames: [name], timeoutMs: 5000 };
  },
  21: (_v, env, rng) => {
    const t = rng.pick(env.topics);
    return { topics: [{ name: t.name, partitions: [{ partitionIndex: rng.int(t.partitions), offset: rng.pick([-1, 0, 1]) }] }], timeoutMs: 5000 };
  },
  22: (_v, _env, rng) => ({ transactionalId: rng.chance(0.1) ? 'fz-txn' : null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 }),
  23: (_v, env, rng) => {
    const t = rng.pick(env.topics);
    return { replicaId: -1, topics: [{ topic: t.name, partitions: [{ partition: rng.int(t.partitions), currentLeaderEpoch: -1, leaderEpoch: rng.pick([0, -1, 5]) }] }] };
  },
  32: (_v, env, rng) => ({
    resources: [
      { resourceType: 2, resourceName: rng.pick(env.topics).name, configurationKeys: rng.chance(0.5) ? null : ['retention.ms', 'cleanup.policy'] },
      { resourceType: 4, resourceName: '0', configurationKeys: null },
    ],
    includeSynonyms: rng.chance(0.5),
    includeDocumentation: rng.chance(0.5),
  }),
  33: (_v, env, rng) => ({
    resources: [{ resourceType: 2, resourceName: rng.pick(env.topics).name, configs: [{ name: 'retention.ms', value: String(600_000 + rng.int(1000)) }, { name: 'max.message.bytes', value: '1048588' }] }],
    validateOnly: rng.chance(0.5),
  }),
  37: (_v, _env, rng) => ({ topics: [{ name: `fz-new-${rng.int(20)}`, count: 2 + rng.int(3), assignments: null }], timeoutMs: 5000, validateOnly: rng.chance(0.3) }),
  42: () => ({ groupsNames: ['fz-g2', 'fz-g3'] }),
  44: (_v, env, rng) => ({
    resources: [
      {
        resourceType: 2,
        resourceName: rng.pick(env.topics).name,
        configs: [
          { name: 'retention.ms', configOperation: 0, value: '900000' },
          { name: 'cleanup.policy', configOperation: rng.pick([0, 2, 3]), value: 'delete' },
          { name: 'segment.ms', configOperation: 1, value: null },
        ],
      },
    ],
    validateOnly: rng.chance(0.5),
  }),
  47: (_v, env) => ({ groupId: 'fz-g2', topics: [{ name: env.topics[0]!.name, partitions: [{ partitionIndex: 0 }] }] }),
  60: (_v, _env, rng) => ({ includeClusterAuthorizedOperations: rng.chance(0.5), endpointType: 1 }),
};

/** Fallback for an API without a builder: every field filled from the schema. */
function schemaBody(fields: readonly Field[], version: number, rng: Rng): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of fields) {
    if (!inRange(f.versions, version)) continue;
    const t = f.type;
    if (typeof t === 'string') o[f.name] = scalar(t, rng);
    else if ('array' in t) {
      o[f.name] = Array.from({ length: 1 + rng.int(2) }, () => (typeof t.array === 'string' ? scalar(t.array, rng) : schemaBody(t.array, version, rng)));
    } else o[f.name] = schemaBody(t.struct, version, rng);
  }
  return o;
}

function scalar(type: ScalarType, rng: Rng): unknown {
  switch (type) {
    case 'bool':
      return rng.chance(0.5);
    case 'string':
      return `s${rng.int(10)}`;
    case 'bytes':
    case 'records':
      return Buffer.alloc(rng.int(8), 1);
    case 'uuid':
      return ZERO_UUID;
    default:
      return rng.int(10);
  }
}

/** The API keys and version ranges the broker advertises (from its ApiVersions answer). */
export interface AdvertisedApi {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

/**
 * `variants` valid requests of every advertised API at every advertised version. Throws when
 * the broker advertises an API this codec cannot encode (the fuzzer would silently skip it).
 */
export function buildTemplates(env: FuzzEnv, advertised: readonly AdvertisedApi[], seed: number, variants = 3): Template[] {
  const rng = new Rng(seed, 0x7e3);
  const out: Template[] = [];
  for (const a of advertised) {
    const entry = APIS.get(a.apiKey);
    if (entry === undefined) throw new Error(`the broker advertises api key ${a.apiKey}, which the codec does not know`);
    const build = BUILDERS[a.apiKey] ?? ((v: number, _e: FuzzEnv, r: Rng) => schemaBody((entry.request as MessageDef).fields, v, r));
    for (let v = a.minVersion; v <= a.maxVersion; v++) {
      for (let i = 0; i < variants; i++) {
        const body = build(v, env, rng);
        const chunks = encodeRequest(a.apiKey as ApiKey, v, 1000 + out.length, rng.chance(0.8) ? 'fuzz' : null, body as never, { sizePrefix: true });
        out.push({ apiKey: a.apiKey, version: v, name: entry.name, frame: Buffer.concat(chunks.chunks) });
      }
    }
  }
  return out;
}

// ---- mutation -------------------------------------------------------------------------------

export const BOUNDARY_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff] as const;
const BOUNDARY_I16 = [-1, 0, 1, 0x7fff, -0x8000, 0x7ffe] as const;
const BOUNDARY_I32 = [-1, 0, 1, 0x7fffffff, -0x80000000, 0x7ffffffe, 0x10000, 0x00ffffff, 1_000_000] as const;
/** uvarints: 0 (null), 1 (empty), the largest 32-bit value, an over-long encoding. */
const BOUNDARY_VARINTS = [[0x00], [0x01], [0xff, 0xff, 0xff, 0xff, 0x0f], [0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [0x80, 0x80, 0x80, 0x80, 0x10]] as const;

export const MUTATIONS = [
  'bitflip',
  'byte',
  'int16',
  'int32',
  'varint',
  'truncate',
  'insert',
  'duplicate',
  'delete',
  'apiKey',
  'apiVersion',
  'sizePrefix',
] as const;
export type MutationKind = (typeof MUTATIONS)[number];

/** Weights (per mille) of the mutation kinds; sizePrefix desynchronises the stream, so it is rare. */
const WEIGHTS: Record<MutationKind, number> = {
  bitflip: 160,
  byte: 140,
  int16: 80,
  int32: 140,
  varint: 80,
  truncate: 90,
  insert: 60,
  duplicate: 60,
  delete: 50,
  apiKey: 50,
  apiVersion: 60,
  sizePrefix: 30,
};
const WEIGHT_TOTAL = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);

function pickKind(rng: Rng): MutationKind {
  let x = rng.int(WEIGHT_TOTAL);
  for (const k of MUTATIONS) {
    x -= WEIGHTS[k];
    if (x < 0) return k;
  }
  return 'bitflip';
}

/** A position in the body (after the size prefix), biased towards the header and the start. */
function position(rng: Rng, length: number): number {
  const body = length - 4;
  if (body <= 0) return 4;
  if (rng.chance(0.25)) return 4 + rng.int(Math.min(body, 16));
  return 4 + rng.int(body);
}

export interface Mutated {
  bytes: Buffer;
  kinds: MutationKind[];
  /** The size prefix no longer matches the frame: the broker reads the stream out of step. */
  desync: boolean;
}

/**
 * Applies 1-3 mutations to a copy of `frame` (size prefix included). Structural ones (truncate,
 * insert, duplicate, delete) fix the size prefix, so the broker sees a whole frame with a bad
 * body; only 'sizePrefix' leaves it wrong on purpose.
 */
export function mutate(frame: Buffer, rng: Rng, advertised: readonly AdvertisedApi[], maxRequestBytes: number): Mutated {
  let b = Buffer.from(frame);
  const kinds: MutationKind[] = [];
  let prefix: number | null = null;
  const n = 1 + (rng.chance(0.3) ? 1 + rng.int(2) : 0);
  for (let i = 0; i < n; i++) {
    const kind = pickKind(rng);
    kinds.push(kind);
    switch (kind) {
      case 'bitflip': {
        const flips = 1 + rng.int(8);
        for (let j = 0; j < flips; j++) {
          const p = position(rng, b.length);
          if (p < b.length) b[p]! ^= 1 << rng.int(8);
        }
        break;
      }
      case 'byte': {
        const p = position(rng, b.length);
        if (p < b.length) b[p] = rng.pick(BOUNDARY_BYTES);
        break;
      }
      case 'int16': {
        const p = position(rng, b.length);
        if (p + 2 <= b.length) b.writeInt16BE(rng.pick(BOUNDARY_I16), p);
        break;
      }
      case 'int32': {
        const p = position(rng, b.length);
        if (p + 4 <= b.length) b.writeInt32BE(rng.pick(BOUNDARY_I32), p);
        break;
      }
      case 'varint': {
        const p = position(rng, b.length);
        const v = rng.pick(BOUNDARY_VARINTS);
        for (let j = 0; j < v.length && p + j < b.length; j++) b[p + j] = v[j]!;
        break;
      }
      case 'truncate': {
        const keep = 4 + rng.int(Math.max(1, b.length - 4));
        b = b.subarray(0, keep);
        break;
      }
      case 'insert': {
        const p = position(rng, b.length);
        const extra = Buffer.alloc(1 + rng.int(64));
        for (let j = 0; j < extra.length; j++) extra[j] = rng.chance(0.5) ? rng.pick(BOUNDARY_BYTES) : rng.int(256);
        b = Buffer.concat([b.subarray(0, p), extra, b.subarray(p)]);
        break;
      }
      case 'duplicate': {
        const from = 4 + rng.int(Math.max(1, b.length - 4));
        const len = 1 + rng.int(Math.min(256, Math.max(1, b.length - from)));
        const to = position(rng, b.length);
        const times = rng.chance(0.2) ? 2 + rng.int(30) : 1;
        const region = b.subarray(from, from + len);
        b = Buffer.concat([b.subarray(0, to), ...Array<Buffer>(times).fill(region), b.subarray(to)]);
        break;
      }
      case 'delete': {
        const from = position(rng, b.length);
        const len = 1 + rng.int(16);
        b = Buffer.concat([b.subarray(0, from), b.subarray(Math.min(b.length, from + len))]);
        break;
      }
      case 'apiKey': {
        if (b.length >= 6) b.writeInt16BE(rng.chance(0.8) ? rng.pick(advertised).apiKey : rng.pick([-1, 0x7fff, 4, 5, 6, 7, 24, 36, 61, 1000]), 4);
        break;
      }
      case 'apiVersion': {
        if (b.length >= 8) {
          const a = rng.pick(advertised);
          b.writeInt16BE(rng.pick([a.minVersion, a.maxVersion, a.maxVersion + 1, a.minVersion - 1, -1, 0x7fff, rng.int(20)]), 6);
        }
        break;
      }
      case 'sizePrefix': {
        const len = b.length - 4;
        prefix = rng.pick([0, -1, 7, 8, len - 1, len + 1, len + 1 + rng.int(64), maxRequestBytes, maxRequestBytes + 1, 0x7fffffff, -0x80000000]);
        break;
      }
    }
  }
  if (b.length < 4) b = Buffer.concat([b, Buffer.alloc(4 - b.length)]);
  else b = Buffer.from(b); // own copy: subarrays above may share the template
  const real = b.length - 4;
  b.writeInt32BE(prefix ?? real, 0);
  return { bytes: b, kinds, desync: prefix !== null && prefix !== real };
}

// ---- bursts ---------------------------------------------------------------------------------

export const SENTINEL_ID = 0x7ffffff0;

export interface BurstFrame {
  bytes: Buffer;
  /** Template name and version, mutation kinds: for reports. */
  label: string;
  kinds: MutationKind[] | 'valid' | 'batch';
  apiKey: number;
}

export interface BurstPlan {
  frames: BurstFrame[];
  /** The frames and the sentinel, as one buffer. */
  wire: Buffer;
}

export interface BurstParams {
  seed: number;
  connection: number;
  burst: number;
  templates: readonly Template[];
  advertised: readonly AdvertisedApi[];
  env: FuzzEnv;
  maxBurst: number;
  maxRequestBytes: number;
  /** Share of bursts that end with a frame the broker cannot decode (default 0.6). */
  fatalShare?: number;
}

const SENTINEL = Buffer.concat(encodeRequest(18 as ApiKey, 0, SENTINEL_ID, 'sentinel', {}, { sizePrefix: true }).chunks);

/** True when the broker will decode the frame and run its handler (it closes on anything else). */
export function reachesHandler(frame: Buffer): boolean {
  if (frame.length < 4 || frame.readInt32BE(0) !== frame.length - 4) return false;
  try {
    decodeRequest(frame.subarray(4));
    return true;
  } catch (err) {
    // ApiVersions at an unknown version is answered (KIP-511), every other failure closes.
    return err instanceof UnsupportedVersionError && err.apiKey === 18;
  }
}

/**
 * The frames of one burst, regenerated exactly from (seed, connection, burst). Candidates: 5%
 * valid templates as they are, 10% Produce requests whose batch is mutated behind a recomputed
 * CRC, the rest mutated templates. Candidates the broker will decode (checked with the same
 * codec) make up the burst, so they all reach the handlers; at most one that it will not
 * decode (the broker closes the connection on those, as Kafka does) ends the burst, in about
 * `fatalShare` of bursts. Nothing after such a frame would be read anyway.
 */
export function burstFrames(p: BurstParams): BurstPlan {
  const rng = new Rng(p.seed, p.connection, p.burst);
  const target = 1 + rng.int(p.maxBurst);
  const fatalShare = p.fatalShare ?? 0.6;
  const frames: BurstFrame[] = [];
  let fatal: BurstFrame | null = null;
  const produce = p.templates.filter((t) => t.apiKey === 0);
  for (let attempt = 0; frames.length < target && attempt < target * 6; attempt++) {
    const roll = rng.next();
    let f: BurstFrame;
    if (roll < 0.05) {
      const t = rng.pick(p.templates);
      f = { bytes: t.frame, label: `${t.name} v${t.version}`, kinds: 'valid', apiKey: t.apiKey };
    } else if (roll < 0.15 && produce.length > 0) {
      const t = rng.pick(produce);
      const topic = rng.pick(p.env.topics);
      const body = { transactionalId: null, acks: rng.pick([1, -1]), timeoutMs: 5000, topicData: [{ name: topic.name, partitionData: [{ index: rng.int(topic.partitions), records: mutatedBatch(rng, p.env) }] }] };
      const bytes = Buffer.concat(encodeRequest(0, t.version, 7, 'fuzz', body, { sizePrefix: true }).chunks);
      f = { bytes, label: `Produce v${t.version} (mutated batch, CRC fixed)`, kinds: 'batch', apiKey: 0 };
    } else {
      const t = rng.pick(p.templates);
      const m = mutate(t.frame, rng, p.advertised, p.maxRequestBytes);
      f = { bytes: m.bytes, label: `${t.name} v${t.version}`, kinds: m.kinds, apiKey: t.apiKey };
    }
    if (reachesHandler(f.bytes)) frames.push(f);
    else if (fatal === null && rng.chance(fatalShare / Math.max(1, target))) fatal = f;
  }
  if (fatal !== null || frames.length === 0) frames.push(fatal ?? { bytes: Buffer.from([0, 0, 0, 0]), label: 'empty frame', kinds: ['sizePrefix'], apiKey: -1 });
  return { frames, wire: Buffer.concat([...frames.map((f) => f.bytes), SENTINEL]) };
}

// ---- runner ---------------------------------------------------------------------------------

export interface FuzzOptions {
  host?: string;
  port: number;
  seed: number;
  /** Frames to send in all (sentinels not counted). */
  frames: number;
  /** Connections sending at once. */
  connections: number;
  /** Frames per burst: 1 to this. */
  maxBurst: number;
  /** A burst not answered in this long is abandoned (the runner closes the connection). */
  burstTimeoutMs: number;
  maxRequestBytes: number;
  /** Share of bursts that end with a frame the broker cannot decode (default 0.6). */
  fatalShare?: number;
  templates: readonly Template[];
  advertised: readonly AdvertisedApi[];
  env: FuzzEnv;
  /** Called after each burst with the running totals. */
  onProgress?: (stats: FuzzStats) => void;
  /** Stops the run early (e.g. the broker process exited). */
  shouldStop?: () => boolean;
}

export interface FuzzStats {
  framesSent: number;
  bytesSent: number;
  bursts: number;
  /** Bursts whose sentinel was answered. */
  answered: number;
  /** Bursts ended by the broker closing the connection. */
  closedByBroker: number;
  /** Bursts the runner gave up on (stalled frame, long poll). */
  abandoned: number;
  /** Response frames received (sentinels included). */
  responses: number;
  connectionsOpened: number;
  /** Connection attempts refused or reset. */
  connectErrors: number;
  byKind: Record<string, number>;
  /** Total wall time spent waiting on bursts, by outcome. */
  burstMs: Record<string, number>;
  byApi: Record<string, number>;
  elapsedMs: number;
}

/** A burst on a connection right now, for failure reports. */
export interface InFlightBurst {
  connection: number;
  burst: number;
  frames: string[];
}

export class FuzzRunner {
  readonly stats: FuzzStats = {
    framesSent: 0,
    bytesSent: 0,
    bursts: 0,
    answered: 0,
    closedByBroker: 0,
    abandoned: 0,
    responses: 0,
    connectionsOpened: 0,
    connectErrors: 0,
    byKind: {},
    burstMs: {},
    byApi: {},
    elapsedMs: 0,
  };
  readonly inFlight = new Map<number, InFlightBurst>();
  private reserved = 0;

  constructor(private readonly o: FuzzOptions) {}

  async run(): Promise<FuzzStats> {
    const started = performance.now();
    await Promise.all(Array.from({ length: this.o.connections }, (_, i) => this.worker(i)));
    this.stats.elapsedMs = performance.now() - started;
    return this.stats;
  }

  /** How to regenerate the bursts in flight now (for a failure message). */
  describeInFlight(): string {
    return [...this.inFlight.values()].map((b) => `  connection ${b.connection} burst ${b.burst}: ${b.frames.join(' | ')}`).join('\n');
  }

  private async worker(index: number): Promise<void> {
    let burst = 0;
    let conn: Conn | null = null;
    while (!(this.o.shouldStop?.() ?? false)) {
      const plan = burstFrames({ ...this.o, connection: index, burst });
      // Reserve frames before sending, so the total stops at `frames` exactly.
      const want = plan.frames.length;
      const take = Math.min(want, this.o.frames - this.reserved);
      if (take <= 0) break;
      this.reserved += take;
      const frames = plan.frames.slice(0, take);
      const wire = take === want ? plan.wire : Buffer.concat([...frames.map((f) => f.bytes), SENTINEL]);
      if (conn === null || conn.closed) {
        conn = await Conn.open(this.o.host ?? '127.0.0.1', this.o.port).catch(() => null);
        if (conn === null) {
          this.stats.connectErrors++;
          this.reserved -= take;
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        this.stats.connectionsOpened++;
      }
      this.inFlight.set(index, { connection: index, burst, frames: frames.map((f) => `${f.label} ${Array.isArray(f.kinds) ? f.kinds.join('+') : f.kinds}`) });
      const t0 = performance.now();
      const outcome = await conn.burst(wire, this.o.burstTimeoutMs);
      this.stats.burstMs[outcome.kind] = (this.stats.burstMs[outcome.kind] ?? 0) + (performance.now() - t0);
      this.inFlight.delete(index);
      const s = this.stats;
      s.bursts++;
      s.framesSent += frames.length;
      s.bytesSent += wire.length - SENTINEL.length;
      s.responses += outcome.responses;
      for (const f of frames) {
        for (const k of Array.isArray(f.kinds) ? f.kinds : [f.kinds]) s.byKind[k] = (s.byKind[k] ?? 0) + 1;
        const api = APIS.get(f.apiKey)?.name ?? String(f.apiKey);
        s.byApi[api] = (s.byApi[api] ?? 0) + 1;
      }
      if (outcome.kind === 'answered') s.answered++;
      else if (outcome.kind === 'closed') s.closedByBroker++;
      else {
        s.abandoned++;
        conn.destroy();
      }
      burst++;
      this.o.onProgress?.(s);
    }
    conn?.destroy();
  }
}

type Outcome = { kind: 'answered' | 'closed' | 'timeout'; responses: number };

/** One fuzzing connection: writes bursts, counts response frames, spots the sentinel's answer. */
class Conn {
  closed = false;
  private pending = Buffer.alloc(0);
  private need = -1; // bytes still to skip of the current response frame, -1: reading a prefix
  /** The frame being skipped is the sentinel's answer. */
  private sentinel = false;
  private responses = 0;
  private waiter: ((o: Outcome) => void) | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.finish('closed');
    });
  }

  static open(host: string, port: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host);
      s.setNoDelay(true);
      s.once('connect', () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }

  burst(wire: Buffer, timeoutMs: number): Promise<Outcome> {
    if (this.closed) return Promise.resolve({ kind: 'closed', responses: 0 });
    this.responses = 0;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.finish('timeout'), timeoutMs);
      this.waiter = (o) => {
        clearTimeout(timer);
        resolve(o);
      };
      this.socket.write(wire);
    });
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private finish(kind: Outcome['kind']): void {
    const w = this.waiter;
    this.waiter = null;
    w?.({ kind, responses: this.responses });
  }

  /** Parses response frames without keeping their bodies (a Fetch answer may be large). */
  private onData(d: Buffer): void {
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, d]) : d;
    let pos = 0;
    for (;;) {
      if (this.need >= 0) {
        const skip = Math.min(this.need, buf.length - pos);
        pos += skip;
        this.need -= skip;
        if (this.need > 0) break;
        this.need = -1;
        if (this.sentinel) {
          this.sentinel = false;
          this.finish('answered');
        }
        continue;
      }
      if (buf.length - pos < 8) break;
      const size = buf.readInt32BE(pos);
      this.sentinel = buf.readInt32BE(pos + 4) === SENTINEL_ID;
      this.responses++;
      pos += 4;
      this.need = size;
    }
    this.pending = pos < buf.length ? Buffer.from(buf.subarray(pos)) : Buffer.alloc(0);
  }
}
