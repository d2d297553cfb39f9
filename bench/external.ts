/**
 * `npm run bench -- --bootstrap-server host:port`: measures a broker that is already running
 * (Sluice or Kafka), with two load generators side by side on the same topics' shapes:
 * bench/rdkafka-perf (librdkafka) and `sluice perf` (Sluice's wire client on worker threads).
 * Each run uses topics of its own (created, then deleted at the end), so the broker keeps
 * nothing of the run. No broker CPU or disk figures: the broker may be anywhere.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTopic, deleteTopic } from '../src/wire-client/admin.js';
import { Cluster } from '../src/wire-client/cluster.js';
import { buildLoadGenerator, runPerf } from './wire.js';
import { throughput, type Throughput } from './util.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src', 'cli', 'index.js');

export interface ExternalBenchOptions {
  bootstrap: string;
  records: number;
  partitions: number[];
  codecs: ('none' | 'lz4')[];
  /** sluice perf's worker threads. */
  threads: number;
}

interface SluicePerfJson {
  records: number;
  bytes: number;
  seconds: number;
  /** consume: from the first fetch to the last record (without start-up and group join). */
  fetchTimeMs?: number;
  latencyMs?: { p50: number; p95: number; p99: number; p999: number; max: number };
}

function sluicePerf(args: string[]): Promise<SluicePerfJson> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'perf', ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve(JSON.parse(out) as SluicePerfJson);
      } catch (e) {
        reject(new Error(`sluice perf ${args[0]} failed (${(e as Error).message}): ${out}\n${err}`));
      }
    });
  });
}

export async function externalBench(o: ExternalBenchOptions): Promise<{ rows: Throughput[]; skipped?: string }> {
  const missing = buildLoadGenerator();
  const cluster = await Cluster.connect({ bootstrap: o.bootstrap, clientId: 'sluice-bench' });
  const created: string[] = [];
  const rows: Throughput[] = [];
  const run = `${Date.now().toString(36)}`;
  try {
    for (const partitions of o.partitions) {
      for (const codec of o.codecs) {
        const shape = `100 B, ${codec}, acks=1, ${partitions} partition${partitions > 1 ? 's' : ''}`;
        const params = { recordBytes: 100, partitions, acks: '1', compression: codec };
        const topic = async (tool: string) => {
          const name = `bench-${run}-${tool}-${partitions}-${codec}`;
          await createTopic(cluster, { name, partitions, replicationFactor: -1, configs: {} });
          created.push(name);
          return name;
        };
        let rk: { produce: Throughput; consume: Throughput } | undefined;
        if (missing === undefined) {
          const t = await topic('rdkafka');
          const common = ['-b', o.bootstrap, '-t', t, '-n', String(o.records), '-s', '100'];
          const p = await runPerf(['produce', ...common, '-z', codec, '-a', '1', '-l', '5', '-B', String(1 << 20)]);
          if (p.errors !== 0) throw new Error(`rdkafka-perf: ${p.errors} delivery errors, first: ${p.firstError}`);
          const c = await runPerf(['consume', ...common]);
          rk = { produce: throughput(`rdkafka-perf produce ${shape}`, p.records, p.bytes, p.seconds, p.latency), consume: throughput(`rdkafka-perf consume ${shape}`, c.records, c.bytes, c.seconds) };
          rk.produce.params = { ...params, tool: 'rdkafka-perf' };
          rk.consume.params = { ...params, tool: 'rdkafka-perf' };
          rows.push(rk.produce, rk.consume);
        }
        const t = await topic('sluiceperf');
        const common = ['--bootstrap-server', o.bootstrap, '--topic', t, '--num-records', String(o.records), '--threads', String(o.threads)];
        const p = await sluicePerf(['produce', ...common, '--record-size', '100', '--producer-props', 'acks=1', `compression.type=${codec}`]);
        const c = await sluicePerf(['consume', ...common]);
        const lat = p.latencyMs;
        const sp = throughput(`sluice perf produce ${shape}, ${o.threads} thread(s)`, p.records, p.bytes, p.seconds, lat && { p50: lat.p50, p95: lat.p95, p99: lat.p99, p999: lat.p999, max: lat.max });
        // fetch.time, as rdkafka-perf times from assign to the last record.
        const sc = throughput(`sluice perf consume ${shape}, ${o.threads} thread(s)`, c.records, c.bytes, (c.fetchTimeMs ?? c.seconds * 1000) / 1000);
        sc.note = 'fetch.time: first fetch to last record';
        sp.params = { ...params, tool: 'sluice perf', threads: o.threads };
        sc.params = { ...params, tool: 'sluice perf', threads: o.threads };
        if (rk !== undefined) {
          sp.ratio = { to: 'rdkafka-perf', value: sp.recordsPerSec / rk.produce.recordsPerSec };
          sc.ratio = { to: 'rdkafka-perf', value: sc.recordsPerSec / rk.consume.recordsPerSec };
        }
        rows.push(sp, sc);
      }
    }
  } finally {
    for (const t of created) await deleteTopic(cluster, t).catch(() => {});
    cluster.close();
  }
  return { rows, skipped: missing };
}
