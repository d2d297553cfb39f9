/**
 * `sluice dev-cluster`, as a newcomer runs it: a local etcd and three brokers, a bootstrap
 * string that kcat can use at once, and everything gone after Ctrl-C (SIGINT).
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireTool, run } from './helpers/clients.js';
import { etcdInstalled } from './helpers/etcd.js';
import { tmpDir } from './helpers/tmp.js';

const cli = path.resolve(import.meta.dirname, '..', 'dist', 'src', 'cli', 'index.js');

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** `n` consecutive free ports on 127.0.0.1. */
async function freeRun(n: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let p = base; p < base + n && ok; p++) ok = await portFree(p);
    if (ok) return base;
  }
  throw new Error(`no run of ${n} free ports found`);
}

describe('sluice dev-cluster', () => {
  it('starts etcd and three brokers, prints a bootstrap string that works, and stops on Ctrl-C', async () => {
    requireTool('kcat', 'apt-get install kcat');
    if (!etcdInstalled()) throw new Error('etcd is not installed: apt-get install etcd-server');
    const dir = tmpDir('sluice-dev-cluster-');
    const base = await freeRun(3);
    const etcdPort = await freeRun(2);
    const proc = spawn(process.execPath, [cli, 'dev-cluster', '--brokers', '3', '--base-port', String(base), '--etcd-port', String(etcdPort), '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!/Bootstrap: (\S+)/.test(out)) {
        if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`dev-cluster did not come up:\n${out}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const bootstrap = /Bootstrap: (\S+)/.exec(out)![1]!;
      expect(bootstrap).toBe([0, 1, 2].map((i) => `127.0.0.1:${base + i}`).join(','));
      expect(out).toMatch(/broker \d is the controller/);
      const meta = JSON.parse(await run('kcat', ['-b', bootstrap, '-L', '-J'])) as { brokers: { id: number }[] };
      expect(meta.brokers.map((b) => b.id).sort()).toEqual([1, 2, 3]);
      await run('kcat', ['-b', bootstrap, '-t', 'hello', '-P'], 'one\ntwo\n');
      const read = await run('kcat', ['-b', bootstrap, '-t', 'hello', '-C', '-e', '-o', 'beginning', '-f', '%s\n']);
      expect(read.trim().split('\n').sort()).toEqual(['one', 'two']);
    } finally {
      proc.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(out).toContain('stopped');
    for (let i = 0; i < 3; i++) expect(await portFree(base + i)).toBe(true);
    expect(await portFree(etcdPort)).toBe(true);
  });
});
