/**
 * Helpers of the compaction tests: keyed batches, a model of what compaction must keep, and
 * a reader that walks a whole log checking that its batches stay dense.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { batchesIn, buildBatch, readBatchHeader, readRecords, type BatchOptions } from '../src/record/index.js';
import type { Log } from '../src/storage/index.js';

export const T0 = 1_700_000_000_000;

/** One record: null key = keyless, null value = tombstone. */
export interface Rec {
  key: string | null;
  value: string | null;
  ts?: number;
}

/** What the log holds at an offset. */
export interface Stored {
  offset: number;
  key: string | null;
  value: string | null;
}

export interface StoredBatch {
  baseOffset: number;
  lastOffset: number;
  count: number;
  codec: number;
  attributes: number;
  bytes: number;
}

export function batchOf(recs: Rec[], options: BatchOptions = {}): Buffer {
  return buildBatch(
    recs.map((r) => ({ key: r.key, value: r.value, timestamp: r.ts ?? T0 })),
    { now: T0, ...options },
  );
}

/** Appends recs as one batch and records each record's offset in `model`. */
export function put(log: Log, model: Stored[], recs: Rec[], options: BatchOptions = {}): void {
  const info = log.append(batchOf(recs, options));
  recs.forEach((r, i) => model.push({ offset: info.firstOffset + i, key: r.key, value: r.value }));
}

/**
 * What compaction must leave: every keyless record, every record at or after `keepFrom`
 * (the active / uncleanable part), and the latest record of each key, unless it is a
 * tombstone that `dropTombstone` says has expired.
 */
export function expected(model: Stored[], keepFrom: number, dropTombstone: (s: Stored) => boolean = () => false): Stored[] {
  const latest = new Map<string, number>();
  for (const s of model) if (s.key !== null) latest.set(s.key, s.offset);
  return model.filter((s) => {
    if (s.offset >= keepFrom || s.key === null) return true;
    if (latest.get(s.key) !== s.offset) return false;
    return !(s.value === null && dropTombstone(s));
  });
}

/** Every record and batch of the log, read with Log.read; checks the batches are dense. */
export function readLog(log: Log): { records: Stored[]; batches: StoredBatch[] } {
  const records: Stored[] = [];
  const batches: StoredBatch[] = [];
  let offset = log.logStartOffset;
  let next = -1;
  while (offset < log.logEndOffset) {
    const r = log.read(offset, 1 << 20);
    expect(r.records.length).toBeGreaterThan(0);
    for (const batch of batchesIn(r.records)) {
      const h = readBatchHeader(batch);
      if (h.lastOffset < offset) continue;
      if (next >= 0) expect(h.baseOffset).toBe(next);
      next = h.lastOffset + 1;
      batches.push({ baseOffset: h.baseOffset, lastOffset: h.lastOffset, count: h.recordsCount, codec: h.compression, attributes: h.attributes, bytes: batch.length });
      for (const rec of readRecords(batch)) {
        if (rec.offset < offset) continue;
        records.push({ offset: rec.offset, key: rec.key === null ? null : rec.key.toString(), value: rec.value === null ? null : rec.value.toString() });
      }
    }
    offset = r.nextOffset;
  }
  expect(next === -1 ? log.logStartOffset : next).toBe(log.logEndOffset);
  return { records, batches };
}

/** The .log files of a partition directory with their bytes, by name. */
export function logFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of fs.readdirSync(dir).sort()) if (/^\d{20}\.log$/.test(name)) out.set(name, fs.readFileSync(path.join(dir, name)));
  return out;
}

/** Like an unclean shutdown: no marker, no checkpoint, so open recovers every segment. */
export function forgetCleanShutdown(dir: string): void {
  fs.rmSync(path.join(dir, '.clean-shutdown'), { force: true });
  fs.rmSync(path.join(dir, 'partition.checkpoint'), { force: true });
}
