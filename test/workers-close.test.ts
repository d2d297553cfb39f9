/**
 * close() leaves nothing behind: the worker threads are gone (the OS thread count drops)
 * and a process that used the pool exits by itself, with no handle of the pool left. Run in a child
 * process (the compiled code in dist/) so the test sees a real exit, not vitest's.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const poolModule = pathToFileURL(path.join(root, 'dist', 'src', 'workers', 'index.js')).href;

// stdout/stderr pipes to this test, and their pending close: not the pool's.
const STDIO = "['PipeWrap', 'TTYWrap', 'CloseReq']";

function runChild(script: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('close()', () => {
  it('destroys the workers: the process exits on its own with no handles left', () => {
    const script = `
      import fs from 'node:fs';
      import { WorkerPool } from ${JSON.stringify(poolModule)};
      const threadsNow = () => parseInt(fs.readFileSync('/proc/self/status', 'utf8').split('Threads:')[1].trim(), 10);
      const baseline = threadsNow();
      // Idle workers are kept for an hour: only close() can let this process end early.
      const pool = new WorkerPool({ threads: 2, compressInlineBelow: 0, idleTimeout: 3600000 });
      const data = Buffer.alloc(200000, 'sluice ');
      const out = await Promise.all([pool.compress('lz4', Buffer.from(data)), pool.compress('gzip', Buffer.from(data))]);
      const mine = () => process.getActiveResourcesInfo().filter((r) => !${STDIO}.includes(r));
      const open = threadsNow();
      await pool.close();
      const closed = threadsNow();
      console.log(JSON.stringify({ sizes: out.map((b) => b.length > 0), stats: pool.stats(), open, closed, baseline, after: mine() }));
    `;
    const r = runChild(script);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout.trim()) as { sizes: boolean[]; stats: { pooledRuns: number }; open: number; closed: number; baseline: number; after: string[] };
    expect(report.sizes).toEqual([true, true]);
    expect(report.stats.pooledRuns).toBe(2);
    // OS threads (Linux): the two workers were there, and are gone after close.
    expect(report.open).toBeGreaterThanOrEqual(report.baseline + 2);
    expect(report.closed).toBeLessThanOrEqual(report.open - 2);
    expect(report.after).toEqual([]);
  });

  it('a pool that was never used starts no thread and needs no close', () => {
    const script = `
      import { WorkerPool } from ${JSON.stringify(poolModule)};
      const pool = new WorkerPool();
      await pool.compress('lz4', Buffer.alloc(10)); // below the threshold: inline
      console.log(JSON.stringify({ stats: pool.stats(), resources: process.getActiveResourcesInfo().filter((r) => !${STDIO}.includes(r)) }));
    `;
    const r = runChild(script);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout.trim()) as { stats: { pooledRuns: number; completed: number }; resources: string[] };
    expect(report.stats).toMatchObject({ pooledRuns: 0, completed: 0 });
    expect(report.resources).toEqual([]);
  });
});
