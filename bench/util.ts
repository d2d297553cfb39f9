/** Small helpers shared by the benchmarks: timing, statistics, formatting, machine facts. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

export interface Throughput {
  name: string;
  records: number;
  bytes: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
  /** Per-operation latency in ms (for example one append of one batch). */
  latency?: Percentiles;
  /** Filled in by the suite: this run's rate over a baseline's. */
  ratio?: { to: string; value: number };
  note?: string;
  /** The workload's parameters (record bytes, partitions, acks, codec...), for the report. */
  params?: Record<string, string | number>;
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

export function percentiles(samples: number[]): Percentiles {
  const s = Float64Array.from(samples).sort();
  const at = (q: number) => (s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor(q * s.length))]!);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), p999: at(0.999), max: s.length === 0 ? 0 : s[s.length - 1]! };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function throughput(name: string, records: number, bytes: number, seconds: number, latency?: Percentiles): Throughput {
  return { name, records, bytes, seconds, recordsPerSec: records / seconds, mbPerSec: bytes / seconds / 1e6, latency };
}

/** Runs `run` `times` times and keeps the run with the median rate, noting the spread. */
export async function medianOf(times: number, run: () => Throughput | Promise<Throughput>): Promise<Throughput> {
  const results: Throughput[] = [];
  for (let i = 0; i < times; i++) results.push(await run());
  return pickMedian(results);
}

/** The run with the median rate, its note saying of how many and the spread. */
export function pickMedian(runs: Throughput[]): Throughput {
  const results = [...runs].sort((a, b) => a.recordsPerSec - b.recordsPerSec);
  const m = results[results.length >> 1]!;
  if (results.length > 1) {
    const lo = results[0]!.recordsPerSec;
    const hi = results[results.length - 1]!.recordsPerSec;
    const spread = `median of ${results.length} (range ${fmtRate(lo)}-${fmtRate(hi)} rec/s)`;
    m.note = m.note ? `${m.note}; ${spread}` : spread;
  }
  return m;
}

export function now(): number {
  return performance.now();
}

export function benchDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-'));
}

export function fmtRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

export function table(rows: Throughput[]): string {
  const head = ['benchmark', 'records/s', 'MB/s', 'p50 ms', 'p99 ms', 'max ms', 'vs baseline', 'note'];
  const body = rows.map((r) => [
    r.name,
    r.records > 0 ? fmtRate(r.recordsPerSec) : '',
    r.mbPerSec.toFixed(0),
    r.latency ? r.latency.p50.toFixed(3) : '',
    r.latency ? r.latency.p99.toFixed(3) : '',
    r.latency ? r.latency.max.toFixed(3) : '',
    r.ratio ? `${(r.ratio.value * 100).toFixed(0)}% of ${r.ratio.to}` : '',
    r.note ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function machine(): Record<string, unknown> {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    tmpdir: os.tmpdir(),
    disk: diskOf(os.tmpdir()),
    loadavg: loadavg(),
  };
}

/** 1, 5 and 15 minute load averages, rounded (the machine is shared: print them). */
export function loadavg(): number[] {
  return os.loadavg().map((l) => +l.toFixed(2));
}

/** The filesystem holding `dir`: device, type, size and free space (from df), when df is there. */
export function diskOf(dir: string): Record<string, string> | undefined {
  const r = spawnSync('df', ['-hT', dir], { encoding: 'utf8' });
  const line = r.stdout?.trim().split('\n')[1];
  if (r.status !== 0 || !line) return undefined;
  const [device, type, size, , avail] = line.split(/\s+/);
  let model: string | undefined;
  const dev = device?.match(/^\/dev\/([a-z]+)/)?.[1];
  if (dev) {
    try {
      const rotational = fs.readFileSync(`/sys/block/${dev}/queue/rotational`, 'utf8').trim();
      model = rotational === '1' ? 'kernel says rotational' : 'kernel says non-rotational';
    } catch {
      // not a block device we can see
    }
  }
  return { device: device ?? '?', type: type ?? '?', size: size ?? '?', avail: avail ?? '?', ...(model ? { kind: model } : {}) };
}

function firstLine(cmd: string, args: string[], re?: RegExp): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  const text = `${r.stdout}${r.stderr}`.trim();
  if (!re) return text.split('\n')[0];
  return text.match(re)?.[1];
}

/** Versions of everything the run compares; undefined where a tool is missing. */
export function versions(): Record<string, string | undefined> {
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
  const pkg = (p: string) => {
    try {
      return (JSON.parse(fs.readFileSync(path.join(root, p), 'utf8')) as { version: string }).version;
    } catch {
      return undefined;
    }
  };
  return {
    node: process.version,
    sluice: pkg('package.json'),
    librdkafka: firstLine('pkg-config', ['--modversion', 'rdkafka']),
    redis: firstLine('redis-server', ['--version'], /v=(\S+)/),
    nats: firstLine('nats-server', ['--version'], /v?(\d+\.\d+\.\d+)/),
    natsClient: pkg('node_modules/nats/package.json'),
    lmdb: pkg('node_modules/lmdb/package.json'),
    fio: firstLine('fio', ['--version']),
    kernel: os.release(),
  };
}
