/**
 * A partition with data reassigned under load: records keep coming (kafkajs, acks=all) while
 * `sluice reassign` moves the partition from broker 1 to brokers 2 and 3. The new replicas
 * copy the log from the leader (src/replication/), join the ISR, leadership moves, broker 1
 * is dropped; every acknowledged record is read back once, in order. Needs replication:
 * skipped where src/replication/ does not exist yet.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type BrokerProcess } from './helpers/broker.js';
import { eventually, sluice } from './helpers/cli.js';
import { freePort, startEtcd } from './helpers/etcd.js';
import { tmpDir } from './helpers/tmp.js';

const REPLICATION = fs.existsSync(path.resolve(import.meta.dirname, '..', 'src', 'replication'));

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => {});
});

async function startNode(etcd: string, id: number): Promise<BrokerProcess> {
  return startBroker({ args: ['--node-id', String(id), '--etcd', etcd, '--broker-session-timeout-ms', '2000', '--log-format', 'json', '--metrics-port', String(await freePort())] });
}

describe('reassignment of a partition with data', () => {
  it.skipIf(!REPLICATION)('moves it under load to other brokers, losing and duplicating nothing', async () => {
    const etcd = await startEtcd();
    const nodes = [await startNode(etcd.endpoint, 1)];
    nodes.push(...(await Promise.all([2, 3].map((id) => startNode(etcd.endpoint, id)))));
    for (const n of nodes) closers.push(() => n.stop());
    const bootstrap = nodes.map((n) => n.bootstrap);
    const bs = ['--bootstrap-server', bootstrap.join(',')];
    const kafka = new Kafka({ brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
    const admin = kafka.admin();
    await admin.connect();
    closers.push(() => admin.disconnect());
    await eventually(async () => (await admin.describeCluster()).brokers.length === 3);
    expect(await admin.createTopics({ topics: [{ topic: 'data', replicaAssignment: [{ partition: 0, replicas: [1] }] }], waitForLeaders: true })).toBe(true);

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    closers.push(() => producer.disconnect());
    let acked = 0;
    let stop = false;
    const writing = (async () => {
      while (!stop) {
        const batch = Array.from({ length: 50 }, (_, i) => ({ value: `r${acked + i}` }));
        await producer.send({ topic: 'data', acks: -1, messages: batch });
        acked += batch.length;
      }
    })();
    await eventually(async () => acked >= 2000);

    const plan = path.join(tmpDir('sluice-reassign-data-'), 'plan.json');
    fs.writeFileSync(plan, JSON.stringify({ version: 1, partitions: [{ topic: 'data', partition: 0, replicas: [2, 3] }] }));
    const exec = await sluice(['reassign', '--execute', '--reassignment-json-file', plan, ...bs]);
    expect(exec.stderr).toBe('');
    expect(exec.code).toBe(0);
    await eventually(async () => (await sluice(['reassign', '--verify', '--reassignment-json-file', plan, ...bs])).code === 0, 500);
    const movedAt = acked;
    await eventually(async () => acked >= movedAt + 1000);
    stop = true;
    await writing;

    const meta = await admin.fetchTopicMetadata({ topics: ['data'] });
    expect(meta.topics[0]!.partitions[0]).toMatchObject({ leader: 2, replicas: [2, 3] });
    expect([...meta.topics[0]!.partitions[0]!.isr].sort()).toEqual([2, 3]);
    const high = Number((await admin.fetchTopicOffsets('data'))[0]!.high);
    expect(high).toBe(acked);

    const consumer = kafka.consumer({ groupId: 'reassign-check' });
    await consumer.connect();
    closers.push(() => consumer.disconnect());
    await consumer.subscribe({ topic: 'data', fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await eventually(async () => seen.length >= acked);
    expect(seen.length).toBe(acked);
    expect(seen).toEqual(Array.from({ length: acked }, (_, i) => `r${i}`));
  }, 180_000);
});
