/**
 * Per-partition log settings, named after Kafka's topic configs (segment.bytes becomes
 * segmentBytes). Defaults are Kafka's, except where a comment says otherwise.
 */
import { InvalidConfigError } from './errors.js';

/** Where an acknowledged append must be before it counts as done. */
export type Durability =
  /** In the page cache, flushed in the background (Kafka's default): survives a process crash. */
  | 'pagecache'
  /** fsynced before it is acknowledged, with concurrent appends sharing one fsync. */
  | 'fsync';

export interface LogConfig {
  /** segment.bytes: roll the active segment when it would grow past this. */
  segmentBytes: number;
  /** segment.ms: roll the active segment when its first batch is this old. */
  segmentMs: number;
  /** segment.index.bytes: roll when the offset index would grow past this. */
  segmentIndexBytes: number;
  /** index.interval.bytes: bytes of log between two offset index entries. */
  indexIntervalBytes: number;
  /** retention.ms: delete whole segments whose newest record is older (-1: keep forever). */
  retentionMs: number;
  /** retention.bytes: delete the oldest segments while the log is bigger (-1: no limit). */
  retentionBytes: number;
  /** flush.messages: fsync after this many records (Infinity: leave it to the OS). */
  flushMessages: number;
  /** flush.ms: fsync at this interval (Infinity: leave it to the OS). */
  flushMs: number;
  /** max.message.bytes: largest record batch accepted, after compression. */
  maxMessageBytes: number;
  /** file.delete.delay.ms is not needed: a deleted segment's mapping lives while views do. */
  /** log.retention.check.interval.ms: how often retention runs (0: only when asked). */
  retentionCheckIntervalMs: number;
  /** Sluice: 'pagecache' (Kafka's default) or 'fsync' before acknowledging. */
  durability: Durability;
}

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  segmentIndexBytes: 10 * 1024 * 1024,
  indexIntervalBytes: 4096,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  flushMessages: Infinity,
  flushMs: Infinity,
  maxMessageBytes: 1024 * 1024 + 12,
  retentionCheckIntervalMs: 5 * 60 * 1000,
  durability: 'pagecache',
});

/** Kafka's property name for each key, for error messages and the CLI. */
export const KAFKA_NAMES: Readonly<Record<keyof LogConfig, string>> = {
  segmentBytes: 'segment.bytes',
  segmentMs: 'segment.ms',
  segmentIndexBytes: 'segment.index.bytes',
  indexIntervalBytes: 'index.interval.bytes',
  retentionMs: 'retention.ms',
  retentionBytes: 'retention.bytes',
  flushMessages: 'flush.messages',
  flushMs: 'flush.ms',
  maxMessageBytes: 'max.message.bytes',
  retentionCheckIntervalMs: 'log.retention.check.interval.ms',
  durability: 'durability',
};

/** Largest segment: positions in the offset index are 32-bit, as in Kafka. */
const MAX_SEGMENT_BYTES = 2 ** 31 - 1;

function int(key: keyof LogConfig, v: unknown, min: number, max: number, allowInfinity = false): number {
  const ok =
    typeof v === 'number' && ((Number.isInteger(v) && v >= min && v <= max) || (allowInfinity && v === Infinity));
  if (!ok) {
    throw new InvalidConfigError(KAFKA_NAMES[key], v, `an integer from ${min} to ${max}${allowInfinity ? ' or Infinity' : ''}`);
  }
  return v as number;
}

/** Fills defaults and checks every value; throws InvalidConfigError naming the key. */
export function resolveLogConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  for (const key of Object.keys(overrides)) {
    if (!(key in DEFAULT_LOG_CONFIG)) {
      throw new InvalidConfigError(key, (overrides as Record<string, unknown>)[key], `unknown log config key; known keys: ${Object.keys(DEFAULT_LOG_CONFIG).join(', ')}`);
    }
  }
  const c = { ...DEFAULT_LOG_CONFIG, ...stripUndefined(overrides) };
  const big = Number.MAX_SAFE_INTEGER;
  int('segmentBytes', c.segmentBytes, 14, MAX_SEGMENT_BYTES);
  int('segmentMs', c.segmentMs, 1, big, true);
  int('segmentIndexBytes', c.segmentIndexBytes, 4 * 12, MAX_SEGMENT_BYTES);
  int('indexIntervalBytes', c.indexIntervalBytes, 0, MAX_SEGMENT_BYTES);
  int('retentionMs', c.retentionMs, -1, big, true);
  int('retentionBytes', c.retentionBytes, -1, big);
  int('flushMessages', c.flushMessages, 1, big, true);
  int('flushMs', c.flushMs, 0, big, true);
  int('maxMessageBytes', c.maxMessageBytes, 0, MAX_SEGMENT_BYTES);
  int('retentionCheckIntervalMs', c.retentionCheckIntervalMs, 0, big);
  if (c.durability !== 'pagecache' && c.durability !== 'fsync') {
    throw new InvalidConfigError('durability', c.durability, "'pagecache' or 'fsync'");
  }
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
