/**
 * A cluster of three real broker processes coordinated by a real etcd: topics spread over the
 * brokers, every partition served by its leader (others answer NOT_LEADER_OR_FOLLOWER), a
 * SIGKILLed broker's partitions go offline and come back with their data, and the controller
 * role moves when its broker dies. Clients: kcat (librdkafka) and kafkajs.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type * as RdKafka from 'node-rdkafka';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type BrokerProcess } from './helpers/broker.js';
import { python, requireTool, run } from './helpers/clients.js';
import { freePort, startEtcd } from './helpers/etcd.js';
import { WireClient } from './helpers/wire-client.js';
import { ApiKey } from '../src/protocol/apis.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { buildBatch } from '../src/record/index.js';

const TTL_MS = 2000;

async function startNode(etcd: string, id: number, dir?: string): Promise<BrokerProcess> {
  return startBroker({ dir, args: ['--node-id', String(id), '--etcd', etcd, '--broker-session-timeout-ms', String(TTL_MS), '--log-format', 'json', '--metrics-port', String(await freePort())] });
}

/** Brokers 1, 2 and 3; broker 1 starts first, so it is the controller. */
async function startThree(etcd: string): Promise<BrokerProcess[]> {
  const nodes = [await startNode(etcd, 1)];
  nodes.push(...(await Promise.all([2, 3].map((id) => startNode(etcd, id)))));
  return nodes;
}

function metricsPortOf(b: BrokerProcess): number {
  return Number(/metrics at http:\/\/[\d.]+:(\d+)/.exec(b.output())![1]);
}

const cliPath = path.resolve(import.meta.dirname, '..', 'dist', 'src', 'cli', 'index.js');
function sluiceCli(args: string[]): Promise<string> {
  return run(process.execPath, [cliPath, ...args]);
}

const clients: { disconnect(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.disconnect().catch(() => {});
});

function admin(bootstrap: string[]) {
  const kafka = new Kafka({ brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
  const a = kafka.admin();
  clients.push(a);
  return a;
}

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`condition not met within ${timeoutMs} ms; last value ${JSON.stringify(last)} ${lastErr ? String(lastErr) : ''}`);
}

describe('a cluster of three brokers', () => {
  it('spreads partitions, serves each from its leader, survives a broker and a controller kill', async () => {
    requireTool('kcat', 'apt-get install kcat');
    const etcd = await startEtcd();
    const nodes = await startThree(etcd.endpoint);
    const bootstrap = nodes.map((n) => n.bootstrap);
    const a = admin(bootstrap);
    await a.connect();

    const cluster = await eventually(() => a.describeCluster(), (c) => c.brokers.length === 3 && c.controller !== null, 20_000);
    expect(cluster.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
    expect(cluster.controller).toBe(1); // the first broker up wins the election

    // A topic of 6 partitions, RF 1: two led by each broker.
    expect(await a.createTopics({ topics: [{ topic: 'spread', numPartitions: 6, replicationFactor: 1 }], waitForLeaders: true })).toBe(true);
    const meta = await eventually(() => a.fetchTopicMetadata({ topics: ['spread'] }), (m) => m.topics[0]!.partitions.every((p) => p.leader > 0), 10_000);
    const leaders = meta.topics[0]!.partitions.map((p) => p.leader);
    expect([1, 2, 3].map((id) => leaders.filter((l) => l === id).length)).toEqual([2, 2, 2]);

    // Every broker mirrors the topic; all of them answer metadata alike.
    for (const n of nodes) {
      const m = await run('kcat', ['-b', n.bootstrap, '-L', '-J', '-t', 'spread']);
      const j = JSON.parse(m) as { brokers: { id: number }[]; topics: { partitions: { partition: number; leader: number }[] }[] };
      expect(j.brokers.map((b) => b.id).sort()).toEqual([1, 2, 3]);
      expect(j.topics[0]!.partitions.map((p) => p.leader)).toEqual(leaders);
    }

    // sluice cluster --describe: brokers, the controller, two leaders each.
    const described = await sluiceCli(['cluster', '--describe', '--bootstrap-server', bootstrap.join(',')]);
    expect(described).toMatch(/Controller: 1 +Brokers: 3/);
    for (const id of [1, 2, 3]) expect(described).toMatch(new RegExp(`^${id} +127\\.0\\.0\\.1:${nodes[id - 1]!.port} +- +${id === 1 ? 'yes' : ' '} *2 +2 +0`, 'm'));
    // Metrics of the controller's broker.
    const scrape = await (await fetch(`http://127.0.0.1:${metricsPortOf(nodes[0]!)}/metrics`)).text();
    expect(scrape).toMatch(/^sluice_cluster_active_controller 1$/m);
    expect(scrape).toMatch(/^sluice_cluster_brokers 3$/m);
    expect(scrape).toMatch(/^sluice_cluster_leader_partitions\{broker="2"\} 2$/m);

    // librdkafka produces to every partition through the leaders, and reads it all back.
    const lines = Array.from({ length: 600 }, (_, i) => `k${i}:v${i}`).join('\n') + '\n';
    await run('kcat', ['-b', bootstrap.join(','), '-t', 'spread', '-P', '-K:', '-z', 'lz4'], lines);
    const out = await run('kcat', ['-b', bootstrap.join(','), '-t', 'spread', '-C', '-e', '-o', 'beginning', '-f', '%p %k %s\n']);
    const got = out.trim().split('\n');
    expect(got.length).toBe(600);
    expect(new Set(got.map((l) => l.split(' ')[0])).size).toBe(6);

    // A broker that does not lead a partition refuses it; epochs fence stale and future leaders.
    const notLed = leaders.findIndex((l) => l !== 1);
    const led = leaders.findIndex((l) => l === 1);
    const c1 = await WireClient.connect(nodes[0]!.port);
    const listOffsets = async (partitionIndex: number, currentLeaderEpoch: number) => {
      const r = await c1.request(ApiKey.ListOffsets, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'spread', partitions: [{ partitionIndex, currentLeaderEpoch, timestamp: -1 }] }] });
      return r.topics[0]!.partitions[0]!.errorCode;
    };
    expect(await listOffsets(notLed, -1)).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(await listOffsets(led, -1)).toBe(ErrorCode.NONE);
    expect(await listOffsets(led, 0)).toBe(ErrorCode.NONE);
    expect(await listOffsets(led, 1)).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
    const produced = await c1.request(ApiKey.Produce, 7, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: 'spread', partitionData: [{ index: notLed, records: buildBatch([{ value: 'x' }]) }] }] });
    expect(produced.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    c1.close();

    // SIGKILL broker 2: its partitions go offline, the others keep working.
    const victim = nodes[1]!;
    const victimDir = victim.dir;
    await victim.kill();
    // kafkajs retries while a partition has no leader, so ask with kcat.
    const leadersVia = async (b: string) => {
      const j = JSON.parse(await run('kcat', ['-b', b, '-L', '-J', '-t', 'spread'])) as { topics: { partitions: { partition: number; leader: number }[] }[] };
      return j.topics[0]!.partitions.sort((x, y) => x.partition - y.partition).map((p) => p.leader);
    };
    const during = await eventually(() => leadersVia(nodes[0]!.bootstrap), (l) => l.filter((x) => x === -1).length === 2, 20_000);
    expect(during).toEqual(leaders.map((l) => (l === 2 ? -1 : l)));
    const outage = await sluiceCli(['cluster', '--describe', '--bootstrap-server', `${nodes[0]!.bootstrap},${nodes[2]!.bootstrap}`]);
    expect(outage).toMatch(/Brokers: 2/);
    expect(outage).toContain(`Offline partitions (no leader): ${leaders.map((l, p) => (l === 2 ? `spread-${p}` : '')).filter(Boolean).join(', ')}`);
    const alive = [nodes[0]!.bootstrap, nodes[2]!.bootstrap].join(',');
    const livePartition = leaders.findIndex((l) => l === 3);
    await run('kcat', ['-b', alive, '-t', 'spread', '-p', String(livePartition), '-P'], 'during-outage\n');

    // It comes back on its data: it leads its partitions again, nothing lost.
    nodes[1] = await startNode(etcd.endpoint, 2, victimDir);
    expect(await eventually(() => leadersVia(nodes[0]!.bootstrap), (l) => l.every((x) => x > 0), 20_000)).toEqual(leaders);
    // Broker 2's partitions are at leader epoch 2 now (offline, then back): epoch 0 is fenced.
    const c2 = await WireClient.connect(nodes[1]!.port);
    const back2 = leaders.findIndex((l) => l === 2);
    const fenced = await c2.request(ApiKey.ListOffsets, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'spread', partitions: [{ partitionIndex: back2, currentLeaderEpoch: 0, timestamp: -1 }] }] });
    expect(fenced.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    const current = await c2.request(ApiKey.ListOffsets, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'spread', partitions: [{ partitionIndex: back2, currentLeaderEpoch: 2, timestamp: -1 }] }] });
    expect(current.topics[0]!.partitions[0]!).toMatchObject({ errorCode: ErrorCode.NONE, offset: got.filter((l) => l.startsWith(`${back2} `)).length });
    c2.close();
    const all = [nodes[0]!.bootstrap, nodes[1]!.bootstrap, nodes[2]!.bootstrap].join(',');
    const after = (await run('kcat', ['-b', all, '-t', 'spread', '-C', '-e', '-o', 'beginning', '-f', '%s\n'])).trim().split('\n');
    expect(after.length).toBe(601);
    expect(after).toContain('during-outage');

    // SIGKILL the controller (broker 1): another broker takes over within the lease TTL.
    const t0 = Date.now();
    await nodes[0]!.kill();
    const controllerVia = async (b: string) => (JSON.parse(await run('kcat', ['-b', b, '-L', '-J'])) as { controllerid: number }).controllerid;
    const next = await eventually(() => controllerVia(nodes[2]!.bootstrap), (c) => c === 2 || c === 3, 20_000);
    expect([2, 3]).toContain(next);
    console.log(`controller failover: ${Date.now() - t0} ms (lease TTL ${TTL_MS} ms)`);
  });
});

describe('a cluster while etcd is down', () => {
  it('keeps serving what each broker leads, refuses metadata changes clearly, and recovers', async () => {
    requireTool('kcat', 'apt-get install kcat');
    const etcd = await startEtcd();
    const nodes = await startThree(etcd.endpoint);
    const bootstrap = nodes.map((n) => n.bootstrap).join(',');
    await run(process.execPath, [cliPath, 'topics', '--bootstrap-server', bootstrap, '--create', '--topic', 'kept', '--partitions', '3']);
    await run('kcat', ['-b', bootstrap, '-t', 'kept', '-P', '-K:'], 'a:1\nb:2\nc:3\n');

    await etcd.kill();
    // Longer than the lease TTL: the brokers' leases would have expired in a running etcd.
    await new Promise((r) => setTimeout(r, TTL_MS * 2));
    await run('kcat', ['-b', bootstrap, '-t', 'kept', '-P', '-K:'], 'd:4\ne:5\nf:6\n');
    const during = await run('kcat', ['-b', bootstrap, '-t', 'kept', '-C', '-e', '-o', 'beginning', '-f', '%k\n']);
    expect(during.trim().split('\n').sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    const refused = await run(process.execPath, [cliPath, 'topics', '--bootstrap-server', bootstrap, '--create', '--topic', 'new-while-down']).then(
      () => 'created',
      (e: Error) => e.message,
    );
    expect(refused).toContain("creating topic 'new-while-down' needs the cluster's metadata store, and etcd cannot be reached");
    for (const n of nodes) expect(n.output()).toContain('etcd cannot be reached: serving the partitions this broker leads');

    await etcd.restart();
    await eventually(
      () => run(process.execPath, [cliPath, 'topics', '--bootstrap-server', bootstrap, '--create', '--topic', 'after']),
      () => true,
      30_000,
    );
    const meta = await eventually(
      async () => JSON.parse(await run('kcat', ['-b', bootstrap, '-L', '-J', '-t', 'after'])) as { brokers: unknown[]; topics: { partitions: { leader: number }[] }[] },
      (m) => m.brokers.length === 3 && m.topics[0]!.partitions.every((p) => p.leader > 0),
      30_000,
    );
    expect(meta.brokers.length).toBe(3);
    for (const n of nodes) expect(n.output()).toContain('etcd is reachable again');
  });
});

describe('clients of today across three brokers', () => {
  it('node-rdkafka (librdkafka 2.12), kafkajs and confluent-kafka produce to and consume from every partition', async () => {
    requireTool('kcat', 'apt-get install kcat');
    const etcd = await startEtcd();
    const nodes = await startThree(etcd.endpoint);
    const bootstrap = nodes.map((n) => n.bootstrap);
    await run(process.execPath, [cliPath, 'topics', '--bootstrap-server', bootstrap.join(','), '--create', '--topic', 'clients', '--partitions', '6']);

    // node-rdkafka: an idempotent acks=all producer, keys spread over the six partitions.
    const rd = createRequire(import.meta.url)('node-rdkafka') as typeof RdKafka;
    const p = new rd.Producer({ 'metadata.broker.list': bootstrap.join(','), dr_cb: true, 'enable.idempotence': true, acks: 'all', 'linger.ms': 5 });
    await new Promise<void>((resolve, reject) => p.connect({}, (err) => (err ? reject(err) : resolve())));
    const delivered = new Set<number>();
    const done = new Promise<void>((resolve, reject) => {
      p.on('delivery-report', (err, report) => {
        if (err) return reject(err);
        delivered.add(report.partition);
        if (report.opaque === 299) resolve();
      });
    });
    p.setPollInterval(10);
    for (let i = 0; i < 300; i++) p.produce('clients', null, Buffer.from(`rd-${i}`), `key-${i}`, null, i);
    await done;
    await new Promise<void>((r) => p.flush(10_000, () => r()));
    await new Promise<void>((r) => p.disconnect(() => r()));
    expect(delivered.size).toBe(6);

    // kafkajs: a producer and a group consumer that reads everything back.
    const kafka = new Kafka({ brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
    const producer = kafka.producer();
    clients.push(producer);
    await producer.connect();
    await producer.send({ topic: 'clients', messages: Array.from({ length: 300 }, (_, i) => ({ key: `kj-${i}`, value: `kj-${i}` })) });
    const consumer = kafka.consumer({ groupId: 'cluster-readers' });
    clients.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: 'clients', fromBeginning: true });
    const seen = new Set<string>();
    const partitions = new Set<number>();
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.add(message.value!.toString());
        partitions.add(partition);
      },
    });
    await eventually(async () => seen.size, (n) => n === 600, 60_000);
    expect(partitions.size).toBe(6);
    expect([...seen].filter((v) => v.startsWith('rd-')).length).toBe(300);

    // confluent-kafka-python (Debian's librdkafka 2.0.2): produce over all six partitions, read all back.
    const py = await python<{ count: number; partitions: number[] }>(
      `
import json, sys, time
from confluent_kafka import Producer, Consumer
bootstrap = sys.argv[1]
p = Producer({'bootstrap.servers': bootstrap, 'linger.ms': 5, 'enable.idempotence': True})
for i in range(300): p.produce('clients', key=f'py-{i}', value=f'py-{i}')
assert p.flush(30) == 0
c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'py-cluster', 'auto.offset.reset': 'earliest'})
c.subscribe(['clients'])
got, parts, deadline = 0, set(), time.time() + 60
while got < 900 and time.time() < deadline:
    m = c.poll(0.5)
    if m is None or m.error(): continue
    got += 1
    parts.add(m.partition())
c.close()
print(json.dumps({'count': got, 'partitions': sorted(parts)}))
`,
      [bootstrap.join(',')],
    );
    expect(py).toEqual({ count: 900, partitions: [0, 1, 2, 3, 4, 5] });
  });
});

/** `groups --describe` shows all 90 records of 'work' committed, with no lag. */
function allCommitted(out: string): boolean {
  const rows = [...out.matchAll(/^billing +work +(\d+) +(\d+) +(\d+) +(\d+)/gm)];
  return rows.length === 3 && rows.reduce((n, r) => n + Number(r[2]), 0) === 90 && rows.every((r) => r[4] === '0');
}

describe('consumer groups in a cluster', () => {
  it('are coordinated by the leader of their offsets partition, on every broker alike, and keep their offsets over a restart', async () => {
    requireTool('kcat', 'apt-get install kcat');
    const etcd = await startEtcd();
    const nodes = await startThree(etcd.endpoint);
    const bootstrap = nodes.map((n) => n.bootstrap).join(',');
    await run(process.execPath, [cliPath, 'topics', '--bootstrap-server', bootstrap, '--create', '--topic', 'work', '--partitions', '3']);
    await run('kcat', ['-b', bootstrap, '-t', 'work', '-P', '-K:'], Array.from({ length: 90 }, (_, i) => `k${i}:v${i}`).join('\n') + '\n');

    // Every broker names the same coordinator for a group.
    const coordinators = await Promise.all(
      nodes.map(async (n) => {
        const c = await WireClient.connect(n.port);
        try {
          const r = await eventually(() => c.request(ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: ['billing'] }), (x) => x.coordinators[0]!.errorCode === 0, 20_000);
          return r.coordinators[0]!.nodeId;
        } finally {
          c.close();
        }
      }),
    );
    expect(new Set(coordinators).size).toBe(1);
    const coordinator = coordinators[0]!;
    // Group requests at another broker are sent on (NOT_COORDINATOR).
    const other = nodes.find((_, i) => i + 1 !== coordinator)!;
    const oc = await WireClient.connect(other.port);
    const hb = await oc.request(ApiKey.Heartbeat, 4, { groupId: 'billing', generationId: 1, memberId: 'm', groupInstanceId: null });
    expect(hb.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    oc.close();

    // A librdkafka group consumes and commits through the coordinator.
    const consumed = await run('kcat', ['-b', bootstrap, '-G', 'billing', '-o', 'beginning', '-e', '-f', '%s\n', '-X', 'enable.auto.commit=true', '-X', 'auto.commit.interval.ms=100', 'work']);
    expect(consumed.trim().split('\n').length).toBe(90);
    const described = await eventually(
      () => sluiceCli(['groups', '--bootstrap-server', bootstrap, '--describe', '--group', 'billing']),
      allCommitted,
      20_000,
    );
    expect(described).toContain('work');

    // The coordinator's broker restarts: the group's offsets are there again.
    const idx = coordinator - 1;
    const dir = nodes[idx]!.dir;
    await nodes[idx]!.kill();
    nodes[idx] = await startNode(etcd.endpoint, coordinator, dir);
    const again = await eventually(
      () => sluiceCli(['groups', '--bootstrap-server', nodes.map((n) => n.bootstrap).join(','), '--describe', '--group', 'billing']),
      allCommitted,
      30_000,
    );
    expect(again).toContain('work');
  });
});

describe('topics deleted while a broker is away', () => {
  it('are deleted from its disk when it comes back', async () => {
    const etcd = await startEtcd();
    const nodes = await startThree(etcd.endpoint);
    const bootstrap = nodes.map((n) => n.bootstrap).join(',');
    await run(process.execPath, [cliPath, 'topics', '--bootstrap-server', bootstrap, '--create', '--topic', 'gone', '--partitions', '3']);
    await run(process.execPath, [cliPath, 'topics', '--bootstrap-server', bootstrap, '--create', '--topic', 'stays', '--partitions', '3']);
    const away = nodes[2]!;
    const dir = away.dir;
    await eventually(async () => fs.readdirSync(dir).filter((d) => d.startsWith('gone-')).length, (n) => n === 3, 10_000);
    expect(await away.stop()).toBe(0);
    await run(process.execPath, [cliPath, 'topics', '--bootstrap-server', `${nodes[0]!.bootstrap},${nodes[1]!.bootstrap}`, '--delete', '--topic', 'gone']);
    nodes[2] = await startNode(etcd.endpoint, 3, dir);
    await eventually(async () => fs.readdirSync(dir).filter((d) => d.startsWith('gone-')).length, (n) => n === 0, 20_000);
    expect(fs.readdirSync(dir).filter((d) => d.startsWith('stays-')).length).toBe(3);
    expect(nodes[2]!.output()).toContain('topic deleted in the cluster: deleting its local logs');
  });
});
