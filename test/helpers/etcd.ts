/**
 * A real etcd (Debian's etcd-server) for the cluster tests: started on free ports of
 * 127.0.0.1 with a temporary data directory, stopped and removed after the test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterEach } from 'vitest';
import { tmpDir } from './tmp.js';

const running = new Set<ChildProcess>();

export interface EtcdProcess {
  endpoint: string;
  dir: string;
  /** SIGKILL (or SIGSTOP with `pause`) and wait. */
  kill: () => Promise<void>;
  /** Starts it again on the same ports and data (after kill). */
  restart: () => Promise<void>;
  output: () => string;
}

export function etcdInstalled(): boolean {
  return spawnSync('etcd', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** A port of 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export async function startEtcd(): Promise<EtcdProcess> {
  if (!etcdInstalled()) throw new Error('etcd is not installed: apt-get install etcd-server (.ci/run does)');
  const dir = tmpDir('sluice-etcd-');
  const client = await freePort();
  const peer = await freePort();
  const endpoint = `http://127.0.0.1:${client}`;
  let proc: ChildProcess;
  let out = '';
  const launch = async () => {
    proc = spawn(
      'etcd',
      [
        '--name', 'test',
        '--data-dir', dir,
        '--listen-client-urls', endpoint,
        '--advertise-client-urls', endpoint,
        '--listen-peer-urls', `http://127.0.0.1:${peer}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
        '--initial-cluster', `test=http://127.0.0.1:${peer}`,
        '--log-level', 'warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    running.add(proc);
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    proc.on('exit', () => running.delete(proc));
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const r = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
        if (r.ok && ((await r.json()) as { health?: string }).health === 'true') return;
      } catch {
        // not up yet
      }
      if (proc.exitCode !== null) throw new Error(`etcd exited with ${proc.exitCode}:\n${out}`);
      if (Date.now() > deadline) throw new Error(`etcd did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await launch();
  return {
    endpoint,
    dir,
    output: () => out,
    kill: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await gone;
    },
    restart: launch,
  };
}

afterEach(async () => {
  for (const p of [...running]) {
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  }
});
