/**
 * Damage versus a torn tail, and the quarantine of damaged batches.
 *
 * A segment is a chain of RecordBatch v2. Where the chain breaks (bounds, magic, CRC32C, or
 * offsets that do not follow on), two things can have happened:
 *
 *   torn tail   the chain simply ends: nothing valid follows the break (a crash cut the
 *               last write short). Kafka's rule applies: truncate at the break.
 *   damage      a bad stretch, and then the chain goes on validly: a batch with magic 2, a
 *               valid CRC32C, sane header fields and a base offset at or past the offset
 *               the break should have held, followed by the rest of the chain. The bad
 *               stretch is quarantined, everything after it is kept.
 *
 * Finding where the chain goes on (the resync point): when the broken batch's length field
 * leads to a valid batch, that is it (a flip inside the records leaves the length intact,
 * and then exactly that batch is lost). Otherwise every later byte position is a candidate,
 * found by searching for the magic byte (memchr) and filtered by cheap header checks before
 * a CRC; the search is bounded (RESYNC_WINDOW past the break).
 *
 * A damaged stretch at the very end of a segment (nothing valid after it in the file) is
 * damage, not a torn tail, when the offsets after it are known: the next segment's base
 * offset for a sealed segment, or the recovery point (offsets already fsynced) for the last
 * one. Then the gap runs to that offset and the log end offset never goes back below it.
 * Otherwise it is a torn tail: those offsets were never made durable, and are cut.
 *
 * Quarantine (quarantineRanges): the damaged bytes go to a side file in `<partition>/quarantine/`,
 * a line describing them is appended to `quarantine/quarantine.jsonl` (both fsynced), and
 * the segment is rewritten with, in place of those bytes, an empty batch (recordsCount 0,
 * codec none, producer id -1) covering exactly the missing offsets: what Kafka's cleaner
 * leaves when compaction removes every record of a batch. The log stays dense batch by
 * batch, so every reader (indexes, fetch, compaction, replication, any Kafka client) sees a
 * plain offset gap and no code path needs to know about holes.
 *
 * Whether a damaged stretch is quarantined or cut is asked of one policy function
 * (DamagePolicy): a single broker keeps the data after the damage; a replication layer can
 * answer 'truncate' instead and re-fetch the range from its leader.
 *
 * Stateless; the functions are not thread-safe for one directory (the owning Log serialises).
 */
import fs from 'node:fs';
import path from 'node:path';
import { scanBatches } from '../native.js';
import { assembleBatch } from '../record/builder.js';
import { Compression } from '../record/layout.js';
import { readInt64 } from '../record/header.js';
import {
  ATTRIBUTES_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  MIN_BATCH_LENGTH,
  RECORD_BATCH_OVERHEAD,
  RECORDS_COUNT_OFFSET,
} from '../record/layout.js';
import { syncDir } from './cleaner-io.js';
import { writeFully } from './write-fully.js';

/** Folder in the partition directory that keeps quarantined bytes and their record. */
export const QUARANTINE_DIR = 'quarantine';
/** One JSON object per line, one line per quarantined range. */
export const QUARANTINE_RECORD = 'quarantine.jsonl';
/** How far past a break the search for a valid batch goes before the rest counts as a torn tail. */
export const RESYNC_WINDOW = 64 * 1024 * 1024;
/** Offsets within a segment are int32 relative to its base offset. */
const MAX_RELATIVE_OFFSET = 2 ** 31 - 1;

/** A stretch of a segment that breaks the chain, with the offsets it held. */
export interface DamagedRange {
  /** The partition directory. */
  dir: string;
  /** The segment file (full path). */
  file: string;
  segmentBaseOffset: number;
  /** Byte range [position, end) in the segment as found. */
  position: number;
  end: number;
  /** Offsets missing: [firstOffset, nextOffset); empty when the bytes held none. */
  firstOffset: number;
  nextOffset: number;
  /** Why the chain broke there. */
  reason: string;
  /** Where the end was learned: a valid batch after it, the next segment, or the recovery point. */
  knownBy: 'resync' | 'next-segment' | 'recovery-point';
  /** Where it was found: the open-time check, or a read. */
  foundBy: 'open' | 'read';
}

/** What to do with a damaged range: keep the data after it, or cut the log at it. */
export type DamageAction = 'quarantine' | 'truncate';

/**
 * Decides, for each damaged range, whether it is quarantined (the data after it is served,
 * with an offset gap) or the log is truncated at it (everything from it on is dropped: a
 * follower would then re-fetch it from its leader). The one seam a replication layer replaces.
 */
export type DamagePolicy = (range: DamagedRange) => DamageAction;

/** A single broker keeps every valid batch: it has nobody to re-fetch from. */
export const quarantineDamage: DamagePolicy = () => 'quarantine';

/** A line of quarantine.jsonl. */
export interface QuarantineEntry {
  /** The segment file, relative to the partition directory. */
  segment: string;
  /** Byte range in the segment before it was rewritten. */
  position: number;
  end: number;
  /** Offsets missing from the log: [firstOffset, nextOffset). */
  firstOffset: number;
  nextOffset: number;
  /** The side file with the damaged bytes, relative to the partition directory; null when there were none. */
  file: string | null;
  reason: string;
  knownBy: DamagedRange['knownBy'];
  foundBy: DamagedRange['foundBy'];
  /** When it was quarantined (ISO 8601). */
  at: string;
}

/** What a segment walk found: the damaged ranges, and where the valid data ends (a torn tail after it). */
export interface DamageScan {
  ranges: DamagedRange[];
  /** Bytes [0, validEnd) are batches and damaged ranges; after it, a torn tail to cut. */
  validEnd: number;
  /** The offset after the last batch or range kept. */
  nextOffset: number;
  /** Why the tail after validEnd is cut, when there is one. */
  tailReason: string | null;
}

/**
 * Walks `data` (a whole segment holding offsets from `baseOffset`) and finds every break in
 * its chain: damaged ranges (a valid chain follows, or the end is known from `knownEnd`)
 * and the torn tail. `knownEnd` is the offset the segment's data must reach (next segment's
 * base, or the recovery point), or -1 when unknown.
 */
export function findDamage(
  data: Buffer,
  where: { dir: string; file: string; baseOffset: number; foundBy: DamagedRange['foundBy']; knownEndBy: 'next-segment' | 'recovery-point' },
  knownEnd: number,
): DamageScan {
  const size = data.length;
  const ranges: DamagedRange[] = [];
  let pos = 0;
  let expected = where.baseOffset;
  for (;;) {
    const good = scanBatches(data, pos, size);
    let reason = `invalid batch at byte ${good} (length, magic or CRC32C fails)`;
    while (pos < good) {
      const base = readInt64(data, pos);
      const delta = data.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
      if (base !== expected || delta < 0) {
        reason = `batch at byte ${pos} has offsets [${base}, ${base + delta}] that do not follow ${expected - 1}`;
        break;
      }
      expected = base + delta + 1;
      pos += data.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD;
    }
    if (pos >= size) {
      // The chain ends whole but short of offsets known to exist (a sealed segment cut at a
      // batch boundary, a file cut below the recovery point): those offsets become a gap too.
      if (knownEnd > expected && knownEnd - where.baseOffset <= MAX_RELATIVE_OFFSET + 1) {
        const reason = `the segment ends at offset ${expected}, before offset ${knownEnd} (${where.knownEndBy === 'next-segment' ? 'the next segment' : 'the recovery point'})`;
        ranges.push({ dir: where.dir, file: where.file, segmentBaseOffset: where.baseOffset, position: size, end: size, firstOffset: expected, nextOffset: knownEnd, reason, knownBy: where.knownEndBy, foundBy: where.foundBy });
        return { ranges, validEnd: size, nextOffset: knownEnd, tailReason: null };
      }
      return { ranges, validEnd: size, nextOffset: expected, tailReason: null };
    }
    // Offsets past the next segment's base cannot be in this one.
    const limit = where.knownEndBy === 'next-segment' && knownEnd >= 0 ? knownEnd : Number.MAX_SAFE_INTEGER;
    const resync = findResync(data, pos, expected, where.baseOffset, limit);
    const range = { dir: where.dir, file: where.file, segmentBaseOffset: where.baseOffset, position: pos, firstOffset: expected, reason, foundBy: where.foundBy };
    if (resync !== null) {
      ranges.push({ ...range, end: resync.position, nextOffset: resync.baseOffset, knownBy: 'resync' });
      pos = resync.position;
      expected = resync.baseOffset;
      continue;
    }
    if (knownEnd > expected && knownEnd - where.baseOffset <= MAX_RELATIVE_OFFSET + 1) {
      ranges.push({ ...range, end: size, nextOffset: knownEnd, knownBy: where.knownEndBy });
      return { ranges, validEnd: size, nextOffset: knownEnd, tailReason: null };
    }
    return { ranges, validEnd: pos, nextOffset: expected, tailReason: reason };
  }
}

/**
 * The first position after the break at `pos` where a valid batch starts whose base offset
 * is at or past `expected`: first where the broken batch's own length leads, then by search.
 */
function findResync(data: Buffer, pos: number, expected: number, segmentBase: number, endOffset: number): { position: number; baseOffset: number } | null {
  const size = data.length;
  if (pos + LOG_OVERHEAD <= size) {
    const length = data.readInt32BE(pos + LENGTH_OFFSET);
    if (length >= MIN_BATCH_LENGTH && length <= size - pos - LOG_OVERHEAD) {
      const next = pos + LOG_OVERHEAD + length;
      const base = batchStartsAt(data, next, expected, segmentBase, endOffset);
      if (base >= 0) return { position: next, baseOffset: base };
    }
  }
  const limit = Math.min(size - RECORD_BATCH_OVERHEAD, pos + RESYNC_WINDOW);
  let p = pos + 1;
  while (p <= limit) {
    const m = data.indexOf(MAGIC, p + MAGIC_OFFSET);
    if (m < 0) break;
    p = m - MAGIC_OFFSET;
    if (p > limit) break;
    const base = batchStartsAt(data, p, expected, segmentBase, endOffset);
    if (base >= 0) return { position: p, baseOffset: base };
    p++;
  }
  return null;
}

/** The base offset of a valid batch at `p` that can follow offset `expected - 1` and ends below `endOffset`, or -1. */
function batchStartsAt(data: Buffer, p: number, expected: number, segmentBase: number, endOffset: number): number {
  const size = data.length;
  if (p + RECORD_BATCH_OVERHEAD > size || data[p + MAGIC_OFFSET] !== MAGIC) return -1;
  const length = data.readInt32BE(p + LENGTH_OFFSET);
  if (length < MIN_BATCH_LENGTH || length > size - p - LOG_OVERHEAD) return -1;
  // attributes: only bits 0-6 are assigned, codecs 0-4.
  if (data[p + ATTRIBUTES_OFFSET] !== 0 || (data[p + ATTRIBUTES_OFFSET + 1]! & 0x80) !== 0 || (data[p + ATTRIBUTES_OFFSET + 1]! & 7) > 4) return -1;
  const delta = data.readInt32BE(p + LAST_OFFSET_DELTA_OFFSET);
  if (delta < 0 || data.readInt32BE(p + RECORDS_COUNT_OFFSET) < 0) return -1;
  const base = readInt64(data, p);
  if (!(base >= expected) || base + delta >= endOffset || base + delta - segmentBase > MAX_RELATIVE_OFFSET) return -1;
  const end = p + LOG_OVERHEAD + length;
  return scanBatches(data, p, end) === end ? base : -1;
}

/** The empty batch that stands for offsets [firstOffset, nextOffset) in a rewritten segment. */
export function placeholderBatch(firstOffset: number, nextOffset: number, timestamp: number): Buffer {
  return assembleBatch(Buffer.alloc(0), {
    baseOffset: firstOffset,
    count: 0,
    lastOffsetDelta: nextOffset - firstOffset - 1,
    compression: Compression.None,
    baseTimestamp: timestamp,
    maxTimestamp: timestamp,
  });
}

/**
 * Quarantines `ranges` of the segment held in `data` (whole file), keeping `data[0, keepEnd)`
 * otherwise: writes each range's bytes to a side file and its line to quarantine.jsonl
 * (fsynced), then writes the rewritten segment to `<file>.repair.tmp` (fsynced) and renames
 * it over `file`. A crash before the rename leaves the old file, and the next open finds the
 * same damage again (the record is not duplicated). Returns the entries written.
 */
export function quarantineRanges(data: Buffer, keepEnd: number, ranges: readonly DamagedRange[], file: string): QuarantineEntry[] {
  const dir = path.dirname(file);
  const qdir = path.join(dir, QUARANTINE_DIR);
  fs.mkdirSync(qdir, { recursive: true });
  const known = readQuarantine(dir);
  const entries: QuarantineEntry[] = [];
  const stem = path.basename(file, '.log');
  for (const r of ranges) {
    let side: string | null = null;
    if (r.end > r.position) {
      side = path.join(QUARANTINE_DIR, `${stem}.${r.position}-${r.end}.quarantined`);
      writeSynced(path.join(dir, side), data.subarray(r.position, r.end), 'w');
    }
    const entry: QuarantineEntry = {
      segment: path.basename(file),
      position: r.position,
      end: r.end,
      firstOffset: r.firstOffset,
      nextOffset: r.nextOffset,
      file: side,
      reason: r.reason,
      knownBy: r.knownBy,
      foundBy: r.foundBy,
      at: new Date().toISOString(),
    };
    entries.push(entry);
    if (!known.some((k) => k.segment === entry.segment && k.firstOffset === entry.firstOffset && k.position === entry.position)) {
      writeSynced(path.join(qdir, QUARANTINE_RECORD), Buffer.from(JSON.stringify(entry) + '\n'), 'a');
    }
  }
  syncDir(qdir);
  // The rewritten segment: kept bytes, and an empty batch for each range's offsets.
  const tmp = `${file}.repair.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    let pos = 0;
    let lastTimestamp = -1;
    for (const r of ranges) {
      writeFully(fd, data.subarray(pos, r.position));
      lastTimestamp = Math.max(lastTimestamp, lastMaxTimestamp(data, pos, r.position, lastTimestamp));
      if (r.nextOffset > r.firstOffset) writeFully(fd, placeholderBatch(r.firstOffset, r.nextOffset, lastTimestamp));
      pos = r.end;
    }
    if (keepEnd > pos) writeFully(fd, data.subarray(pos, keepEnd));
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  syncDir(dir);
  return entries;
}

/** The largest batch maxTimestamp of the valid chain in [from, to), or `floor`. */
function lastMaxTimestamp(data: Buffer, from: number, to: number, floor: number): number {
  let ts = floor;
  for (let pos = from; pos + RECORD_BATCH_OVERHEAD <= to; pos += data.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD) {
    ts = Math.max(ts, readInt64(data, pos + MAX_TIMESTAMP_OFFSET));
  }
  return ts;
}

function writeSynced(file: string, data: Buffer, flags: 'w' | 'a'): void {
  const fd = fs.openSync(file, flags);
  try {
    writeFully(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The quarantined ranges recorded in a partition directory, oldest first; [] when none. Skips unreadable lines. */
export function readQuarantine(dir: string): QuarantineEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, QUARANTINE_DIR, QUARANTINE_RECORD), 'utf8');
  } catch {
    return [];
  }
  const out: QuarantineEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const e = JSON.parse(line) as QuarantineEntry;
      if (typeof e.firstOffset === 'number' && typeof e.nextOffset === 'number') out.push(e);
    } catch {
      // A line torn by a crash: the next open finds the damage again and writes it whole.
    }
  }
  return out;
}

/** `[494, 503] (10 offsets, bytes 24000-24540 of 00000000000000000000.log)` */
export function describeQuarantine(e: QuarantineEntry): string {
  const offsets = e.nextOffset > e.firstOffset ? `[${e.firstOffset}, ${e.nextOffset - 1}] (${e.nextOffset - e.firstOffset} offsets` : `no offsets (`;
  return `${offsets}, bytes ${e.position}-${e.end} of ${e.segment}${e.file === null ? '' : `, kept in ${e.file}`})`;
}
