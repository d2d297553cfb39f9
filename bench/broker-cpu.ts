/**
 * The broker's own CPU cost per million records, produce and fetch: what the record checks
 * on every append (Kafka's LogValidator rules, src/record/log-validator.ts) cost.
 *
 * One `sluice serve` process, one partition; librdkafka (bench/rdkafka-perf.c) produces
 * RECORDS keyless 100-byte JSON log lines with lz4 (acks=1, linger 5 ms, 1 MiB batches) to
 * a fresh topic, then consumes them back. The broker's CPU seconds (utime + stime of every
 * thread, workers included, from /proc/<pid>/stat) are read before and after each phase,
 * so the client's own CPU is not in the figure. Each run is repeated and the median kept.
 *
 *   node dist/bench/broker-cpu.js [--records=N] [--runs=N] [--codec=lz4] [--size=100]
 *
 * librdkafka before 2.8 (Debian ships 2.0.2) sends lz4 batches uncompressed to a broker
 * whose oldest Produce version is above 0 (librdkafka issue #4956): the note says which
 * form reached the broker (the stored bytes against the sent bytes).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildLoadGenerator, processCpuSeconds, runPerf, startBroker, stopBroker, topicBytes } from './wire.js';
import { median, table, throughput, type Throughput } from './util.js';

export interface BrokerCpuOptions {
  records: number;
  runs: number;
  codec?: string;
  recordBytes?: number;
}

export interface BrokerCpuResult {
  /** Broker CPU seconds per million records produced (median of the runs). */
  produce: number;
  /** Broker CPU seconds per million records fetched by a consumer (median of the runs). */
  fetch: number;
  produceRuns: number[];
  fetchRuns: number[];
  /** Whether the batches reached the broker compressed (false: the client sent them uncompressed). */
  compressedOnWire: boolean;
  rows: Throughput[];
}

export async function brokerCpuBench(o: BrokerCpuOptions): Promise<BrokerCpuResult | { skipped: string }> {
  const skipped = buildLoadGenerator();
  if (skipped) return { skipped };
  const codec = o.codec ?? 'lz4';
  const size = o.recordBytes ?? 100;
  const broker = await startBroker(1);
  const produceRuns: number[] = [];
  const fetchRuns: number[] = [];
  const produceRows: Throughput[] = [];
  const fetchRows: Throughput[] = [];
  let compressedOnWire = true;
  try {
    // One untimed run first, so no run pays the broker's JIT warm-up.
    for (let i = -1; i < o.runs; i++) {
      const topic = `cpu-${i + 1}`;
      const common = ['-b', broker.bootstrap, '-t', topic, '-n', String(o.records), '-s', String(size)];
      const pid = broker.child.pid!;
      const c0 = processCpuSeconds(pid);
      const p = await runPerf(['produce', ...common, '-z', codec, '-a', '1', '-l', '5', '-B', String(1 << 20)]);
      const c1 = processCpuSeconds(pid);
      if (p.errors !== 0) throw new Error(`${p.errors} delivery errors, first: ${p.firstError}`);
      const stored = topicBytes(broker.dir, topic);
      const f = await runPerf(['consume', ...common]);
      const c2 = processCpuSeconds(pid);
      if (i < 0) continue;
      if (codec !== 'none' && p.bytes / stored < 1.1) compressedOnWire = false;
      produceRuns.push(((c1 - c0) / o.records) * 1e6);
      fetchRuns.push(((c2 - c1) / o.records) * 1e6);
      produceRows.push(throughput('', p.records, p.bytes, p.seconds));
      fetchRows.push(throughput('', f.records, f.bytes, f.seconds));
    }
  } finally {
    await stopBroker(broker);
  }
  const produce = median(produceRuns);
  const fetch = median(fetchRuns);
  const runs = (xs: number[]) => xs.map((x) => x.toFixed(3)).join(', ');
  const form = codec === 'none' ? 'uncompressed' : compressedOnWire ? `${codec} on the wire` : `sent uncompressed by this librdkafka (issue #4956)`;
  const mid = (rows: Throughput[]) => [...rows].sort((a, b) => a.recordsPerSec - b.recordsPerSec)[rows.length >> 1]!;
  const label = `${size} B, 1 partition, ${codec}, acks=1, librdkafka`;
  const pr = { ...mid(produceRows), name: `broker CPU s per M records, produce (${label})` };
  pr.note = `${produce.toFixed(3)} s broker CPU/M records, median of ${o.runs} (${runs(produceRuns)}); ${form}; record checks on`;
  pr.params = { mode: 'broker-cpu-produce', recordBytes: size, compression: codec, cpuPerMillion: produce };
  const fr = { ...mid(fetchRows), name: `broker CPU s per M records, fetch (${label})` };
  fr.note = `${fetch.toFixed(3)} s broker CPU/M records, median of ${o.runs} (${runs(fetchRuns)})`;
  fr.params = { mode: 'broker-cpu-fetch', recordBytes: size, compression: codec, cpuPerMillion: fetch };
  return { produce, fetch, produceRuns, fetchRuns, compressedOnWire, rows: [pr, fr] };
}

async function main(): Promise<void> {
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const r = await brokerCpuBench({
    records: Number(arg('records') ?? 1_000_000),
    runs: Number(arg('runs') ?? 5),
    codec: arg('codec') ?? 'lz4',
    recordBytes: Number(arg('size') ?? 100),
  });
  if ('skipped' in r) {
    console.log(`Broker CPU benchmark skipped: ${r.skipped}`);
    return;
  }
  console.log(table(r.rows));
  console.log(JSON.stringify({ produce: r.produce, fetch: r.fetch, produceRuns: r.produceRuns, fetchRuns: r.fetchRuns, compressedOnWire: r.compressedOnWire }));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
