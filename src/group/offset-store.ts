/**
 * Committed offsets: an in-memory map mirrored by the log `<dir>/__consumer_offsets-0` (records
 * laid out in offset-record.ts). Memory changes at the moment a batch is appended, so memory is
 * always exactly the replay of the log; a write resolves once the batch is in the log (and
 * fsynced under 'fsync' durability).
 *
 * Compaction: once the log is bigger than `compactionMinBytes` and 4x its live entries, the live
 * entries are written to `__consumer_offsets-0.compacting`, that log is closed (fsynced), and
 * the directories are swapped:
 *
 *   1. close the current log
 *   2. rename __consumer_offsets-0            -> __consumer_offsets-0.old
 *   3. rename __consumer_offsets-0.compacting -> __consumer_offsets-0
 *   4. fsync the parent directory, then delete .old
 *
 * open() finishes or undoes a swap a crash interrupted (see recoverInterruptedSwap). Writes that
 * arrive while a compaction runs wait for it.
 *
 * Not thread-safe: one owner (the GroupCoordinator) calls it from one thread.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildBatch, batchesIn, readRecords, type RecordInput } from '../record/index.js';
import { CLEAN_SHUTDOWN_FILE, Log, type LogOptions } from '../storage/index.js';
import { decodeOffsetKey, decodeOffsetValue, encodeOffsetKey, encodeOffsetValue } from './offset-record.js';
import type { CommittedOffset, GroupLogger } from './types.js';

/** Kafka's internal topic name; Sluice has one partition of it. */
export const OFFSETS_TOPIC = '__consumer_offsets';
export const OFFSETS_LOG_DIR = `${OFFSETS_TOPIC}-0`;
const COMPACTING_SUFFIX = '.compacting';
const OLD_SUFFIX = '.old';
/** Rough per-record cost in a batch beyond key and value (varints, attributes, deltas). */
const RECORD_OVERHEAD = 12;
/** Records per batch when compaction rewrites the log. */
const COMPACTION_BATCH_RECORDS = 4096;

export interface OffsetStoreOptions {
  /** The directory that holds `__consumer_offsets-0`. */
  dir: string;
  durability: 'pagecache' | 'fsync';
  time: () => number;
  logger: GroupLogger;
  compactionMinBytes: number;
}

/** One change: a committed offset, or null to delete it (a tombstone). */
export interface OffsetChange {
  groupId: string;
  topic: string;
  partition: number;
  value: CommittedOffset | null;
}

interface Entry {
  value: CommittedOffset;
  /** Bytes of its record, for the compaction threshold. */
  size: number;
}

const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class OffsetStore {
  /** groupId -> "topic\0partition" -> entry. */
  private readonly groups = new Map<string, Map<string, Entry>>();
  private liveBytes = 0;
  private compaction: Promise<void> | null = null;
  private closed = false;
  /** Compactions done since open (for tests and metrics). */
  compactions = 0;

  private constructor(
    private log: Log,
    readonly logDir: string,
    private readonly options: OffsetStoreOptions,
  ) {}

  /** Opens the offsets log (finishing or undoing an interrupted compaction) and replays it. */
  static open(options: OffsetStoreOptions): OffsetStore {
    const logDir = path.join(options.dir, OFFSETS_LOG_DIR);
    fs.mkdirSync(options.dir, { recursive: true });
    recoverInterruptedSwap(logDir, options.logger);
    const store = new OffsetStore(Log.open(logDir, logOptions(options)), logDir, options);
    store.replay();
    return store;
  }

  get logSize(): number {
    return this.log.size;
  }

  get logEndOffset(): number {
    return this.log.logEndOffset;
  }

  get(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.groups.get(groupId)?.get(partitionKey(topic, partition))?.value;
  }

  /** Every offset of a group as [topic, partition, value], in commit order of first commit. */
  *offsetsOf(groupId: string): Generator<[string, number, CommittedOffset]> {
    const g = this.groups.get(groupId);
    if (g === undefined) return;
    for (const [key, e] of g) {
      const cut = key.lastIndexOf('\u0000');
      yield [key.slice(0, cut), Number(key.slice(cut + 1)), e.value];
    }
  }

  hasOffsets(groupId: string): boolean {
    return (this.groups.get(groupId)?.size ?? 0) > 0;
  }

  groupIds(): string[] {
    return [...this.groups.keys()];
  }

  /**
   * Appends the changes as one batch and applies them to memory; resolves when the batch is
   * durable per the durability setting. Waits for a running compaction first.
   */
  async write(changes: OffsetChange[]): Promise<void> {
    if (changes.length === 0) return;
    while (this.compaction !== null) await this.compaction;
    if (this.closed) throw new Error(`the offsets log ${this.logDir} is closed`);
    const now = this.options.time();
    const records: RecordInput[] = [];
    const encoded: { change: OffsetChange; size: number }[] = [];
    for (const c of changes) {
      const key = encodeOffsetKey(c);
      const value = c.value === null ? null : encodeOffsetValue(c.value);
      records.push({ key, value, timestamp: now });
      encoded.push({ change: c, size: key.length + (value?.length ?? 0) + RECORD_OVERHEAD });
    }
    const batch = buildBatch(records, { now });
    // Synchronous append, then memory: both happen before anything else can run, and memory
    // changes only when the append succeeded.
    this.log.append(batch);
    for (const { change, size } of encoded) this.apply(change.groupId, change.topic, change.partition, change.value, size);
    if (this.options.durability === 'fsync') await this.log.flush();
    this.maybeCompact();
  }

  /** Waits for a running compaction, flushes and closes the log. */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.compaction !== null) await this.compaction;
    this.closed = true;
    await this.log.close();
  }

  /** Starts a compaction when the log is big enough; returns the running one, if any. */
  maybeCompact(): Promise<void> | null {
    if (this.compaction !== null || this.closed) return this.compaction;
    const size = this.log.size;
    if (size <= this.options.compactionMinBytes || size <= 4 * this.liveBytes) return null;
    return this.startCompaction();
  }

  /** Rewrites the log to its live entries now, whatever its size (waits for a running one first). */
  async compact(): Promise<void> {
    while (this.compaction !== null) await this.compaction;
    if (this.closed) throw new Error(`the offsets log ${this.logDir} is closed`);
    await this.startCompaction();
  }

  private startCompaction(): Promise<void> {
    this.compaction = this.rewrite()
      .catch((err: unknown) => this.options.logger.warn({ dir: this.logDir, err }, 'offsets log compaction failed'))
      .finally(() => {
        this.compaction = null;
      });
    return this.compaction;
  }

  private apply(groupId: string, topic: string, partition: number, value: CommittedOffset | null, size: number): void {
    const key = partitionKey(topic, partition);
    let g = this.groups.get(groupId);
    const old = g?.get(key);
    if (old !== undefined) this.liveBytes -= old.size;
    if (value === null) {
      if (g !== undefined && old !== undefined) {
        g.delete(key);
        if (g.size === 0) this.groups.delete(groupId);
      }
      return;
    }
    if (g === undefined) this.groups.set(groupId, (g = new Map()));
    g.set(key, { value, size });
    this.liveBytes += size;
  }

  private replay(): void {
    const log = this.log;
    let offset = log.logStartOffset;
    let skipped = 0;
    while (offset < log.logEndOffset) {
      const r = log.read(offset, 8 * 1024 * 1024);
      if (r.records.length === 0) break;
      for (const batch of batchesIn(r.records)) {
        for (const rec of readRecords(batch)) {
          const key = rec.key === null ? null : decodeOffsetKey(rec.key);
          const value = rec.value === null ? null : decodeOffsetValue(rec.value);
          if (key === null || (rec.value !== null && value === null)) {
            skipped++;
            continue;
          }
          const size = rec.key!.length + (rec.value?.length ?? 0) + RECORD_OVERHEAD;
          this.apply(key.groupId, key.topic, key.partition, value, size);
        }
      }
      offset = r.nextOffset;
    }
    if (skipped > 0) this.options.logger.warn({ dir: this.logDir, skipped }, 'offsets log replay skipped undecodable records');
  }

  /** Rewrites the live entries into a fresh log and swaps it in (see the file comment). */
  private async rewrite(): Promise<void> {
    const finalDir = this.logDir;
    const tmpDir = finalDir + COMPACTING_SUFFIX;
    const oldDir = finalDir + OLD_SUFFIX;
    const before = this.log.size;
    fs.rmSync(tmpDir, { recursive: true, force: true });
    const out = Log.open(tmpDir, logOptions(this.options));
    try {
      const now = this.options.time();
      let records: RecordInput[] = [];
      for (const [groupId, g] of this.groups) {
        for (const [key, e] of g) {
          const cut = key.lastIndexOf('\u0000');
          const topic = key.slice(0, cut);
          const partition = Number(key.slice(cut + 1));
          records.push({ key: encodeOffsetKey({ groupId, topic, partition }), value: encodeOffsetValue(e.value), timestamp: now });
          if (records.length === COMPACTION_BATCH_RECORDS) {
            out.append(buildBatch(records, { now }));
            records = [];
          }
        }
      }
      if (records.length > 0) out.append(buildBatch(records, { now }));
      await out.close();
    } catch (err) {
      await out.close().catch(() => {});
      fs.rmSync(tmpDir, { recursive: true, force: true });
      throw err;
    }
    await this.log.close();
    try {
      fs.renameSync(finalDir, oldDir);
      fs.renameSync(tmpDir, finalDir);
      fsyncDir(path.dirname(finalDir));
      fs.rmSync(oldDir, { recursive: true, force: true });
    } finally {
      // Whatever happened above, put a log back: the swapped one, or the old one restored.
      recoverInterruptedSwap(finalDir, this.options.logger);
      this.log = Log.open(finalDir, logOptions(this.options));
    }
    this.compactions++;
    this.options.logger.info({ dir: finalDir, before, after: this.log.size }, 'compacted the offsets log');
  }
}

function logOptions(o: OffsetStoreOptions): LogOptions {
  return {
    durability: o.durability,
    time: o.time,
    logger: o.logger,
    background: false,
    segmentMs: Infinity,
    retentionMs: -1,
    // offsets.topic.segment.bytes; compaction keeps the log far below it in practice.
    segmentBytes: 100 * 1024 * 1024,
    // One commit request is one batch, however many partitions it names.
    maxMessageBytes: 64 * 1024 * 1024,
  };
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Puts the offsets log directory back in order after a compaction that a crash interrupted:
 *
 *   log and .compacting     the swap never started: the rewrite may be partial, delete it
 *   log and .old            the swap finished: delete the old copy
 *   no log, .compacting
 *     closed cleanly        between the two renames: finish the swap
 *   no log, .old            the rewrite is missing or unfinished: restore the old log
 */
export function recoverInterruptedSwap(logDir: string, logger: GroupLogger): void {
  const tmpDir = logDir + COMPACTING_SUFFIX;
  const oldDir = logDir + OLD_SUFFIX;
  const has = (p: string): boolean => fs.existsSync(p);
  if (has(logDir)) {
    if (has(tmpDir)) fs.rmSync(tmpDir, { recursive: true, force: true });
    if (has(oldDir)) fs.rmSync(oldDir, { recursive: true, force: true });
    return;
  }
  if (has(tmpDir) && has(path.join(tmpDir, CLEAN_SHUTDOWN_FILE))) {
    fs.renameSync(tmpDir, logDir);
    fsyncDir(path.dirname(logDir));
    fs.rmSync(oldDir, { recursive: true, force: true });
    logger.warn({ dir: logDir }, 'finished an interrupted offsets log compaction');
  } else if (has(oldDir)) {
    fs.renameSync(oldDir, logDir);
    fsyncDir(path.dirname(logDir));
    fs.rmSync(tmpDir, { recursive: true, force: true });
    logger.warn({ dir: logDir }, 'undid an interrupted offsets log compaction');
  }
}
