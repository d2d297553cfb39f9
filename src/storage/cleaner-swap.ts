/**
 * Putting a cleaned segment in place, crash-safe, Kafka's way (main thread, synchronous,
 * called by the Log that owns the segments):
 *
 *   0. <base>.log.cleaned   written and fsynced by the cleaner (cleaner.ts)
 *   1. rename it to <base>.log.swap, fsync the directory          <- the commit point
 *   2. remove the group's other segments (.log, .index, .timeindex) and the first
 *      segment's indexes (stale for the new data: they must not survive a crash here)
 *   3. rename <base>.log.swap over <base>.log, fsync the directory
 *   4. open it as a segment and build its indexes from the batch headers
 *
 * Log.open first calls finishInterruptedCompaction: a `.cleaned` file is an unfinished
 * step 0 and is deleted (the old segments are untouched); a `.swap` file is past the commit
 * point and is finished: every segment whose base offset lies in the swap's offset range
 * [base, one past its last batch) goes, the swap becomes <base>.log, and the normal open
 * rebuilds its missing indexes (which checks every CRC).
 *
 * The old segments are closed, not unmapped: a view taken before the swap keeps reading the
 * old bytes (the mapping lives while views do, and the renamed-over file lives with it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { readBatchHeader } from '../record/header.js';
import { CLEANED_SUFFIX, SWAP_SUFFIX } from './cleaner.js';
import { syncDir, walkBatchesInFile } from './cleaner-io.js';
import type { LogConfig } from './config.js';
import { LogCleanerError } from './errors.js';
import { INDEX_SUFFIX, LOG_SUFFIX, LogSegment, segmentFileName, TIME_INDEX_SUFFIX } from './segment.js';
import { mergeTxnIndexes } from './txn-index.js';

/**
 * Swaps the cleaned file of `group` (consecutive segments, first one's base offset) in
 * for the group and returns the new segment. The caller replaces the group with it in its
 * segment list. Throws LogCleanerError when the new segment does not cover exactly the
 * group's offsets (the old files are gone by then: the next open recovers the directory).
 */
export function installCleaned(dir: string, group: readonly LogSegment[], cleanedPath: string, config: LogConfig, now: number): LogSegment {
  const first = group[0]!;
  const last = group[group.length - 1]!;
  const swapPath = path.join(dir, segmentFileName(first.baseOffset, SWAP_SUFFIX));
  fs.renameSync(cleanedPath, swapPath);
  syncDir(dir);
  // Aborted transactions of the merged segments now belong to the one segment left.
  mergeTxnIndexes(dir, first.baseOffset, group.map((s) => s.baseOffset));
  for (const s of group.slice(1)) s.delete();
  first.close();
  first.offsetIndex.delete();
  first.timeIndex.delete();
  fs.renameSync(swapPath, first.logPath);
  syncDir(dir);
  const segment = LogSegment.openCleaned(dir, first.baseOffset, config, now, first.handles);
  if (segment.nextOffset !== last.nextOffset) {
    throw new LogCleanerError(
      dir,
      `cleaned segment ${path.basename(first.logPath)} ends before offset ${segment.nextOffset}, the segments it replaced before ${last.nextOffset}`,
    );
  }
  return segment;
}

/** What finishInterruptedCompaction did. */
export interface InterruptedCompaction {
  /** Base offsets of swaps finished. */
  completedSwaps: number[];
  /** Files removed: unfinished .cleaned files and unreadable .swap files. */
  removed: string[];
}

/** Removes unfinished cleaned files and finishes swaps (see the file comment). Call before listing segments. */
export function finishInterruptedCompaction(dir: string, names: string[] = fs.readdirSync(dir)): InterruptedCompaction {
  const out: InterruptedCompaction = { completedSwaps: [], removed: [] };
  for (const name of names) {
    if (!name.endsWith(CLEANED_SUFFIX)) continue;
    fs.rmSync(path.join(dir, name), { force: true });
    out.removed.push(name);
  }
  const logs = names.filter((n) => /^\d{20}\.log$/.test(n)).map((n) => Number(n.slice(0, 20)));
  for (const name of names) {
    const m = /^(\d{20})\.log\.swap$/.exec(name);
    if (m === null) continue;
    const base = Number(m[1]);
    const swapPath = path.join(dir, name);
    const end = swapEnd(swapPath, base);
    if (end < 0) {
      // Only a failing disk makes an fsynced swap unreadable; the old segments were not
      // touched before it was complete, so they are what is left to trust.
      fs.rmSync(swapPath, { force: true });
      out.removed.push(name);
      continue;
    }
    mergeTxnIndexes(dir, base, logs.filter((b) => b >= base && b < end));
    for (const b of logs) {
      if (b < base || b >= end) continue;
      for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]) fs.rmSync(path.join(dir, segmentFileName(b, suffix)), { force: true });
    }
    fs.rmSync(path.join(dir, segmentFileName(base, INDEX_SUFFIX)), { force: true });
    fs.rmSync(path.join(dir, segmentFileName(base, TIME_INDEX_SUFFIX)), { force: true });
    fs.renameSync(swapPath, path.join(dir, segmentFileName(base, LOG_SUFFIX)));
    out.completedSwaps.push(base);
  }
  if (out.removed.length > 0 || out.completedSwaps.length > 0) syncDir(dir);
  return out;
}

/** One past the last offset of the swap file, when its batches follow on densely from `base` to its end; else -1. */
function swapEnd(file: string, base: number): number {
  const size = fs.statSync(file).size;
  let next = base;
  let ok = size > 0;
  const problem = walkBatchesInFile(file, size, (batch) => {
    let h;
    try {
      h = readBatchHeader(batch, 0);
    } catch {
      ok = false; // not magic 2
      return false;
    }
    if (h.baseOffset !== next || h.lastOffsetDelta < 0) {
      ok = false;
      return false;
    }
    next = h.lastOffset + 1;
    return true;
  });
  return ok && problem === null ? next : -1;
}
