/**
 * Where the worker pool starts to pay: each codec operation on records sections of JSON
 * log lines from 1 KB to 1 MB, run inline and through the pool.
 *
 *   inline us      one call on the calling thread (a WorkerPool with inline: true)
 *   pooled us      one call through the pool, one in flight: the latency a lone caller sees
 *   hop us         pooled - inline: what the trip to a worker adds
 *   inline MB/s    back to back on the calling thread (one core)
 *   pooled MB/s    IN_FLIGHT calls kept in flight through the pool
 *   main us/op     event-loop time the pooled calls cost the calling thread, per call
 *                  (performance.eventLoopUtilization over the throughput run)
 *
 * The crossover of an operation is the smallest size from which, at every larger size, a
 * pooled call costs the event loop less than doing the work inline (main us/op < inline
 * us): the hop then saves more than it costs, which is the pool's reason to be. Pooled
 * throughput is shown but not part of the rule: with two cores the main thread and two
 * workers share them, so the pool frees the event loop more than it adds capacity. Each
 * number is the median of `runs` runs; the runs of one row interleave inline, latency and
 * throughput, so a noisy neighbour hits all three alike.
 *
 * `node dist/bench/pool-threshold.js [--quick]`, or poolThresholdBench() from bench/index.ts.
 */
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { buildBatch, encodeRecords } from '../src/record/index.js';
import { WorkerPool } from '../src/workers/index.js';
import { makeRecords } from './storage.js';
import { median } from './util.js';

export type ThresholdOp = 'compress' | 'decompress' | 'validate';
export type ThresholdCodec = 'lz4' | 'gzip' | 'none';

export interface ThresholdRow {
  op: ThresholdOp;
  codec: ThresholdCodec;
  /** Nominal size of the uncompressed records section. */
  size: number;
  /** Bytes the operation takes in (compressed for decompress and for validate with a codec). */
  inputBytes: number;
  inlineUs: number;
  pooledUs: number;
  hopUs: number;
  inlineMBps: number;
  pooledMBps: number;
  mainUsPerOp: number;
  /** pooledMBps / inlineMBps */
  speedup: number;
}

// The sizes asked for, plus 32 and 128 KB where the crossovers fall.
export const SIZES = [1024, 4096, 16384, 32768, 65536, 131072, 262144, 1048576];
const CASES: [ThresholdOp, ThresholdCodec][] = [
  ['compress', 'lz4'],
  ['decompress', 'lz4'],
  ['compress', 'gzip'],
  ['decompress', 'gzip'],
  ['validate', 'lz4'],
  ['validate', 'gzip'],
  ['validate', 'none'],
];
const IN_FLIGHT = 4;

interface Options {
  quick?: boolean;
  /** Runs per number (median kept); default 5, quick 3. */
  runs?: number;
  /** Time per run in ms; default 40, quick 20. */
  runMs?: number;
}

/** A records section of ~`size` bytes of 100-byte JSON log lines. */
function section(size: number): Buffer {
  const records = makeRecords(Math.max(1, Math.round(size / 104)), size);
  return encodeRecords(records, { now: 1_700_000_000_000 }).data;
}

/** The input of `op` and a function running it once on `pool` with a fresh copy. */
function workload(op: ThresholdOp, codec: ThresholdCodec, size: number) {
  const raw = section(size);
  let input: Buffer;
  if (op === 'compress') input = raw;
  else if (op === 'decompress') input = buildBatch(makeRecords(Math.max(1, Math.round(size / 104)), size), { compression: codec, now: 1 }).subarray(61);
  else input = buildBatch(makeRecords(Math.max(1, Math.round(size / 104)), size), { compression: codec, now: 1 });
  const run = (pool: WorkerPool, data: Buffer): Promise<unknown> =>
    op === 'compress' ? pool.compress(codec, data) : op === 'decompress' ? pool.decompress(codec, data) : pool.validate(data);
  return { input, run, bytes: raw.length };
}

/** Owned copies, made before timing: a pooled call moves (and empties) its input. */
function copies(input: Buffer, n: number): Buffer[] {
  return Array.from({ length: n }, () => {
    const b = Buffer.allocUnsafeSlow(input.length);
    input.copy(b);
    return b;
  });
}

async function timePerOp(runMs: number, call: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    await call();
    n++;
    elapsed = performance.now() - start;
  } while (elapsed < runMs || n < 3);
  return (elapsed * 1000) / n;
}

async function throughputRun(runMs: number, call: () => Promise<unknown>): Promise<{ opsPerSec: number; mainUsPerOp: number }> {
  let done = 0;
  let stop = false;
  const elu0 = performance.eventLoopUtilization();
  const start = performance.now();
  const lane = async () => {
    while (!stop) {
      await call();
      done++;
      if (performance.now() - start >= runMs && done >= IN_FLIGHT) stop = true;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  const seconds = (performance.now() - start) / 1000;
  const elu = performance.eventLoopUtilization(elu0);
  return { opsPerSec: done / seconds, mainUsPerOp: (elu.active * 1000) / done };
}

export async function poolThresholdBench(options: Options = {}): Promise<ThresholdRow[]> {
  const runs = options.runs ?? (options.quick ? 3 : 5);
  const runMs = options.runMs ?? (options.quick ? 20 : 40);
  const inline = new WorkerPool({ inline: true });
  const pooled = new WorkerPool({ compressInlineBelow: 0, decompressInlineBelow: 0, validateInlineBelow: 0 });
  const rows: ThresholdRow[] = [];
  try {
    for (const [op, codec] of CASES) {
      for (const size of SIZES) {
        const { input, run, bytes } = workload(op, codec, size);
        // Enough copies for one run of the fastest case; refilled when used up.
        let stock: Buffer[] = [];
        const fresh = () => (stock.length > 0 ? stock.pop()! : copies(input, 1)[0]!);
        const restock = (n: number) => (stock = copies(input, n));
        await run(pooled, fresh()); // warm: threads up, code hot
        await run(inline, input);
        const inl: number[] = [];
        const lat: number[] = [];
        const thr: number[] = [];
        const main: number[] = [];
        for (let r = 0; r < runs; r++) {
          inl.push(await timePerOp(runMs, () => run(inline, input)));
          restock(Math.min(4096, Math.ceil((64 * 1024 * 1024) / input.length)));
          lat.push(await timePerOp(runMs, () => run(pooled, fresh())));
          restock(Math.min(8192, Math.ceil((96 * 1024 * 1024) / input.length)));
          const t = await throughputRun(runMs, () => run(pooled, fresh()));
          thr.push(t.opsPerSec);
          main.push(t.mainUsPerOp);
        }
        stock = [];
        const inlineUs = median(inl);
        const pooledUs = median(lat);
        const ops = median(thr);
        const inlineMBps = bytes / inlineUs; // bytes per us = MB/s
        const pooledMBps = (ops * bytes) / 1e6;
        rows.push({
          op,
          codec,
          size,
          inputBytes: input.length,
          inlineUs,
          pooledUs,
          hopUs: pooledUs - inlineUs,
          inlineMBps,
          pooledMBps,
          mainUsPerOp: median(main),
          speedup: pooledMBps / inlineMBps,
        });
      }
    }
  } finally {
    await pooled.close();
    await inline.close();
  }
  return rows;
}

/** Per "op codec": the smallest size from which the pool wins at every larger size (null: never). */
export function crossovers(rows: ThresholdRow[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [op, codec] of CASES) {
    const mine = rows.filter((r) => r.op === op && r.codec === codec).sort((a, b) => a.size - b.size);
    let from: number | null = null;
    for (let i = mine.length - 1; i >= 0; i--) {
      const r = mine[i]!;
      if (r.mainUsPerOp < r.inlineUs) from = r.size;
      else break;
    }
    out[`${op} ${codec}`] = from;
  }
  return out;
}

function kb(n: number): string {
  return n >= 1048576 ? `${n / 1048576} MB` : `${n / 1024} KB`;
}

/** The first row of an op at `size`: its input bytes (what a threshold compares). */
function inputAt(rows: ThresholdRow[], key: string, size: number): number | undefined {
  return rows.find((r) => `${r.op} ${r.codec}` === key && r.size === size)?.inputBytes;
}

export function thresholdTable(rows: ThresholdRow[]): string {
  const head = ['op', 'codec', 'section', 'input B', 'inline us', 'pooled us', 'hop us', 'inline MB/s', `pooled MB/s (${IN_FLIGHT} in flight)`, 'main us/op', 'speedup'];
  const body = rows.map((r) => [
    r.op,
    r.codec,
    kb(r.size),
    String(r.inputBytes),
    r.inlineUs.toFixed(1),
    r.pooledUs.toFixed(1),
    r.hopUs.toFixed(1),
    r.inlineMBps.toFixed(0),
    r.pooledMBps.toFixed(0),
    r.mainUsPerOp.toFixed(1),
    `${r.speedup.toFixed(2)}x`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const lines = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line), ''];
  for (const [k, v] of Object.entries(crossovers(rows))) {
    const at = v === null ? 'never (up to 1 MB)' : `from a ${kb(v)} section (${inputAt(rows, k, v)} input bytes)`;
    lines.push(`crossover ${k.padEnd(16)} ${at}`);
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  poolThresholdBench({ quick })
    .then((rows) => {
      console.log(`Worker pool threshold (${quick ? 'quick' : 'full'}; medians)\n`);
      console.log(thresholdTable(rows));
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
