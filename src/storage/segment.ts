/**
 * A log segment: one .log file holding a chain of RecordBatch v2, and the offset and time
 * indexes beside it, all three named after the segment's base offset in 20 digits:
 *
 *   00000000000000000000.log | .index | .timeindex
 *
 * The .log is a native MappedFile: appends are written at the tail, reads are views of the
 * mapping. A segment opens its file lazily, on first use, and the broker's SegmentHandles
 * list may close it again when too many are open (it reopens on the next use).
 * Not thread-safe: the owning Log serialises every call.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MappedFile, scanBatches } from '../native.js';
import type { MappedFile as MappedFileHandle } from '../native.js';
import { readInt64 } from '../record/header.js';
import { readRecords } from '../record/reader.js';
import {
  BASE_OFFSET_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAX_TIMESTAMP_OFFSET,
  MIN_BATCH_LENGTH,
  RECORD_BATCH_OVERHEAD,
} from '../record/layout.js';
import type { LogConfig } from './config.js';
import { CorruptSegmentError, LogCleanerError, StorageIOError } from './errors.js';
import { OffsetIndex } from './offset-index.js';
import { findDamage, quarantineDamage, quarantineRanges, type DamagedRange, type DamagePolicy, type QuarantineEntry } from './quarantine.js';
import { defaultSegmentHandles, type SegmentHandle, type SegmentHandles } from './segment-handles.js';
import { TimeIndex } from './time-index.js';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';

/** `00000000000000000042.log` for base offset 42. */
export function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(20, '0') + suffix;
}

/** What recover() found. */
export interface SegmentRecovery {
  baseOffset: number;
  validBytes: number;
  truncatedBytes: number;
  /** Why the tail was cut, when it was. */
  reason: string | null;
  /** Damaged ranges moved out of the segment (the data after them kept). */
  quarantined: QuarantineEntry[];
}

/** How recover() treats damage: what is known of the offsets after the segment's data, and who decides. */
export interface SegmentDamageOptions {
  /** The offset the data must reach (next segment's base, or the recovery point), -1 when unknown. */
  knownEnd: number;
  knownEndBy: 'next-segment' | 'recovery-point';
  policy: DamagePolicy;
  foundBy: DamagedRange['foundBy'];
}

const NO_DAMAGE_OPTIONS: SegmentDamageOptions = { knownEnd: -1, knownEndBy: 'recovery-point', policy: quarantineDamage, foundBy: 'open' };

/** Bytes a batch of this length field takes, or -1 when the field cannot be a batch's. */
function batchBytes(lengthField: number): number {
  return lengthField >= MIN_BATCH_LENGTH ? lengthField + LOG_OVERHEAD : -1;
}

/** Where a read of a segment starts and ends. */
export interface SegmentSlice {
  position: number;
  end: number;
  /** First offset after the last batch in the slice. */
  nextOffset: number;
}

/** Bytes [position, position + length) of a file, or null when it is shorter. */
function readRange(file: string, position: number, length: number): Buffer | null {
  const buf = Buffer.allocUnsafe(length);
  const fd = fs.openSync(file, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, buf, done, length - done, position + done);
      if (n === 0) return null;
      done += n;
    }
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

export class LogSegment implements SegmentHandle {
  readonly logPath: string;
  readonly offsetIndex: OffsetIndex;
  readonly timeIndex: TimeIndex;
  /** Bytes of data. */
  size = 0;
  /** One past the last offset stored here (== baseOffset when empty). */
  nextOffset: number;
  /** Largest batch timestamp here, -1 when none. */
  maxTimestamp = -1;
  /** Last offset of the batch with maxTimestamp. */
  offsetOfMaxTimestamp = -1;
  /** Wall-clock time the segment was made (or opened). */
  readonly createdAt: number;
  /** The first batch's timestamp, -1 when unknown: segment.ms counts from it. */
  firstBatchTimestamp = -1;
  /** fdatasync calls under way on this file; close waits for them. */
  syncsInFlight = 0;
  private readonly intervalBytes: number;
  private file: MappedFileHandle | null = null;
  /** The last view made, of [viewBase, viewBase + cachedView.length). */
  private cachedView: Buffer | null = null;
  private viewBase = 0;
  private bytesSinceIndexEntry = 0;
  private pendingClose = false;
  /** When the file was last used (Date.now()), for closing idle files. */
  private lastUsed = Date.now();
  /**
   * Which bytes are known good (CRC32C, bounds and dense offsets checked since this process
   * opened the file, or written by it): the prefix [0, verifiedEnd) and the suffix
   * [trustedFrom, size). Bytes in between (sealed data a clean open does not rescan) are
   * checked on their way out (checkServed), and never served when they fail.
   */
  private verifiedEnd = 0;
  private trustedFrom = 0;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    private capacity: number,
    config: LogConfig,
    now: number,
    /** The list of open files this segment's file counts in. */
    readonly handles: SegmentHandles,
  ) {
    this.logPath = path.join(dir, segmentFileName(baseOffset, LOG_SUFFIX));
    const indexPath = path.join(dir, segmentFileName(baseOffset, INDEX_SUFFIX));
    const timeIndexPath = path.join(dir, segmentFileName(baseOffset, TIME_INDEX_SUFFIX));
    this.offsetIndex = new OffsetIndex(indexPath, baseOffset, config.segmentIndexBytes);
    this.timeIndex = new TimeIndex(timeIndexPath, baseOffset, config.segmentIndexBytes);
    this.intervalBytes = config.indexIntervalBytes;
    this.nextOffset = baseOffset;
    this.createdAt = now;
  }

  /** Creates an empty segment (replacing any files of the same name). */
  static create(dir: string, baseOffset: number, capacity: number, config: LogConfig, now: number, handles = defaultSegmentHandles): LogSegment {
    const s = new LogSegment(dir, baseOffset, capacity, config, now, handles);
    fs.rmSync(s.logPath, { force: true });
    s.file = new MappedFile(s.logPath, capacity);
    handles.opened(s);
    s.offsetIndex.reset();
    s.timeIndex.reset();
    return s;
  }

  /**
   * Opens an existing segment without reading its data: size from the file system, the
   * indexes from their files. Returns the segment and, when an index fails its sanity
   * check, the reason (the caller then recovers the segment, which rebuilds them).
   */
  static open(
    dir: string,
    baseOffset: number,
    capacity: number,
    config: LogConfig,
    now: number,
    handles = defaultSegmentHandles,
  ): { segment: LogSegment; indexProblem: string | null } {
    const s = new LogSegment(dir, baseOffset, capacity, config, now, handles);
    s.size = fs.statSync(s.logPath).size;
    s.capacity = Math.max(capacity, s.size);
    s.trustedFrom = s.size;
    const indexProblem = s.offsetIndex.load(s.size) ?? s.timeIndex.load(s.size);
    return { segment: s, indexProblem };
  }

  /**
   * Opens a segment whose .log this process has just written and fsynced (a cleaned segment
   * that compaction swapped in) and builds its indexes by walking the batch headers. No CRC
   * scan: the cleaner checked every batch it read and computed the CRC of every batch it
   * rebuilt. Throws LogCleanerError unless the batches follow on densely from baseOffset to
   * the end of the file.
   */
  static openCleaned(dir: string, baseOffset: number, config: LogConfig, now: number, handles = defaultSegmentHandles): LogSegment {
    const s = new LogSegment(dir, baseOffset, 0, config, now, handles);
    s.size = fs.statSync(s.logPath).size;
    s.capacity = s.size;
    s.offsetIndex.reset();
    s.timeIndex.reset();
    s.trustedFrom = 0;
    const { end, reason } = s.rebuild(s.size);
    if (end !== s.size) {
      throw new LogCleanerError(dir, `cleaned segment ${path.basename(s.logPath)} does not walk to its end (${s.size} bytes): ${reason ?? `stopped at byte ${end}`}`);
    }
    s.seal();
    return s;
  }

  private get mapped(): MappedFileHandle {
    if (this.file === null) {
      this.file = new MappedFile(this.logPath, this.capacity, { create: false });
      this.handles.opened(this);
    } else {
      this.handles.touch(this);
    }
    this.lastUsed = Date.now();
    return this.file;
  }

  /**
   * Called by SegmentHandles to make room: closes the file as releaseFile does (views stay
   * valid), unless an fdatasync runs on it. Unflushed data stays in the page cache, and the
   * next flush reopens the file to fdatasync it (openFd).
   */
  evict(): boolean {
    if (this.file === null || this.syncsInFlight > 0) return false;
    this.cachedView = null;
    const file = this.file;
    this.file = null;
    try {
      if (!file.closed) file.close();
    } catch {
      // Only the trim of reserved blocks can fail here (the descriptor is closed whatever it
      // says), and that must not fail the append or read of another partition that made room.
    }
    return true;
  }

  /** The file's descriptor, opening the file when it is closed: for fdatasync on the libuv pool. */
  openFd(): number {
    return this.mapped.fd;
  }

  /** True when the file is open and has not been used since `since` (ms, wall clock). */
  isIdleSince(since: number): boolean {
    return this.file !== null && !this.file.closed && this.lastUsed < since && this.syncsInFlight === 0;
  }

  /**
   * Closes the file to give back its descriptor and mapping while the segment is idle; the
   * next append or read opens it again. Only for data already flushed (the Log checks).
   * Views already taken stay valid.
   */
  releaseFile(): void {
    if (this.file === null || this.file.closed || this.syncsInFlight > 0) return;
    this.cachedView = null;
    this.file.close();
    this.file = null;
    this.handles.closed(this);
  }

  /** The open file's descriptor, for fdatasync on the libuv pool; -1 when not open. */
  get fd(): number {
    return this.file === null || this.file.closed ? -1 : this.file.fd;
  }

  /**
   * Kafka's segment.ms rule: time waited is the new batch's timestamp minus the first
   * batch's, or wall-clock time since the segment was made when there is no timestamp.
   */
  timeWaitedForRoll(now: number, batchTimestamp: number): number {
    return this.firstBatchTimestamp >= 0 && batchTimestamp >= 0
      ? batchTimestamp - this.firstBatchTimestamp
      : now - this.createdAt;
  }

  /** True when `bytes` more fit under segment.bytes and the mapped range. */
  canHold(bytes: number, segmentBytes: number): boolean {
    return this.size + bytes <= segmentBytes && this.size + bytes <= this.capacity;
  }

  /** Writes `data` (whole batches, offsets already assigned) at the tail; returns its position. */
  append(data: Buffer): number {
    const position = this.mapped.append(data);
    this.size += data.length;
    return position;
  }

  /**
   * Accounts for one batch written at `position`: next offset, largest timestamp, and an
   * index entry once index.interval.bytes have gone by since the last one.
   */
  onBatch(position: number, lastOffset: number, maxTimestamp: number, size: number): void {
    if (position === 0) this.firstBatchTimestamp = maxTimestamp;
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.offsetOfMaxTimestamp = lastOffset;
    }
    this.nextOffset = lastOffset + 1;
    this.bytesSinceIndexEntry += size;
    if (this.bytesSinceIndexEntry >= this.intervalBytes) {
      this.offsetIndex.append(lastOffset, position);
      this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
      this.bytesSinceIndexEntry = 0;
    }
  }

  /** A view of [position, end) of the data. Zero-copy; valid after close and delete. */
  slice(position: number, end: number): Buffer {
    const v = this.viewOf(position, end);
    return v.subarray(position - this.viewBase, end - this.viewBase);
  }

  /**
   * A view holding [from, to) of the data; its byte 0 is segment position `viewBase`. The
   * cached view is reused when it holds the range; otherwise a view of [from, size) is
   * made. (Views of the whole segment, remade whenever a read passed the end of the last
   * one, cost a native call and, worse, count their whole length as external memory to
   * the garbage collector: a consumer keeping up with a producer remade one per read, and
   * the collector ran back to back.)
   */
  private viewOf(from: number, to: number): Buffer {
    let v = this.cachedView;
    if (v === null || from < this.viewBase || to > this.viewBase + v.length) {
      v = this.size <= from ? Buffer.alloc(0) : this.mapped.view(from, this.size - from);
      this.cachedView = v;
      this.viewBase = from;
    }
    return v;
  }

  /**
   * Position of the first batch whose last offset is >= offset, or -1 when every batch here
   * ends below it. Starts at the offset index's entry and walks batch headers from there.
   */
  findBatch(offset: number): number {
    if (offset >= this.nextOffset) return -1;
    const entry = this.offsetIndex.lookupEntry(offset);
    let pos = entry.position;
    // The walk checks that offsets follow on from its anchor (the index entry's batch, or the
    // segment's base offset at byte 0): baseOffset lies outside the CRC.
    let expectedBase = entry.lastOffset < 0 ? this.baseOffset : -1;
    const v = this.viewOf(pos, this.size);
    const b = this.viewBase;
    while (pos + RECORD_BATCH_OVERHEAD <= this.size) {
      const base = readInt64(v, pos - b + BASE_OFFSET_OFFSET);
      const last = base + v.readInt32BE(pos - b + LAST_OFFSET_DELTA_OFFSET);
      if (expectedBase >= 0 ? base !== expectedBase : last !== entry.lastOffset) {
        throw this.corrupt(pos, offset, `has offsets [${base}, ${last}] that do not follow on`);
      }
      if (last >= offset) return pos;
      expectedBase = last + 1;
      const size = batchBytes(v.readInt32BE(pos - b + LENGTH_OFFSET));
      // A length no batch can have (only in data that was never checked): stop rather than
      // walk backwards or forever.
      if (size < 0) throw this.corrupt(pos, offset, 'has an invalid length field');
      pos += size;
    }
    // An intact chain ends exactly at the end of the data.
    if (pos !== this.size) throw this.corrupt(pos, offset, 'is not where the chain of batch lengths leads');
    return -1;
  }

  /**
   * Whole batches from `position`: at least one, then more while they fit in maxBytes and
   * start below maxOffset.
   */
  sliceFrom(position: number, maxBytes: number, maxOffset: number): SegmentSlice {
    const v = this.viewOf(position, this.size);
    const b = this.viewBase;
    let end = position;
    let nextOffset = -1;
    while (end + RECORD_BATCH_OVERHEAD <= this.size) {
      const base = readInt64(v, end - b + BASE_OFFSET_OFFSET);
      const size = batchBytes(v.readInt32BE(end - b + LENGTH_OFFSET));
      if (size < 0) {
        if (end === position) throw this.corrupt(end, base, 'has an invalid length field');
        break;
      }
      if (end + size > this.size) {
        if (end === position) throw this.corrupt(end, base, 'runs past the end of the segment');
        break;
      }
      if (base >= maxOffset) break;
      if (end > position && end + size - position > maxBytes) break;
      nextOffset = base + v.readInt32BE(end - b + LAST_OFFSET_DELTA_OFFSET) + 1;
      end += size;
    }
    return { position, end, nextOffset };
  }

  /**
   * The first record at or after `timestamp` with an offset >= startOffset: its offset and
   * timestamp, or null when there is none here. Decodes only the batch that holds it.
   */
  findOffsetByTimestamp(timestamp: number, startOffset: number): { offset: number; timestamp: number } | null {
    if (this.maxTimestamp < timestamp) return null;
    const after = this.timeIndex.lookupBefore(timestamp);
    let pos = this.offsetIndex.lookup(Math.max(after, startOffset, this.baseOffset));
    const v = this.viewOf(pos, this.size);
    const b = this.viewBase;
    while (pos + RECORD_BATCH_OVERHEAD <= this.size) {
      const size = batchBytes(v.readInt32BE(pos - b + LENGTH_OFFSET));
      const first = readInt64(v, pos - b);
      const last = first + v.readInt32BE(pos - b + LAST_OFFSET_DELTA_OFFSET);
      if (size < 0 || pos + size > this.size) throw this.corrupt(pos, last, 'has an invalid length field');
      if (readInt64(v, pos - b + MAX_TIMESTAMP_OFFSET) >= timestamp && last >= startOffset) {
        // Decode only checked bytes: a time lookup must not read a rotten batch either.
        if (this.checkServed(pos, pos + size, Math.max(first, startOffset)).end !== pos + size) {
          throw this.corrupt(pos, last, 'fails its check');
        }
        for (const r of readRecords(v.subarray(pos - b, pos - b + size))) {
          if (r.timestamp >= timestamp && r.offset >= startOffset) return { offset: r.offset, timestamp: r.timestamp };
        }
      }
      pos += size;
    }
    return null;
  }

  /**
   * Checks every batch (bounds, magic and CRC in native code, dense offsets here), tells
   * damage from a torn tail (quarantine.ts): damaged ranges the policy keeps are quarantined
   * (side file, record, and the segment rewritten with an empty batch for their offsets),
   * a torn tail is cut at its first invalid byte. Rebuilds both indexes.
   */
  recover(damage: SegmentDamageOptions = NO_DAMAGE_OPTIONS): SegmentRecovery {
    let total = this.mapped.size;
    this.size = total;
    this.cachedView = null;
    // Nothing changes before the decision is made and the quarantine written: a policy or a
    // disk that fails leaves the segment as it was (a read at run time can go on refusing).
    const found = findDamage(
      total > 0 ? this.slice(0, total) : Buffer.alloc(0),
      { dir: this.dir, file: this.logPath, baseOffset: this.baseOffset, foundBy: damage.foundBy, knownEndBy: damage.knownEndBy },
      damage.knownEnd,
    );
    let keepEnd = found.validEnd;
    let tailReason = found.tailReason;
    const kept: DamagedRange[] = [];
    for (const r of found.ranges) {
      if (damage.policy(r) === 'truncate') {
        keepEnd = r.position;
        tailReason = r.reason;
        break;
      }
      kept.push(r);
    }
    let quarantined: QuarantineEntry[] = [];
    if (kept.length > 0) {
      try {
        quarantined = quarantineRanges(this.slice(0, total), keepEnd, kept, this.logPath);
      } catch (err) {
        const offsets = kept.map((r) => `[${r.firstOffset}, ${r.nextOffset - 1}]`).join(', ');
        throw new StorageIOError(this.dir, `quarantining the damaged offsets ${offsets} of ${path.basename(this.logPath)} (the segment is unchanged; free disk space and open the log again)`, err);
      }
      // The file was replaced: map the new one. Views taken before keep the old bytes.
      this.cachedView = null;
      if (this.file !== null && !this.file.closed) this.file.close();
      this.file = null;
      this.handles.closed(this);
      total = this.mapped.size;
      this.size = total;
      keepEnd = total;
      tailReason = null;
    }
    // findDamage checked [0, keepEnd) already; a rewritten file is checked once more.
    const validEnd = kept.length > 0 ? this.mapped.scan(0, total) : keepEnd;
    // The index files stay as they are while what they say still holds (after a SIGKILL most
    // logs have nothing to cut, and rewriting two files for each is most of a start); a
    // segment rewritten by a quarantine gets new ones.
    const { end, reason } = this.rebuild(validEnd, kept.length === 0);
    if (end < total || kept.length > 0) {
      if (end < total) this.cut(end);
      this.offsetIndex.fileIsStale();
      this.timeIndex.fileIsStale();
    }
    this.verifiedEnd = end;
    this.trustedFrom = 0;
    return {
      baseOffset: this.baseOffset,
      validBytes: end,
      truncatedBytes: total - end,
      reason: reason ?? (end < total ? (tailReason ?? `invalid batch at byte ${end} (length, magic or CRC32C fails)`) : null),
      quarantined,
    };
  }

  /**
   * What recover() computes, without reading the data: trusts the indexes and walks batch
   * headers only from the last offset index entry to the end, verifying that tail's CRCs
   * (read with pread, so a sealed segment is not mapped). Returns false when the tail does
   * not check out (the caller then recovers the segment).
   */
  loadTail(): boolean {
    if (this.size === 0) return true;
    const indexed = this.offsetIndex.count > 0;
    const start = indexed ? this.offsetIndex.lastValue : 0;
    const tail = readRange(this.logPath, start, this.size - start);
    if (tail === null || scanBatches(tail, 0, tail.length) !== tail.length) return false;
    this.maxTimestamp = this.timeIndex.lastKey;
    this.offsetOfMaxTimestamp = this.timeIndex.count > 0 ? this.timeIndex.lastValue + this.baseOffset : -1;
    let pos = 0;
    while (pos < tail.length) {
      const base = readInt64(tail, pos);
      const size = tail.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD;
      const last = base + tail.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
      const counted = pos > 0 || !indexed; // the indexed batch was counted before its entry
      if (counted && base !== this.nextOffset) return false;
      if (!counted && last !== this.offsetIndex.lastKey + this.baseOffset) return false;
      const ts = readInt64(tail, pos + MAX_TIMESTAMP_OFFSET);
      if (ts > this.maxTimestamp) {
        this.maxTimestamp = ts;
        this.offsetOfMaxTimestamp = last;
      }
      this.nextOffset = last + 1;
      if (counted) this.bytesSinceIndexEntry += size;
      pos += size;
    }
    // The time index must point inside this segment's offsets (a garbage file can pass its
    // own ordering check).
    if (this.timeIndex.count > 0 && this.timeIndex.lastValue + this.baseOffset >= this.nextOffset) return false;
    const first = start === 0 ? tail : readRange(this.logPath, 0, RECORD_BATCH_OVERHEAD);
    this.firstBatchTimestamp = first === null ? -1 : readInt64(first, MAX_TIMESTAMP_OFFSET);
    this.trustedFrom = start;
    return true;
  }

  /** Cuts the segment so that it ends before `offset`, which must start a batch (or be past the end). */
  truncateTo(offset: number): number {
    const pos = this.findBatch(offset);
    if (pos < 0) return 0;
    if (readInt64(this.slice(pos, pos + 8), 0) < offset) {
      throw new Error(`offset ${offset} is inside a batch of ${this.logPath}; truncate only at batch boundaries`);
    }
    const cut = this.size - pos;
    this.cut(pos);
    this.rebuild(pos);
    return cut;
  }

  private cut(position: number): void {
    this.mapped.truncate(position);
    this.cachedView = null;
    this.size = position;
    this.verifiedEnd = Math.min(this.verifiedEnd, position);
    this.trustedFrom = Math.min(this.trustedFrom, position);
  }

  /**
   * Checks the batches of [position, end) that are not known good before they are served:
   * CRC32C and bounds (native scan), and offsets that follow on from a first batch holding
   * `offset`. Returns the end of the good prefix and the offset after it; throws
   * CorruptSegmentError when the first batch is bad. Costs nothing for bytes this process
   * wrote or checked already (the hot path); checked bytes at the start of the file join
   * the known-good prefix, so each byte is scanned once per process.
   */
  checkServed(position: number, end: number, offset: number): { end: number; nextOffset: number } {
    if (end <= this.verifiedEnd || position >= this.trustedFrom || this.verifiedEnd >= this.trustedFrom) return { end, nextOffset: -1 };
    const from = Math.max(position, this.verifiedEnd);
    const to = Math.min(end, this.trustedFrom);
    const v = this.viewOf(position, end);
    const b = this.viewBase;
    let good = from < to ? scanBatches(v, from - b, to - b) + b : to;
    if (good === to) good = end;
    // Offsets are not covered by the CRC: walk the headers of what passed.
    let pos = position;
    let expected = -1;
    while (pos < good) {
      const base = readInt64(v, pos - b + BASE_OFFSET_OFFSET);
      const last = base + v.readInt32BE(pos - b + LAST_OFFSET_DELTA_OFFSET);
      if (expected < 0 ? base > offset || last < offset || base < this.baseOffset : base !== expected) break;
      const next = pos + v.readInt32BE(pos - b + LENGTH_OFFSET) + LOG_OVERHEAD;
      if (next > good) break;
      expected = last + 1;
      pos = next;
    }
    good = pos;
    if (good === position) throw this.corrupt(position, offset, 'fails its check (CRC32C, length or offsets)');
    if (position <= this.verifiedEnd && good > this.verifiedEnd) this.verifiedEnd = Math.min(good, this.size);
    return { end: good, nextOffset: expected };
  }

  private corrupt(position: number, offset: number, detail: string): CorruptSegmentError {
    return new CorruptSegmentError(this.dir, path.basename(this.logPath), position, offset, detail);
  }

  /**
   * Walks the batch headers of [0, end), rebuilding the indexes and counters; stops early
   * at a batch whose offsets do not follow on. The bytes it walks must have passed scan().
   */
  private rebuild(end: number, keepFiles = false): { end: number; reason: string | null } {
    if (keepFiles) {
      this.offsetIndex.resetForRebuild();
      this.timeIndex.resetForRebuild();
    } else {
      this.offsetIndex.reset();
      this.timeIndex.reset();
    }
    this.nextOffset = this.baseOffset;
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = -1;
    this.bytesSinceIndexEntry = 0;
    this.firstBatchTimestamp = -1;
    const v = end > 0 ? this.slice(0, end) : Buffer.alloc(0);
    let pos = 0;
    while (pos < end) {
      const base = readInt64(v, pos + BASE_OFFSET_OFFSET);
      const size = v.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD;
      const lastDelta = v.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
      // Offsets are dense: each batch starts where the one before ended (a flip in
      // baseOffset, which the CRC does not cover, shows up here).
      if (base !== this.nextOffset || lastDelta < 0) {
        const reason = `batch at byte ${pos} has offsets [${base}, ${base + lastDelta}] that do not follow ${this.nextOffset - 1}`;
        return { end: pos, reason };
      }
      this.onBatch(pos, base + lastDelta, readInt64(v, pos + MAX_TIMESTAMP_OFFSET), size);
      pos += size;
    }
    return { end, reason: null };
  }

  /** fdatasync, blocking. The Log uses the async path (fs.fdatasync on fd) instead. */
  syncNow(): void {
    if (this.file !== null && !this.file.closed) this.file.sync();
  }

  /** Ends appends: gives back reserved disk and writes the indexes, with a final time entry. */
  seal(): void {
    if (this.file !== null && !this.file.closed) this.file.trim();
    if (this.maxTimestamp >= 0) this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
    this.persistIndexes();
  }

  /** Persists the index entries made so far. */
  persistIndexes(): void {
    this.offsetIndex.persist();
    this.timeIndex.persist();
  }

  /** Closes the file (after any fdatasync under way). Views already taken stay valid. */
  close(): void {
    this.cachedView = null;
    if (this.syncsInFlight > 0) {
      this.pendingClose = true;
      return;
    }
    if (this.file !== null && !this.file.closed) this.file.close();
    this.handles.closed(this);
  }

  /** Called by the Log when an fdatasync on fd finishes. */
  syncDone(): void {
    this.syncsInFlight--;
    if (this.syncsInFlight === 0 && this.pendingClose) {
      this.pendingClose = false;
      if (this.file !== null && !this.file.closed) this.file.close();
      this.handles.closed(this);
    }
  }

  /** Closes and removes the files (and the aborted-transaction index, txn-index.ts). Views already taken stay valid. */
  delete(): void {
    this.close();
    fs.rmSync(this.logPath, { force: true });
    fs.rmSync(this.logPath.slice(0, -LOG_SUFFIX.length) + '.txnindex', { force: true });
    this.offsetIndex.delete();
    this.timeIndex.delete();
  }
}
