/**
 * Per-topic configuration under Kafka's own names (retention.ms, cleanup.policy, ...).
 * Values arrive as strings (wire protocol, CLI) or numbers (embedded API); each is checked
 * against Kafka's type and range and kept in its canonical string form, so DescribeConfigs
 * can show them as Kafka does. `toLogConfig` turns them into the storage layer's settings.
 */
import type { Durability, LogConfig } from '../storage/index.js';
import { TopicConfigError } from './errors.js';

export type TopicConfigValue = string | number | boolean;
export type TopicConfigInput = Record<string, TopicConfigValue>;

type Kind =
  | { type: 'long'; min: number; max?: number }
  | { type: 'int'; min: number; max?: number }
  | { type: 'enum'; values: string[] }
  | { type: 'list'; values: string[] }
  | { type: 'boolean' }
  | { type: 'double'; min: number; max: number }
  | { type: 'string'; pattern?: RegExp; allowed?: string };

interface Definition {
  default: string;
  kind: Kind;
  doc: string;
  /** Accepted and shown, but it changes nothing on a single broker. */
  inert?: boolean;
  /** Kafka deprecated the key: accepted, with this note logged when it is set. */
  deprecated?: string;
}

const LONG_MAX = '9223372036854775807';
const INT_MAX = 2 ** 31 - 1;

export const TOPIC_CONFIGS: Readonly<Record<string, Definition>> = {
  'cleanup.policy': { default: 'delete', kind: { type: 'list', values: ['delete', 'compact'] }, doc: "'delete' removes old segments by retention; 'compact' keeps the latest record per key" },
  'compression.type': {
    default: 'producer',
    kind: { type: 'enum', values: ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4'] },
    doc: "codec batches are stored with; 'producer' keeps the producer's (zstd is read but not written by Sluice)",
  },
  'delete.retention.ms': { default: '86400000', kind: { type: 'long', min: 0 }, doc: 'how long tombstones survive compaction' },
  'flush.messages': { default: LONG_MAX, kind: { type: 'long', min: 1 }, doc: 'fsync after this many records; 1 fsyncs before acknowledging (group commit)' },
  'flush.ms': { default: LONG_MAX, kind: { type: 'long', min: 0 }, doc: 'fsync at this interval' },
  'index.interval.bytes': { default: '4096', kind: { type: 'int', min: 0 }, doc: 'bytes of log between offset index entries' },
  'max.message.bytes': { default: '1048588', kind: { type: 'int', min: 0 }, doc: 'largest record batch accepted, after compression' },
  'message.timestamp.type': { default: 'CreateTime', kind: { type: 'enum', values: ['CreateTime', 'LogAppendTime'] }, doc: 'LogAppendTime stamps batches with the broker clock on append' },
  'min.insync.replicas': { default: '1', kind: { type: 'int', min: 1 }, doc: 'acks=all needs this many in-sync replicas (a single broker has 1)' },
  'retention.bytes': { default: '-1', kind: { type: 'long', min: -1 }, doc: 'delete oldest segments while a partition is larger; -1 no limit' },
  'retention.ms': { default: '604800000', kind: { type: 'long', min: -1 }, doc: 'delete segments whose newest record is older; -1 keeps forever' },
  'segment.bytes': { default: '1073741824', kind: { type: 'int', min: 14 }, doc: 'roll the active segment at this size' },
  'segment.index.bytes': { default: '10485760', kind: { type: 'int', min: 48 }, doc: 'largest offset/time index before a roll' },
  'segment.ms': { default: '604800000', kind: { type: 'long', min: 1 }, doc: 'roll the active segment after this long' },
  'file.delete.delay.ms': { default: '60000', kind: { type: 'long', min: 0 }, doc: 'Sluice deletes at once: views keep deleted data readable', inert: true },
  'preallocate': { default: 'false', kind: { type: 'boolean' }, doc: 'Sluice always reserves disk a chunk ahead of the tail', inert: true },
  'segment.jitter.ms': { default: '0', kind: { type: 'long', min: 0 }, doc: 'random jitter of segment.ms', inert: true },
  'unclean.leader.election.enable': { default: 'false', kind: { type: 'boolean' }, doc: 'replication only', inert: true },
  'min.cleanable.dirty.ratio': { default: '0.5', kind: { type: 'double', min: 0, max: 1 }, doc: 'share of a compacted log that may be dirty before cleaning' },
  'min.compaction.lag.ms': { default: '0', kind: { type: 'long', min: 0 }, doc: 'records younger than this are not compacted' },
  'max.compaction.lag.ms': { default: LONG_MAX, kind: { type: 'long', min: 1 }, doc: 'longest a record may stay uncompacted', inert: true },
  'message.timestamp.before.max.ms': { default: LONG_MAX, kind: { type: 'long', min: 0 }, doc: 'refuse records (INVALID_TIMESTAMP) whose CreateTime is more than this before the broker clock' },
  'message.timestamp.after.max.ms': { default: LONG_MAX, kind: { type: 'long', min: 0 }, doc: 'refuse records (INVALID_TIMESTAMP) whose CreateTime is more than this after the broker clock' },
  // Kafka 3.x still accepts it (deprecated, ignored with inter.broker.protocol.version >= 3.0).
  'message.format.version': {
    default: '3.0-IV1',
    kind: { type: 'string', pattern: /^\d+\.\d+(\.\d+)?(-IV\d+)?$/, allowed: 'a Kafka version such as 2.8, 0.10.2 or 3.0-IV1' },
    doc: 'deprecated in Kafka 3.0 and ignored: Sluice always stores RecordBatch v2',
    inert: true,
    deprecated: 'message.format.version is deprecated (Kafka 3.0) and ignored: Sluice always stores RecordBatch v2 (message format 2)',
  },
};

/** The deprecation notes of the keys in `input` (for the caller to log), [] when none. */
export function deprecationNotes(input: TopicConfigInput | readonly string[]): string[] {
  const keys = Array.isArray(input) ? input : Object.keys(input);
  return keys.flatMap((k) => {
    const bare = k.startsWith('log.') ? k.slice(4) : k;
    const note = TOPIC_CONFIGS[bare]?.deprecated;
    return note === undefined ? [] : [note];
  });
}

/** A topic's settings, resolved: every key present, each value in canonical string form. */
export type TopicConfig = Record<string, string>;

function canonical(key: string, value: TopicConfigValue): string {
  const def = TOPIC_CONFIGS[key];
  if (def === undefined) {
    throw new TopicConfigError(key, `unknown topic config '${key}'; known: ${Object.keys(TOPIC_CONFIGS).join(', ')}`);
  }
  const text = String(value).trim();
  const bad = (allowed: string) => new TopicConfigError(key, `invalid value '${text}' for ${key}: ${allowed}`);
  const k = def.kind;
  switch (k.type) {
    case 'long':
    case 'int': {
      if (!/^-?\d+$/.test(text)) throw bad(`an integer >= ${k.min}`);
      if (text === LONG_MAX) return text;
      const n = Number(text);
      const max = k.max ?? (k.type === 'int' ? INT_MAX : Number.MAX_SAFE_INTEGER);
      if (!Number.isSafeInteger(n) || n < k.min || n > max) throw bad(`an integer from ${k.min} to ${max}`);
      return String(n);
    }
    case 'double': {
      const n = Number(text);
      if (text === '' || !Number.isFinite(n) || n < k.min || n > k.max) throw bad(`a number from ${k.min} to ${k.max}`);
      return String(n);
    }
    case 'boolean':
      if (text !== 'true' && text !== 'false') throw bad("'true' or 'false'");
      return text;
    case 'enum': {
      const found = k.values.find((v) => v.toLowerCase() === text.toLowerCase());
      if (found === undefined) {
        if (key === 'compression.type' && text.toLowerCase() === 'zstd') {
          throw new TopicConfigError(key, "compression.type 'zstd' is not supported: Sluice reads zstd batches but cannot write them; use lz4, gzip, snappy or producer");
        }
        throw bad(`one of ${k.values.join(', ')}`);
      }
      return found;
    }
    case 'list': {
      const items = text.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s.length > 0);
      if (items.length === 0 || items.some((i) => !k.values.includes(i))) throw bad(`a comma-separated list of ${k.values.join(', ')}`);
      return [...new Set(items)].sort().join(',');
    }
    case 'string':
      if (k.pattern !== undefined && !k.pattern.test(text)) throw bad(k.allowed ?? `a value matching ${k.pattern}`);
      return text;
  }
}

/** Checks `overrides` and lays them over `base` (the broker defaults, or the current config). */
export function resolveTopicConfig(overrides: TopicConfigInput = {}, base?: TopicConfig): TopicConfig {
  const out: TopicConfig = base ? { ...base } : defaultTopicConfig();
  for (const [key, value] of Object.entries(overrides)) out[key] = canonical(key, value);
  return out;
}

export function defaultTopicConfig(): TopicConfig {
  const out: TopicConfig = {};
  for (const [key, def] of Object.entries(TOPIC_CONFIGS)) out[key] = def.default;
  return out;
}

/** Only the keys that differ from `defaults` (what a topic stores on disk). */
export function topicConfigOverrides(config: TopicConfig, defaults: TopicConfig): TopicConfig {
  const out: TopicConfig = {};
  for (const [k, v] of Object.entries(config)) if (defaults[k] !== v) out[k] = v;
  return out;
}

function num(v: string | undefined): number {
  return v === undefined || v === LONG_MAX ? Infinity : Number(v);
}

/** The storage settings of one partition of a topic with this config. */
export function toLogConfig(c: TopicConfig, durability: Durability): Partial<LogConfig> {
  const policies = c['cleanup.policy']!.split(',');
  const deletes = policies.includes('delete');
  return {
    segmentBytes: Number(c['segment.bytes']),
    segmentMs: num(c['segment.ms']),
    segmentIndexBytes: Number(c['segment.index.bytes']),
    indexIntervalBytes: Number(c['index.interval.bytes']),
    retentionMs: deletes ? Number(c['retention.ms']) : -1,
    retentionBytes: deletes ? Number(c['retention.bytes']) : -1,
    flushMessages: num(c['flush.messages']),
    flushMs: num(c['flush.ms']),
    maxMessageBytes: Number(c['max.message.bytes']),
    // flush.messages=1 is Kafka's way of asking for an fsync before every acknowledgement.
    durability: c['flush.messages'] === '1' ? 'fsync' : durability,
  };
}

/** Kafka documentation of each key, for DescribeConfigs and the CLI. */
export function topicConfigDoc(key: string): string | undefined {
  const d = TOPIC_CONFIGS[key];
  return d === undefined ? undefined : d.inert ? `${d.doc} (accepted; no effect on a single Sluice broker)` : d.doc;
}
