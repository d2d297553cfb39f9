import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterEach } from 'vitest';

/** The compiled CLI (run `npx tsc -p tsconfig.json` first). */
export const CLI = path.resolve(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'index.js');
const running = new Set<ChildProcess>();

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Written to stdin, which is then closed (default: stdin closed at once). */
  input?: string | Buffer;
  /** Added to the environment (SLUICE_BOOTSTRAP_SERVER is removed unless given here). */
  env?: Record<string, string>;
}

export interface CliProcess {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<CliResult>;
  /** Resolves once stdout matches `re` (rejects if the process exits first). */
  waitForStdout: (re: RegExp) => Promise<void>;
}

/** Starts `sluice <args>` as a child process. */
export function startSluice(args: string[], options: CliOptions = {}): CliProcess {
  const env = { ...process.env, ...options.env };
  if (options.env?.SLUICE_BOOTSTRAP_SERVER === undefined) delete env.SLUICE_BOOTSTRAP_SERVER;
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
  running.add(proc);
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  proc.stdout!.on('data', (d) => {
    stdout += d;
    for (const w of waiters) w();
  });
  proc.stderr!.on('data', (d) => (stderr += d));
  proc.stdin!.on('error', () => {});
  if (options.input !== undefined) proc.stdin!.end(options.input);
  else proc.stdin!.end();
  const exited = new Promise<CliResult>((resolve) =>
    proc.on('close', (code) => {
      running.delete(proc);
      for (const w of waiters) w();
      resolve({ code, stdout, stderr });
    }),
  );
  const waitForStdout = (re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (re.test(stdout)) resolve();
        else if (proc.exitCode !== null || proc.signalCode !== null) reject(new Error(`sluice ${args.join(' ')} exited before printing ${re}:\n${stdout}\n${stderr}`));
      };
      waiters.push(check);
      check();
    });
  return { proc, stdout: () => stdout, stderr: () => stderr, exited, waitForStdout };
}

/** Runs `sluice <args>` to completion. */
export function sluice(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startSluice(args, options).exited;
}

/** A port on 127.0.0.1 where nothing listens (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** Polls `fn` until it returns a truthy value (no timing assertions: the test's timeout bounds it). */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, pauseMs = 200): Promise<T> {
  for (;;) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}

afterEach(async () => {
  for (const p of [...running]) {
    p.kill('SIGKILL');
    await new Promise((r) => p.once('close', r));
  }
});
