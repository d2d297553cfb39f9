/**
 * Compaction's swap and what runs beside it: crashes at each step of the swap (left as
 * files, then reopened), the worker pool against inline, appends, retention, truncation and
 * close while a job runs in a worker, and a corrupt segment. The pooled tests need the
 * compiled worker entry (npm run build / npx tsc -p tsconfig.json).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Log, LogCleanerError, runCompactionJob, type CompactionJob, type LogOptions } from '../src/storage/index.js';
import { WorkerPool } from '../src/workers/index.js';
import { expected, forgetCleanShutdown, logFiles, put, readLog, T0, type Rec, type Stored } from './storage-compaction-helpers.js';
import { tmpDir } from './helpers/tmp.js';

const config: LogOptions = { background: false, segmentBytes: 600, indexIntervalBytes: 100, segmentMs: Infinity, retentionMs: -1 };
const run = { now: T0 + 1000, deleteRetentionMs: 1e12, minCompactionLagMs: 0 };

const pool = new WorkerPool({ threads: 2 });
afterAll(() => pool.close());

/** A log of many small segments where keys k0..k5 are overwritten again and again. */
function makeLog(rounds = 80): { dir: string; log: Log; model: Stored[] } {
  const dir = path.join(tmpDir(), 'topic-0');
  const log = Log.open(dir, config);
  const model: Stored[] = [];
  for (let r = 0; r < rounds; r++) {
    const recs: Rec[] = [0, 1, 2].map((i) => ({ key: `k${(r + 2 * i) % 6}`, value: `v${r}-${i}`.padEnd(20, '.') }));
    if (r % 10 === 0) recs.push({ key: null, value: `keyless-${r}` });
    put(log, model, recs);
  }
  return { dir, log, model };
}

const activeBase = (log: Log): number => log.segmentBaseOffsets.at(-1)!;
const leftovers = (dir: string): string[] => fs.readdirSync(dir).filter((f) => /\.(cleaned|swap)$/.test(f));

/** The compaction job for the first `n` segments of a closed log, merged into one group. */
function jobForFirst(dir: string, n: number): { job: CompactionJob; end: number } {
  const names = fs.readdirSync(dir).filter((f) => /^\d{20}\.log$/.test(f)).sort();
  const bases = names.map((f) => Number(f.slice(0, 20)));
  const sources = names.map((f, i) => ({
    path: path.join(dir, f),
    baseOffset: bases[i]!,
    nextOffset: bases[i + 1] ?? -1,
    size: fs.statSync(path.join(dir, f)).size,
  }));
  const end = bases[n]!;
  const job: CompactionJob = {
    dir,
    mapSources: sources,
    mapEndOffset: Number.MAX_SAFE_INTEGER,
    groups: [sources.slice(0, n)],
    now: run.now,
    deleteRetentionMs: run.deleteRetentionMs,
    maxDecompressedSize: 64 << 20,
  };
  return { job, end };
}

describe('compaction swap after a crash', () => {
  it('drops an unfinished .cleaned file on open and keeps the old segments', async () => {
    const { dir, log, model } = makeLog();
    await log.close();
    const { job } = jobForFirst(dir, 3);
    const result = runCompactionJob(job);
    expect(result.groups[0]!.cleanedPath).not.toBeNull();
    expect(leftovers(dir)).toEqual(['00000000000000000000.log.cleaned']);
    const reopened = Log.open(dir, config);
    expect(leftovers(dir)).toEqual([]);
    expect(readLog(reopened).records).toEqual(model);
    await reopened.close();
  });

  for (const stage of ['renamed to .swap', 'later segments deleted', 'indexes deleted too'] as const) {
    it(`finishes a swap on open: ${stage}`, async () => {
      const { dir, log, model } = makeLog();
      await log.close();
      const before = fs.readdirSync(dir).filter((f) => f.endsWith('.log')).length;
      const { job, end } = jobForFirst(dir, 3);
      runCompactionJob(job);
      fs.renameSync(path.join(dir, '00000000000000000000.log.cleaned'), path.join(dir, '00000000000000000000.log.swap'));
      const names = fs.readdirSync(dir).filter((f) => /^\d{20}\.log$/.test(f)).sort();
      if (stage !== 'renamed to .swap') {
        for (const f of names.slice(1, 3)) for (const ext of ['.log', '.index', '.timeindex']) fs.rmSync(path.join(dir, f.replace('.log', ext)), { force: true });
      }
      if (stage === 'indexes deleted too') {
        fs.rmSync(path.join(dir, '00000000000000000000.index'));
        fs.rmSync(path.join(dir, '00000000000000000000.timeindex'));
      }
      forgetCleanShutdown(dir); // a crash: no marker either
      const reopened = Log.open(dir, config);
      expect(reopened.recovery.completedSwaps).toEqual([0]);
      expect(reopened.recovery.truncatedBytes).toBe(0);
      expect(leftovers(dir)).toEqual([]);
      expect(reopened.segmentCount).toBe(before - 2);
      expect(reopened.segmentBaseOffsets[1]).toBe(end);
      expect(readLog(reopened).records).toEqual(expected(model, end));
      await reopened.close();
    });
  }
});

describe('compaction on the worker pool', () => {
  it('writes the same bytes as inline', async () => {
    const a = makeLog();
    const b = makeLog();
    const inline = await a.log.compact(run);
    const pooledRuns = pool.stats().pooledRuns;
    const pooled = await b.log.compact({ ...run, pool });
    expect(pool.stats().pooledRuns).toBe(pooledRuns + 1);
    expect({ ...pooled, durationMs: 0 }).toEqual({ ...inline, durationMs: 0 });
    expect(pooled.recordsRemoved).toBeGreaterThan(0);
    const filesA = logFiles(a.dir);
    const filesB = logFiles(b.dir);
    expect([...filesB.keys()]).toEqual([...filesA.keys()]);
    for (const [name, bytes] of filesA) expect(filesB.get(name)!.equals(bytes)).toBe(true);
    await a.log.close();
    await b.log.close();
  });

  it('lets appends go on meanwhile, rolls included', async () => {
    const { dir, log, model } = makeLog();
    const keepFrom = activeBase(log);
    const segments = log.segmentCount;
    const compacting = log.compact({ ...run, pool });
    const during: Stored[] = [];
    for (let r = 0; r < 40; r++) put(log, during, [{ key: `k${r % 6}`, value: `during-${r}`.padEnd(30, '.') }]);
    expect(log.segmentCount).toBeGreaterThan(segments); // rolled while the job ran
    const r = await compacting;
    expect(r.recordsRemoved).toBeGreaterThan(0);
    const want = [...expected(model, keepFrom), ...during];
    expect(readLog(log).records).toEqual(want);
    await log.close();
    forgetCleanShutdown(dir);
    const reopened = Log.open(dir, config);
    expect(reopened.recovery.truncatedBytes).toBe(0);
    expect(readLog(reopened).records).toEqual(want);
    await reopened.close();
  });

  it('never brings back segments that retention deleted meanwhile', async () => {
    const { dir, log, model } = makeLog();
    const keepFrom = activeBase(log);
    const cut = log.segmentBaseOffsets[4]!;
    const compacting = log.compact({ ...run, pool });
    log.deleteRecordsBefore(cut);
    await compacting;
    expect(log.logStartOffset).toBe(cut);
    expect(log.segmentBaseOffsets[0]).toBe(cut);
    for (const f of fs.readdirSync(dir)) if (/^\d{20}\./.test(f)) expect(Number(f.slice(0, 20))).toBeGreaterThanOrEqual(cut);
    expect(leftovers(dir)).toEqual([]);
    expect(readLog(log).records).toEqual(expected(model, keepFrom).filter((s) => s.offset >= cut));
    await log.close();
    const reopened = Log.open(dir, config);
    expect(reopened.logStartOffset).toBe(cut);
    await reopened.close();
  });

  it('discards the run when the log is truncated meanwhile', async () => {
    const { dir, log, model } = makeLog();
    const to = log.segmentBaseOffsets[3]!;
    const compacting = log.compact({ ...run, pool });
    log.truncateTo(to);
    const r = await compacting;
    expect([r.segmentsCleaned, r.recordsRemoved]).toEqual([0, 0]);
    expect(leftovers(dir)).toEqual([]);
    expect(readLog(log).records).toEqual(model.filter((s) => s.offset < to));
    await log.close();
  });

  it('makes close wait for the run', async () => {
    const { dir, log, model } = makeLog();
    const keepFrom = activeBase(log);
    const compacting = log.compact({ ...run, pool });
    await log.close();
    const r = await compacting;
    expect(r.recordsRemoved).toBeGreaterThan(0);
    expect(leftovers(dir)).toEqual([]);
    const reopened = Log.open(dir, config);
    expect(reopened.recovery.cleanShutdown).toBe(true);
    expect(readLog(reopened).records).toEqual(expected(model, keepFrom));
    await reopened.close();
  });
});

describe('compaction of a corrupt segment', () => {
  for (const where of ['inline', 'in a worker'] as const) {
    it(`fails with LogCleanerError naming the segment, and changes nothing (${where})`, async () => {
      const { dir, log, model } = makeLog();
      const victim = path.join(dir, '00000000000000000000.log');
      const bytes = fs.readFileSync(victim);
      bytes[bytes.length - 3] ^= 0xff; // inside the last record of the first segment: its CRC fails
      fs.writeFileSync(victim, bytes);
      const files = logFiles(dir);
      const err = await log.compact(where === 'inline' ? run : { ...run, pool }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LogCleanerError);
      expect((err as Error).message).toContain(dir);
      expect((err as Error).message).toContain('00000000000000000000.log');
      expect((err as Error).message).toMatch(/baseOffset \d+/);
      expect(leftovers(dir)).toEqual([]);
      expect(log.cleanedOffset).toBe(0);
      expect(log.segmentBaseOffsets.length).toBe(files.size);
      for (const [name, data] of logFiles(dir)) expect(data.equals(files.get(name)!)).toBe(true);
      expect(log.read(activeBase(log), 1 << 20).records.length).toBeGreaterThan(0);
      expect(model.length).toBeGreaterThan(0);
      await log.close();
    });
  }
});
