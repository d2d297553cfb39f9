/**
 * Planning a compaction run over a Log's segments (main thread, no I/O), Kafka's way:
 *
 *   clean part      segments below the cleaned offset (the end of the last run's cleanable
 *                   range): already compacted, so no key repeats in them
 *   dirty part      everything from there on, the active segment included
 *   cleanable range sealed segments from the first on, up to (not including) the first
 *                   one that is too young (its maxTimestamp is after now - min.compaction.lag.ms)
 *                   or reaches past mapEndOffset; a prefix, so "cleaned up to" is one offset
 *
 * The offset map is built over the dirty part, records below mapEndOffset only: a key
 * there supersedes its older copies anywhere, the active segment's included. Every segment
 * of the cleanable range is then cleaned with it, the clean part too (a key in it may have
 * a newer copy in the dirty part).
 *
 * Grouping (Kafka's groupSegmentsBySize): consecutive cleanable segments are merged into one
 * while their sizes before cleaning add up to at most segment.bytes, the merged indexes
 * cannot outgrow segment.index.bytes, and the offsets still fit the index's 32-bit relative
 * offsets. Sizes before cleaning are an upper bound on sizes after, so a merged segment
 * never exceeds the limits; segments that shrink a lot merge further on the next run.
 */
import { RECORD_BATCH_OVERHEAD } from '../record/layout.js';
import type { CompactionJob, CompactionSource } from './cleaner.js';
import type { LogConfig } from './config.js';
import type { LogSegment } from './segment.js';

const MAX_RELATIVE_OFFSET = 2 ** 31 - 1;

export interface PlanOptions {
  now: number;
  deleteRetentionMs: number;
  minCompactionLagMs: number;
  /** Records at or after this offset neither enter the map nor get cleaned. */
  mapEndOffset: number;
  maxDecompressedSize: number;
}

export interface CompactionPlan {
  job: CompactionJob;
  /** The segment objects of each job group, to check at swap time that they are still the log's. */
  groups: LogSegment[][];
  /** One past the cleanable range: the log's new cleaned offset once the run is done; -1 when the range is empty. */
  cleanableEnd: number;
}

/** The plan for `segments` (the last one active), given the offset below which the log is clean. */
export function planCompaction(
  dir: string,
  segments: readonly LogSegment[],
  config: LogConfig,
  cleanedOffset: number,
  o: PlanOptions,
): CompactionPlan {
  const lagHorizon = o.now - o.minCompactionLagMs;
  const cleanable: LogSegment[] = [];
  for (let i = 0; i < segments.length - 1; i++) {
    const s = segments[i]!;
    if (s.maxTimestamp > lagHorizon || s.nextOffset > o.mapEndOffset) break;
    cleanable.push(s);
  }
  const firstDirty = segments.findIndex((s) => s.nextOffset > cleanedOffset);
  const mapSources = firstDirty < 0 ? [] : segments.slice(firstDirty).map(source);
  const groups = groupBySize(cleanable, config);
  return {
    job: {
      dir,
      mapSources,
      mapEndOffset: o.mapEndOffset,
      groups: groups.map((g) => g.map(source)),
      now: o.now,
      deleteRetentionMs: o.deleteRetentionMs,
      maxDecompressedSize: o.maxDecompressedSize,
    },
    groups,
    cleanableEnd: cleanable.length > 0 ? cleanable[cleanable.length - 1]!.nextOffset : -1,
  };
}

function source(s: LogSegment): CompactionSource {
  return { path: s.logPath, baseOffset: s.baseOffset, nextOffset: s.nextOffset, size: s.size };
}

function groupBySize(segments: LogSegment[], config: LogConfig): LogSegment[][] {
  const groups: LogSegment[][] = [];
  let current: LogSegment[] = [];
  let bytes = 0;
  for (const s of segments) {
    if (current.length > 0 && !fits(current[0]!, s, bytes + s.size, config)) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(s);
    bytes += s.size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** Whether a segment from `first` through `last` of `bytes` bytes stays within the segment limits. */
function fits(first: LogSegment, last: LogSegment, bytes: number, config: LogConfig): boolean {
  if (bytes > config.segmentBytes) return false;
  if (last.nextOffset - 1 - first.baseOffset > MAX_RELATIVE_OFFSET) return false;
  // An index entry needs index.interval.bytes of log since the last one (or a batch when
  // that is 0), and sealing adds one time index entry.
  const perEntry = Math.max(config.indexIntervalBytes, RECORD_BATCH_OVERHEAD);
  const entries = Math.floor(bytes / perEntry) + 1;
  return entries <= Math.min(first.offsetIndex.maxEntries, first.timeIndex.maxEntries);
}
