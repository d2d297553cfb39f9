/**
 * `node dist/bench/cluster.js [--records N] [--rounds R]`: a cluster of three brokers on this
 * machine (one etcd, three `sluice serve` processes) against one broker, in one run.
 *
 *   - produce: librdkafka (build/rdkafka-perf) sends N records of 100 bytes (varied JSON log
 *     lines), lz4, acks=1, to a topic of 6 partitions with replication factor 1, once to the
 *     lone broker and once to the cluster, alternating for R rounds; medians are compared.
 *     On a 2-core machine the three brokers and the client share the cores, so the ratio
 *     says what a cluster costs here, not what three machines would do.
 *   - metadata propagation: a topic created through broker 1, timed until every broker
 *     answers Metadata with a leader for each of its partitions (median of 10).
 *   - replication: across the three brokers, replication factor 3 with acks=all
 *     (min.insync.replicas=2) against replication factor 1 with acks=1, same records,
 *     alternating for R rounds (medians); then end-to-end latency (rdkafka-perf e2e, one
 *     producer paced at --e2e-rate records/s, default 10000, and a consumer) on replication
 *     factor 3 with acks=all.
 *   - controller failover: the controller's broker SIGKILLed, timed until another broker
 *     reports a new controller (lease TTL given by --session-timeout-ms, default 9000).
 *
 * Needs librdkafka-dev (for rdkafka-perf) and etcd (Debian's etcd-server).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster } from '../src/wire-client/cluster.js';
import { createTopic } from '../src/wire-client/admin.js';
import { freePort, hasCommand, stop, waitForLine } from './peers.js';
import { buildLoadGenerator, runPerf } from './wire.js';
import { median } from './util.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'index.js');
const arg = (name: string, def: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def);

interface Broker {
  id: number;
  proc: ChildProcess;
  bootstrap: string;
}

async function startEtcd(dir: string): Promise<{ proc: ChildProcess; endpoint: string }> {
  const client = await freePort();
  const peer = await freePort();
  const endpoint = `http://127.0.0.1:${client}`;
  const proc = spawn('etcd', ['--name', 'b', '--data-dir', path.join(dir, 'etcd'), '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint, '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`, '--initial-cluster', `b=http://127.0.0.1:${peer}`, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${endpoint}/health`)).ok) return { proc, endpoint };
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('etcd did not start');
}

async function startBroker(dir: string, args: string[], id: number): Promise<Broker> {
  const proc = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--dir', path.join(dir, `broker-${id}`), '--metrics-port', '0', '--console-port', '0', '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const m = await waitForLine(proc, /listening on [\d.]+:(\d+)/, 30_000, `broker ${id}`);
  return { id, proc, bootstrap: `127.0.0.1:${m[1]}` };
}

async function produce(bootstrap: string, topic: string, records: number, rf = 1, acks = '1'): Promise<number> {
  const c = await Cluster.connect({ bootstrap, clientId: 'bench-cluster' });
  try {
    await createTopic(c, { name: topic, partitions: 6, replicationFactor: rf, configs: rf > 1 ? { 'min.insync.replicas': '2' } : {} });
  } finally {
    c.close();
  }
  const r = await runPerf(['produce', '-b', bootstrap, '-t', topic, '-n', String(records), '-s', '100', '-z', 'lz4', '-a', acks, '-l', '5', '-B', String(1 << 20)]);
  if (r.errors !== 0) throw new Error(`rdkafka-perf: ${r.errors} errors: ${r.firstError}`);
  return r.recordsPerSec;
}

async function propagation(brokers: Broker[], topic: string): Promise<number> {
  const clients = await Promise.all(brokers.map((b) => Cluster.connect({ bootstrap: b.bootstrap, clientId: 'bench-propagation' })));
  try {
    const t0 = performance.now();
    await createTopic(clients[0]!, { name: topic, partitions: 6, replicationFactor: 1, configs: {} });
    await Promise.all(
      clients.map(async (c) => {
        for (;;) {
          const m = await c.metadata([topic]);
          const t = m.topics.get(topic);
          if (t && t.errorCode === 0 && t.partitions.length === 6 && t.partitions.every((p) => p.leader >= 0)) return;
          await new Promise((r) => setTimeout(r, 2));
        }
      }),
    );
    return performance.now() - t0;
  } finally {
    for (const c of clients) c.close();
  }
}

async function controllerOf(b: Broker): Promise<number> {
  const c = await Cluster.connect({ bootstrap: b.bootstrap, clientId: 'bench-controller' });
  try {
    return (await c.metadata([])).controllerId;
  } finally {
    c.close();
  }
}

async function main(): Promise<void> {
  const records = arg('records', 2_000_000);
  const rounds = arg('rounds', 3);
  const ttl = arg('session-timeout-ms', 9000);
  const missing = buildLoadGenerator();
  if (missing) throw new Error(missing);
  if (!hasCommand('etcd')) throw new Error('etcd is not installed (apt-get install etcd-server)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-cluster-'));
  const procs: ChildProcess[] = [];
  try {
    const etcd = await startEtcd(dir);
    procs.push(etcd.proc);
    const lone = await startBroker(dir, [], 0);
    procs.push(lone.proc);
    const cluster: Broker[] = [];
    for (const id of [1, 2, 3]) {
      const b = await startBroker(dir, ['--node-id', String(id), '--etcd', etcd.endpoint, '--broker-session-timeout-ms', String(ttl)], id);
      procs.push(b.proc);
      cluster.push(b);
    }
    const bootstrap = cluster.map((b) => b.bootstrap).join(',');
    const one: number[] = [];
    const three: number[] = [];
    for (let r = 0; r < rounds; r++) {
      one.push(await produce(lone.bootstrap, `perf-${r}`, records));
      three.push(await produce(bootstrap, `perf-${r}`, records));
      console.log(`round ${r + 1}: one broker ${(one[r]! / 1e6).toFixed(2)} M rec/s, three brokers ${(three[r]! / 1e6).toFixed(2)} M rec/s`);
    }
    // Replication: RF 3 acks=all against RF 1 acks=1, on the same three brokers.
    const rf1: number[] = [];
    const rf3: number[] = [];
    for (let r = 0; r < rounds; r++) {
      rf1.push(await produce(bootstrap, `rf1-${r}`, records, 1, '1'));
      rf3.push(await produce(bootstrap, `rf3-${r}`, records, 3, 'all'));
      console.log(`round ${r + 1}: RF 1 acks=1 ${(rf1[r]! / 1e6).toFixed(2)} M rec/s, RF 3 acks=all ${(rf3[r]! / 1e6).toFixed(2)} M rec/s`);
    }
    const e2eRate = arg('e2e-rate', 10_000);
    const e2eTopic = 'e2e-rf3';
    {
      const c = await Cluster.connect({ bootstrap, clientId: 'bench-cluster' });
      try {
        await createTopic(c, { name: e2eTopic, partitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
      } finally {
        c.close();
      }
    }
    const e2e = await runPerf(['e2e', '-b', bootstrap, '-t', e2eTopic, '-r', String(e2eRate), '-n', String(e2eRate * 20), '-s', '100', '-z', 'lz4', '-a', 'all']);
    console.log(`end to end, RF 3 acks=all at ${e2eRate} rec/s: p50 ${e2e.latency?.p50} ms, p99 ${e2e.latency?.p99} ms`);
    const props: number[] = [];
    for (let i = 0; i < 10; i++) props.push(await propagation(cluster, `prop-${i}`));
    const before = await controllerOf(cluster[1]!);
    const victim = cluster.find((b) => b.id === before)!;
    const t0 = performance.now();
    victim.proc.kill('SIGKILL');
    const watcher = cluster.find((b) => b !== victim)!;
    let after = before;
    while (after === before || after < 0) {
      await new Promise((r) => setTimeout(r, 20));
      after = await controllerOf(watcher).catch(() => -1);
    }
    const failover = performance.now() - t0;
    const result = {
      records,
      rounds,
      produceOneBroker: median(one),
      produceThreeBrokers: median(three),
      ratio: median(three) / median(one),
      replication: {
        rf1Acks1: median(rf1),
        rf3AcksAll: median(rf3),
        ratio: median(rf3) / median(rf1),
        e2eRf3AcksAll: { rate: e2eRate, records: e2e.records, errors: e2e.errors, latencyMs: e2e.latency },
      },
      metadataPropagationMs: { median: median(props), max: Math.max(...props) },
      controllerFailoverMs: failover,
      sessionTimeoutMs: ttl,
      loadavg: os.loadavg(),
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    for (const p of procs.reverse()) await stop(p);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
