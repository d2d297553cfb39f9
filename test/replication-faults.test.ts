/**
 * Jepsen-style fault loop on a replicated topic: three real brokers and a real etcd,
 * replication factor 3, min.insync.replicas 2, an idempotent acks=all producer (confluent-kafka,
 * librdkafka) writing numbered records while brokers are SIGKILLed (mostly leaders) and
 * restarted, leaders are paused (SIGSTOP) past their lease, and brokers stop by controlled
 * shutdown (SIGTERM). At the end everything is read back and Jepsen's queue properties are
 * checked: no acknowledged record lost, none duplicated, order kept per partition, each
 * acknowledged offset holds what was acknowledged there, and offsets run without gaps (no
 * consumer poll skips). A second test checks truncation: a leader that took acks=1 writes
 * and was cut off loses exactly those when it comes back, and all replicas end byte-equal.
 *
 * SLUICE_FAULT_CYCLES sets the number of fault cycles (default 6; `npm run soak:replication`
 * runs many more). The figures (cycles, acknowledged, lost, duplicated, failover times) are
 * printed.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { PYTHON, requireTool, run } from './helpers/clients.js';
import { startEtcd } from './helpers/etcd.js';
import { describe, eventually, kafka, partitionBytes, startNode, startThree, TTL_MS } from './helpers/replicas.js';
import { tmpDir } from './helpers/tmp.js';
import type { BrokerProcess } from './helpers/broker.js';

const CYCLES = Number(process.env.SLUICE_FAULT_CYCLES ?? 6);
const PRODUCER = path.resolve(import.meta.dirname, 'helpers', 'crash-producer.py');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function createTopic(nodes: BrokerProcess[], topic: string, partitions: number): Promise<void> {
  const admin = kafka(nodes.map((n) => n.bootstrap)).admin();
  cleanups.push(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }], waitForLeaders: true });
  await eventually(() => describe(nodes[0]!, topic), (v) => v.length === partitions && v.every((p) => p.isr.length === 3), 20_000, 'full ISR');
}

/** Reads a partition back: [offset, value] pairs, from every broker's bootstrap. */
async function readBack(bootstrap: string, topic: string, partition: number): Promise<[number, string][]> {
  const out = await run('kcat', ['-C', '-b', bootstrap, '-t', topic, '-p', String(partition), '-o', 'beginning', '-e', '-q', '-f', '%o %s\\n'], '', 60_000);
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [o, v] = l.split(' ');
      return [Number(o), v!] as [number, string];
    });
}

const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it(`keeps every acknowledged acks=all record through ${CYCLES} cycles of kills, pauses and controlled shutdowns`, async () => {
  requireTool('kcat', 'apt-get install kcat');
  const etcd = await startEtcd();
  cleanups.push(() => etcd.kill());
  const nodes = await startThree(etcd.endpoint);
  const topic = 'jepsen';
  const PARTITIONS = 2;
  await createTopic(nodes, topic, PARTITIONS);

  const stopFile = path.join(tmpDir('sluice-faults-'), 'stop');
  const producer = spawn(PYTHON, [PRODUCER, '--bootstrap', nodes.map((n) => n.bootstrap).join(','), '--topic', topic, '--rate', '300', '--keys', '16', '--stop-file', stopFile], { stdio: ['pipe', 'pipe', 'pipe'] });
  cleanups.push(() => {
    if (producer.exitCode === null) producer.kill('SIGKILL');
  });
  const acks: { partition: number; offset: number; n: number; at: number }[] = [];
  let producerOut = '';
  let pending = '';
  let done: string | null = null;
  producer.stdout!.on('data', (d: Buffer) => {
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    const at = Date.now();
    for (const line of lines) {
      producerOut += `${line}\n`;
      const m = /^ack (\d+) (-?\d+) (\d+)$/.exec(line);
      if (m) acks.push({ partition: Number(m[1]), offset: Number(m[2]), n: Number(m[3]), at });
      if (line.startsWith('done ')) done = line;
    }
  });
  producer.stderr!.on('data', (d: Buffer) => (producerOut += d.toString()));
  const exited = new Promise<void>((r) => producer.on('exit', () => r()));

  await eventually(() => acks.length, (n) => n > 100, 30_000, 'producer running');
  // On a failure, every broker's log and the producer's output go to test/artifacts/ for a post-mortem.
  const logs = new Map<number, string[]>();
  const keep = (id: number, b: BrokerProcess) => {
    const list = logs.get(id) ?? [];
    list.push('');
    const i = list.length - 1;
    const t = setInterval(() => (list[i] = b.output()), 500);
    cleanups.push(() => clearInterval(t));
    logs.set(id, list);
  };
  nodes.forEach((b, i) => keep(i + 1, b));
  cleanups.push(() => {
    if (!failed) return;
    const dir = path.resolve(import.meta.dirname, 'artifacts', 'replication-faults');
    fs.mkdirSync(dir, { recursive: true });
    for (const [id, list] of logs) fs.writeFileSync(path.join(dir, `broker-${id}.log`), list.join('\n--- restart ---\n'));
    fs.writeFileSync(path.join(dir, 'producer.log'), producerOut);
    fs.writeFileSync(path.join(dir, 'faults.txt'), faults.join('\n'));
  });
  let failed = true;
  const failovers: number[] = [];
  const faults: string[] = [];
  const bootstrapNow = () => nodes.map((n) => n.bootstrap);
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const views = await describe(nodes[0]!, topic).catch(() => describe(nodes[1]!, topic));
    const leaders = views.map((v) => v.leader).filter((l) => l > 0);
    const kind = cycle % 3;
    // Mostly a leader; sometimes any broker.
    const target = Math.random() < 0.7 && leaders.length > 0 ? leaders[rand(0, leaders.length)]! : rand(1, 4);
    const led = views.map((v, p) => (v.leader === target ? p : -1)).filter((p) => p >= 0);
    const node = nodes[target - 1]!;
    const t0 = Date.now();
    faults.push(`cycle ${cycle} at ${new Date(t0).toISOString()}: leaders ${JSON.stringify(views.map((v) => [v.leader, v.isr]))}`);
    if (kind === 0) {
      faults.push(`kill ${target}`);
      await node.kill();
      await sleep(rand(500, 3000));
      nodes[target - 1] = await startNode(etcd.endpoint, target, node.dir);
      keep(target, nodes[target - 1]!);
    } else if (kind === 1) {
      faults.push(`pause ${target}`);
      node.proc.kill('SIGSTOP');
      await sleep(TTL_MS + rand(500, 1500));
      node.proc.kill('SIGCONT');
    } else {
      faults.push(`controlled shutdown ${target}`);
      // A clean exit, and soon: a broker that hangs in its shutdown is a bug, not a slow test.
      expect(await Promise.race([node.stop(), sleep(30_000).then(() => 'still running 30 s after SIGTERM')])).toBe(0);
      nodes[target - 1] = await startNode(etcd.endpoint, target, node.dir);
      keep(target, nodes[target - 1]!);
    }
    // Failover: from the fault to the first acknowledgement on each partition it led.
    if (kind !== 2) {
      for (const p of led) {
        const first = await eventually(() => acks.find((a) => a.partition === p && a.at > t0 + 50), (a) => a !== undefined, 60_000, `writes to ${topic}-${p} acknowledged again`);
        failovers.push(first!.at - t0);
      }
    }
    await eventually(async () => describe(nodes[(target % 3)]!, topic), (v) => v.every((p) => p.isr.length === 3 && p.leader > 0), 60_000, `full ISR after cycle ${cycle}`);
    await sleep(500);
  }
  fs.writeFileSync(stopFile, '');
  await Promise.race([exited, sleep(120_000)]);
  expect(done, producerOut.slice(-2000)).not.toBeNull();

  const acked = new Map<number, { partition: number; offset: number }>();
  for (const a of acks) acked.set(a.n, a);
  let lost = 0;
  let duplicated = 0;
  const seen = new Set<number>();
  for (let p = 0; p < PARTITIONS; p++) {
    const log = await readBack(bootstrapNow().join(','), topic, p);
    // Offsets run from the log start without gaps: no poll ever skips.
    log.forEach(([o], i) => expect(o).toBe(log[0]![0] + i));
    expect(log[0]?.[0] ?? 0).toBe(0);
    let last = -1;
    const at = new Map(log);
    for (const [, v] of log) {
      const n = Number(v);
      if (seen.has(n)) duplicated++;
      seen.add(n);
      // Order per partition is the order of production.
      expect(n).toBeGreaterThan(last);
      last = n;
    }
    for (const a of acks.filter((x) => x.partition === p)) {
      // Each acknowledged offset still holds the record acknowledged there.
      expect(at.get(a.offset)).toBe(String(a.n));
    }
  }
  for (const n of acked.keys()) if (!seen.has(n)) lost++;
  // Replicas end byte-equal.
  for (let p = 0; p < PARTITIONS; p++) {
    const leader = (await describe(nodes[0]!, topic))[p]!.leader;
    const want = partitionBytes(nodes[leader - 1]!.dir, topic, p);
    await eventually(() => nodes.map((n) => partitionBytes(n.dir, topic, p).equals(want)), (eq) => eq.every(Boolean), 20_000, `replicas of ${topic}-${p} byte-equal`);
  }
  failovers.sort((a, b) => a - b);
  const summary = {
    cycles: CYCLES,
    faults,
    acknowledged: acked.size,
    lost,
    duplicated,
    failoverMs: { median: failovers[Math.floor(failovers.length / 2)] ?? null, max: failovers.at(-1) ?? null, all: failovers },
  };
  console.log(`replication fault loop: ${JSON.stringify(summary)}`);
  expect(lost).toBe(0);
  expect(duplicated).toBe(0);
  expect(acked.size).toBeGreaterThan(500);
  failed = false;
}, 120_000 + CYCLES * 60_000);

it('truncates a cut-off leader: its acks=1 writes go, acks=all writes stay, and every replica ends byte-equal', async () => {
  requireTool('kcat', 'apt-get install kcat');
  const etcd = await startEtcd();
  cleanups.push(() => etcd.kill());
  const nodes = await startThree(etcd.endpoint);
  const topic = 'cut';
  await createTopic(nodes, topic, 1);
  const produce = (bootstrap: string, lines: string[], acks: string) =>
    run('kcat', ['-P', '-b', bootstrap, '-t', topic, '-p', '0', '-X', `acks=${acks}`, '-X', 'message.timeout.ms=10000'], `${lines.join('\n')}\n`, 30_000);
  await produce(nodes.map((n) => n.bootstrap).join(','), ['a1', 'a2', 'a3'], 'all');
  const [view] = await describe(nodes[0]!, topic);
  const leader = nodes[view!.leader - 1]!;
  const followers = nodes.filter((n) => n !== leader);
  await eventually(() => followers.map((f) => partitionBytes(f.dir, topic, 0).length), (l) => l.every((x) => x === partitionBytes(leader.dir, topic, 0).length), 10_000, 'followers caught up');

  // Followers stop fetching; the leader takes acks=1 writes only it holds, then is cut off too.
  for (const f of followers) f.proc.kill('SIGSTOP');
  // Let the followers' fetches already parked at the leader (replica.fetch.wait.max.ms=200)
  // be answered empty first: a paused process still reads an answer sent before it paused.
  await sleep(500);
  await produce(leader.bootstrap, ['lost1', 'lost2'], '1');
  leader.proc.kill('SIGSTOP');
  for (const f of followers) f.proc.kill('SIGCONT');
  const next = await eventually(() => describe(followers[0]!, topic), (v) => v[0]!.leader > 0 && v[0]!.leader !== view!.leader, 30_000, 'a new leader');
  expect(next[0]!.leaderEpoch).toBeGreaterThan(view!.leaderEpoch);
  await produce(followers.map((f) => f.bootstrap).join(','), ['b1', 'b2'], 'all');

  // The old leader comes back as a follower, truncates its acks=1 suffix and copies the rest.
  leader.proc.kill('SIGCONT');
  const newLeader = nodes[next[0]!.leader - 1]!;
  await eventually(() => partitionBytes(leader.dir, topic, 0).equals(partitionBytes(newLeader.dir, topic, 0)), (eq) => eq, 30_000, 'old leader byte-equal to the new one');
  for (const n of nodes) expect(partitionBytes(n.dir, topic, 0).equals(partitionBytes(newLeader.dir, topic, 0))).toBe(true);
  if (process.env.SLUICE_DEBUG_DIR) nodes.forEach((n, i) => fs.writeFileSync(path.join(process.env.SLUICE_DEBUG_DIR!, `broker-${i + 1}.log`), n.output()));
  expect(leader.output()).toMatch(/truncated the divergent end of the log/);
  const values = (await readBack(nodes.map((n) => n.bootstrap).join(','), topic, 0)).map(([, v]) => v);
  expect(values).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
}, 120_000);
