/**
 * read_committed over the wire (issue 16, the log side): Fetch with isolationLevel 1 returns
 * only records below the last stable offset, with the aborted transactions among them, and
 * ListOffsets latest is the LSO. Real clients (kafkajs, confluent-kafka-python on Debian's
 * librdkafka 2.0.2, node-rdkafka on librdkafka 2.12, Sluice's wire client) read a partition
 * whose transactional batches and markers were appended through the engine of an in-process
 * broker (the coordinator that writes them in production is another module).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as RdKafka from 'node-rdkafka';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KafkaBroker } from '../src/broker/kafka-broker.js';
import { buildBatch, buildEndTransactionMarker } from '../src/index.js';
import { Cluster, Consumer as WireConsumer, listOffsets, LATEST } from '../src/wire-client/index.js';
import { startBroker } from './helpers/broker.js';
import { PYTHON, python, run } from './helpers/clients.js';
import { tmpDir } from './helpers/tmp.js';
import { runUntilKilled } from './helpers/kill-child.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const require = createRequire(import.meta.url);
let RdKafkaLib: typeof RdKafka;

beforeAll(async () => {
  RdKafkaLib = require('node-rdkafka') as typeof RdKafka;
  await run(PYTHON, ['-c', 'import confluent_kafka']).catch(() => {
    throw new Error('python3-confluent-kafka is not installed: apt-get install python3-confluent-kafka');
  });
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

function txn(producerId: number, values: string[], compression: 'none' | 'gzip' = 'none'): Buffer {
  return buildBatch(values.map((v) => ({ key: v, value: v })), { producerId, producerEpoch: 0, baseSequence: 0, transactional: true, compression });
}
const plain = (values: string[]) => buildBatch(values.map((v) => ({ key: v, value: v })));
const marker = (producerId: number, commit: boolean) => buildEndTransactionMarker({ committed: commit, producerId, producerEpoch: 0, coordinatorEpoch: 0 });

/** Offsets: 0 plain-0 | 1-2 a1 a2 (pid 100) | 3 b1 (200) | 4 a3 | 5 b2 (200, gzip: kafkajs has no lz4 codec of its own) | 6 commit 100 | 7 abort 200 | 8 c1 (300) | 9 plain-1 | 10 commit 300 | 11 d1 (400, open) | 12 plain-2 */
const SCENARIO = [
  plain(['plain-0']), txn(100, ['a1', 'a2']), txn(200, ['b1']), txn(100, ['a3']), txn(200, ['b2'], 'gzip'),
  marker(100, true), marker(200, false), txn(300, ['c1']), plain(['plain-1']), marker(300, true), txn(400, ['d1']), plain(['plain-2']),
];
const COMMITTED = ['plain-0', 'a1', 'a2', 'a3', 'c1', 'plain-1'];
const EVERYTHING = ['plain-0', 'a1', 'a2', 'b1', 'a3', 'b2', 'c1', 'plain-1', 'd1', 'plain-2'];
const AFTER_COMMIT_400 = [...COMMITTED, 'd1', 'plain-2'];

async function startWithScenario(): Promise<KafkaBroker> {
  const broker = await KafkaBroker.start({ dir: tmpDir(), port: 0, metrics: false, workerThreads: 0, retentionCheckIntervalMs: 0 });
  cleanups.push(() => broker.close());
  await broker.sluice.createTopic('t');
  const p = broker.sluice.partition('t', 0);
  for (const b of SCENARIO) p.append(Buffer.from(b));
  return broker;
}

const bootstrap = (b: KafkaBroker) => `127.0.0.1:${b.address.port}`;

function until(what: string, ms: number, test: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const tick = () => {
      if (test()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`${what}: not within ${ms} ms`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

/** Reads partition 0 of 't' with confluent-kafka: argv bootstrap, isolation.level, records expected; prints them and the end offset librdkafka gets. */
const CONFLUENT_READ = `
import json, sys, time
from confluent_kafka import Consumer, TopicPartition
bootstrap, isolation, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'py-' + isolation, 'isolation.level': isolation, 'enable.auto.commit': False})
c.assign([TopicPartition('t', 0, 0)])
got, deadline, idle_until = [], time.time() + 30, None
while time.time() < deadline:
    m = c.poll(0.2)
    if m is not None and not m.error(): got.append(m.value().decode())
    if len(got) >= expected:
        idle_until = idle_until or time.time() + 1.0
        if time.time() > idle_until: break
low, high = c.get_watermark_offsets(TopicPartition('t', 0), timeout=10, cached=False)
c.close()
print(json.dumps({'got': got, 'low': low, 'high': high}))
`;

describe('read_committed over the wire', () => {
  it('kafkajs: read_committed sees committed records, wakes when the LSO moves; read_uncommitted sees all', async () => {
    const broker = await startWithScenario();
    const kafka = new Kafka({ brokers: [bootstrap(broker)], clientId: 'rc', logLevel: logLevel.NOTHING });
    const read = async (readUncommitted: boolean, groupId: string) => {
      const consumer = kafka.consumer({ groupId, readUncommitted, maxWaitTimeInMs: 200 });
      cleanups.push(() => consumer.disconnect());
      await consumer.connect();
      await consumer.subscribe({ topic: 't', fromBeginning: true });
      const got: string[] = [];
      await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
      return got;
    };
    const committed = await read(false, 'committed');
    const uncommitted = await read(true, 'uncommitted');
    await until('read_uncommitted', 30_000, () => uncommitted.length >= EVERYTHING.length);
    await until('read_committed', 30_000, () => committed.length >= COMMITTED.length);
    expect(uncommitted).toEqual(EVERYTHING);
    await new Promise((r) => setTimeout(r, 500)); // nothing past the LSO comes
    expect(committed).toEqual(COMMITTED);
    broker.sluice.partition('t', 0).append(marker(400, true));
    await until('read_committed after the commit', 30_000, () => committed.length >= AFTER_COMMIT_400.length);
    expect(committed).toEqual(AFTER_COMMIT_400);
  });

  it('confluent-kafka (librdkafka 2.0.2): isolation.level both ways, and the LSO as the end offset', async () => {
    const broker = await startWithScenario();
    const committed = await python<{ got: string[]; low: number; high: number }>(CONFLUENT_READ, [bootstrap(broker), 'read_committed', String(COMMITTED.length)]);
    expect(committed.got).toEqual(COMMITTED);
    expect(committed.high).toBe(11); // librdkafka asks ListOffsets with the consumer's isolation: the LSO
    const uncommitted = await python<{ got: string[]; high: number }>(CONFLUENT_READ, [bootstrap(broker), 'read_uncommitted', String(EVERYTHING.length)]);
    expect(uncommitted.got).toEqual(EVERYTHING);
    expect(uncommitted.high).toBe(13);
  });

  it('a broker process started on a directory whose writer was SIGKILLed serves the same LSO and aborted transactions', async () => {
    const dir = tmpDir();
    const dist = path.resolve(import.meta.dirname, '..', 'dist', 'src', 'index.js');
    // The writer: the scenario through the engine in a child process, killed without a close.
    const script = `
      import { Sluice, buildBatch, buildEndTransactionMarker } from ${JSON.stringify(dist)};
      const s = await Sluice.open({ dir: ${JSON.stringify(dir)}, workerThreads: 0, retentionCheckIntervalMs: 0 });
      await s.createTopic('t');
      const p = s.partition('t', 0);
      const txn = (pid, values, compression = 'none') => buildBatch(values.map((v) => ({ key: v, value: v })), { producerId: pid, producerEpoch: 0, baseSequence: 0, transactional: true, compression });
      const plain = (values) => buildBatch(values.map((v) => ({ key: v, value: v })));
      const marker = (pid, committed) => buildEndTransactionMarker({ committed, producerId: pid, producerEpoch: 0, coordinatorEpoch: 0 });
      for (const b of [plain(['plain-0']), txn(100, ['a1', 'a2']), txn(200, ['b1']), txn(100, ['a3']), txn(200, ['b2'], 'gzip'),
        marker(100, true), marker(200, false), txn(300, ['c1']), plain(['plain-1']), marker(300, true), txn(400, ['d1']), plain(['plain-2'])]) p.append(b);
      console.log('appended ' + p.lastStableOffset);
      setInterval(() => {}, 1000);
    `;
    let out = '';
    await runUntilKilled('--input-type=module', ['-e', script], (line) => {
      out += `${line}
`;
      return line.includes('appended');
    });
    expect(out).toContain('appended 11');
    const broker = await startBroker({ dir });
    const committed = await python<{ got: string[]; high: number }>(CONFLUENT_READ, [broker.bootstrap, 'read_committed', String(COMMITTED.length)]);
    expect(committed.got).toEqual(COMMITTED);
    expect(committed.high).toBe(11);
    const uncommitted = await python<{ got: string[]; high: number }>(CONFLUENT_READ, [broker.bootstrap, 'read_uncommitted', String(EVERYTHING.length)]);
    expect(uncommitted.got).toEqual(EVERYTHING);
  });


  it('node-rdkafka (librdkafka 2.12): read_committed drops the aborted transaction, compressed or not', async () => {
    const broker = await startWithScenario();
    const consumer = new RdKafkaLib.KafkaConsumer(
      { 'group.id': 'rdkafka-rc', 'metadata.broker.list': bootstrap(broker), 'isolation.level': 'read_committed', 'enable.auto.commit': false },
      { 'auto.offset.reset': 'earliest' },
    );
    await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 20_000 }, (err) => (err ? reject(err) : resolve())));
    cleanups.push(() => new Promise<void>((r) => consumer.disconnect(() => r())));
    consumer.assign([{ topic: 't', partition: 0, offset: 0 }]);
    const got: string[] = [];
    const consume = () =>
      new Promise<void>((resolve, reject) =>
        consumer.consume(100, (err, messages) => {
          if (err) return reject(err);
          for (const m of messages) got.push(m.value!.toString());
          resolve();
        }),
      );
    const deadline = Date.now() + 30_000;
    while (got.length < COMMITTED.length && Date.now() < deadline) await consume();
    await consume(); // nothing more below the LSO
    expect(got).toEqual(COMMITTED);
    broker.sluice.partition('t', 0).append(marker(400, true));
    while (got.length < AFTER_COMMIT_400.length && Date.now() < deadline) await consume();
    expect(got).toEqual(AFTER_COMMIT_400);
  });

  it("Sluice's wire client: Fetch and ListOffsets with isolationLevel", async () => {
    const broker = await startWithScenario();
    const cluster = await Cluster.connect({ bootstrap: bootstrap(broker), clientId: 'rc' });
    cleanups.push(async () => cluster.close());
    expect((await listOffsets(cluster, 't', [0], LATEST, 1)).get(0)!.offset).toBe(11);
    expect((await listOffsets(cluster, 't', [0], LATEST, 0)).get(0)!.offset).toBe(13);
    const read = async (isolationLevel: 'read_committed' | 'read_uncommitted', n: number) => {
      const c = new WireConsumer(cluster, { isolationLevel, maxWaitMs: 100, partitionMaxBytes: 200 }); // small fetches: the skip state crosses them
      await c.assign('t', [0], { earliest: true });
      const got: string[] = [];
      for (let i = 0; i < 50 && got.length < n; i++) got.push(...(await c.poll()).map((r) => r.value!.toString()));
      for (let i = 0; i < 3; i++) got.push(...(await c.poll()).map((r) => r.value!.toString()));
      return got;
    };
    expect(await read('read_committed', COMMITTED.length)).toEqual(COMMITTED);
    expect(await read('read_uncommitted', EVERYTHING.length)).toEqual(EVERYTHING);
    // Raw answer: the aborted transaction of 200 from its first offset, and the LSO.
    const res = await cluster.bootstrap.request(1 as never, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 1, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 't', topicId: '00000000-0000-0000-0000-000000000000', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1 }] }],
      forgottenTopicsData: [], rackId: '',
    } as never) as { responses: { partitions: { lastStableOffset: number; highWatermark: number; abortedTransactions: unknown }[] }[] };
    const p = res.responses[0]!.partitions[0]!;
    expect(p.highWatermark).toBe(13);
    expect(p.lastStableOffset).toBe(11);
    expect(p.abortedTransactions).toEqual([{ producerId: 200, firstOffset: 3 }]);

    // By time: a record at or past the LSO is not an answer for read_committed.
    broker.sluice.partition('t', 0).append(buildBatch([{ value: 'late', timestamp: 4e12 }], { producerId: 401, producerEpoch: 0, baseSequence: 0, transactional: true }));
    expect((await listOffsets(cluster, 't', [0], 4e12 - 1, 0)).get(0)!.offset).toBe(13);
    expect((await listOffsets(cluster, 't', [0], 4e12 - 1, 1)).get(0)!.offset).toBe(-1);
  });
});
