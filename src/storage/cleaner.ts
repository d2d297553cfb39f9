/**
 * The log cleaner (Kafka's cleanup.policy=compact): the part that reads and writes data.
 * Given a job planned by Log.compact (cleaner-plan.ts), it
 *
 *   1. builds the offset map (cleaner-map.ts): the highest offset of every key in the map
 *      sources, the dirty part of the log and everything after it up to the active segment,
 *      counting only records below mapEndOffset;
 *   2. cleans each group of consecutive sealed segments into one `<first base>.log.cleaned`
 *      (cleaner-batch.ts decides each batch), fsynced. A one-segment group in which nothing
 *      changes writes no file at all.
 *
 * Swapping the files into place is the Log's job, on its own thread (cleaner-swap.ts). This
 * part takes paths and numbers only, uses plain reads and writes (cleaner-io.ts says why),
 * and runs the same inline or in a worker (task 'compactSegments'). Synchronous; each call
 * owns its map and its files, so calls for different logs may run in parallel. On failure
 * it removes every .cleaned file it wrote and throws LogCleanerError.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CorruptRecordError } from '../record/errors.js';
import { readBatchHeader } from '../record/header.js';
import { abortedCheck, cleanBatch, entersMap, walkRecords, type AbortedCheck, type CleanParams } from './cleaner-batch.js';
import { CleanedFileWriter, walkBatchesInFile, type WalkProblem } from './cleaner-io.js';
import { KeyMap } from './cleaner-map.js';
import { LogCleanerError } from './errors.js';

/** A segment's file suffixes during a swap: cleaned data being written, then the swap itself. */
export const CLEANED_SUFFIX = '.log.cleaned';
export const SWAP_SUFFIX = '.log.swap';

/** One segment as the job sees it: the file and the data it held when the job was planned. */
export interface CompactionSource {
  path: string;
  baseOffset: number;
  /** One past the last offset in the first `size` bytes. */
  nextOffset: number;
  size: number;
}

/** Everything a compaction run needs; structured-cloneable, so it can go to a worker. */
export interface CompactionJob {
  dir: string;
  /** Segments whose records build the map, oldest first (the active segment last). */
  mapSources: CompactionSource[];
  /** Records at or after this offset do not enter the map (the high watermark, say). */
  mapEndOffset: number;
  /** Consecutive sealed segments; each group becomes one segment named after its first. */
  groups: CompactionSource[][];
  /** Tombstones in batches whose maxTimestamp is below now - deleteRetentionMs are removed. */
  now: number;
  deleteRetentionMs: number;
  /** Bound on one batch's decompressed records. */
  maxDecompressedSize: number;
  /**
   * The partition's aborted transactions, when the caller knows them (then mapEndOffset is
   * at most the last stable offset): their records are removed, committed transactional
   * records are compacted like others. Absent: transactional records supersede nothing.
   */
  abortedTxns?: { producerId: number; firstOffset: number; lastOffset: number }[];
}

/** What happened to one group. */
export interface CleanedGroup {
  baseOffset: number;
  /** The fsynced .cleaned file, or null when nothing was written (nothing changed, or missing). */
  cleanedPath: string | null;
  /** A segment of the group was gone or shorter than planned (retention or truncation meanwhile). */
  missing: boolean;
  segments: number;
  bytesBefore: number;
  bytesAfter: number;
  batches: number;
  /** Batches that lost every record and were written empty. */
  emptyBatches: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  /** One past the last offset written. */
  nextOffset: number;
}

export interface CompactionJobResult {
  groups: CleanedGroup[];
  /** Distinct keys in the offset map. */
  distinctKeys: number;
}

/** `<dir>/<20-digit base>.log.cleaned` */
export function cleanedPathFor(dir: string, baseOffset: number): string {
  return path.join(dir, String(baseOffset).padStart(20, '0') + CLEANED_SUFFIX);
}

/** Builds the map, then cleans every group. See the file comment. */
export function runCompactionJob(job: CompactionJob): CompactionJobResult {
  const aborted = abortedCheck(job.abortedTxns);
  const map = buildOffsetMap(job, aborted);
  const params: CleanParams = {
    map,
    tombstoneHorizon: job.now - job.deleteRetentionMs,
    maxDecompressedSize: job.maxDecompressedSize,
    aborted,
  };
  const groups: CleanedGroup[] = [];
  try {
    for (const group of job.groups) groups.push(cleanGroup(job.dir, group, params));
  } catch (err) {
    for (const g of groups) if (g.cleanedPath !== null) fs.rmSync(g.cleanedPath, { force: true });
    throw err;
  }
  return { groups, distinctKeys: map.size };
}

function buildOffsetMap(job: CompactionJob, aborted: AbortedCheck): KeyMap {
  const map = new KeyMap();
  const end = job.mapEndOffset;
  for (const source of job.mapSources) {
    if (source.baseOffset >= end) break;
    const outcome = walkBatchesInFile(source.path, source.size, (batch, position) => {
      const h = readBatchHeader(batch, 0);
      if (h.baseOffset >= end) return false;
      if (!entersMap(h, aborted)) return true;
      try {
        walkRecords(batch, h, job.maxDecompressedSize, (offset, data, keyStart, keyLength) => {
          if (keyLength >= 0 && offset < end) map.put(data, keyStart, keyLength, offset);
        });
      } catch (err) {
        throw asCleanerError(job.dir, source, position, h.baseOffset, err);
      }
      return true;
    });
    // A source deleted meanwhile (retention) only leaves keys out of the map: the cleaner
    // then keeps more, never less.
    if (outcome !== null && outcome !== 'missing') throw walkError(job.dir, source, outcome);
  }
  return map;
}

function cleanGroup(dir: string, group: CompactionSource[], params: CleanParams): CleanedGroup {
  const first = group[0]!;
  const out: CleanedGroup = {
    baseOffset: first.baseOffset,
    cleanedPath: null,
    missing: false,
    segments: group.length,
    bytesBefore: 0,
    bytesAfter: 0,
    batches: 0,
    emptyBatches: 0,
    recordsRemoved: 0,
    tombstonesRemoved: 0,
    nextOffset: first.baseOffset,
  };
  const target = cleanedPathFor(dir, first.baseOffset);
  // A merge always writes; a single segment only from its first change on.
  let writer: CleanedFileWriter | null = group.length > 1 ? new CleanedFileWriter(target) : null;
  try {
    for (const source of group) {
      if (out.nextOffset !== source.baseOffset) {
        throw new LogCleanerError(dir, `segment ${path.basename(source.path)} starts at offset ${source.baseOffset}, not at ${out.nextOffset} where the one before ended`);
      }
      let written = 0; // bytes of this source already in the writer (or in no writer: unchanged so far)
      const outcome = walkBatchesInFile(source.path, source.size, (batch, position) => {
        const h = readBatchHeader(batch, 0);
        if (h.baseOffset !== out.nextOffset) {
          throw new LogCleanerError(dir, `batch at byte ${position} of ${path.basename(source.path)} has baseOffset ${h.baseOffset}, expected ${out.nextOffset}`);
        }
        let cleaned;
        try {
          cleaned = cleanBatch(batch, params);
        } catch (err) {
          throw asCleanerError(dir, source, position, h.baseOffset, err);
        }
        if (writer === null && cleaned.bytes !== batch) {
          writer = new CleanedFileWriter(target);
          copyPrefix(source.path, position, writer);
        }
        writer?.write(cleaned.bytes);
        written = position + batch.length;
        out.batches++;
        if (cleaned.records === 0 && cleaned.removed > 0) out.emptyBatches++;
        out.recordsRemoved += cleaned.removed;
        out.tombstonesRemoved += cleaned.tombstonesRemoved;
        out.nextOffset = h.lastOffset + 1;
        return true;
      });
      if (outcome !== null && outcome !== 'missing') throw walkError(dir, source, outcome);
      if (outcome === 'missing' || written !== source.size || out.nextOffset !== source.nextOffset) {
        // Gone or cut meanwhile: whatever was cleaned would not match the log any more.
        (writer as CleanedFileWriter | null)?.abort();
        return { ...out, missing: true, cleanedPath: null };
      }
      out.bytesBefore += source.size;
    }
    const w = writer as CleanedFileWriter | null;
    if (w === null) {
      out.bytesAfter = out.bytesBefore;
      return out;
    }
    w.finish();
    out.bytesAfter = w.size;
    out.cleanedPath = target;
    return out;
  } catch (err) {
    (writer as CleanedFileWriter | null)?.abort();
    throw err;
  }
}

/** Copies bytes [0, end) of `file` into the writer (the unchanged start of a segment). */
function copyPrefix(file: string, end: number, writer: CleanedFileWriter): void {
  if (end === 0) return;
  walkBatchesInFile(file, end, (batch) => {
    writer.write(batch);
    return true;
  });
}

function walkError(dir: string, source: CompactionSource, problem: WalkProblem): LogCleanerError {
  return new LogCleanerError(dir, `${path.basename(source.path)} (offsets from ${source.baseOffset}) at byte ${problem.position}: ${problem.reason}`);
}

function asCleanerError(dir: string, source: CompactionSource, position: number, baseOffset: number, err: unknown): unknown {
  if (err instanceof LogCleanerError || !(err instanceof CorruptRecordError)) return err;
  return new LogCleanerError(
    dir,
    `batch at byte ${position} of ${path.basename(source.path)} (baseOffset ${baseOffset}): ${err.message}`,
    { cause: err },
  );
}
