/**
 * Log compaction on real partition logs in temp directories: what stays, what goes, offsets,
 * empty batches, codecs, the time rules, merging, and the crash-safe swap.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchesIn, Compression, readBatchHeader, readRecords } from '../src/record/index.js';
import { Log, type LogOptions } from '../src/storage/index.js';
import {
  batchOf,
  expected,
  forgetCleanShutdown,
  put,
  readLog,
  T0,
  type Rec,
  type Stored,
} from './storage-compaction-helpers.js';
import { tmpDir } from './helpers/tmp.js';

const config: LogOptions = { background: false, segmentBytes: 1500, indexIntervalBytes: 200, segmentMs: Infinity, retentionMs: -1 };
/** Options of a run where only superseded records go. */
const keepTombstones = { now: T0 + 1000, deleteRetentionMs: 1e12, minCompactionLagMs: 0 };

function openLog(options: LogOptions = {}): { dir: string; log: Log } {
  const dir = path.join(tmpDir(), 'topic-0');
  return { dir, log: Log.open(dir, { ...config, ...options }) };
}

const activeBase = (log: Log): number => log.segmentBaseOffsets.at(-1)!;

/** `rounds` batches of 4 records over `keys` keys, values naming the round. */
function overwrite(log: Log, model: Stored[], rounds: number, keys: number, options = {}): void {
  for (let r = 0; r < rounds; r++) {
    const recs: Rec[] = [];
    for (let i = 0; i < 4; i++) recs.push({ key: `k${(r * 3 + i * 7) % keys}`, value: `v${r}-${i}`.padEnd(24, '.') });
    put(log, model, recs, options);
  }
}

describe('Log.compact', () => {
  it('keeps only the latest record of each key, at its offset, across many segments', async () => {
    const { dir, log } = openLog();
    const model: Stored[] = [];
    overwrite(log, model, 120, 10);
    expect(log.segmentCount).toBeGreaterThan(5);
    const leo = log.logEndOffset;
    const keepFrom = activeBase(log);
    expect(log.dirtyRatio).toBe(1);
    const r = await log.compact(keepTombstones);
    const want = expected(model, keepFrom);
    expect(readLog(log).records).toEqual(want);
    expect(log.logEndOffset).toBe(leo);
    expect(r.recordsRemoved).toBe(model.length - want.length);
    expect(r.tombstonesRemoved).toBe(0);
    expect(r.bytesAfter).toBeLessThan(r.bytesBefore);
    expect(r.segmentsCleaned).toBeGreaterThan(0);
    expect(r.cleanedOffset).toBe(keepFrom);
    expect(r.distinctKeys).toBe(10);
    expect(log.dirtyRatio).toBe(0);
    // Again: nothing more to remove. Segments that shrank may merge further, then it settles.
    let runs = 0;
    for (;;) {
      const again = await log.compact(keepTombstones);
      expect(again.recordsRemoved).toBe(0);
      if (again.segmentsRewritten === 0) break;
      expect(again.segmentsMerged).toBeGreaterThan(0);
      expect(++runs).toBeLessThan(5);
    }
    expect(readLog(log).records).toEqual(want);
    await log.close();
    const reopened = Log.open(dir, config);
    expect(readLog(reopened).records).toEqual(want);
    expect(reopened.cleanedOffset).toBe(keepFrom);
    expect(reopened.dirtyRatio).toBe(0);
    await reopened.close();
  });

  it('lets keys in the active segment supersede older copies, and keeps the active segment whole', async () => {
    const { log } = openLog();
    const model: Stored[] = [];
    overwrite(log, model, 60, 5);
    const keepFrom = activeBase(log);
    // The active segment gets its own copies of every key, twice.
    for (let i = 0; i < 2; i++) put(log, model, [0, 1, 2, 3, 4].map((k) => ({ key: `k${k}`, value: `active-${i}` })));
    expect(activeBase(log)).toBe(keepFrom);
    await log.compact(keepTombstones);
    const left = readLog(log).records;
    expect(left).toEqual(model.filter((s) => s.offset >= keepFrom));
    await log.close();
  });

  it('lets nothing at or past maxOffset (the high watermark) supersede, nor get cleaned', async () => {
    const { log } = openLog();
    const model: Stored[] = [];
    overwrite(log, model, 60, 5);
    const hw = log.logEndOffset;
    const keepFrom = activeBase(log);
    put(log, model, [0, 1, 2, 3, 4].map((k) => ({ key: `k${k}`, value: 'above the high watermark' })));
    await log.compact({ ...keepTombstones, maxOffset: hw });
    // As if the records past the high watermark were not there.
    const below = expected(model.filter((s) => s.offset < hw), keepFrom);
    expect(readLog(log).records).toEqual([...below, ...model.filter((s) => s.offset >= hw)]);
    await log.close();
    await expect(log.compact(keepTombstones)).rejects.toThrow(/closed/);
  });

  it('keeps records without a key', async () => {
    const { log } = openLog();
    const model: Stored[] = [];
    for (let r = 0; r < 50; r++) {
      put(log, model, [
        { key: 'same', value: `s${r}` },
        { key: null, value: `keyless-${r}` },
        { key: null, value: null },
      ]);
    }
    const keepFrom = activeBase(log);
    await log.compact(keepTombstones);
    const left = readLog(log).records;
    expect(left).toEqual(expected(model, keepFrom));
    expect(left.filter((s) => s.key === null).length).toBe(100);
    await log.close();
  });

  it('removes tombstones only once their batch is older than delete.retention.ms', async () => {
    const { log } = openLog();
    const model: Stored[] = [];
    const tombstoneTs = T0 + 5000;
    put(log, model, [{ key: 'gone', value: 'first', ts: T0 }, { key: 'kept', value: 'x', ts: T0 }]);
    put(log, model, [{ key: 'gone', value: null, ts: tombstoneTs }]);
    overwrite(log, model, 40, 4); // keys k0..k3, enough to seal the segments above
    const keepFrom = activeBase(log);
    const retention = 60_000;
    const early = await log.compact({ now: tombstoneTs + retention - 1, deleteRetentionMs: retention, minCompactionLagMs: 0 });
    expect(early.tombstonesRemoved).toBe(0);
    let left = readLog(log).records;
    expect(left).toEqual(expected(model, keepFrom));
    expect(left.find((s) => s.key === 'gone')).toEqual({ offset: 2, key: 'gone', value: null });
    const late = await log.compact({ now: tombstoneTs + retention + 1, deleteRetentionMs: retention, minCompactionLagMs: 0 });
    expect(late.tombstonesRemoved).toBe(1);
    expect(late.recordsRemoved).toBe(1);
    left = readLog(log).records;
    expect(left.find((s) => s.key === 'gone')).toBeUndefined();
    expect(left).toEqual(expected(model, keepFrom, (s) => s.key === 'gone'));
    // A superseded tombstone goes whatever its age.
    await log.close();
  });

  it('does not clean a segment younger than min.compaction.lag.ms, nor any after it', async () => {
    const { log } = openLog();
    const model: Stored[] = [];
    // Old segments (timestamps T0), then young ones (T0 + 100 s), then the active one.
    for (let r = 0; r < 30; r++) put(log, model, [{ key: 'a', value: `old-${r}`.padEnd(40, '.'), ts: T0 }, { key: `o${r % 3}`, value: 'x', ts: T0 }]);
    put(log, model, [{ key: 'pad', value: 'x'.repeat(1400), ts: T0 }]); // a segment of its own: what follows starts a new one
    const youngBase = log.logEndOffset;
    for (let r = 0; r < 30; r++) put(log, model, [{ key: 'a', value: `young-${r}`.padEnd(40, '.'), ts: T0 + 100_000 }]);
    const keepFrom = activeBase(log);
    expect(log.segmentBaseOffsets).toContain(youngBase);
    expect(keepFrom).toBeGreaterThan(youngBase);
    const r = await log.compact({ now: T0 + 110_000, deleteRetentionMs: 1e12, minCompactionLagMs: 50_000 });
    expect(r.cleanedOffset).toBe(youngBase);
    const left = readLog(log).records;
    // Old copies of 'a' are gone (newer ones exist), every young one stayed.
    expect(left).toEqual(expected(model, youngBase));
    expect(left.filter((s) => s.key === 'a' && s.value!.startsWith('young')).length).toBe(30);
    expect(left.filter((s) => s.key === 'a' && s.value!.startsWith('old')).length).toBe(0);
    expect(log.dirtyRatio).toBeGreaterThan(0);
    expect(log.dirtyRatio).toBeLessThan(1);
    // Once they are old enough, they are cleaned too.
    await log.compact({ now: T0 + 200_000, deleteRetentionMs: 1e12, minCompactionLagMs: 50_000 });
    expect(readLog(log).records).toEqual(expected(model, keepFrom));
    await log.close();
  });

  it('rebuilds compressed batches with their codec and leaves empty batches where every record went', async () => {
    for (const compression of ['lz4', 'gzip', 'snappy'] as const) {
      const { dir, log } = openLog();
      const model: Stored[] = [];
      for (let r = 0; r < 60; r++) {
        const keys = [0, 1, 2, 3].map((i) => (r % 3 === 0 && i === 2 ? `u${r}` : `k${(r + i) % 5}`));
        put(log, model, keys.map((key, i) => ({ key, value: `v${r}-${i}`.padEnd(30, '.') })), { compression });
      }
      const keepFrom = activeBase(log);
      await log.compact(keepTombstones);
      const { records, batches } = readLog(log);
      expect(records).toEqual(expected(model, keepFrom));
      const sealed = batches.filter((b) => b.baseOffset < keepFrom);
      expect(sealed.some((b) => b.count === 0)).toBe(true);
      expect(sealed.some((b) => b.count > 0 && b.count < 4)).toBe(true);
      for (const b of sealed) {
        expect(b.lastOffset - b.baseOffset).toBe(3); // offset range kept
        expect(b.codec).toBe(b.count === 0 ? Compression.None : Compression[compression === 'lz4' ? 'Lz4' : compression === 'gzip' ? 'Gzip' : 'Snappy']);
      }
      // An unclean open checks every batch (CRC, dense offsets) and cuts nothing.
      await log.close();
      forgetCleanShutdown(dir);
      const reopened = Log.open(dir, config);
      expect(reopened.recovery.cleanShutdown).toBe(false);
      expect(reopened.recovery.recovered.length).toBe(reopened.segmentCount);
      expect(reopened.recovery.truncatedBytes).toBe(0);
      expect(reopened.recovery.deletedSegments).toEqual([]);
      expect(readLog(reopened).records).toEqual(expected(model, keepFrom));
      await reopened.close();
    }
  });

  it('serves empty batches and gaps inside batches to readers', async () => {
    const { dir, log } = openLog();
    log.append(batchOf([{ key: 'a', value: '1' }, { key: 'b', value: '1' }, { key: 'c', value: '1' }])); // 0..2
    log.append(batchOf([{ key: 'd', value: '1' }, { key: 'b', value: '2' }, { key: 'e', value: '1' }])); // 3..5
    log.append(batchOf([{ key: 'a', value: '2' }, { key: 'c', value: '2' }, { key: 'd', value: '2' }, { key: 'e', value: '2' }])); // 6..9
    log.append(batchOf([{ key: 'pad', value: 'x'.repeat(1400) }])); // 10, a segment of its own
    log.append(batchOf([{ key: 'z', value: 'active' }])); // 11, in the new active segment
    expect(activeBase(log)).toBe(11);
    await log.compact(keepTombstones);
    // Batch 0..2 kept nothing, 3..5 kept only 'b' (offset 4): a gap before and after it.
    const empty = log.read(1, 1);
    expect(empty.firstOffset).toBe(0);
    const h = readBatchHeader(empty.records);
    expect([h.recordsCount, h.lastOffsetDelta, h.compression]).toEqual([0, 2, Compression.None]);
    expect(readRecords(empty.records)).toEqual([]);
    expect(empty.nextOffset).toBe(3);
    const gap = log.read(5, 1);
    expect(gap.firstOffset).toBe(3);
    expect(readRecords(gap.records).map((r) => [r.offset, r.key!.toString()])).toEqual([[4, 'b']]);
    expect(gap.nextOffset).toBe(6);
    expect(readLog(log).records.map((s) => s.offset)).toEqual([4, 6, 7, 8, 9, 10, 11]);
    await log.close();
    forgetCleanShutdown(dir);
    const reopened = Log.open(dir, config);
    expect(reopened.recovery.truncatedBytes).toBe(0);
    expect(readLog(reopened).records.map((s) => s.offset)).toEqual([4, 6, 7, 8, 9, 10, 11]);
    await reopened.close();
  });

  it('merges consecutive small segments up to segment.bytes', async () => {
    const { dir, log } = openLog({ segmentBytes: 400 });
    const model: Stored[] = [];
    overwrite(log, model, 80, 8);
    const before = log.segmentCount;
    expect(before).toBeGreaterThan(15);
    const keepFrom = activeBase(log);
    log.reconfigure({ segmentBytes: 2500 });
    const r = await log.compact(keepTombstones);
    expect(r.segmentsMerged).toBeGreaterThan(0);
    expect(log.segmentCount).toBe(before - r.segmentsMerged);
    expect(log.segmentBaseOffsets[0]).toBe(0);
    const sizes = fs.readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => fs.statSync(path.join(dir, f)).size);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(2500);
    expect(readLog(log).records).toEqual(expected(model, keepFrom));
    await log.close();
    forgetCleanShutdown(dir);
    const reopened = Log.open(dir, { ...config, segmentBytes: 2500 });
    expect(reopened.recovery.truncatedBytes).toBe(0);
    expect(reopened.segmentCount).toBe(before - r.segmentsMerged);
    expect(readLog(reopened).records).toEqual(expected(model, keepFrom));
    await reopened.close();
  });

  it('keeps views taken before the compaction reading the old bytes', async () => {
    const { log } = openLog();
    const model: Stored[] = [];
    overwrite(log, model, 60, 5);
    const view = log.read(0, 1 << 20).records;
    const copy = Buffer.from(view);
    const r = await log.compact(keepTombstones);
    expect(r.segmentsRewritten).toBeGreaterThan(0);
    (globalThis as { gc?: () => void }).gc?.();
    expect(view.equals(copy)).toBe(true);
    const offsets = [...batchesIn(view)].flatMap((b) => readRecords(b).map((x) => x.offset));
    expect(offsets.slice(0, 4)).toEqual([0, 1, 2, 3]);
    await log.close();
  });

  it('persists the cleaned offset and reads checkpoints without one', async () => {
    const { dir, log } = openLog();
    const model: Stored[] = [];
    overwrite(log, model, 60, 5);
    await log.close();
    const text = fs.readFileSync(path.join(dir, 'partition.checkpoint'), 'utf8');
    expect(text).not.toContain('cleanedOffset');
    const again = Log.open(dir, config);
    expect(again.cleanedOffset).toBe(0);
    expect(again.dirtyRatio).toBe(1);
    const r = await again.compact(keepTombstones);
    await again.close();
    expect(fs.readFileSync(path.join(dir, 'partition.checkpoint'), 'utf8')).toContain(`cleanedOffset ${r.cleanedOffset}`);
  });
});
