/**
 * Replication across three real broker processes coordinated by a real etcd: followers copy
 * their leader's log byte for byte, the ISR shrinks and grows, acks=all waits for the ISR and
 * min.insync.replicas refuses writes the ISR cannot hold, a killed leader's partitions move to
 * an in-sync replica with nothing acknowledged lost, and a leader that took acks=1 writes while
 * cut off loses exactly those when it comes back (truncation by leader epoch).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe as suite, expect, it } from 'vitest';
import { requireTool, run } from './helpers/clients.js';
import { startEtcd } from './helpers/etcd.js';
import { describe, eventually, kafka, LAG_MAX_MS, partitionBytes, startNode, startThree, TTL_MS } from './helpers/replicas.js';
import { WireClient } from './helpers/wire-client.js';
import { ApiKey } from '../src/protocol/apis.js';

const clients: { disconnect(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.disconnect().catch(() => {});
});

/** kcat producing `lines` with the given acks; resolves with kcat's output (delivery errors included). */
function kcatProduce(bootstrap: string, topic: string, partition: number, lines: string[], acks: string): Promise<string> {
  return run('kcat', ['-P', '-b', bootstrap, '-t', topic, '-p', String(partition), '-X', `acks=${acks}`, '-X', 'message.timeout.ms=8000', '-X', 'retries=0'], `${lines.join('\n')}\n`, 30_000).catch((err: Error) => err.message);
}

function kcatConsume(bootstrap: string, topic: string, partition: number): Promise<string[]> {
  return run('kcat', ['-C', '-b', bootstrap, '-t', topic, '-p', String(partition), '-o', 'beginning', '-e', '-q', '-f', '%s\\n'], '', 30_000).then((out) => out.split('\n').filter((l) => l !== ''));
}

suite('replication', () => {
  it('copies every partition to its followers byte for byte; acks=all waits for the ISR; min.insync.replicas refuses what the ISR cannot hold', async () => {
    requireTool('kcat', 'apt-get install kcat');
    const etcd = await startEtcd();
    const nodes = await startThree(etcd.endpoint);
    const bootstrap = nodes.map((n) => n.bootstrap);
    const admin = kafka(bootstrap).admin();
    clients.push(admin);
    // README's replication example, run as written against this cluster.
    const readme = fs.readFileSync(path.resolve(import.meta.dirname, '..', 'README.md'), 'utf8');
    const example = /### Replication[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)![1]!.replace(/\\\n\s*/g, '').trim();
    const args = example.replace(/^npx sluice /, '').replace('127.0.0.1:9092', bootstrap.join(',')).split(/\s+/);
    await run(process.execPath, [path.resolve(import.meta.dirname, '..', 'dist', 'src', 'cli', 'index.js'), ...args]);
    const orders = await eventually(() => describe(nodes[0]!, 'orders'), (v) => v.length === 6 && v.every((p) => p.isr.length === 3), 15_000, 'README topic in sync');
    expect(orders.every((p) => p.replicas.length === 3)).toBe(true);
    await admin.createTopics({ topics: [{ topic: 'rep', numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }], waitForLeaders: true });
    const views = await eventually(() => describe(nodes[0]!, 'rep'), (v) => v.length === 3 && v.every((p) => p.isr.length === 3 && p.leader > 0), 15_000, 'full ISR');
    for (const v of views) expect(v.replicas.slice().sort()).toEqual([1, 2, 3]);

    // acks=all into every partition, then every replica holds the same bytes.
    for (let p = 0; p < 3; p++) {
      const out = await kcatProduce(bootstrap.join(','), 'rep', p, Array.from({ length: 200 }, (_, i) => `p${p}-r${i}`), 'all');
      expect(out).not.toMatch(/fail|error/i);
    }
    for (let p = 0; p < 3; p++) {
      const leaderDir = nodes[views[p]!.leader - 1]!.dir;
      const want = partitionBytes(leaderDir, 'rep', p);
      expect(want.length).toBeGreaterThan(0);
      await eventually(() => nodes.map((n) => partitionBytes(n.dir, 'rep', p).equals(want)), (eq) => eq.every(Boolean), 15_000, `replicas of rep-${p} equal`);
      expect(await kcatConsume(bootstrap.join(','), 'rep', p)).toEqual(Array.from({ length: 200 }, (_, i) => `p${p}-r${i}`));
    }
    // Every replica keeps Kafka's leader-epoch checkpoint: version, count, then epoch and start offset.
    for (const n of nodes) expect(fs.readFileSync(path.join(n.dir, 'rep-0', 'leader-epoch-checkpoint'), 'utf8')).toMatch(/^0\n1\n0 0\n$/);
    // The leader's metrics show what it served its followers and how far behind they are.
    const metricsPort = Number(/metrics at http:\/\/[\d.]+:(\d+)/.exec(nodes[views[0]!.leader - 1]!.output())![1]);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(Number(/^sluice_replication_bytes_out_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(metrics).toMatch(/sluice_replication_follower_lag_records\{topic="rep",partition="0",replica="\d"\} 0/);
    expect(metrics).toMatch(/sluice_replication_partitions\{role="leader"\} [1-9]/);

    // One follower of partition 0 dies: the ISR shrinks to 2 and acks=all still works.
    const leader0 = views[0]!.leader;
    const victim = [1, 2, 3].find((id) => id !== leader0)!;
    await nodes[victim - 1]!.kill();
    await eventually(() => describe(nodes[leader0 - 1]!, 'rep'), (v) => v[0]!.isr.length === 2, TTL_MS + LAG_MAX_MS + 10_000, 'ISR without the dead follower');
    const live = nodes.filter((_, i) => i !== victim - 1).map((n) => n.bootstrap).join(',');
    expect(await kcatProduce(live, 'rep', 0, ['after-one-down'], 'all')).not.toMatch(/fail|error/i);

    // A second one dies: ISR of 1 < min.insync.replicas=2, acks=all is refused, acks=1 is not.
    const second = [1, 2, 3].find((id) => id !== leader0 && id !== victim)!;
    await nodes[second - 1]!.kill();
    await eventually(() => describe(nodes[leader0 - 1]!, 'rep'), (v) => v[0]!.isr.length === 1, TTL_MS + LAG_MAX_MS + 10_000, 'ISR of the leader alone');
    const refused = await kcatProduce(nodes[leader0 - 1]!.bootstrap, 'rep', 0, ['refused'], 'all');
    expect(refused).toMatch(/NOT_ENOUGH_REPLICAS|Not enough in-sync replicas|Broker: Not enough/i);
    expect(await kcatProduce(nodes[leader0 - 1]!.bootstrap, 'rep', 0, ['acks-one'], '1')).not.toMatch(/fail|error/i);

    // Both come back on their data, catch up, rejoin the ISR, and hold the leader's bytes.
    nodes[victim - 1] = await startNode(etcd.endpoint, victim, nodes[victim - 1]!.dir);
    nodes[second - 1] = await startNode(etcd.endpoint, second, nodes[second - 1]!.dir);
    await eventually(() => describe(nodes[leader0 - 1]!, 'rep'), (v) => v.every((p) => p.isr.length === 3), 30_000, 'full ISR again');
    const want = partitionBytes(nodes[leader0 - 1]!.dir, 'rep', 0);
    await eventually(() => nodes.map((n) => partitionBytes(n.dir, 'rep', 0).equals(want)), (eq) => eq.every(Boolean), 15_000, 'replicas equal again');
    const all = await kcatConsume(nodes.map((n) => n.bootstrap).join(','), 'rep', 0);
    expect(all.slice(200)).toEqual(['after-one-down', 'acks-one']);
    await etcd.kill();
  }, 180_000);

  it('a follower fetches a damaged range again from its leader instead of keeping a quarantined gap', async () => {
    const etcd = await startEtcd();
    const nodes = await startThree(etcd.endpoint);
    const k = kafka(nodes.map((n) => n.bootstrap));
    const admin = k.admin();
    clients.push(admin);
    await admin.createTopics({ topics: [{ topic: 'dmg', numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true });
    const producer = k.producer({ allowAutoTopicCreation: false });
    clients.push(producer);
    await producer.connect();
    // One batch per send.
    for (let i = 0; i < 10; i++) await producer.send({ topic: 'dmg', acks: -1, messages: [{ value: `record-${i}-${'x'.repeat(200)}` }] });
    const [view] = await eventually(() => describe(nodes[0]!, 'dmg'), (v) => v[0]!.isr.length === 3, 15_000, 'in sync');
    const leader = nodes[view!.leader - 1]!;
    const want = partitionBytes(leader.dir, 'dmg', 0);
    const fid = [1, 2, 3].find((id) => id !== view!.leader)!;
    await eventually(() => partitionBytes(nodes[fid - 1]!.dir, 'dmg', 0).equals(want), (eq) => eq, 15_000, 'follower caught up');
    await nodes[fid - 1]!.kill();

    // Flip a byte inside the 5th batch's records on the follower's disk (its CRC no longer holds).
    const file = path.join(nodes[fid - 1]!.dir, 'dmg-0', '00000000000000000000.log');
    const bytes = fs.readFileSync(file);
    let pos = 0;
    for (let i = 0; i < 4; i++) pos += 12 + bytes.readInt32BE(pos + 8);
    bytes[pos + 100] = bytes[pos + 100]! ^ 0xff;
    fs.writeFileSync(file, bytes);

    nodes[fid - 1] = await startNode(etcd.endpoint, fid, nodes[fid - 1]!.dir);
    await eventually(() => partitionBytes(nodes[fid - 1]!.dir, 'dmg', 0).equals(want), (eq) => eq, 20_000, 'damaged range fetched again').catch((err) => {
      throw new Error(`${err.message}\n${nodes[fid - 1]!.output().split('\n').filter((l) => /dmg|damag|quarant|recover/.test(l)).join('\n')}`);
    });
    expect(nodes[fid - 1]!.output()).toMatch(/fetching it again from the leader|a damaged batch cut the log/);
    await etcd.kill();
  }, 120_000);

  it("moves a group's coordinator with its replicated offsets partition when the coordinator's broker dies", async () => {
    const etcd = await startEtcd();
    const nodes = await startThree(etcd.endpoint);
    const bootstrap = nodes.map((n) => n.bootstrap);
    const k = kafka(bootstrap);
    const admin = k.admin();
    clients.push(admin);
    await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 2, replicationFactor: 3 }], waitForLeaders: true });
    const producer = k.producer({ allowAutoTopicCreation: false });
    clients.push(producer);
    await producer.connect();
    await producer.send({ topic: 'orders', acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `first-${i}` })) });

    const consume = async (want: number): Promise<string[]> => {
      const consumer = k.consumer({ groupId: 'billing', sessionTimeout: 6000, heartbeatInterval: 500, retry: { retries: 20, initialRetryTime: 200 } });
      clients.push(consumer);
      await consumer.connect();
      await consumer.subscribe({ topic: 'orders', fromBeginning: true });
      const got: string[] = [];
      await new Promise<void>((resolve) => {
        void consumer.run({
          autoCommitInterval: 100,
          eachMessage: async ({ message }) => {
            got.push(message.value!.toString());
            if (got.length === want) resolve();
          },
        });
      });
      await consumer.stop();
      await consumer.disconnect();
      return got;
    };
    expect((await consume(10)).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `first-${i}`).sort());

    // The offsets topic is replicated, and the group's coordinator is its partition's leader.
    const offsetsView = await eventually(() => describe(nodes[0]!, '__consumer_offsets'), (v) => v.length > 0 && v.every((p) => p.isr.length === 3), 20_000, 'offsets topic in sync');
    expect(offsetsView[0]!.replicas.length).toBe(3);
    const c = await WireClient.connect(nodes[0]!.port);
    const found = (await c.request(ApiKey.FindCoordinator, 2, { key: 'billing', keyType: 0 })) as { nodeId: number };
    c.close();
    const coordinator = found.nodeId;
    expect(coordinator).toBeGreaterThan(0);
    await nodes[coordinator - 1]!.kill();

    const live = nodes.filter((_, i) => i !== coordinator - 1);
    const liveAdmin = kafka(live.map((n) => n.bootstrap)).admin();
    clients.push(liveAdmin);
    const offsets = await eventually(() => liveAdmin.fetchOffsets({ groupId: 'billing', topics: ['orders'] }), (r) => r[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0) === 10, 30_000, 'offsets from the new coordinator');
    expect(offsets[0]!.partitions.length).toBe(2);
    await producer.send({ topic: 'orders', acks: -1, messages: Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `second-${i}` })) });
    expect((await consume(5)).sort()).toEqual(Array.from({ length: 5 }, (_, i) => `second-${i}`).sort());
    await etcd.kill();
  }, 180_000);
});
