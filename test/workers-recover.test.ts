/**
 * recoverLogs on real partition logs in temp directories: clean, unclean (appended, never
 * closed) and torn (garbage after the last batch), in workers and inline. After it, the
 * owner's Log.open with `recovered: true` must be clean and serve every acknowledged record.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidConfigError, Log, type LogOptions, type StorageLogger } from '../src/storage/index.js';
import { WorkerPool } from '../src/workers/index.js';
import { decodeAll, numberedBatch } from './helpers/batches.js';
import { tmpDir } from './helpers/tmp.js';

const config = { background: false, segmentBytes: 4000, indexIntervalBytes: 300, segmentMs: Infinity, retentionMs: -1 } as const;

const pooled = new WorkerPool({ threads: 2 });
const inline = new WorkerPool({ inline: true });
afterAll(async () => {
  await pooled.close();
  await inline.close();
});

/** A log of `batches` batches of 3 records; closed cleanly or left as after a crash. */
async function makeLog(batches: number, clean: boolean): Promise<string> {
  const dir = path.join(tmpDir(), 'topic-0');
  const log = Log.open(dir, config);
  for (let b = 0; b < batches; b++) log.append(numberedBatch(b * 3, 3, { timestamp: 1_000_000 + b }));
  if (clean) await log.close();
  // else: never closed, no clean-shutdown marker, as after SIGKILL
  return dir;
}

/** Garbage after the last batch of the active segment: a torn write. */
function tear(dir: string): number {
  const last = fs.readdirSync(dir).filter((f) => f.endsWith('.log')).sort().at(-1)!;
  const garbage = Buffer.alloc(37, 0xab);
  fs.appendFileSync(path.join(dir, last), garbage);
  return garbage.length;
}

function serveAll(dir: string): number[] {
  const log = Log.open(dir, { ...config, recovered: true });
  expect(log.recovery.cleanShutdown).toBe(true);
  expect(log.recovery.recovered).toEqual([]);
  const offsets: number[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const r = log.read(offset, 1 << 20);
    offsets.push(...decodeAll(r.records).map((x) => x.offset));
    offset = r.nextOffset;
  }
  void log.close();
  return offsets;
}

for (const [name, pool] of [
  ['in workers', pooled],
  ['inline', inline],
] as const) {
  describe(`recoverLogs ${name}`, () => {
    it('reports what each open found and leaves every log clean for the next open', async () => {
      const clean = await makeLog(20, true);
      const unclean = await makeLog(30, false);
      const torn = await makeLog(25, false);
      const tornBytes = tear(torn);
      const many = await Promise.all(Array.from({ length: 9 }, (_, i) => makeLog(5 + i, i % 2 === 0)));
      const dirs = [clean, unclean, torn, ...many];

      const reports = await pool.recoverLogs(dirs.map((dir) => ({ dir, config })));

      expect(reports).toHaveLength(dirs.length);
      expect(reports[0]).toMatchObject({ cleanShutdown: true, recovered: [], truncatedBytes: 0 });
      expect(reports[1]).toMatchObject({ cleanShutdown: false, truncatedBytes: 0 });
      expect(reports[1]!.recovered.length).toBeGreaterThan(0);
      expect(reports[2]).toMatchObject({ cleanShutdown: false, truncatedBytes: tornBytes });
      expect(reports[2]!.recovered.at(-1)!.reason).toMatch(/invalid batch|length|CRC/);
      many.forEach((_, i) => expect(reports[3 + i]!.cleanShutdown).toBe(i % 2 === 0));

      expect(serveAll(clean)).toEqual([...Array(60).keys()]);
      expect(serveAll(unclean)).toEqual([...Array(90).keys()]);
      expect(serveAll(torn)).toEqual([...Array(75).keys()]);
    });

    it("replays the open's log lines to each config's logger", async () => {
      const torn = await makeLog(10, false);
      tear(torn);
      const lines: { level: string; msg: string; dir?: string }[] = [];
      const logger: StorageLogger = {
        info: (obj, msg) => lines.push({ level: 'info', msg, dir: (obj as { dir?: string }).dir }),
        warn: (obj, msg) => lines.push({ level: 'warn', msg, dir: (obj as { dir?: string }).dir }),
        debug: (obj, msg) => lines.push({ level: 'debug', msg, dir: (obj as { dir?: string }).dir }),
      };
      const options: LogOptions = { ...config, logger, time: () => 1_000_000 };
      await pool.recoverLogs([{ dir: torn, config: options }]);
      expect(lines.some((l) => l.level === 'warn' && /truncated/.test(l.msg) && l.dir === torn)).toBe(true);
      // Each log's summary is a debug line (the owner logs one info line for all).
      expect(lines.some((l) => l.level === 'debug' && /recovered/.test(l.msg) && l.dir === torn)).toBe(true);
      expect(lines.some((l) => l.level === 'info')).toBe(false);
    });

    it('rejects with the first failing log, rebuilt as its own class, after all are done', async () => {
      const good = await makeLog(5, false);
      const bad = await makeLog(5, false);
      const err = await pool
        .recoverLogs([
          { dir: good, config },
          { dir: bad, config: { ...config, segmentBytes: -5 } },
        ])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidConfigError);
      expect((err as InvalidConfigError).code).toBe('ERR_INVALID_CONFIG');
      expect((err as Error).message).toMatch(/segment\.bytes/);
      // The good one was still recovered and closed cleanly.
      expect(serveAll(good)).toEqual([...Array(15).keys()]);
    });

    it('recoverLogsSettled gives each outcome', async () => {
      const good = await makeLog(3, false);
      const outcomes = await pool.recoverLogsSettled([
        { dir: good, config },
        { dir: good + '-other', config: { ...config, segmentBytes: -5 } },
      ]);
      expect('report' in outcomes[0]! && outcomes[0].report.cleanShutdown).toBe(false);
      expect('error' in outcomes[1]! && outcomes[1].error).toBeInstanceOf(InvalidConfigError);
    });

    it('returns [] for no logs', async () => {
      expect(await pool.recoverLogs([])).toEqual([]);
    });
  });
}
