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
import { benchDir, now, percentiles, throughput, type Throughput } from './util.js';

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
    // Some servers (nats-server) announce readiness on stderr: match there too.
    const onErr = onData;
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

/**
 * NATS JetStream: Debian's nats-server with -js and file storage (a stream with one subject,
 * default sync_interval, which like Sluice's page-cache mode leaves the fsync to later).
 * The `nats` npm client publishes 100-byte values the way the Go client's PublishAsync
 * does: core publishes to the stream's subject with a reply subject under one inbox, at
 * most `window` unacknowledged, and one subscription counting the PubAcks. (js.publish(),
 * one request per message, does about 10 k/s here whatever the window: the client's
 * request machinery is the limit, not the server.) The rate counts acknowledged messages.
 * Latency: one publish to its PubAck, every 16th sampled.
 */
export async function natsJetStreamBench(records: number, window = 4096): Promise<(Throughput & { version: string }) | { skipped: string }> {
  if (!hasCommand('nats-server')) return { skipped: 'nats-server not installed (apt-get install -y nats-server)' };
  let nats: typeof import('nats');
  try {
    nats = await import('nats');
  } catch {
    return { skipped: 'the nats npm client is not installed (npm install -D nats)' };
  }
  const version = spawnSync('nats-server', ['--version']).stdout.toString().match(/v?(\d+\.\d+\.\d+)/)?.[1] ?? '?';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-nats-'));
  const port = await freePort();
  const server = spawn('nats-server', ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await waitForLine(server, /Server is ready/, 10_000, 'nats-server');
    const nc = await nats.connect({ servers: `127.0.0.1:${port}` });
    try {
      const jsm = await nc.jetstreamManager();
      await jsm.streams.add({ name: 'BENCH', subjects: ['bench'], storage: nats.StorageType.File });
      const values = Array.from({ length: 256 }, (_, i) => Buffer.from(redisValue().replaceAll('__rand_int__', String(i).padStart(12, '0')).slice(0, RECORD_BYTES).padEnd(RECORD_BYTES)));
      const inbox = nats.createInbox();
      const sentAt = new Float64Array(Math.ceil(records / 16) + 1);
      const lat: number[] = [];
      let acked = 0;
      let errors = 0;
      let firstError = '';
      let wake: (() => void) | null = null;
      const sub = nc.subscribe(`${inbox}.*`, {
        callback: (_err, m) => {
          const data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
          if (data.indexOf('"error"') >= 0 && errors++ === 0) firstError = data.toString();
          const i = Number(m.subject.slice(inbox.length + 1));
          if ((i & 15) === 0) lat.push(now() - sentAt[i >> 4]!);
          acked++;
          if (wake) {
            const w = wake;
            wake = null;
            w();
          }
        },
      });
      const t0 = now();
      for (let i = 0; i < records; i++) {
        while (i - acked >= window) await new Promise<void>((r) => (wake = r));
        if ((i & 15) === 0) sentAt[i >> 4] = now();
        nc.publish('bench', values[i & 255], { reply: `${inbox}.${i}` });
      }
      while (acked < records) await new Promise<void>((r) => (wake = r));
      const seconds = (now() - t0) / 1000;
      sub.unsubscribe();
      if (errors > 0) throw new Error(`${errors} JetStream publish errors, first: ${firstError}`);
      const info = await jsm.streams.info('BENCH');
      if (info.state.messages !== records) throw new Error(`stream holds ${info.state.messages} messages, expected ${records}`);
      const t = throughput(`NATS JetStream publish (file storage, async acks, ${window} in flight)`, records, records * RECORD_BYTES, seconds, percentiles(lat));
      t.note = `nats-server ${version}; acknowledged messages; latency = one publish to its PubAck`;
      return { ...t, version };
    } finally {
      await nc.close();
    }
  } finally {
    await stop(server);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * lmdb-js (npm `lmdb`), the embedded peer: `records` values appended under increasing
 * uint32 keys, `perTxn` puts (MDB_APPEND) per synchronous transaction. `noSync` true leaves
 * the data in the page cache at commit (Sluice's default durability); false fsyncs every
 * commit (lmdb's default). Latency: one transaction.
 */
export async function lmdbBench(records: number, values: Buffer[], noSync: boolean, perTxn = 1000): Promise<(Throughput & { version: string }) | { skipped: string }> {
  let lmdb: typeof import('lmdb');
  try {
    lmdb = await import('lmdb');
  } catch {
    return { skipped: 'the lmdb npm package is not installed (npm install -D lmdb)' };
  }
  const dir = benchDir();
  const db = lmdb.open<Buffer, number>({ path: dir, encoding: 'binary', keyEncoding: 'uint32', compression: false, noSync, mapSize: 2 ** 34 });
  try {
    const n = Math.ceil(records / perTxn);
    const lat = new Float64Array(n);
    let key = 1;
    let bytes = 0;
    const t0 = now();
    for (let t = 0; t < n; t++) {
      const s = now();
      db.transactionSync(() => {
        for (let i = 0; i < perTxn; i++) {
          const v = values[key % values.length]!;
          db.putSync(key++, v, { append: true });
          bytes += v.length;
        }
      });
      lat[t] = now() - s;
    }
    const seconds = (now() - t0) / 1000;
    if (db.getCount() !== n * perTxn) throw new Error(`lmdb holds ${db.getCount()} entries, expected ${n * perTxn}`);
    const t = throughput(`lmdb-js append (${perTxn} puts per txn, ${noSync ? 'noSync' : 'sync on commit'})`, n * perTxn, bytes, seconds, percentiles(Array.from(lat)));
    const version = JSON.parse(fs.readFileSync(new URL('../../node_modules/lmdb/package.json', import.meta.url), 'utf8')).version as string;
    t.note = `lmdb ${version}; latency = one transaction of ${perTxn} puts`;
    return { ...t, version };
  } finally {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The naive baseline: fs.writeSync of ready batches (the bytes Sluice stores) to one file
 * with O_APPEND, page cache only. Latency: one write.
 */
export function fsAppendBench(batches: Buffer[], recordsPerBatch: number, records: number): Throughput {
  const dir = benchDir();
  const fd = fs.openSync(path.join(dir, 'append.bin'), 'a');
  try {
    const n = Math.ceil(records / recordsPerBatch);
    const lat = new Float64Array(n);
    let bytes = 0;
    const t0 = now();
    for (let i = 0; i < n; i++) {
      const b = batches[i % batches.length]!;
      const s = now();
      fs.writeSync(fd, b);
      lat[i] = now() - s;
      bytes += b.length;
    }
    const seconds = (now() - t0) / 1000;
    const t = throughput(`node fs.writeSync append (ready batches of ${recordsPerBatch})`, n * recordsPerBatch, bytes, seconds, percentiles(Array.from(lat)));
    t.note = 'page cache, no fsync; latency = one write';
    return t;
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
