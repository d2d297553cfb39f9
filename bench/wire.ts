/**
 * The wire-protocol benchmark, in the conventions of kafka-producer-perf-test and
 * OpenMessaging: librdkafka (bench/rdkafka-perf.c) producing keyless records to a
 * `sluice serve` process, one fresh broker per partition count, one topic per workload:
 * record size (100 B, 1 KB) x acks (1, all) x compression (none, lz4) x partitions
 * (1, 8, 64). Each produce run is followed by a consume of the same records (acks=1 rows).
 * Then end-to-end latency at a fixed rate, half the measured maximum: a producer and a
 * consumer in one client process, each record stamped with its send time (rdkafka-perf e2e).
 * Peers in the same run (bench/peers.ts): Redis Streams XADD and NATS JetStream publish,
 * 100-byte records, with Sluice's rate as a ratio of theirs.
 *
 * acks=all on a Sluice broker waits for a group-commit fsync (--acks-all-fsync, the default),
 * so those rows are durable on disk when acknowledged.
 *
 * Each row's note gives the bytes the broker stored: librdkafka before 2.8 (Debian ships
 * 2.0.2) silently sends gzip, snappy and lz4 batches uncompressed to a broker whose oldest
 * Produce version is above 0 (librdkafka issue #4956); zstd is unaffected. The note says
 * "sent uncompressed" when that happened.
 *
 *   node dist/bench/wire.js [--quick] [--records=N] [--runs=N] [--partitions=1,8] [--codecs=none,lz4]
 *                           [--sizes=100,1024] [--acks=1,all] [--no-peers]
 *
 * SLUICE_BENCH_CPU_PROF=<dir> profiles each broker process (node --cpu-prof, written when
 * the broker stops); only the broker child gets the flag.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasCommand, natsJetStreamBench, redisStreamsBench, stop, waitForLine } from './peers.js';
import { benchDir, machine, median, table, throughput, type Throughput } from './util.js';

export interface WireBenchOptions {
  /** Records per produce run of 100-byte records; larger records get the same bytes, at least 1/10 of the records. */
  records: number;
  partitions: number[];
  /** Runs of each headline workload (100 B, acks=1); the median is kept (default 1). */
  runs?: number;
  /** Producer compression codecs (default none and lz4). */
  codecs?: string[];
  /** Record sizes in bytes (default 100 and 1024). */
  sizes?: number[];
  /** acks settings (default 1 and all). */
  acks?: string[];
  /** Keep only the workloads this accepts (the quick mode's cut). */
  filter?: (w: Workload) => boolean;
  /** Seconds of each end-to-end run (default 3; 0 skips them). */
  e2eSeconds?: number;
  /** Shares of the maximum rate for the end-to-end runs (default [0.5]). */
  e2eShares?: number[];
  /** The produce-latency run at 250 k/s of earlier reports (default true). */
  paced?: boolean;
  /** Skip the peers (Redis Streams, NATS JetStream). */
  noPeers?: boolean;
}

export interface Workload {
  recordBytes: number;
  partitions: number;
  acks: string;
  codec: string;
}

export interface WireResult {
  rows: Throughput[];
  /** Produce rows by workload, for the report's matrix. */
  produce: Throughput[];
  e2e: Throughput[];
  peers: Throughput[];
}

const TOPIC = 'bench';
/** Repository root: this file runs from dist/bench/. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SOURCE = path.join(ROOT, 'bench', 'rdkafka-perf.c');
const BINARY = path.join(ROOT, 'build', 'rdkafka-perf');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'index.js');

/** What rdkafka-perf prints (one JSON line). */
export interface PerfResult {
  mode: 'produce' | 'consume' | 'e2e';
  records: number;
  bytes: number;
  seconds: number;
  recordsPerSec: number;
  partitions: number;
  /** CPU seconds the client used in the timed part (all librdkafka threads). */
  cpuSeconds: number;
  errors: number;
  firstError: string;
  badLength?: number;
  queueFullRetries?: number;
  latency?: { samples: number; p50: number; p95: number; p99: number; p999: number; max: number };
}

/** Builds build/rdkafka-perf when missing or older than its source; a reason string when it cannot. */
export function buildLoadGenerator(): string | undefined {
  if (!fs.existsSync('/usr/include/librdkafka/rdkafka.h')) return 'librdkafka-dev is not installed (apt-get install -y librdkafka-dev)';
  if (fs.existsSync(BINARY) && fs.statSync(BINARY).mtimeMs >= fs.statSync(SOURCE).mtimeMs) return undefined;
  fs.mkdirSync(path.dirname(BINARY), { recursive: true });
  const cc = spawnSync('cc', ['-O2', '-o', BINARY, SOURCE, '-lrdkafka', '-lpthread'], { encoding: 'utf8' });
  if (cc.error) return `no C compiler: ${cc.error.message}`;
  if (cc.status !== 0) return `cc failed:\n${cc.stderr}`;
  return undefined;
}

export function runPerf(args: string[]): Promise<PerfResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      let result: PerfResult | undefined;
      try {
        result = JSON.parse(line) as PerfResult;
      } catch {
        // reported below with stderr
      }
      if (code !== 0 || !result) reject(new Error(`rdkafka-perf ${args[0]} exited ${code}: ${line}\n${err}`));
      else resolve(result);
    });
  });
}

/** Latency at a fixed rate, on a topic of its own: flat out, a record's latency is mostly its wait in the client's queue. */
const PACED_RATE = 250_000;
const PACED_SECONDS = 4;

let clockTicks: number | undefined;
/** CPU seconds (user + system, all threads) process `pid` has used, from /proc; NaN elsewhere. */
export function processCpuSeconds(pid: number): number {
  try {
    clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks; // utime and stime: fields 14 and 15 of stat(5)
  } catch {
    return NaN;
  }
}

/** Flags `sluice serve` accepts that this benchmark wants off when present (read from --help once). */
let extraServeFlags: string[] | undefined;
function serveFlags(): string[] {
  if (extraServeFlags === undefined) {
    const help = spawnSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8' }).stdout ?? '';
    extraServeFlags = [...(help.includes('--metrics-port') ? ['--metrics-port', '0'] : []), ...(help.includes('--console-port') ? ['--console-port', '0'] : [])];
  }
  return extraServeFlags;
}

export function topicBytes(dir: string, topic: string): number {
  let bytes = 0;
  for (const d of fs.readdirSync(dir)) {
    if (!new RegExp(`^${topic}-\\d+$`).test(d)) continue;
    for (const f of fs.readdirSync(path.join(dir, d))) if (f.endsWith('.log')) bytes += fs.statSync(path.join(dir, d, f)).size;
  }
  return bytes;
}

/** A running `sluice serve` on a fresh data directory. */
export interface Broker {
  child: ChildProcess;
  bootstrap: string;
  dir: string;
}

export async function startBroker(partitions: number): Promise<Broker> {
  const dir = benchDir();
  const profDir = process.env.SLUICE_BENCH_CPU_PROF;
  const nodeFlags = profDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(profDir)] : [];
  const args = [...nodeFlags, CLI, 'serve', '--dir', dir, '--port', '0', '--num-partitions', String(partitions), ...serveFlags()];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const m = await waitForLine(child, /listening on (\S+):(\d+)/, 15_000, 'sluice serve');
    return { child, bootstrap: `${m[1]}:${m[2]}`, dir };
  } catch (err) {
    await stop(child);
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export async function stopBroker(b: Broker): Promise<void> {
  await stop(b.child);
  fs.rmSync(b.dir, { recursive: true, force: true });
}

function label(w: Workload): string {
  const size = w.recordBytes >= 1024 ? `${w.recordBytes / 1024} KB` : `${w.recordBytes} B`;
  return `${size}, ${w.partitions} partition${w.partitions > 1 ? 's' : ''}, ${w.codec}, acks=${w.acks}`;
}

function params(w: Workload): Record<string, string | number> {
  return { recordBytes: w.recordBytes, partitions: w.partitions, acks: w.acks, compression: w.codec };
}

function recordsFor(o: WireBenchOptions, recordBytes: number): number {
  return Math.max(Math.ceil(o.records / 10), Math.round((o.records * 100) / recordBytes));
}

/** One produce (+ consume) run of a workload on a topic of its own on `b`. */
async function runWorkload(b: Broker, w: Workload, records: number, topic: string, consume: boolean) {
  const common = ['-b', b.bootstrap, '-t', topic, '-n', String(records), '-s', String(w.recordBytes)];
  const cpu0 = processCpuSeconds(b.child.pid!);
  const produce = await runPerf(['produce', ...common, '-z', w.codec, '-a', w.acks === 'all' ? '-1' : w.acks, '-l', '5', '-B', String(1 << 20)]);
  const cpu1 = processCpuSeconds(b.child.pid!);
  if (produce.errors !== 0) throw new Error(`${produce.errors} delivery errors, first: ${produce.firstError}`);
  if (produce.partitions !== w.partitions) throw new Error(`topic has ${produce.partitions} partitions, expected ${w.partitions}`);
  const storedBytes = topicBytes(b.dir, topic);
  const consumed = consume ? await runPerf(['consume', ...common]) : undefined;
  const cpu2 = processCpuSeconds(b.child.pid!);
  return { produce, consume: consumed, storedBytes, brokerCpu: { produce: cpu1 - cpu0, consume: cpu2 - cpu1 } };
}

function row(name: string, r: PerfResult): Throughput {
  return throughput(name, r.records, r.bytes, r.seconds, r.latency);
}

function addNote(t: Throughput, note: string): void {
  t.note = t.note ? `${t.note}; ${note}` : note;
}

export async function wireBench(o: WireBenchOptions): Promise<WireResult> {
  const out: WireResult = { rows: [], produce: [], e2e: [], peers: [] };
  const skipped = buildLoadGenerator();
  if (skipped) {
    console.log(`Wire benchmark skipped: ${skipped}`);
    return out;
  }
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build with npx tsc -p tsconfig.json`);
  const runs = o.runs ?? 1;
  let seq = 0;
  for (const partitions of o.partitions) {
    const broker = await startBroker(partitions);
    try {
      let maxRate = 0;
      for (const recordBytes of o.sizes ?? [100, 1024]) {
        for (const acks of o.acks ?? ['1', 'all']) {
          for (const codec of o.codecs ?? ['none', 'lz4']) {
            const w: Workload = { recordBytes, partitions, acks, codec };
            if (o.filter && !o.filter(w)) continue;
            const records = recordsFor(o, recordBytes);
            const headline = recordBytes === 100 && acks === '1';
            const results = [];
            for (let i = 0; i < (headline ? runs : 1); i++) results.push(await runWorkload(broker, w, records, `${TOPIC}-${seq++}`, acks === '1'));
            results.sort((a, b) => a.produce.recordsPerSec - b.produce.recordsPerSec);
            const mid = results[results.length >> 1]!;
            const produce = row(`librdkafka produce (${label(w)})`, mid.produce);
            produce.params = { ...params(w), mode: 'produce' };
            if (results.length > 1) {
              produce.note = `median of ${results.length} (range ${fmt(results[0]!.produce.recordsPerSec)}-${fmt(results[results.length - 1]!.produce.recordsPerSec)} rec/s)`;
            }
            const perM = (x: number) => ((x / records) * 1e6).toFixed(2);
            const ratio = mid.produce.bytes / mid.storedBytes;
            const sent = codec !== 'none' && ratio < 1.1 ? 'sent uncompressed' : codec === 'none' ? 'stored' : `compression ${ratio.toFixed(1)}x`;
            addNote(produce, `CPU/M records: client ${perM(mid.produce.cpuSeconds)} s, broker ${perM(mid.brokerCpu.produce)} s; ${(mid.storedBytes / 1e6).toFixed(0)} MB ${sent}; latency = enqueue to delivery report`);
            out.rows.push(produce);
            out.produce.push(produce);
            if (mid.consume) {
              const consume = row(`librdkafka consume (${label(w)})`, mid.consume);
              consume.params = { ...params(w), mode: 'consume' };
              addNote(consume, `CPU/M records: client ${perM(mid.consume.cpuSeconds)} s, broker ${perM(mid.brokerCpu.consume)} s; from assign to the last record`);
              out.rows.push(consume);
            }
            if (recordBytes === 100 && acks === '1' && codec === 'none') maxRate = produce.recordsPerSec;
            if (o.paced !== false && recordBytes === 100 && acks === '1' && codec === 'lz4') {
              const pacedArgs = ['-b', broker.bootstrap, '-t', `${TOPIC}-paced-${seq++}`, '-n', String(PACED_RATE * PACED_SECONDS), '-s', '100', '-r', String(PACED_RATE)];
              const p = await runPerf(['produce', ...pacedArgs, '-z', codec, '-a', '1', '-l', '5', '-B', String(1 << 20)]);
              if (p.errors !== 0) throw new Error(`${p.errors} delivery errors, first: ${p.firstError}`);
              const paced = row(`librdkafka produce paced at ${PACED_RATE / 1000} k/s (${label(w)})`, p);
              paced.note = 'latency = one record, enqueue to delivery report, at a fixed rate (linger.ms=5 included)';
              paced.params = { ...params(w), mode: 'paced' };
              out.rows.push(paced);
            }
          }
        }
      }
      // End to end at half the measured maximum (100 B, acks=1, no compression).
      const e2eSeconds = o.e2eSeconds ?? 3;
      for (const share of maxRate > 0 && e2eSeconds > 0 ? (o.e2eShares ?? [0.5]) : []) {
        const rate = Math.round(maxRate * share);
        const w: Workload = { recordBytes: 100, partitions, acks: '1', codec: 'none' };
        const args = ['-b', broker.bootstrap, '-t', `${TOPIC}-e2e-${seq++}`, '-n', String(Math.round(rate * e2eSeconds)), '-s', '100', '-r', String(rate), '-z', 'none', '-a', '1', '-l', '1'];
        const r = await runPerf(['e2e', ...args]);
        if (r.errors !== 0) throw new Error(`e2e: ${r.errors} errors, first: ${r.firstError}`);
        const e2e = row(`librdkafka end to end at ${fmt(rate)}/s = ${Math.round(share * 100)}% of max (${label(w)})`, r);
        e2e.params = { ...params(w), mode: 'e2e', rate, share };
        e2e.note = 'latency = produce call to consumed, producer and consumer in one process; linger.ms=1';
        out.rows.push(e2e);
        out.e2e.push(e2e);
      }
    } finally {
      await stopBroker(broker);
    }
  }
  if (!o.noPeers) {
    const redis = await redisStreamsBench(o.records);
    if ('skipped' in redis) console.log(`Redis Streams peer skipped: ${redis.skipped}`);
    else {
      const { command: _command, version: _version, ...redisRow } = redis;
      redisRow.params = { peer: 'redis', recordBytes: 100 };
      out.peers.push(redisRow);
    }
    const nats = await natsJetStreamBench(Math.min(o.records, 2_000_000));
    if ('skipped' in nats) console.log(`NATS JetStream peer skipped: ${nats.skipped}`);
    else {
      const { version: _version, ...natsRow } = nats;
      natsRow.params = { peer: 'nats', recordBytes: 100 };
      out.peers.push(natsRow);
    }
    out.rows.push(...out.peers);
    for (const p of out.peers) {
      const peer = p.params!.peer === 'redis' ? 'Redis XADD' : 'NATS JetStream';
      for (const r of out.produce) {
        if (r.params!.recordBytes === 100 && r.params!.acks === '1' && r.params!.compression === 'none' && !r.ratio) {
          r.ratio = { to: peer, value: r.recordsPerSec / p.recordsPerSec };
        }
      }
    }
  }
  return out;
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} k`;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const records = Number(arg('records') ?? (quick ? 300_000 : 3_000_000));
  const runs = Number(arg('runs') ?? (quick ? 1 : 3));
  const partitions = (arg('partitions') ?? '1,8').split(',').map(Number);
  const codecs = (arg('codecs') ?? 'none,lz4').split(',');
  const sizes = (arg('sizes') ?? '100,1024').split(',').map(Number);
  const acks = (arg('acks') ?? '1,all').split(',');
  const tools = { librdkafka: hasCommand('pkg-config') ? spawnSync('pkg-config', ['--modversion', 'rdkafka']).stdout?.toString().trim() : undefined };
  const loadavg = os.loadavg().map((l) => +l.toFixed(2));
  console.log(`Sluice wire benchmark ${JSON.stringify({ ...machine(), ...tools, loadavg, records, runs, partitions, codecs, sizes, acks })}\n`);
  const r = await wireBench({ records, partitions, runs, codecs, sizes, acks, noPeers: process.argv.includes('--no-peers') });
  if (r.rows.length === 0) return;
  console.log('Wire protocol: librdkafka client and `sluice serve` on the same cores');
  console.log(table(r.rows));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
