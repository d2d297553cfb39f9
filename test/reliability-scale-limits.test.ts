/**
 * Many partitions on one process, with real files and processes: the bound on open segment
 * files (sluice.max.open.segments) holds while every partition is written and read, data
 * stays whole across evictions and a reopen, views taken before an eviction stay valid, an
 * evicted segment with unflushed data is still fdatasynced; RLIMIT_NOFILE is raised at start
 * and a too-low limit is said in one line; recovery after SIGKILL logs one summary line.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Sluice } from '../src/index.js';
import { liveMappings } from '../src/native.js';
import { Log, SegmentHandles } from '../src/storage/index.js';
import { decodeAll, numberedBatch } from './helpers/batches.js';
import { runUntilKilled } from './helpers/kill-child.js';
import { tmpDir } from './helpers/tmp.js';

const openFds = () => fs.readdirSync('/proc/self/fd').length;
const root = path.join(import.meta.dirname, '..');
const LIMIT = 16;
const PARTITIONS = 200;

/** Consumes every partition of 'wide' from the start until `count` records came. */
async function readAll(s: Sluice, count: number): Promise<Map<number, string[]>> {
  const c = s.consumer({ autoOffsetReset: 'earliest', valueDeserializer: 'string' });
  c.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: 'wide', partition })));
  const byPartition = new Map<number, string[]>();
  let got = 0;
  for (let i = 0; i < 200 && got < count; i++) {
    for (const r of await c.poll({ timeoutMs: 100 })) {
      byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r.value as string]);
      got++;
    }
  }
  await c.close();
  return byPartition;
}

describe('the bound on open segment files', () => {
  it(`keeps ${PARTITIONS} partitions under ${LIMIT} open files while producing, reading and reopening`, { timeout: 120_000 }, async () => {
    const dir = tmpDir('sluice-lru-');
    const base = openFds();
    // Beyond the segment files: the data directory lock and the group coordinator's log.
    const bound = LIMIT + 4;
    let s = await Sluice.open({ dir, maxOpenSegments: LIMIT, workerThreads: 0, retentionCheckIntervalMs: 0 });
    await s.createTopic('wide', { partitions: PARTITIONS });
    expect(openFds() - base).toBeLessThanOrEqual(bound);
    const producer = s.producer({ acks: 1 });
    for (let round = 0; round < 3; round++) {
      await Promise.all(Array.from({ length: PARTITIONS }, (_, i) => producer.send('wide', { value: `v${round}-${i}`, partition: i })));
      expect(openFds() - base).toBeLessThanOrEqual(bound);
    }
    await producer.close();
    const expected = (p: number) => [0, 1, 2].map((round) => `v${round}-${p}`);
    let read = await readAll(s, 3 * PARTITIONS);
    expect(openFds() - base).toBeLessThanOrEqual(bound);
    for (let p = 0; p < PARTITIONS; p++) expect(read.get(p)).toEqual(expected(p));
    await s.close();
    expect(openFds() - base).toBeLessThanOrEqual(1);

    s = await Sluice.open({ dir, maxOpenSegments: LIMIT, workerThreads: 0, retentionCheckIntervalMs: 0 });
    read = await readAll(s, 3 * PARTITIONS);
    expect(openFds() - base).toBeLessThanOrEqual(bound);
    for (let p = 0; p < PARTITIONS; p++) expect(read.get(p)).toEqual(expected(p));
    await s.close();
  });

  it('keeps views taken before an eviction valid, and reopens an evicted segment on read and append', async () => {
    const handles = new SegmentHandles(2);
    const logs = Array.from({ length: 5 }, (_, i) => Log.open(path.join(tmpDir(), `t-${i}`), { background: false, segmentHandles: handles }));
    for (const [i, log] of logs.entries()) log.append(numberedBatch(i * 100, 10));
    expect(handles.size).toBe(2);
    const view = logs[0]!.read(0, 1 << 20).records;
    const copy = Buffer.from(view);
    const mappingsBefore = liveMappings();
    for (const log of logs.slice(1)) log.read(0, 1 << 20); // evicts log 0's file
    expect(handles.size).toBe(2);
    expect(handles.evictions).toBeGreaterThan(0);
    expect(liveMappings()).toBeGreaterThanOrEqual(mappingsBefore - 3); // log 0's mapping lives on in `view`
    expect(view.equals(copy)).toBe(true);
    expect(decodeAll(view).map((r) => r.value)).toEqual(Array.from({ length: 10 }, (_, n) => `v${n}`));
    // Appends and reads reopen the file transparently.
    logs[0]!.append(numberedBatch(10, 5));
    expect(decodeAll(logs[0]!.read(0, 1 << 20).records).map((r) => r.offset)).toEqual([...Array(15).keys()]);
    for (const log of logs) await log.close();
    expect(handles.size).toBe(0);
  });

  it('fdatasyncs a segment with unflushed data after the list closed its file', async () => {
    const handles = new SegmentHandles(1);
    const a = Log.open(path.join(tmpDir(), 'a-0'), { background: false, segmentHandles: handles, durability: 'fsync' });
    const b = Log.open(path.join(tmpDir(), 'b-0'), { background: false, segmentHandles: handles, durability: 'fsync' });
    a.append(numberedBatch(0, 3));
    b.append(numberedBatch(0, 3)); // closes a's file, its records not yet fsynced
    expect(a.recoveryPoint).toBe(0);
    await a.flush();
    expect(a.recoveryPoint).toBe(3);
    expect(a.flushCount).toBe(1);
    await a.close();
    await b.close();
  });
});

/** Runs `sluice serve` under `prlimit --nofile=soft:hard` until it has started; returns its stderr lines and /proc limits, then stops it. */
async function serveUnder(soft: number, hard: number, args: string[]): Promise<{ lines: Record<string, unknown>[]; limits: string }> {
  const dir = tmpDir('sluice-rlimit-');
  const p = spawn('prlimit', [`--nofile=${soft}:${hard}`, process.execPath, path.join(root, 'dist/src/cli/index.js'), 'serve', '--dir', dir, '--port', '0', '--metrics-port', '0', '--console-port', '0', '--log-format', 'json', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  try {
    // The log goes to stderr; 'broker started' is its line after listening.
    await new Promise<void>((resolve, reject) => {
      p.stderr.on('data', (d) => (stderr += d) && stderr.includes('broker started') && resolve());
      p.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    const limits = fs.readFileSync(`/proc/${p.pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'))!;
    return { lines: stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>), limits };
  } finally {
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
  }
}

describe('RLIMIT_NOFILE at start', () => {
  it('raises the soft limit to the hard one (a soft limit lowered from outside the process)', async () => {
    const script = `import { openFileLimit } from '${path.join(root, 'dist/src/native.js')}';
      process.stdout.write('ready\\n');
      process.stdin.once('data', () => { const before = openFileLimit(false); const after = openFileLimit(true); console.log(JSON.stringify({ before, after })); process.exit(0); });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    await new Promise<void>((resolve) => child.stdout.on('data', (d) => (out += d) && out.includes('ready') && resolve()));
    const hard = Number(/\d+\s+(\d+)\s+files/.exec(fs.readFileSync(`/proc/${child.pid}/limits`, 'utf8'))![1]);
    const lowered = spawnSync('prlimit', ['--pid', String(child.pid), `--nofile=256:${hard}`]);
    expect(lowered.status).toBe(0);
    child.stdin.write('go\n');
    await new Promise((r) => child.once('exit', r));
    const { before, after } = JSON.parse(out.split('\n')[1]!) as { before: { soft: number; hard: number }; after: { soft: number; hard: number } };
    expect(before).toEqual({ soft: 256, hard });
    expect(after).toEqual({ soft: hard, hard });
  });

  it('says in one warning line which settings exceed a low hard limit', { timeout: 60_000 }, async () => {
    const { lines, limits } = await serveUnder(1000, 3000, []);
    expect(limits).toMatch(/Max open files\s+3000\s+3000/);
    const warnings = lines.filter((l) => String(l.msg).includes('RLIMIT_NOFILE'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.level).toBe(40);
    expect(warnings[0]!.msg).toMatch(/is 3000 \(hard limit 3000\), below the 14352 descriptors .*sluice\.max\.open\.segments=4096 \+ max\.connections=10000.*--max-open-segments.*--max-connections/);
  });

  it('says nothing when the settings fit', { timeout: 60_000 }, async () => {
    const { lines, limits } = await serveUnder(1000, 3000, ['--max-connections', '1000', '--max-open-segments', '1000']);
    expect(limits).toMatch(/Max open files\s+3000\s+3000/);
    expect(lines.some((l) => String(l.msg).includes('RLIMIT_NOFILE'))).toBe(false);
  });
});

describe('recovery at start', () => {
  it('logs one info line for all partitions after SIGKILL, details at debug', { timeout: 120_000 }, async () => {
    const dir = tmpDir('sluice-recovery-log-');
    const child = path.join(import.meta.dirname, 'helpers', 'wide-child.mjs');
    await runUntilKilled(child, [dir, '50', '0'], (line) => line === 'ready');
    const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
    const logger = {
      info: (obj: object, msg: string) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
      warn: (obj: object, msg: string) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
      debug: (obj: object, msg: string) => lines.push({ level: 'debug', obj: obj as Record<string, unknown>, msg }),
    };
    const s = await Sluice.open({ dir, logger, workerThreads: 1, retentionCheckIntervalMs: 0 });
    try {
      const info = lines.filter((l) => l.level === 'info');
      expect(info).toHaveLength(1);
      expect(info[0]!.msg).toMatch(/^recovered 5\d of 5\d partitions after an unclean shutdown in \d+ ms: \d+ segments and \d+ bytes checked, 0 partitions needed repair/);
      expect(info[0]!.obj).toMatchObject({ partitionsRepaired: 0, truncatedBytes: 0 });
      expect(info[0]!.obj.segmentsChecked).toBeGreaterThanOrEqual(50);
      expect(lines.filter((l) => l.level === 'debug' && l.msg === 'log recovered').length).toBeGreaterThanOrEqual(50);
      expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
      // Every acknowledged record is there.
      const c = s.consumer({ autoOffsetReset: 'earliest', valueDeserializer: 'string' });
      c.assign(Array.from({ length: 50 }, (_, partition) => ({ topic: 'wide', partition })));
      const got: string[] = [];
      for (let i = 0; i < 100 && got.length < 50; i++) got.push(...(await c.poll({ timeoutMs: 100 })).map((r) => r.value as string));
      expect(got.sort()).toEqual(Array.from({ length: 50 }, (_, p) => `v0-${p}`).sort());
      await c.close();
    } finally {
      await s.close();
    }
  });

  it('recovers a log with much to check on the worker pool, the small ones in place', { timeout: 120_000 }, async () => {
    const dir = tmpDir('sluice-recovery-pool-');
    const child = path.join(import.meta.dirname, 'helpers', 'wide-child.mjs');
    await runUntilKilled(child, [dir, '8', '0', '6'], (line) => line === 'ready');
    const info: Record<string, unknown>[] = [];
    const logger = { info: (obj: object) => void info.push(obj as Record<string, unknown>), warn: () => {} };
    const s = await Sluice.open({ dir, logger, workerThreads: 1, retentionCheckIntervalMs: 0 });
    try {
      expect(s.pool.stats().pooledRuns).toBeGreaterThan(0); // partition 0 (6 MiB) went to a worker
      expect(info).toHaveLength(1);
      expect(info[0]).toMatchObject({ recoveredPartitions: 8, partitionsRepaired: 0 });
      expect(info[0]!.bytesChecked as number).toBeGreaterThan(6 * 2 ** 20);
      const d = s.describeTopic('wide').partitions;
      expect(d[0]!.logEndOffset).toBe(6 * 16 + 1);
      expect(d.slice(1).every((p) => p.logEndOffset === 1)).toBe(true);
    } finally {
      await s.close();
    }
  });
});
