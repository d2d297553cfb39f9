/**
 * The storage and broker pieces on a full disk, one by one, on a real small tmpfs (real
 * ENOSPC, no mocks): every disk error is a StorageIOError (KAFKA_STORAGE_ERROR), nothing is
 * left half-written or inconsistent, and writes work again once space is freed. Needs root
 * for mount(8); skipped with the reason otherwise.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProducerStateManager } from '../src/broker/api/producer-state.js';
import { Sluice } from '../src/broker/sluice.js';
import { CLEAN_SHUTDOWN_FILE, Log, StorageIOError } from '../src/storage/index.js';
import { readCheckpoint, writeCheckpoint } from '../src/storage/checkpoint.js';
import { OffsetIndex } from '../src/storage/offset-index.js';
import { decodeAll, numberedBatch } from './helpers/batches.js';
import { mountProblem, mountTmpfs, unmountAll } from './helpers/tmpfs.js';

const problem = mountProblem();
if (problem !== null) console.warn(`test/reliability-disk-storage: skipped: ${problem}`);

const cleanups: (() => Promise<void> | void)[] = [];

function mountSmall(bytes = 2 * 1024 * 1024): string {
  return mountTmpfs(bytes, 'sluice-enospc-');
}

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await unmountAll();
});

let ballasts = 0;
/** Fills the file system to the last byte (synchronously); returns the file to delete. */
function fill(dir: string): string {
  const file = path.join(dir, `ballast-${ballasts++}`);
  const fd = fs.openSync(file, 'w');
  try {
    for (const chunk of [Buffer.alloc(64 * 1024, 1), Buffer.alloc(512, 1)]) {
      for (;;) {
        try {
          if (fs.writeSync(fd, chunk) < chunk.length) continue;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

function recorder() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  return {
    lines,
    logger: {
      info: (obj: object, msg: string) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
      warn: (obj: object, msg: string) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
    },
  };
}

function readAll(log: Log) {
  const out = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const r = log.read(offset, 1 << 20);
    out.push(...decodeAll(r.records));
    offset = r.nextOffset;
  }
  expect(out.map((r) => r.offset)).toEqual([...Array(out.length).keys()]);
  return out;
}

const config = { background: false, segmentBytes: 64 * 1024, indexIntervalBytes: 512, segmentMs: Infinity, retentionMs: -1 } as const;

describe.skipIf(problem !== null)('storage on a full disk', () => {
  it('Log.append (and the rolls it makes) fails with StorageIOError, leaves the log as it was, and works again once space is freed', () => {
    const dir = mountSmall();
    const log = Log.open(path.join(dir, 't-0'), config);
    cleanups.push(() => log.close().catch(() => {}));
    const ballast = fill(dir);
    // The segment's reservation runs out, rolls need new files: every failure is the same error.
    let acked = 0;
    let failures = 0;
    for (let i = 0; i < 400 && failures < 20; i++) {
      const before = { end: log.logEndOffset, size: log.size, segments: log.segmentCount };
      try {
        log.append(numberedBatch(log.logEndOffset, 4, { valueSize: 300 }));
        acked += 4;
      } catch (err) {
        failures++;
        expect(err).toBeInstanceOf(StorageIOError);
        expect((err as StorageIOError).errno).toBe('ENOSPC');
        expect((err as Error).message).toContain(path.join(dir, 't-0'));
        expect(log.logEndOffset).toBe(before.end);
        expect(log.size).toBe(before.size);
        expect(log.segmentCount).toBeGreaterThanOrEqual(1);
      }
    }
    expect(failures).toBeGreaterThan(0);
    expect(readAll(log).length).toBe(acked);
    fs.rmSync(ballast);
    for (let i = 0; i < 50; i++) log.append(numberedBatch(log.logEndOffset, 4, { valueSize: 300 }));
    expect(log.segmentCount).toBeGreaterThan(1);
    expect(readAll(log).length).toBe(acked + 200);
  });

  it('an empty active segment that must grow for one big batch stays usable when the disk is full', () => {
    const dir = mountSmall();
    const log = Log.open(path.join(dir, 't-0'), { ...config, segmentBytes: 16 * 1024, maxMessageBytes: 1 << 20 });
    cleanups.push(() => log.close().catch(() => {}));
    const ballast = fill(dir);
    const big = numberedBatch(0, 40, { valueSize: 2000 }); // > segment.bytes
    expect(() => log.append(big)).toThrow(StorageIOError);
    expect(log.segmentCount).toBe(1);
    expect(log.logEndOffset).toBe(0);
    fs.rmSync(ballast);
    log.append(numberedBatch(0, 40, { valueSize: 2000 }));
    log.append(numberedBatch(40, 1));
    expect(readAll(log).length).toBe(41);
  });

  it('a flush whose checkpoint cannot be written still resolves (the data is durable) and logs why', async () => {
    const dir = mountSmall();
    const rec = recorder();
    const log = Log.open(path.join(dir, 't-0'), { ...config, segmentBytes: 4096, logger: rec.logger });
    cleanups.push(() => log.close().catch(() => {}));
    while (log.segmentCount < 3) log.append(numberedBatch(log.logEndOffset, 3, { valueSize: 200 }));
    await log.flush();
    const before = readCheckpoint(log.dir)!;
    // A roll starts a background flush; the disk fills before it gets to the checkpoint.
    const segments = log.segmentCount;
    while (log.segmentCount === segments) log.append(numberedBatch(log.logEndOffset, 3, { valueSize: 200 }));
    fill(dir);
    await log.flush();
    await expect(log.flush()).resolves.toBeUndefined();
    expect(log.recoveryPoint).toBe(log.logEndOffset);
    expect(rec.lines.some((l) => l.level === 'warn' && l.msg.startsWith('could not write partition.checkpoint'))).toBe(true);
    expect(readCheckpoint(log.dir)).toEqual(before); // the old one, whole
    expect(fs.existsSync(path.join(log.dir, 'partition.checkpoint.tmp'))).toBe(false);
  });

  it('writeCheckpoint on a full disk throws ENOSPC and leaves the old file whole, without a .tmp', () => {
    const dir = mountSmall();
    writeCheckpoint(dir, { logStartOffset: 3, recoveryPoint: 9 });
    fill(dir);
    expect(() => writeCheckpoint(dir, { logStartOffset: 4, recoveryPoint: 10 })).toThrow(/ENOSPC/);
    expect(readCheckpoint(dir)).toEqual({ logStartOffset: 3, recoveryPoint: 9 });
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('an index persist that fails counts nothing as written; the retry writes the whole index', () => {
    const dir = mountSmall();
    const file = path.join(dir, '00000000000000000000.index');
    const index = new OffsetIndex(file, 0, 1 << 20);
    for (let i = 0; i < 3000; i++) index.append(i * 2 + 1, i * 100);
    const ballast = fill(dir);
    expect(() => index.persist()).toThrow(/ENOSPC/);
    fs.rmSync(ballast);
    index.persist();
    expect(fs.statSync(file).size).toBe(3000 * 8);
    const again = new OffsetIndex(file, 0, 1 << 20);
    expect(again.load(300_000)).toBeNull();
    expect(again.count).toBe(3000);
    expect(again.lookup(4001)).toBe(200_000);
  });

  it('close on a full disk closes everything without throwing, writes no clean marker, and the next open (disk still full) recovers all', async () => {
    const dir = mountSmall();
    const rec = recorder();
    const logDir = path.join(dir, 't-0');
    const log = Log.open(logDir, { ...config, logger: rec.logger });
    let written = 0;
    for (; written < 100; written += 2) log.append(numberedBatch(written, 2, { valueSize: 100 }));
    fill(dir);
    // Use up what the segment reserved ahead, so close has nothing to give back but a page.
    for (;;) {
      try {
        log.append(numberedBatch(written, 2, { valueSize: 100 }));
        written += 2;
      } catch {
        break;
      }
    }
    fill(dir);
    await expect(log.close()).resolves.toBeUndefined();
    expect(log.isClosed).toBe(true);
    expect(fs.existsSync(path.join(logDir, CLEAN_SHUTDOWN_FILE))).toBe(false);
    expect(rec.lines.some((l) => l.level === 'warn' && l.msg.startsWith('close:'))).toBe(true);
    const reopened = Log.open(logDir, config);
    expect(reopened.recovery.cleanShutdown).toBe(false);
    expect(readAll(reopened).length).toBe(written);

    await reopened.close();
  });

  it('Sluice.createTopic and createPartitions on a full disk: KAFKA_STORAGE_ERROR, nothing left behind, fine once freed', async () => {
    const dir = mountSmall(4 * 1024 * 1024);
    const s = await Sluice.open({ dir: path.join(dir, 'data'), workerThreads: 0, retentionCheckIntervalMs: 0, cleanerBackoffMs: 0 });
    cleanups.push(() => s.close().catch(() => {}));
    await s.createTopic('grows', { partitions: 1 });
    const ballast = fill(dir);
    const err = await s.createTopic('t', { partitions: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageIOError);
    expect(s.listTopics()).toEqual(['grows']);
    expect(fs.readdirSync(path.join(dir, 'data')).filter((n) => n.startsWith('t-'))).toEqual([]);
    await expect(s.createPartitions('grows', 4)).rejects.toBeInstanceOf(StorageIOError);
    expect(s.partitionCount('grows')).toBe(1);
    expect(s.describeTopic('grows').partitions.length).toBe(1);
    expect(fs.readdirSync(path.join(dir, 'data')).filter((n) => /^grows-[1-3]$/.test(n))).toEqual([]);
    fs.rmSync(ballast);
    await s.createTopic('t', { partitions: 3 });
    await s.createPartitions('grows', 4);
    await s.close();
    const again = await Sluice.open({ dir: path.join(dir, 'data'), workerThreads: 0, retentionCheckIntervalMs: 0, cleanerBackoffMs: 0 });
    expect(again.listTopics()).toEqual(['grows', 't']);
    expect(again.partitionCount('grows')).toBe(4);
    await again.close();
  });

  it('a producer id block that cannot be saved is not handed out', () => {
    const dir = mountSmall();
    const ids = new ProducerStateManager(dir);
    const ballast = fill(dir);
    expect(() => ids.allocate()).toThrow(StorageIOError);
    expect(() => ids.allocate()).toThrow(StorageIOError); // still nothing reserved in memory
    fs.rmSync(ballast);
    expect(ids.allocate()).toBe(0);
    const mark = Number(fs.readFileSync(path.join(dir, 'producer-ids'), 'utf8'));
    expect(mark).toBeGreaterThan(0);
    expect(new ProducerStateManager(dir).allocate()).toBe(mark);
  });
});
