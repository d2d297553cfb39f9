import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterEach } from 'vitest';
import { tmpDir } from './tmp.js';

const cli = path.resolve(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'index.js');
const running = new Set<ChildProcess>();

export interface BrokerProcess {
  proc: ChildProcess;
  host: string;
  port: number;
  bootstrap: string;
  dir: string;
  output: () => string;
  /** SIGTERM and wait for a clean exit. */
  stop: () => Promise<number | null>;
  /** SIGKILL and wait. */
  kill: () => Promise<void>;
}

/**
 * Starts `sluice serve` as a separate process on a free port of 127.0.0.1. `port` null leaves
 * out --port: the address then comes from a --config file.
 */
export async function startBroker(options: { dir?: string; args?: string[]; env?: Record<string, string>; port?: number | null } = {}): Promise<BrokerProcess> {
  const dir = options.dir ?? tmpDir('sluice-broker-');
  // Metrics off unless a test asks for them (parallel brokers would all want port 9644).
  const args = options.args ?? [];
  const metrics = [...(args.includes('--metrics-port') ? [] : ['--metrics-port', '0']), ...(args.includes('--console-port') ? [] : ['--console-port', '0'])];
  const proc = spawn(process.execPath, [cli, 'serve', '--dir', dir, ...(options.port === null ? [] : ['--port', String(options.port ?? 0)]), '--worker-threads', '1', ...metrics, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  running.add(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => {
    running.delete(proc);
    r(code);
  }));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start:\n${out}`)), 20_000);
    const check = () => {
      const m = /listening on ([\d.]+):(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[2]));
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => reject(new Error(`broker exited with ${code}:\n${out}`)));
  });
  return {
    proc,
    host: '127.0.0.1',
    port,
    bootstrap: `127.0.0.1:${port}`,
    dir,
    output: () => out,
    stop: async () => {
      proc.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

afterEach(async () => {
  for (const p of [...running]) {
    p.kill('SIGKILL');
    await new Promise((r) => p.once('exit', r));
  }
});
