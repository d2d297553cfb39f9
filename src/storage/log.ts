/**
 * The log of one partition: a directory `<topic>-<partition>/` of segments ordered by base
 * offset, the last of which (the active segment) takes appends. It assigns dense offsets,
 * serves zero-copy reads, rolls, applies retention, flushes with group commit, and on open
 * recovers from an unclean shutdown. Not thread-safe: one owner calls it from one thread
 * (appends are synchronous, so a Log never has two appends in flight).
 */
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { scanBatches } from '../native.js';
import { DEFAULT_MAX_DECOMPRESSED_SIZE } from '../record/compression.js';
import { readInt64, setBaseOffset, setPartitionLeaderEpoch } from '../record/header.js';
import {
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAX_TIMESTAMP_OFFSET,
  MIN_BATCH_LENGTH,
  RECORD_BATCH_OVERHEAD,
  RECORDS_COUNT_OFFSET,
} from '../record/layout.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { runCompactionJob, type CompactionJob, type CompactionJobResult } from './cleaner.js';
import { planCompaction } from './cleaner-plan.js';
import { finishInterruptedCompaction, installCleaned } from './cleaner-swap.js';
import { resolveLogConfig, type LogConfig } from './config.js';
import {
  CorruptSegmentError,
  InvalidBatchError,
  LogClosedError,
  OffsetOutOfRangeError,
  RecordBatchTooLargeError,
  StorageError,
  StorageIOError,
} from './errors.js';
import { describeQuarantine, quarantineDamage, readQuarantine, type DamagePolicy, type QuarantineEntry } from './quarantine.js';
import { INDEX_SUFFIX, LOG_SUFFIX, LogSegment, TIME_INDEX_SUFFIX, type SegmentDamageOptions, type SegmentRecovery, type SegmentSlice } from './segment.js';
import { defaultSegmentHandles, type SegmentHandles } from './segment-handles.js';

const fdatasync = promisify(fs.fdatasync);

/** Written on close, removed on open: its presence means the last close was clean. */
export const CLEAN_SHUTDOWN_FILE = '.clean-shutdown';
/** Offsets within a segment are stored as int32 relative to its base offset. */
const MAX_RELATIVE_OFFSET = 2 ** 31 - 1;

/** Where the storage layer reports what recovery did (pino's signature fits). */
export interface StorageLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  /** Data was damaged (a quarantined range); warn is used when absent. */
  error?(obj: object, msg: string): void;
  /** Per-partition details (what recovery did to each log); optional. */
  debug?(obj: object, msg: string): void;
}

const silentLogger: StorageLogger = { info() {}, warn() {} };

export interface LogOptions extends Partial<LogConfig> {
  /** Clock in ms, for segment.ms and retention.ms (default Date.now). */
  time?: () => number;
  logger?: StorageLogger;
  /** Run flush.ms and retention timers inside the Log (default true). */
  background?: boolean;
  /**
   * Decides what a damaged range (a bad batch with valid data after it) costs: quarantine it
   * and keep the rest (default), or truncate the log at it (a replica that can re-fetch the
   * range from its leader). See quarantine.ts. Not passed to recovery on worker threads.
   */
  damagePolicy?: DamagePolicy;
  /** The bounded list of open segment files this log's files count in (default: one per thread). */
  segmentHandles?: SegmentHandles;
  /**
   * This process has just recovered the directory (Log.open then closeAfterRecovery, as the
   * worker pool does at start) and nothing touched it since: open it as after a clean
   * shutdown, without the marker, keeping the recovery point of its checkpoint.
   */
  recovered?: boolean;
  /**
   * When an unclean open would check more bytes than this, Log.open checks nothing and throws
   * RecoveryOffloadError, so the owner can recover that log on the worker pool instead of
   * its own thread (small logs are cheaper to recover in place than to hand over twice).
   */
  recoverInlineUpTo?: number;
}

/** Thrown by Log.open with `recoverInlineUpTo`: the log needs more checking than that; nothing was changed. */
export class RecoveryOffloadError extends Error {
  constructor(
    readonly dir: string,
    readonly bytes: number,
  ) {
    super(`${dir}: recovery would check ${bytes} bytes; recover it on the worker pool`);
    this.name = 'RecoveryOffloadError';
  }
}

export interface AppendOptions {
  /** Check bounds, magic and CRC of every batch first (default true). */
  validate?: boolean;
  /** Written into each batch's partitionLeaderEpoch (outside the CRC). */
  leaderEpoch?: number;
}

/** What an append did. */
export interface LogAppendInfo {
  firstOffset: number;
  lastOffset: number;
  /** Largest batch timestamp appended (-1 when none). */
  maxTimestamp: number;
  batches: number;
  records: number;
  bytes: number;
}

/** Whole batches from one segment, as a view of its mapping. */
export interface LogReadResult {
  /** Zero or more whole batches; a view, not a copy. */
  records: Buffer;
  /** Base offset of the first batch (may be below the offset asked for), or -1 when empty. */
  firstOffset: number;
  /** The offset to read from next. */
  nextOffset: number;
  logStartOffset: number;
  logEndOffset: number;
}

/** What open() found and did. */
export interface LogRecoveryReport {
  cleanShutdown: boolean;
  segments: number;
  recovered: SegmentRecovery[];
  /** Bytes cut from segment tails. */
  truncatedBytes: number;
  /** Base offsets of segments removed because they followed a cut. */
  deletedSegments: number[];
  /** Base offsets of segments whose indexes were rebuilt, with the reason. */
  rebuiltIndexes: { baseOffset: number; reason: string }[];
  /** Base offsets of compaction swaps an earlier run left half done and open finished. */
  completedSwaps: number[];
  /** Damaged ranges this open quarantined (the data after them kept, with an offset gap). */
  quarantined: QuarantineEntry[];
  durationMs: number;
}

/** Options of one compaction run (Log.compact); the broker passes the topic's configs. */
export interface CompactOptions {
  /** Clock for the time rules (default the Log's clock). */
  now?: number;
  /** delete.retention.ms: tombstones in batches whose maxTimestamp is older than this go. */
  deleteRetentionMs: number;
  /** min.compaction.lag.ms: a sealed segment whose maxTimestamp is younger is not cleaned (nor any after it). */
  minCompactionLagMs: number;
  /**
   * Records at or after this offset neither supersede older ones nor get cleaned. Pass the
   * high watermark, so a follower's truncation can never take away the record that made an
   * older one go. Default: the log end offset when the run starts.
   */
  maxOffset?: number;
  /** Where the heavy part runs (a WorkerPool); inline on this thread when absent. */
  pool?: CompactionRunner;
  /**
   * The partition's transactions (src/txn/partition-txns.ts): the run stops at the last
   * stable offset (no undecided transaction is cleaned), removes the records of aborted
   * transactions and compacts committed ones. Absent: transactional records are kept unless
   * a later non-transactional record of their key supersedes them.
   */
  transactions?: { lastStableOffset: number; aborted: readonly { producerId: number; firstOffset: number; lastOffset: number }[] };
}

/** Runs a compaction job somewhere else (WorkerPool.compactSegments). */
export interface CompactionRunner {
  compactSegments(job: CompactionJob): Promise<CompactionJobResult>;
}

/** What a compaction run did. Segments, bytes and records count the groups swapped in or found clean. */
export interface CompactionResult {
  /** Sealed segments the cleaner went through (rewritten or found with nothing to remove). */
  segmentsCleaned: number;
  /** Of those, segments replaced by a cleaned file. */
  segmentsRewritten: number;
  /** Segments fewer after merging small ones. */
  segmentsMerged: number;
  bytesBefore: number;
  bytesAfter: number;
  /** Records removed, tombstones included. */
  recordsRemoved: number;
  tombstonesRemoved: number;
  /** Distinct keys in the offset map (its memory is about 100 bytes a key). */
  distinctKeys: number;
  /** The log is compacted below this offset now (Log.cleanedOffset). */
  cleanedOffset: number;
  durationMs: number;
}

export interface RetentionResult {
  deletedSegments: number;
  deletedBytes: number;
}

export class Log {
  private _config: LogConfig;
  readonly recovery: LogRecoveryReport;
  private readonly segments: LogSegment[] = [];
  private readonly time: () => number;
  private readonly logger: StorageLogger;
  private readonly handles: SegmentHandles;
  private readonly justRecovered: boolean;
  private readonly recoverInlineUpTo: number;
  private readonly timers: NodeJS.Timeout[] = [];
  private _logStartOffset = 0;
  private _recoveryPoint = 0;
  private checkpointedSegment = -1;
  /** What partition.checkpoint holds (as written or read), so an unchanged one is not rewritten. */
  private checkpointed = '';
  private unflushedRecords = 0;
  private flushes = 0;
  private _lastFlushTime: number;
  private flushing: Promise<void> | null = null;
  private flushAgain: Promise<void> | null = null;
  private closed = false;
  /** Corrupt batches already logged (file:position). */
  private readonly reportedCorrupt = new Set<string>();
  /** The final flush of close() failed: the recovery point stays where it was. */
  private flushFailed = false;
  /** Every sealed segment below this has been compacted; -1 when the log never was. */
  private _cleanedOffset = -1;
  /** The compaction run under way (or queued); runs never overlap. */
  private compaction: Promise<void> | null = null;
  /** close() has begun: no new compaction starts. */
  private closing = false;
  /** Lowest offset truncateTo cut to while a compaction job ran; null when none runs. */
  private truncatedDuringCompaction: number | null = null;
  private damagePolicy: DamagePolicy;
  /** Every range ever quarantined in this directory (quarantine/quarantine.jsonl). */
  private _quarantined: QuarantineEntry[] = [];
  /** Segments a read found damaged and that repair was tried on (once each). */
  private readonly repairTried = new WeakSet<LogSegment>();

  private constructor(
    readonly dir: string,
    options: LogOptions,
  ) {
    const { time, logger, background, damagePolicy, segmentHandles, recovered, recoverInlineUpTo, ...config } = options;
    this.recoverInlineUpTo = recoverInlineUpTo ?? Infinity;
    this.justRecovered = recovered ?? false;
    this.handles = segmentHandles ?? defaultSegmentHandles;
    this._config = resolveLogConfig(config);
    this.damagePolicy = damagePolicy ?? quarantineDamage;
    this.time = time ?? Date.now;
    this._lastFlushTime = this.time();
    this.logger = logger ?? silentLogger;
    const started = performance.now();
    fs.mkdirSync(dir, { recursive: true });
    this.recovery = this.load();
    this.recovery.durationMs = performance.now() - started;
    if (background ?? true) this.startTimers();
  }

  /** Opens (or creates) the partition log in `dir`, recovering it when it was not closed cleanly. */
  static open(dir: string, options: LogOptions = {}): Log {
    return new Log(path.resolve(dir), options);
  }

  /** The settings in force (see reconfigure). */
  get config(): LogConfig {
    return this._config;
  }

  /**
   * Applies new settings from now on (retention, roll, flush, size limits, durability). A
   * smaller segment.bytes takes effect at the next roll.
   */
  reconfigure(overrides: Partial<LogConfig>): void {
    this._config = resolveLogConfig({ ...this._config, ...overrides });
  }

  /** Wall-clock time (ms) the last flush finished; when the log was opened before any flush. */
  get lastFlushTime(): number {
    return this._lastFlushTime;
  }

  /** First offset still in the log. */
  get logStartOffset(): number {
    return this._logStartOffset;
  }

  /** The offset the next append gets. */
  get logEndOffset(): number {
    return this.active.nextOffset;
  }

  /** Every offset below this is on disk (fsynced). */
  get recoveryPoint(): number {
    return this._recoveryPoint;
  }

  /**
   * The ranges quarantined in this partition, oldest first: offsets missing from the log
   * (served as a gap) and where their damaged bytes are kept.
   */
  /** Changes what damage found from now on costs (a replica that can re-fetch truncates instead of quarantining). */
  setDamagePolicy(policy: DamagePolicy): void {
    this.damagePolicy = policy;
  }

  get quarantined(): readonly QuarantineEntry[] {
    return this._quarantined;
  }

  /** Bytes of data in all segments. */
  get size(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Base offsets of the segments, oldest first. */
  get segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  /** fsync rounds run so far (each syncs every dirty segment once). */
  get flushCount(): number {
    return this.flushes;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private get active(): LogSegment {
    return this.segments[this.segments.length - 1]!;
  }

  /**
   * Appends one or more whole batches (a RecordBatch v2 chain). Assigns offsets by patching
   * each batch's baseOffset in `data` in place (outside the CRC), so the CRC stays valid.
   * Synchronous: the bytes are in the page cache on return. In 'fsync' durability, await
   * `flush()` (or use appendDurable) before acknowledging.
   */
  append(data: Buffer, options: AppendOptions = {}): LogAppendInfo {
    this.ensureOpen();
    const length = data.length;
    if (options.validate ?? true) this.validate(data);
    // Pass 1: sizes, offsets and leader epoch.
    let pos = 0;
    let next = this.logEndOffset;
    const firstOffset = next;
    let batches = 0;
    let records = 0;
    let maxTimestamp = -1;
    while (pos < length) {
      const size = batchSize(data, pos, length);
      if (size < 0) throw new InvalidBatchError(this.dir, `batch at byte ${pos} runs past the ${length} bytes given`);
      if (size > this.config.maxMessageBytes) {
        throw new RecordBatchTooLargeError(this.dir, size, this.config.maxMessageBytes);
      }
      const lastDelta = data.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
      if (lastDelta < 0) throw new InvalidBatchError(this.dir, `batch at byte ${pos} has lastOffsetDelta ${lastDelta}`);
      setBaseOffset(data, pos, next);
      if (options.leaderEpoch !== undefined) setPartitionLeaderEpoch(data, pos, options.leaderEpoch);
      const ts = readInt64(data, pos + MAX_TIMESTAMP_OFFSET);
      if (ts > maxTimestamp) maxTimestamp = ts;
      records += data.readInt32BE(pos + RECORDS_COUNT_OFFSET);
      next += lastDelta + 1;
      batches++;
      pos += size;
    }
    // Pass 2: write, then account each batch (indexes, timestamps) at its position. A disk
    // error (ENOSPC, EIO) in the roll or the write leaves the log as it was before the call:
    // the roll is retried by the next append, and a write cut short is cut back natively.
    let segment: LogSegment;
    let position: number;
    try {
      segment = this.segmentFor(length, next - 1, maxTimestamp);
    } catch (err) {
      throw asStorageError(err, this.dir, `roll to a new segment at offset ${firstOffset}`);
    }
    try {
      position = segment.append(data);
    } catch (err) {
      throw new StorageIOError(this.dir, `append of ${length} bytes to ${path.basename(segment.logPath)}`, err);
    }
    pos = 0;
    while (pos < length) {
      const size = data.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD;
      const last = readInt64(data, pos) + data.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
      segment.onBatch(position + pos, last, readInt64(data, pos + MAX_TIMESTAMP_OFFSET), size);
      pos += size;
    }
    this.unflushedRecords += next - firstOffset;
    if (this.unflushedRecords >= this.config.flushMessages) this.backgroundFlush();
    return { firstOffset, lastOffset: next - 1, maxTimestamp, batches, records, bytes: length };
  }

  /** Throws InvalidBatchError unless `data` is a whole chain of valid batches (bounds, magic, CRC). */
  validate(data: Buffer): void {
    const valid = scanBatches(data, 0, data.length);
    if (valid !== data.length || data.length === 0) throw new InvalidBatchError(this.dir, describeInvalid(data, valid));
  }

  /**
   * append() then, in 'fsync' durability, wait for the group commit that covers it; in
   * 'pagecache' durability it resolves at once.
   */
  async appendDurable(data: Buffer, options?: AppendOptions): Promise<LogAppendInfo> {
    const info = this.append(data, options);
    if (this.config.durability === 'fsync') await this.flush();
    return info;
  }

  /**
   * Whole batches starting with the one that holds `offset`: at least one batch (even past
   * maxBytes), then more while they fit in maxBytes and start below maxOffset (default:
   * the log end offset). Zero-copy: the result views the segment's mapping and stays valid
   * even if the segment is later deleted.
   */
  read(offset: number, maxBytes: number, maxOffset = this.logEndOffset): LogReadResult {
    this.ensureOpen();
    const logEndOffset = this.logEndOffset;
    if (!Number.isInteger(offset) || offset < this._logStartOffset || offset > logEndOffset) {
      throw new OffsetOutOfRangeError(this.dir, offset, this._logStartOffset, logEndOffset);
    }
    const limit = Math.min(maxOffset, logEndOffset);
    for (let i = this.floorSegment(offset); i < this.segments.length && offset < limit; i++) {
      const segment = this.segments[i]!;
      let s: SegmentSlice;
      try {
        const position = segment.findBatch(offset);
        if (position < 0) continue;
        s = segment.sliceFrom(position, maxBytes, limit);
        if (s.end === s.position) break;
        // Bytes not checked since open are checked now; a bad batch is never served.
        const checked = segment.checkServed(s.position, s.end, offset);
        if (checked.end !== s.end) s = { position: s.position, end: checked.end, nextOffset: checked.nextOffset };
      } catch (err) {
        if (err instanceof CorruptSegmentError) {
          // Found damage: quarantine it once, then the read serves a gap instead.
          if (this.repairDamaged(i)) return this.read(offset, maxBytes, maxOffset);
          this.reportCorrupt(err);
        }
        throw err;
      }
      const records = segment.slice(s.position, s.end);
      return {
        records,
        firstOffset: readInt64(records, 0),
        nextOffset: s.nextOffset,
        logStartOffset: this._logStartOffset,
        logEndOffset,
      };
    }
    return {
      records: Buffer.alloc(0),
      firstOffset: -1,
      nextOffset: offset,
      logStartOffset: this._logStartOffset,
      logEndOffset,
    };
  }

  /**
   * Calls `visit(chunk, position)` for each batch from the one holding `from` to the log end:
   * `chunk` is a view read from the segments (valid during the walk) and `position` where the
   * batch starts in it. The one walk over batch headers that state rebuilt from a log needs
   * (producer state, leader epochs, transactions). Read errors are thrown to the caller.
   */
  forEachBatch(from: number, visit: (chunk: Buffer, position: number) => void, chunkBytes = 1 << 20): void {
    let offset = from;
    while (offset < this.logEndOffset) {
      const r = this.read(offset, chunkBytes);
      const view = r.records;
      if (view.length === 0) break;
      for (let pos = 0; pos + RECORD_BATCH_OVERHEAD <= view.length; pos += view.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD) visit(view, pos);
      offset = r.nextOffset;
    }
  }

  /**
   * The first record whose timestamp is at or after `timestamp` (Kafka's ListOffsets by
   * time): its offset and timestamp, or null when every record is older.
   */
  offsetForTimestamp(timestamp: number): { offset: number; timestamp: number } | null {
    this.ensureOpen();
    for (let i = 0; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      if (segment.nextOffset <= this._logStartOffset) continue;
      try {
        const found = segment.findOffsetByTimestamp(timestamp, this._logStartOffset);
        if (found !== null) return found;
      } catch (err) {
        if (err instanceof CorruptSegmentError) {
          if (this.repairDamaged(i)) return this.offsetForTimestamp(timestamp);
          this.reportCorrupt(err);
        }
        throw err;
      }
    }
    return null;
  }

  /**
   * A read found a batch of segment `i` that fails its check: runs recovery on that segment
   * (once per segment and run), which quarantines the damage (quarantine.ts) when the policy
   * says so. The active segment is rolled first, so the rewrite never races an append.
   * Returns true when the segment was repaired and the read can be retried.
   */
  private repairDamaged(i: number): boolean {
    const segment = this.segments[i]!;
    // An fdatasync under way holds the file: the next read tries again.
    if (this.closed || this.repairTried.has(segment) || segment.syncsInFlight > 0) return false;
    this.repairTried.add(segment);
    try {
      if (i === this.segments.length - 1) {
        segment.seal();
        this.segments.push(this.newSegment(this.logEndOffset, 0, this.time()));
      }
      const knownEnd = this.segments[i + 1]!.baseOffset;
      const r = segment.recover({ knownEnd, knownEndBy: 'next-segment', policy: this.damagePolicy, foundBy: 'read' });
      segment.seal();
      this.onQuarantined(r.quarantined);
      if (segment.nextOffset !== knownEnd) {
        // The policy cut the log at the damage: what followed it goes (a replica re-fetches it).
        this.logger.warn({ dir: this.dir, segment: segment.baseOffset, ...r }, `a damaged batch cut the log at offset ${segment.nextOffset}`);
        for (const later of this.segments.splice(i + 1)) later.delete();
        this.segments.push(this.newSegment(segment.nextOffset, 0, this.time()));
        if (this._recoveryPoint > segment.nextOffset) this._recoveryPoint = segment.nextOffset;
        if (this._cleanedOffset > segment.nextOffset) this._cleanedOffset = segment.nextOffset;
        this.trySaveCheckpoint('truncation at damage');
      }
      return r.quarantined.length > 0 || segment.nextOffset !== knownEnd;
    } catch (err) {
      this.logger.warn({ dir: this.dir, segment: segment.baseOffset, err }, 'could not repair a damaged segment; its damaged batch stays unserved');
      return false;
    }
  }

  /** One error line per quarantined range, and the range joins the partition's list. */
  private onQuarantined(entries: readonly QuarantineEntry[]): void {
    if (entries.length === 0) return;
    this._quarantined = readQuarantine(this.dir);
    for (const e of entries) {
      const obj = {
        dir: this.dir,
        segment: path.join(this.dir, e.segment),
        position: e.position,
        end: e.end,
        firstOffset: e.firstOffset,
        lastOffset: e.nextOffset - 1,
        quarantineFile: e.file === null ? null : path.join(this.dir, e.file),
        reason: e.reason,
        foundBy: e.foundBy,
      };
      const msg = `quarantined a damaged range of ${path.join(this.dir, e.segment)}: offsets ${describeQuarantine(e)}; the valid data after it is kept and served with an offset gap`;
      if (this.logger.error !== undefined) this.logger.error(obj, msg);
      else this.logger.warn(obj, msg);
    }
  }

  /** Logs a corrupt batch found on the read path, once per batch. */
  private reportCorrupt(err: CorruptSegmentError): void {
    const key = `${err.file}:${err.position}`;
    if (this.reportedCorrupt.has(key)) return;
    this.reportedCorrupt.add(key);
    this.logger.warn(
      { dir: this.dir, file: err.file, position: err.position, offset: err.offset, err },
      'corrupt batch found in stored data: not served (the rest of the log still is)',
    );
  }

  /**
   * Marks everything appended so far as durable, for a caller that has just made the whole
   * filesystem durable itself (syncfs) so that close() need not fdatasync each segment.
   */
  assumeFlushed(): void {
    if (this.closed || this.flushing !== null) return;
    this._recoveryPoint = this.logEndOffset;
    this.unflushedRecords = 0;
  }

  /**
   * Closes the files of segments not used for `idleForMs` (after flushing what they hold),
   * so thousands of quiet partitions hold no descriptors or mappings. They reopen on use.
   * Returns how many files were closed.
   */
  async releaseIdleFiles(idleForMs: number): Promise<number> {
    if (this.closed) return 0;
    const since = Date.now() - idleForMs;
    const idle = this.segments.filter((s) => s.isIdleSince(since));
    if (idle.length === 0) return 0;
    if (idle.some((s) => s.nextOffset > this._recoveryPoint)) await this.flush();
    let released = 0;
    for (const s of idle) {
      if (this.closed || s.nextOffset > this._recoveryPoint || !s.isIdleSince(since)) continue;
      s.releaseFile();
      released++;
    }
    return released;
  }

  /** The largest record timestamp and the offset of its batch (ListOffsets' MAX_TIMESTAMP), -1/-1 when empty. */
  maxTimestampAndOffset(): { timestamp: number; offset: number } {
    let best = { timestamp: -1, offset: -1 };
    for (const s of this.segments) {
      if (s.maxTimestamp > best.timestamp && s.offsetOfMaxTimestamp >= this._logStartOffset) {
        best = { timestamp: s.maxTimestamp, offset: s.offsetOfMaxTimestamp };
      }
    }
    return best;
  }

  /**
   * Moves the log start offset up to `offset` (Kafka's DeleteRecords), deleting segments
   * that lie wholly below it. Returns the new log start offset.
   */
  deleteRecordsBefore(offset: number): number {
    this.ensureOpen();
    if (!Number.isInteger(offset) || offset < 0 || offset > this.logEndOffset) {
      throw new OffsetOutOfRangeError(this.dir, offset, this._logStartOffset, this.logEndOffset);
    }
    if (offset > this._logStartOffset) {
      this._logStartOffset = offset;
      this.deleteSegmentsWhile((s, next) => next !== undefined && next.baseOffset <= this._logStartOffset);
      // The new log start offset is only durable in the checkpoint: a client must hear when
      // it is not (it holds in memory, and a retry writes it again).
      this.saveCheckpoint();
    }
    return this._logStartOffset;
  }

  /**
   * Deletes whole segments, oldest first and never the active one, whose newest record is
   * older than retention.ms, while the log is larger than retention.bytes, or that lie
   * below the log start offset.
   */
  applyRetention(now = this.time()): RetentionResult {
    this.ensureOpen();
    const { retentionMs, retentionBytes } = this.config;
    let excess = retentionBytes >= 0 ? this.size - retentionBytes : -1;
    const result = this.deleteSegmentsWhile((s, next) => {
      if (next !== undefined && next.baseOffset <= this._logStartOffset) return true;
      if (retentionMs >= 0 && s.maxTimestamp < now - retentionMs) return true;
      if (excess >= s.size) {
        excess -= s.size;
        return true;
      }
      return false;
    });
    if (result.deletedSegments > 0) {
      this.logger.info({ dir: this.dir, ...result, logStartOffset: this._logStartOffset }, 'retention deleted segments');
    }
    return result;
  }

  /**
   * Removes every record at or after `offset` (which must start a batch), as a follower does
   * to match its leader. Deletes whole segments past it.
   */
  truncateTo(offset: number): void {
    this.ensureOpen();
    if (offset >= this.logEndOffset) return;
    if (offset < this._logStartOffset) {
      throw new OffsetOutOfRangeError(this.dir, offset, this._logStartOffset, this.logEndOffset);
    }
    while (this.segments.length > 1 && this.active.baseOffset >= offset) {
      this.segments.pop()!.delete();
    }
    this.active.truncateTo(offset);
    if (this._recoveryPoint > offset) this._recoveryPoint = offset;
    if (this._cleanedOffset > offset) this._cleanedOffset = offset;
    if (this.truncatedDuringCompaction !== null) this.truncatedDuringCompaction = Math.min(this.truncatedDuringCompaction, offset);
    this.trySaveCheckpoint('truncation');
  }

  /**
   * Empties the log and starts it again at `offset` (Kafka's truncateFullyAndStartAt): what a
   * follower does when its whole log lies below its leader's log start offset, or diverges
   * from the leader's before anything they share. Every segment is deleted, readers' views
   * stay valid (mappings outlive their files), and the next append gets `offset`.
   */
  truncateFullyAndStartAt(offset: number): void {
    this.ensureOpen();
    if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`cannot start ${this.dir} at offset ${offset}`);
    for (const s of this.segments.splice(0)) s.delete();
    this.segments.push(this.newSegment(offset, 0, this.time()));
    this._logStartOffset = offset;
    this._recoveryPoint = offset;
    this._cleanedOffset = offset;
    if (this.truncatedDuringCompaction !== null) this.truncatedDuringCompaction = -1;
    this.trySaveCheckpoint('truncation');
  }

  /**
   * Every sealed segment below this offset has been compacted (Kafka's cleaner checkpoint,
   * kept in partition.checkpoint); the log start offset when the log never was.
   */
  get cleanedOffset(): number {
    return Math.max(this._cleanedOffset, this._logStartOffset);
  }

  /**
   * Share of the sealed segments' bytes not compacted yet (written since the last run, or
   * never cleaned), 0..1: what min.cleanable.dirty.ratio is compared with. 0 when there is
   * no sealed segment.
   */
  get dirtyRatio(): number {
    let total = 0;
    let dirty = 0;
    for (let i = 0; i < this.segments.length - 1; i++) {
      const s = this.segments[i]!;
      total += s.size;
      if (s.nextOffset > this._cleanedOffset) dirty += s.size;
    }
    return total === 0 ? 0 : dirty / total;
  }

  /**
   * Compacts the log (Kafka's cleanup.policy=compact): for each key only the record with the
   * highest offset stays, tombstones go once their batch is older than delete.retention.ms,
   * records without a key stay, and offsets never change (batches keep their offset ranges,
   * so the log stays dense batch by batch; a batch that loses every record stays as an
   * empty batch). Only sealed segments are rewritten, and small ones are merged. The map and
   * the cleaned files are built inline or on `options.pool` (cleaner.ts); the swap is done
   * here, synchronously (cleaner-swap.ts), so appends, reads and retention go on meanwhile
   * and views taken before stay valid. Runs never overlap: a call made during one waits for it.
   */
  compact(options: CompactOptions): Promise<CompactionResult> {
    if (this.closed || this.closing) return Promise.reject(new LogClosedError(this.dir));
    const previous = this.compaction;
    const run = (async () => {
      if (previous !== null) await previous;
      return this.runCompaction(options);
    })();
    const settled = run.then(
      () => {},
      () => {},
    );
    this.compaction = settled;
    void settled.then(() => {
      if (this.compaction === settled) this.compaction = null;
    });
    return run;
  }

  private async runCompaction(options: CompactOptions): Promise<CompactionResult> {
    this.ensureOpen();
    const started = performance.now();
    const now = options.now ?? this.time();
    const mapEndOffset = Math.min(options.maxOffset ?? Infinity, options.transactions?.lastStableOffset ?? Infinity, this.logEndOffset);
    const plan = planCompaction(this.dir, this.segments, this.config, this._cleanedOffset, {
      now,
      deleteRetentionMs: options.deleteRetentionMs,
      minCompactionLagMs: options.minCompactionLagMs,
      mapEndOffset,
      maxDecompressedSize: Math.max(DEFAULT_MAX_DECOMPRESSED_SIZE, this.config.maxMessageBytes),
    });
    const result: CompactionResult = {
      segmentsCleaned: 0,
      segmentsRewritten: 0,
      segmentsMerged: 0,
      bytesBefore: 0,
      bytesAfter: 0,
      recordsRemoved: 0,
      tombstonesRemoved: 0,
      distinctKeys: 0,
      cleanedOffset: this.cleanedOffset,
      durationMs: 0,
    };
    if (plan.groups.length === 0) {
      result.durationMs = performance.now() - started;
      return result;
    }
    this.truncatedDuringCompaction = Infinity;
    let job: CompactionJobResult;
    let truncatedTo: number;
    try {
      if (options.transactions !== undefined) {
        plan.job.abortedTxns = options.transactions.aborted.map(({ producerId, firstOffset, lastOffset }) => ({ producerId, firstOffset, lastOffset }));
      }
      job = options.pool !== undefined ? await options.pool.compactSegments(plan.job) : runCompactionJob(plan.job);
    } finally {
      truncatedTo = this.truncatedDuringCompaction;
      this.truncatedDuringCompaction = null;
    }
    result.distinctKeys = job.distinctKeys;
    if (this.closed || truncatedTo < mapEndOffset) {
      // Records that went into the map may be gone: nothing cleaned with it can be trusted.
      for (const g of job.groups) if (g.cleanedPath !== null) fs.rmSync(g.cleanedPath, { force: true });
      this.logger.warn({ dir: this.dir, truncatedTo, mapEndOffset }, 'compaction discarded: the log was truncated (or closed) while it ran');
      result.durationMs = performance.now() - started;
      return result;
    }
    for (let i = 0; i < job.groups.length; i++) {
      const cleaned = job.groups[i]!;
      const group = plan.groups[i]!;
      const at = this.groupIndex(group, plan.job.groups[i]!);
      if (cleaned.missing || at < 0) {
        // Deleted by retention (or DeleteRecords) meanwhile: never bring it back.
        if (cleaned.cleanedPath !== null) fs.rmSync(cleaned.cleanedPath, { force: true });
        continue;
      }
      if (cleaned.cleanedPath !== null) {
        let segment: LogSegment;
        try {
          segment = installCleaned(this.dir, group, cleaned.cleanedPath, this.config, this.time());
        } catch (err) {
          throw new StorageIOError(this.dir, `swap of the cleaned segment for offsets [${cleaned.baseOffset}, ${cleaned.nextOffset})`, err);
        }
        this.segments.splice(at, group.length, segment);
        result.segmentsRewritten += group.length;
        result.segmentsMerged += group.length - 1;
      }
      result.segmentsCleaned += group.length;
      result.bytesBefore += cleaned.bytesBefore;
      result.bytesAfter += cleaned.bytesAfter;
      result.recordsRemoved += cleaned.recordsRemoved;
      result.tombstonesRemoved += cleaned.tombstonesRemoved;
    }
    if (plan.cleanableEnd > this._cleanedOffset) this._cleanedOffset = Math.min(plan.cleanableEnd, this.logEndOffset);
    this.trySaveCheckpoint('compaction');
    result.cleanedOffset = this.cleanedOffset;
    result.durationMs = performance.now() - started;
    if (result.recordsRemoved > 0 || result.segmentsMerged > 0) {
      this.logger.info({ dir: this.dir, ...result }, 'log compacted');
    }
    return result;
  }

  /**
   * Where `group` starts in the segment list, or -1 unless all of it is still there, in
   * order, sealed, and holding what the job read (`sources`).
   */
  private groupIndex(group: readonly LogSegment[], sources: readonly { size: number; nextOffset: number }[]): number {
    const at = this.segments.indexOf(group[0]!);
    if (at < 0 || at + group.length >= this.segments.length) return -1;
    for (let j = 0; j < group.length; j++) {
      const s = this.segments[at + j]!;
      if (s !== group[j] || s.size !== sources[j]!.size || s.nextOffset !== sources[j]!.nextOffset) return -1;
    }
    return at;
  }

  /**
   * fsyncs everything appended so far. Concurrent callers share one fdatasync per file
   * (group commit): a call made while one is running waits for the next, which covers it.
   */
  flush(): Promise<void> {
    if (this.flushing !== null) {
      this.flushAgain ??= this.flushing.then(
        () => this.startFlush(),
        () => this.startFlush(),
      );
      return this.flushAgain;
    }
    return this.startFlush();
  }

  /** Flushes, writes indexes and checkpoint, and leaves the clean-shutdown marker. Waits for a compaction under way. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    while (this.compaction !== null) await this.compaction;
    if (this.closed) return;
    for (const t of this.timers) clearInterval(t);
    this.flushFailed = false;
    await this.flush().catch((err: unknown) => {
      this.flushFailed = true;
      this.logger.warn({ dir: this.dir, err }, 'close: the final flush failed');
    });
    while (this.flushing !== null) await this.flushing.catch(() => {});
    this.closed = true;
    // Best effort on a failing disk: every file gets closed whatever fails, and the
    // clean-shutdown marker is written only when indexes and checkpoint are all on disk,
    // so the next open checks (and repairs) whatever could not be written.
    const failures: string[] = [];
    const attempt = (what: string, fn: () => void) => {
      try {
        fn();
      } catch (err) {
        failures.push(what);
        this.logger.warn({ dir: this.dir, err }, `close: ${what} failed; the next open will recover this log`);
      }
    };
    attempt('sealing the active segment', () => this.active.seal());
    for (const s of this.segments) {
      attempt(`persisting the indexes of ${path.basename(s.logPath)}`, () => s.persistIndexes());
      attempt(`closing ${path.basename(s.logPath)}`, () => s.close());
    }
    if (this.flushFailed) failures.push('flush');
    else this._recoveryPoint = this.logEndOffset;
    attempt('writing the checkpoint', () => this.saveCheckpoint());
    if (failures.length === 0) attempt('writing the clean-shutdown marker', () => fs.writeFileSync(path.join(this.dir, CLEAN_SHUTDOWN_FILE), ''));
  }

  /**
   * Ends a recovery run (the worker pool's at start): writes the indexes and closes the files
   * like close(), but without its fdatasync and its clean-shutdown marker. The owner opens
   * the log next with `recovered: true`; a crash before that recovers it again. Best effort:
   * an index that cannot be written fails its check at that open and is rebuilt there.
   */
  closeAfterRecovery(): void {
    if (this.closed) return;
    for (const t of this.timers) clearInterval(t);
    this.closed = true;
    const attempt = (what: string, fn: () => void) => {
      try {
        fn();
      } catch (err) {
        this.logger.warn({ dir: this.dir, err }, `after recovery: ${what} failed; the owner's open checks the indexes again`);
      }
    };
    // No seal: its final time index entry would rewrite a file per partition, and the
    // owner's open finds the largest timestamp from the tail anyway.
    for (const s of this.segments) {
      attempt(`persisting the indexes of ${path.basename(s.logPath)}`, () => s.persistIndexes());
      attempt(`closing ${path.basename(s.logPath)}`, () => s.close());
    }
  }

  private startFlush(): Promise<void> {
    this.flushAgain = null;
    const p = this.syncAll().finally(() => {
      if (this.flushing === p) this.flushing = null;
    });
    this.flushing = p;
    return p;
  }

  private async syncAll(): Promise<void> {
    const target = this.logEndOffset;
    if (target <= this._recoveryPoint) return;
    // A dirty segment whose file the open-file list closed is reopened for its fdatasync.
    const dirty = this.segments.filter((s) => s.nextOffset > this._recoveryPoint);
    const recordsCovered = this.unflushedRecords;
    this.flushes++;
    await Promise.all(
      dirty.map(async (s) => {
        s.syncsInFlight++;
        try {
          await fdatasync(s.openFd());
        } catch (err) {
          throw new StorageIOError(this.dir, `fdatasync of ${path.basename(s.logPath)}`, err);
        } finally {
          s.syncDone();
        }
      }),
    );
    if (target > this._recoveryPoint) this._recoveryPoint = target;
    this._lastFlushTime = this.time();
    this.unflushedRecords = Math.max(0, this.unflushedRecords - recordsCovered);
    // Recovery starts from the segment holding the recovery point: persist it when that moves.
    // The data is durable whether or not the checkpoint can be written (a stale one only
    // makes the next unclean open check more): a full disk must not fail the flush.
    if (!this.closed && this.floorSegment(this._recoveryPoint) !== this.checkpointedSegment) this.trySaveCheckpoint('flush');
  }

  private backgroundFlush(): void {
    this.flush().catch((err: unknown) => this.logger.warn({ dir: this.dir, err }, 'background flush failed'));
  }

  /**
   * The segment to append `bytes` (ending at `lastOffset`, newest timestamp `maxTimestamp`)
   * to, rolling when the active one is full or old enough.
   */
  private segmentFor(bytes: number, lastOffset: number, maxTimestamp: number): LogSegment {
    const active = this.active;
    const now = this.time();
    const { segmentBytes, segmentMs } = this.config;
    if (active.size === 0) {
      // An empty active segment is never rolled, but may be too small for one huge batch.
      if (!active.canHold(bytes, Math.max(segmentBytes, bytes))) {
        // Same base offset, so the same file names: the old one goes first. If the new one
        // cannot be made, an empty one of the usual size takes its place, so the log always
        // has an active segment.
        this.segments.pop()!.delete();
        try {
          this.segments.push(this.newSegment(active.baseOffset, bytes, now));
        } catch (err) {
          this.segments.push(this.newSegment(active.baseOffset, 0, now));
          throw err;
        }
      }
      return this.active;
    }
    const full =
      !active.canHold(bytes, segmentBytes) ||
      active.timeWaitedForRoll(now, maxTimestamp) >= segmentMs ||
      active.offsetIndex.isFull ||
      active.timeIndex.isFull ||
      lastOffset - active.baseOffset > MAX_RELATIVE_OFFSET;
    if (!full) return active;
    active.seal();
    const segment = this.newSegment(this.logEndOffset, bytes, now);
    this.segments.push(segment);
    // As Kafka does, flush what was rolled, so recovery has only the active segment to check.
    this.backgroundFlush();
    return segment;
  }

  private newSegment(baseOffset: number, firstBytes: number, now: number): LogSegment {
    const capacity = Math.max(this.config.segmentBytes, firstBytes);
    return LogSegment.create(this.dir, baseOffset, capacity, this.config, now, this.handles);
  }

  /** Deletes segments from the oldest while `test` holds, never the active one. */
  private deleteSegmentsWhile(test: (s: LogSegment, next: LogSegment | undefined) => boolean): RetentionResult {
    let deletedSegments = 0;
    let deletedBytes = 0;
    while (this.segments.length > 1) {
      const s = this.segments[0]!;
      if (!test(s, this.segments[1])) break;
      this.segments.shift();
      deletedBytes += s.size;
      deletedSegments++;
      s.delete();
    }
    if (deletedSegments > 0) {
      if (this.segments[0]!.baseOffset > this._logStartOffset) this._logStartOffset = this.segments[0]!.baseOffset;
      // The segments are gone whatever the checkpoint says: the next open starts at the first.
      this.trySaveCheckpoint('retention');
    }
    return { deletedSegments, deletedBytes };
  }

  /** Index of the last segment whose base offset is <= offset (0 when none). */
  private floorSegment(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** Writes partition.checkpoint; StorageIOError when it cannot (the old file stays whole). */
  private saveCheckpoint(): void {
    const c = {
      logStartOffset: this._logStartOffset,
      recoveryPoint: this._recoveryPoint,
      cleanedOffset: this._cleanedOffset >= 0 ? this._cleanedOffset : undefined,
    };
    // Ten thousand partitions closing unchanged would be ten thousand renames (slow on ext4).
    const key = `${c.logStartOffset} ${c.recoveryPoint} ${c.cleanedOffset ?? -1}`;
    if (key !== this.checkpointed) {
      try {
        this.checkpointed = '';
        writeCheckpoint(this.dir, c);
      } catch (err) {
        this.checkpointedSegment = -1;
        throw new StorageIOError(this.dir, 'writing partition.checkpoint', err);
      }
      this.checkpointed = key;
    }
    this.checkpointedSegment = this.floorSegment(this._recoveryPoint);
  }

  /**
   * saveCheckpoint where a stale checkpoint is safe (it only makes the next open check more,
   * or start lower): a failure is logged, and the next save writes the current state.
   */
  private trySaveCheckpoint(after: string): void {
    try {
      this.saveCheckpoint();
    } catch (err) {
      this.logger.warn({ dir: this.dir, err }, `could not write partition.checkpoint after ${after}; it will be written again later`);
    }
  }

  private ensureOpen(): void {
    if (this.closed) throw new LogClosedError(this.dir);
  }

  private startTimers(): void {
    const { flushMs, retentionCheckIntervalMs } = this.config;
    if (Number.isFinite(flushMs) && flushMs > 0) {
      this.timers.push(setInterval(() => this.backgroundFlush(), flushMs).unref());
    }
    if (retentionCheckIntervalMs > 0) {
      this.timers.push(
        setInterval(() => {
          try {
            this.applyRetention();
          } catch (err) {
            this.logger.warn({ dir: this.dir, err }, 'retention failed');
          }
        }, retentionCheckIntervalMs).unref(),
      );
    }
  }

  /** Opens the segments; after an unclean shutdown, checks and repairs them. */
  private load(): LogRecoveryReport {
    // One listing serves the marker, interrupted compactions and the segments.
    let names = fs.readdirSync(this.dir);
    // Gone from now on: a crash before the next close must be seen as unclean. (After a
    // recovery run by this process there is none: closeAfterRecovery leaves no marker.)
    let cleanShutdown = this.justRecovered;
    if (!cleanShutdown && names.includes(CLEAN_SHUTDOWN_FILE)) {
      fs.unlinkSync(path.join(this.dir, CLEAN_SHUTDOWN_FILE));
      cleanShutdown = true;
    }
    const report: LogRecoveryReport = {
      cleanShutdown,
      segments: 0,
      recovered: [],
      truncatedBytes: 0,
      deletedSegments: [],
      rebuiltIndexes: [],
      completedSwaps: [],
      quarantined: [],
      durationMs: 0,
    };
    const interrupted = finishInterruptedCompaction(this.dir, names);
    if (interrupted.removed.length > 0 || interrupted.completedSwaps.length > 0) names = fs.readdirSync(this.dir);
    report.completedSwaps = interrupted.completedSwaps;
    if (interrupted.removed.length > 0 || interrupted.completedSwaps.length > 0) {
      this.logger.warn({ dir: this.dir, ...interrupted }, 'finished a compaction interrupted by a crash');
    }
    const checkpoint = readCheckpoint(this.dir);
    this._cleanedOffset = checkpoint?.cleanedOffset ?? -1;
    const now = this.time();
    const bases = this.listSegmentFiles(names);
    if (bases.length === 0) {
      const base = checkpoint?.logStartOffset ?? 0;
      this.segments.push(this.newSegment(base, 0, now));
      this._logStartOffset = base;
      this._recoveryPoint = base;
      this.trySaveCheckpoint('creating the log');
      return report;
    }
    for (let i = 0; i < bases.length; i++) {
      const last = i === bases.length - 1;
      const capacity = last ? this.config.segmentBytes : 0;
      const { segment, indexProblem } = LogSegment.open(this.dir, bases[i]!, capacity, this.config, now, this.handles);
      this.segments.push(segment);
      if (indexProblem !== null) report.rebuiltIndexes.push({ baseOffset: segment.baseOffset, reason: indexProblem });
    }
    // Which segments to check: all of them from the one holding the recovery point when the
    // shutdown was unclean; else only those whose indexes failed, and a bad active tail.
    const recoverFrom = cleanShutdown ? this.segments.length : this.floorSegment(checkpoint?.recoveryPoint ?? 0);
    if (this.recoverInlineUpTo !== Infinity) {
      let bytes = 0;
      for (let i = recoverFrom; i < this.segments.length; i++) bytes += this.segments[i]!.size;
      if (bytes > this.recoverInlineUpTo) throw new RecoveryOffloadError(this.dir, bytes);
    }
    for (let i = 0; i < this.segments.length; i++) {
      const s = this.segments[i]!;
      const indexBad = report.rebuiltIndexes.some((r) => r.baseOffset === s.baseOffset);
      // Every other segment gets the cheap check: its tail from the last index entry.
      if (i < recoverFrom && !indexBad) {
        // A segment that ends short of the next one's base offset, or of the recovery point,
        // is checked whole (recover() then keeps what follows, the missing offsets a gap).
        const knownEnd = this.segments[i + 1]?.baseOffset ?? checkpoint?.recoveryPoint ?? -1;
        const tailOk = s.loadTail();
        if (tailOk && s.nextOffset >= knownEnd) continue;
        const reason = tailOk ? `the data ends at offset ${s.nextOffset}, before offset ${knownEnd} that follows it` : 'the data after the last index entry does not check out';
        report.rebuiltIndexes.push({ baseOffset: s.baseOffset, reason });
      }
      const r = s.recover(this.damageOptions(i, checkpoint?.recoveryPoint ?? -1));
      report.recovered.push(r);
      report.quarantined.push(...r.quarantined);
      if (r.truncatedBytes > 0) {
        report.truncatedBytes += r.truncatedBytes;
        this.logger.warn({ dir: this.dir, ...r }, 'recovery truncated an invalid segment tail');
      }
      // Nothing after a cut that lost offsets can be trusted to follow it: drop the later
      // segments. (A damaged range whose end was known was quarantined instead.)
      if (i + 1 < this.segments.length && s.nextOffset !== this.segments[i + 1]!.baseOffset) {
        for (const later of this.segments.splice(i + 1)) {
          report.deletedSegments.push(later.baseOffset);
          report.truncatedBytes += later.size;
          later.delete();
        }
      }
    }
    // A segment whose data does not follow on from the one before it (an overlap, or a gap
    // left by a sealed segment cut at a batch boundary) is cut off too, with all after it:
    // offsets stay dense.
    for (let i = 1; i < this.segments.length; i++) {
      const prev = this.segments[i - 1]!;
      if (this.segments[i]!.baseOffset !== prev.nextOffset) {
        this.logger.warn(
          { dir: this.dir, segment: this.segments[i]!.baseOffset, previousEnd: prev.nextOffset },
          'recovery found a segment that does not follow on from the one before it',
        );
        for (const later of this.segments.splice(i)) {
          report.deletedSegments.push(later.baseOffset);
          report.truncatedBytes += later.size;
          later.delete();
        }
        break;
      }
    }
    report.segments = this.segments.length;
    const first = this.segments[0]!.baseOffset;
    this._logStartOffset = Math.min(Math.max(checkpoint?.logStartOffset ?? first, first), this.logEndOffset);
    // Only what was fsynced before is durable: after an unclean shutdown the recovery point
    // stays where the checkpoint had it (what recovery checked above it is in the page cache,
    // and the next flush makes it durable), so no fdatasync per partition slows the start.
    // A clean close flushed everything and checkpointed the log end offset.
    this._recoveryPoint = cleanShutdown && !this.justRecovered ? this.logEndOffset : Math.min(checkpoint?.recoveryPoint ?? 0, this.logEndOffset);
    if (this._cleanedOffset > this.logEndOffset) this._cleanedOffset = this.logEndOffset;
    // A clean open with nothing changed leaves the checkpoint as it is (one write per partition
    // saved, which matters with thousands of partitions).
    const unchanged =
      checkpoint !== null &&
      checkpoint.logStartOffset === this._logStartOffset &&
      checkpoint.recoveryPoint === this._recoveryPoint &&
      (checkpoint.cleanedOffset ?? -1) === this._cleanedOffset;
    if (unchanged) {
      this.checkpointedSegment = this.floorSegment(this._recoveryPoint);
      this.checkpointed = `${checkpoint.logStartOffset} ${checkpoint.recoveryPoint} ${checkpoint.cleanedOffset ?? -1}`;
    }
    else this.trySaveCheckpoint('recovery');
    if (report.truncatedBytes > 0 || report.deletedSegments.length > 0) {
      this.logger.warn(
        {
          dir: this.dir,
          droppedBytes: report.truncatedBytes,
          deletedSegments: report.deletedSegments,
          cuts: report.recovered.filter((r) => r.truncatedBytes > 0),
          logEndOffset: this.logEndOffset,
          cleanShutdown,
        },
        `recovery dropped invalid data: ${report.truncatedBytes} bytes, ${report.deletedSegments.length} whole segment(s); the log now ends at offset ${this.logEndOffset}`,
      );
    }
    if (report.rebuiltIndexes.length > 0) {
      this.logger.warn({ dir: this.dir, rebuiltIndexes: report.rebuiltIndexes }, `recovery rebuilt the indexes of ${report.rebuiltIndexes.length} segment(s)`);
    }
    this._quarantined = readQuarantine(this.dir);
    this.onQuarantined(report.quarantined);
    // One line per partition would be ten thousand at start: the owner logs a summary.
    if (report.truncatedBytes > 0 || report.rebuiltIndexes.length > 0 || !cleanShutdown) {
      this.logger.debug?.({ dir: this.dir, ...report, recovered: report.recovered.length }, 'log recovered');
    }
    return report;
  }

  /** What recovery of segment `i` knows of the offsets after its data, for telling damage from a torn tail. */
  private damageOptions(i: number, recoveryPoint: number): SegmentDamageOptions {
    const next = this.segments[i + 1];
    return next !== undefined
      ? { knownEnd: next.baseOffset, knownEndBy: 'next-segment', policy: this.damagePolicy, foundBy: 'open' }
      : { knownEnd: recoveryPoint, knownEndBy: 'recovery-point', policy: this.damagePolicy, foundBy: 'open' };
  }

  /** Base offsets of the .log files, sorted; removes index files that have no .log. */
  private listSegmentFiles(names: string[]): number[] {
    const logs = new Set<string>();
    const bases: number[] = [];
    for (const name of names) {
      const m = /^(\d{20})\.log$/.exec(name);
      if (m) {
        logs.add(m[1]!);
        bases.push(Number(m[1]));
      }
    }
    for (const name of names) {
      const m = /^(\d{20})\.(index|timeindex|txnindex)$/.exec(name);
      if (m && !logs.has(m[1]!)) fs.rmSync(path.join(this.dir, name), { force: true });
      if (name.endsWith('.tmp')) fs.rmSync(path.join(this.dir, name), { force: true });
    }
    return bases.sort((a, b) => a - b);
  }
}

/** `err` when it is a StorageError already, else a StorageIOError naming `what`. */
function asStorageError(err: unknown, dir: string, what: string): StorageError {
  return err instanceof StorageError ? err : new StorageIOError(dir, what, err);
}

/** Size of the batch at `pos`, or -1 when it is malformed or runs past `end`. */
function batchSize(data: Buffer, pos: number, end: number): number {
  if (end - pos < LOG_OVERHEAD + MIN_BATCH_LENGTH) return -1;
  const length = data.readInt32BE(pos + LENGTH_OFFSET);
  if (length < MIN_BATCH_LENGTH || pos + LOG_OVERHEAD + length > end) return -1;
  return LOG_OVERHEAD + length;
}

function describeInvalid(data: Buffer, valid: number): string {
  if (data.length === 0) return 'no bytes to append';
  return `the record batch at byte ${valid} of ${data.length} is invalid (length, magic 2 or CRC32C)`;
}

export { LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX };
