/**
 * Start time and open descriptors of an embedded Sluice with many partitions, each step in a
 * fresh process (so nothing is warm but the page cache, as after a real restart):
 *
 *   1. fill: create a topic of N partitions, send one record to each, count open fds; clean close
 *   2. start after a clean stop: time Sluice.open, count fds and info lines; clean close
 *   3. dirty: open, send one more record to each partition, then SIGKILL
 *   4. start after SIGKILL: time Sluice.open (recovery included), fds, info lines
 *
 * Run: npx tsc -p tsconfig.json && node dist/bench/scale-start.js [partitions=10000] [runs=3]
 * For profiling: `prepare <dir> <partitions>` leaves a directory as a SIGKILL left it, and
 * `open <dir>` times one start of it.
 * Prints one JSON line per step. Any extra node flags (--cpu-prof) go to the timed children
 * through SLUICE_BENCH_NODE_FLAGS.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sluice } from '../src/index.js';
import { median } from './util.js';

const TOPIC = 'wide';
const openFds = () => fs.readdirSync('/proc/self/fd').length;

interface Step {
  step: string;
  ms?: number;
  /** CPU (user + system, all threads) spent in the step's Sluice.open, ms: less noisy than wall time on a shared machine. */
  cpuMs?: number;
  fds?: number;
  baseFds?: number;
  infoLines?: number;
  warnLines?: number;
  recovered?: number;
}

/** The logger the children give Sluice: counts lines by level, prints none. */
function countingLogger() {
  const counts = { info: 0, warn: 0, debug: 0 };
  return {
    counts,
    logger: {
      info: () => void counts.info++,
      warn: () => void counts.warn++,
      debug: () => void counts.debug++,
    },
  };
}

async function sendToAll(s: Sluice, partitions: number, round: number): Promise<void> {
  const producer = s.producer();
  await Promise.all(Array.from({ length: partitions }, (_, i) => producer.send(TOPIC, { key: `k${i}`, value: `v${round}-${i}`, partition: i })));
  await producer.close();
}

/** Child side: one step, result on stdout as JSON. */
async function child(mode: string, dir: string, partitions: number): Promise<void> {
  const baseFds = openFds();
  const { counts, logger } = countingLogger();
  const workerThreads = process.env.SLUICE_BENCH_WORKERS === undefined ? undefined : Number(process.env.SLUICE_BENCH_WORKERS);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const s = await Sluice.open({ dir, logger, retentionCheckIntervalMs: 0, workerThreads });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const out: Step = { step: mode, ms, cpuMs: (cpu.user + cpu.system) / 1000, baseFds, fds: openFds() - baseFds, infoLines: counts.info, warnLines: counts.warn, recovered: s.recovered.length };
  if (mode === 'fill') {
    await s.createTopic(TOPIC, { partitions, config: { 'retention.ms': -1 } });
    await sendToAll(s, partitions, 0);
    out.fds = openFds() - baseFds;
  } else if (mode === 'dirty') {
    await sendToAll(s, partitions, 1);
    out.fds = openFds() - baseFds;
    process.stdout.write(JSON.stringify(out) + '\n');
    await new Promise(() => {}); // the parent SIGKILLs us
  }
  process.stdout.write(JSON.stringify(out) + '\n');
  await s.close();
}

/** Parent side: runs one child step; with `kill`, SIGKILLs it once it has printed its line. */
function runStep(mode: string, dir: string, partitions: number, kill = false): Promise<Step> {
  const flags = (process.env.SLUICE_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...flags, fileURLToPath(import.meta.url), 'child', mode, dir, String(partitions)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let step: Step | null = null;
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (step === null && nl >= 0) {
        step = JSON.parse(out.slice(0, nl)) as Step;
        if (kill) p.kill('SIGKILL');
      }
    });
    p.on('exit', (code, signal) => {
      if (step !== null && (code === 0 || signal === 'SIGKILL')) resolve(step);
      else reject(new Error(`step ${mode} exited with ${code ?? signal}`));
    });
  });
}

async function main(): Promise<void> {
  const [partitions = 10_000, runs = 3] = process.argv.slice(2).map(Number);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-scale-start-'));
  try {
    const fill = await runStep('fill', dir, partitions);
    console.log(JSON.stringify({ partitions, ...fill }));
    const clean: number[] = [];
    const killed: number[] = [];
    const cleanCpu: number[] = [];
    const killedCpu: number[] = [];
    for (let r = 0; r < runs; r++) {
      const c = await runStep('clean-start', dir, partitions);
      clean.push(c.ms!);
      cleanCpu.push(c.cpuMs!);
      console.log(JSON.stringify(c));
      const d = await runStep('dirty', dir, partitions, true);
      console.log(JSON.stringify(d));
      const k = await runStep('start-after-sigkill', dir, partitions);
      killed.push(k.ms!);
      killedCpu.push(k.cpuMs!);
      console.log(JSON.stringify(k));
    }
    console.log(JSON.stringify({ partitions, cleanStartMsMedian: median(clean), sigkillStartMsMedian: median(killed), cleanCpuMsMedian: median(cleanCpu), sigkillCpuMsMedian: median(killedCpu), clean, killed }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'child') {
  await child(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
} else if (process.argv[2] === 'prepare') {
  // A data directory left by a SIGKILL, kept for profiling: prepare <dir> <partitions>
  const [dir, n] = [process.argv[3]!, Number(process.argv[4])];
  console.log(JSON.stringify(await runStep('fill', dir, n)));
  console.log(JSON.stringify(await runStep('dirty', dir, n, true)));
} else if (process.argv[2] === 'open') {
  // One timed open of an existing directory: open <dir>
  console.log(JSON.stringify(await runStep('open', process.argv[3]!, 0)));
} else {
  await main();
}
