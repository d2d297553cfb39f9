/**
 * Peer systems run in the same benchmark session, so Sluice's numbers come with a ratio to
 * something known on the same machine at the same moment.
 *
 * Redis Streams: Debian's redis-server with the append-only file on and `appendfsync
 * everysec` — durability comparable to Kafka's (and Sluice's default) page-cache mode, where
 * an acknowledged write reaches the disk within about a second. redis-benchmark sends
 * `XADD stream * v <100-byte JSON log line>` pipelined 128 deep on 4 connections.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { throughput, type Throughput } from './util.js';

export interface RedisStreamsResult extends Throughput {
  /** What redis-benchmark ran, for the report. */
  command: string;
  version: string;
}

const PIPELINE = 128;
const CLIENTS = 4;
const RECORD_BYTES = 100;

/** A free TCP port on 127.0.0.1 (closed again before it is used; fine on a quiet machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Whether `cmd` runs at all (it is installed and on PATH). */
export function hasCommand(cmd: string, arg = '--version'): boolean {
  return spawnSync(cmd, [arg], { stdio: 'ignore' }).error === undefined;
}

/** Resolves once `child` writes a line matching `ready` to stdout; rejects if it exits or `ms` pass. */
export function waitForLine(child: ChildProcess, ready: RegExp, ms: number, what: string): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => finish(new Error(`${what} not ready after ${ms} ms:\n${out}`)), ms);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = out.match(ready);
      if (m) finish(undefined, m);
    };
    const onErr = (chunk: Buffer) => (out += chunk.toString());
    const onExit = (code: number | null, signal: string | null) => finish(new Error(`${what} exited (${code ?? signal}) before it was ready:\n${out}`));
    function finish(err?: Error, m?: RegExpMatchArray) {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onErr);
      child.off('exit', onExit);
      // Keep draining both pipes, so a chatty child never blocks on a full one.
      child.stdout!.resume();
      child.stderr!.resume();
      if (err) reject(err);
      else resolve(m!);
    }
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onErr);
    child.once('exit', onExit);
  });
}

/** Sends SIGTERM and waits for the exit (SIGKILL after `ms`). */
export function stop(child: ChildProcess, ms = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * A 100-byte JSON log line for XADD. redis-benchmark replaces each `__rand_int__` with 12
 * digits (with -r), so the values vary like the Kafka payloads do; the padding makes the
 * value exactly 100 bytes after substitution.
 */
function redisValue(): string {
  const line = '{"ts":1700000000000,"lvl":"info","path":"/v1/orders/__rand_int__","status":200,"ms":12.5,"req":"__rand_int__"}';
  const expanded = line.replaceAll('__rand_int__', '000000000000').length;
  if (expanded > RECORD_BYTES) return line.slice(0, line.length - (expanded - RECORD_BYTES));
  return line + ' '.repeat(RECORD_BYTES - expanded);
}

/** Parses redis-benchmark --csv: a header line and one row per test. The test name is the
 * command itself, unescaped (our value holds quotes), so the numbers are taken from the right. */
function parseCsv(text: string): Record<string, number> {
  const lines = text.trim().split('\n').filter((l) => l.startsWith('"'));
  if (lines.length < 2) throw new Error(`unexpected redis-benchmark output:\n${text}`);
  const cells = (l: string) => l.split('","').map((c) => c.replace(/^"|"$/g, ''));
  const head = cells(lines[0]!);
  const row = cells(lines[lines.length - 1]!).slice(-(head.length - 1));
  return Object.fromEntries(head.slice(1).map((h, i) => [h, Number(row[i])]));
}

/** XADD `records` 100-byte values into one stream of a fresh redis-server with AOF on. */
export async function redisStreamsBench(records: number): Promise<RedisStreamsResult | { skipped: string }> {
  if (!hasCommand('redis-server') || !hasCommand('redis-benchmark')) {
    return { skipped: 'redis-server / redis-benchmark not installed (apt-get install -y redis-server)' };
  }
  const version = spawnSync('redis-server', ['--version']).stdout.toString().match(/v=(\S+)/)?.[1] ?? '?';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-redis-'));
  const port = await freePort();
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--daemonize', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    await waitForLine(server, /Ready to accept connections/, 10_000, 'redis-server');
    const args = ['-h', '127.0.0.1', '-p', String(port), '-n', String(records), '-P', String(PIPELINE), '-c', String(CLIENTS), '-r', '1000000000000', '--csv'];
    const command = ['XADD', 'stream', '*', 'v', redisValue()];
    const bench = spawn('redis-benchmark', [...args, ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    bench.stdout.on('data', (c: Buffer) => (out += c.toString()));
    bench.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => bench.once('exit', resolve));
    if (code !== 0) throw new Error(`redis-benchmark exited ${code}:\n${out}`);
    const r = parseCsv(out);
    const rps = r['rps'];
    if (!rps) throw new Error(`no rps in redis-benchmark output:\n${out}`);
    // Check the records really landed. redis-benchmark sends whole pipelines, so a few more
    // than `records` (under one pipeline per client) may arrive; it counts `records` in rps.
    const xlen = Number(spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'XLEN', 'stream']).stdout?.toString().trim());
    if (xlen < records || xlen >= records + PIPELINE * CLIENTS) throw new Error(`stream has ${xlen} entries, expected ${records}`);
    const t = throughput(`Redis Streams XADD (AOF everysec, -P ${PIPELINE} -c ${CLIENTS})`, records, records * RECORD_BYTES, records / rps, {
      p50: r['p50_latency_ms']!,
      p95: r['p95_latency_ms']!,
      p99: r['p99_latency_ms']!,
      p999: r['p99_latency_ms']!,
      max: r['max_latency_ms']!,
    });
    t.note = `redis ${version}; latency = one pipelined request (p99.9 not reported, p99 shown)`;
    return { ...t, command: `redis-benchmark ${args.join(' ')} ${command.slice(0, 4).join(' ')} <100-byte value>`, version };
  } finally {
    await stop(server);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
