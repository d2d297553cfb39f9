/**
 * The wire-protocol benchmark: librdkafka (bench/rdkafka-perf.c) producing 100-byte JSON log
 * records with lz4 (and zstd) and acks=1 to a `sluice serve` process, then consuming them
 * back, for topics of 1 and 8 partitions; Redis Streams XADD (bench/peers.ts) in the same
 * run, with Sluice's produce rate as a ratio of it. Client and broker share the machine's cores.
 *
 * Each row's note gives the bytes the broker stored: librdkafka before 2.8 (Debian ships
 * 2.0.2) silently sends gzip, snappy and lz4 batches uncompressed to a broker whose oldest
 * Produce version is above 0 (librdkafka issue #4956); zstd is unaffected. The note says
 * "sent uncompressed" when that happened.
 *
 *   node dist/bench/wire.js [--quick] [--records=N] [--runs=N] [--partitions=1,8] [--codecs=lz4,zstd] [--no-redis]
 *
 * SLUICE_BENCH_CPU_PROF=<dir> profiles each broker process (node --cpu-prof, written when
 * the broker stops); only the broker child gets the flag.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasCommand, redisStreamsBench, stop, waitForLine } from './peers.js';
import { benchDir, machine, median, medianOf, table, throughput, type Throughput } from './util.js';

export interface WireBenchOptions {
  records: number;
  partitions: number[];
  /** Fresh broker runs per partition count; the median is kept (default 1). */
  runs?: number;
  /** Producer compression codecs, one set of rows each (default lz4). */
  codecs?: string[];
  /** Skip the Redis Streams peer. */
  noRedis?: boolean;
}

const RECORD_BYTES = 100;
const TOPIC = 'bench';
/** Repository root: this file runs from dist/bench/. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SOURCE = path.join(ROOT, 'bench', 'rdkafka-perf.c');
const BINARY = path.join(ROOT, 'build', 'rdkafka-perf');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'index.js');

/** What rdkafka-perf prints (one JSON line). */
interface PerfResult {
  mode: 'produce' | 'consume';
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
  const cc = spawnSync('cc', ['-O2', '-o', BINARY, SOURCE, '-lrdkafka'], { encoding: 'utf8' });
  if (cc.error) return `no C compiler: ${cc.error.message}`;
  if (cc.status !== 0) return `cc failed:\n${cc.stderr}`;
  return undefined;
}

function runPerf(args: string[]): Promise<PerfResult> {
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

interface RunResult {
  produce: PerfResult;
  consume: PerfResult;
  paced?: PerfResult;
  /** Bytes of the topic's segment files after the produce run (what the broker stored). */
  storedBytes: number;
  /** CPU seconds the broker process (all its threads) used during each phase. */
  brokerCpu: { produce: number; consume: number };
}

let clockTicks: number | undefined;
/** CPU seconds (user + system, all threads) process `pid` has used, from /proc; NaN elsewhere. */
function processCpuSeconds(pid: number): number {
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
    extraServeFlags = help.includes('--metrics-port') ? ['--metrics-port', '0'] : [];
  }
  return extraServeFlags;
}

function topicBytes(dir: string, topic: string): number {
  let bytes = 0;
  for (const d of fs.readdirSync(dir)) {
    if (!new RegExp(`^${topic}-\\d+$`).test(d)) continue;
    for (const f of fs.readdirSync(path.join(dir, d))) if (f.endsWith('.log')) bytes += fs.statSync(path.join(dir, d, f)).size;
  }
  return bytes;
}

/**
 * One fresh broker: produce `records`, consume them back, optionally a paced produce run for
 * latency; then stop the broker and remove its data.
 */
async function runOnce(records: number, partitions: number, codec: string, paced: boolean): Promise<RunResult> {
  const dir = benchDir();
  const profDir = process.env.SLUICE_BENCH_CPU_PROF;
  const nodeFlags = profDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(profDir)] : [];
  const args = [...nodeFlags, CLI, 'serve', '--dir', dir, '--port', '0', '--num-partitions', String(partitions), ...serveFlags()];
  const broker = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const m = await waitForLine(broker, /listening on (\S+):(\d+)/, 15_000, 'sluice serve');
    const bootstrap = `${m[1]}:${m[2]}`;
    const common = ['-b', bootstrap, '-t', TOPIC, '-n', String(records), '-s', String(RECORD_BYTES)];
    const cpu0 = processCpuSeconds(broker.pid!);
    const produce = await runPerf(['produce', ...common, '-z', codec, '-a', '1', '-l', '5', '-B', String(1 << 20)]);
    const cpu1 = processCpuSeconds(broker.pid!);
    if (produce.errors !== 0) throw new Error(`${produce.errors} delivery errors, first: ${produce.firstError}`);
    if (produce.partitions !== partitions) throw new Error(`topic has ${produce.partitions} partitions, expected ${partitions}`);
    const storedBytes = topicBytes(dir, TOPIC);
    const consume = await runPerf(['consume', ...common]);
    const brokerCpu = { produce: cpu1 - cpu0, consume: processCpuSeconds(broker.pid!) - cpu1 };
    if (!paced) return { produce, consume, storedBytes, brokerCpu };
    const pacedArgs = ['-b', bootstrap, '-t', `${TOPIC}-paced`, '-n', String(PACED_RATE * PACED_SECONDS), '-s', String(RECORD_BYTES), '-r', String(PACED_RATE)];
    const pacedResult = await runPerf(['produce', ...pacedArgs, '-z', codec, '-a', '1', '-l', '5', '-B', String(1 << 20)]);
    if (pacedResult.errors !== 0) throw new Error(`${pacedResult.errors} delivery errors, first: ${pacedResult.firstError}`);
    return { produce, consume, paced: pacedResult, storedBytes, brokerCpu };
  } finally {
    await stop(broker);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function row(name: string, r: PerfResult): Throughput {
  return throughput(name, r.records, r.bytes, r.seconds, r.latency);
}

function addNote(t: Throughput, note: string): void {
  t.note = t.note ? `${t.note}; ${note}` : note;
}

export async function wireBench(o: WireBenchOptions): Promise<Throughput[]> {
  const skipped = buildLoadGenerator();
  if (skipped) {
    console.log(`Wire benchmark skipped: ${skipped}`);
    return [];
  }
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build with npx tsc -p tsconfig.json`);
  const runs = o.runs ?? 1;
  const rows: Throughput[] = [];
  const produceRows: Throughput[] = [];
  for (const codec of o.codecs ?? ['lz4']) {
    for (const partitions of o.partitions) {
      const results: RunResult[] = [];
      for (let i = 0; i < runs; i++) results.push(await runOnce(o.records, partitions, codec, i === 0));
      const label = `${partitions} partition${partitions > 1 ? 's' : ''}, ${codec}, acks=1`;
      let p = 0;
      let c = 0;
      const produce = await medianOf(runs, () => row(`librdkafka produce (${label})`, results[p++]!.produce));
      const consume = await medianOf(runs, () => row(`librdkafka consume (${label})`, results[c++]!.consume));
      // CPU per million records, medians over the runs: steadier than wall time on a shared machine.
      const perM = (f: (r: RunResult) => number) => (median(results.map(f)) / o.records) * 1e6;
      const cpu = (phase: 'produce' | 'consume') =>
        `CPU/M records: client ${perM((r) => r[phase].cpuSeconds).toFixed(2)} s, broker ${perM((r) => r.brokerCpu[phase]).toFixed(2)} s`;
      const stored = median(results.map((r) => r.storedBytes));
      const ratio = produce.bytes / stored;
      const sent = codec !== 'none' && ratio < 1.1 ? 'sent uncompressed' : `compression ${ratio.toFixed(1)}x`;
      addNote(produce, `${cpu('produce')}; stored ${(stored / 1e6).toFixed(0)} MB (${sent}); latency = enqueue to delivery report`);
      addNote(consume, `${cpu('consume')}; from assign to the last record`);
      rows.push(produce, consume);
      const paced = row(`librdkafka produce paced at ${PACED_RATE / 1000} k/s (${label})`, results[0]!.paced!);
      paced.note = 'latency = one record, enqueue to delivery report, at a fixed rate (linger.ms=5 included)';
      rows.push(paced);
      produceRows.push(produce);
    }
  }
  if (!o.noRedis) {
    const redis = await redisStreamsBench(o.records);
    if ('skipped' in redis) {
      console.log(`Redis Streams peer skipped: ${redis.skipped}`);
    } else {
      const { command: _command, version: _version, ...redisRow } = redis;
      rows.push(redisRow);
      for (const r of produceRows) r.ratio = { to: 'Redis XADD', value: r.recordsPerSec / redis.recordsPerSec };
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const records = Number(arg('records') ?? (quick ? 1_000_000 : 10_000_000));
  const runs = Number(arg('runs') ?? (quick ? 1 : 3));
  const partitions = (arg('partitions') ?? '1,8').split(',').map(Number);
  const codecs = (arg('codecs') ?? 'lz4,zstd').split(',');
  const tools = { librdkafka: hasCommand('pkg-config') ? spawnSync('pkg-config', ['--modversion', 'rdkafka']).stdout?.toString().trim() : undefined };
  const loadavg = os.loadavg().map((l) => +l.toFixed(2));
  console.log(`Sluice wire benchmark ${JSON.stringify({ ...machine(), ...tools, loadavg, records, runs, partitions, codecs })}\n`);
  const rows = await wireBench({ records, partitions, runs, codecs, noRedis: process.argv.includes('--no-redis') });
  if (rows.length === 0) return;
  console.log('Wire protocol: librdkafka client and `sluice serve` on the same 2 cores, 100-byte records');
  console.log(table(rows));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
