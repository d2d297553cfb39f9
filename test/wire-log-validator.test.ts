/**
 * Issue 12 items 4-5 over a real socket against a real `sluice serve`: batches that lie are
 * refused whole and offsets stay dense, Sarama's maxTimestamp -1 is fixed, recordErrors name
 * the bad records (raw Produce v9 and confluent-kafka-python), LogAppendTime and timestamp
 * bounds, ListOffsets MAX_TIMESTAMP by record, authorized operations without an authorizer,
 * and message.format.version accepted as deprecated.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../src/protocol/apis.js';
import { buildBatch, computeBatchCrc, CRC_OFFSET, LAST_OFFSET_DELTA_OFFSET, RECORDS_COUNT_OFFSET } from '../src/record/index.js';
import { readInt64, writeInt64 } from '../src/record/header.js';
import { MAX_TIMESTAMP_OFFSET } from '../src/record/layout.js';
import { startBroker } from './helpers/broker.js';
import { PYTHON, python, run } from './helpers/clients.js';
import { createTopic, produce, readAll } from './helpers/fuzz-probe.js';
import { WireClient } from './helpers/wire-client.js';
import { tmpDir } from './helpers/tmp.js';

beforeAll(async () => {
  await run(PYTHON, ['-c', 'import confluent_kafka']).catch(() => {
    throw new Error('python3-confluent-kafka is not installed: apt-get install python3-confluent-kafka');
  });
});

function fixCrc(batch: Buffer): Buffer {
  batch.writeUInt32BE(computeBatchCrc(batch, 0, batch.length), CRC_OFFSET);
  return batch;
}

async function producePartition(c: WireClient, topic: string, records: Buffer) {
  const r = await c.request(ApiKey.Produce, 9, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
  return r.responses[0]!.partitionResponses[0]!;
}

async function listOffset(c: WireClient, topic: string, timestamp: number) {
  const r = await c.request(ApiKey.ListOffsets, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }] }],
  });
  return r.topics[0]!.partitions[0]!;
}

/** The first batch header's maxTimestamp as served by Fetch. */
async function servedMaxTimestamp(c: WireClient, topic: string, offset: number): Promise<number> {
  const r = await c.request(ApiKey.Fetch, 11, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1 }] }],
    forgottenTopicsData: [], rackId: '',
  });
  return readInt64(r.responses[0]!.partitions[0]!.records!, MAX_TIMESTAMP_OFFSET);
}

describe('produce: Kafka LogValidator rules over the wire', () => {
  it('refuses lying batches whole (INVALID_RECORD) and keeps offsets dense', async () => {
    const broker = await startBroker();
    const c = await WireClient.connect(broker.port);
    try {
      await createTopic(c, 'lies', 1);
      expect(await produce(c, 'lies', 0, buildBatch([{ value: 'first' }]))).toBe(0);
      // The case: a gzip batch holding 1 record claiming 1,000,001.
      const lie = Buffer.from(buildBatch([{ value: 'one' }], { compression: 'gzip' }));
      lie.writeInt32BE(1_000_001, RECORDS_COUNT_OFFSET);
      lie.writeInt32BE(1_000_000, LAST_OFFSET_DELTA_OFFSET);
      const refused = await producePartition(c, 'lies', fixCrc(lie));
      expect(refused.errorCode).toBe(87);
      expect(refused.errorMessage).toMatch(/1000001 records/);
      // A batch with its records' offset deltas rewritten (uncompressed: patch the second record's delta byte).
      const swapped = Buffer.from(buildBatch([{ value: 'a', timestamp: 1 }, { value: 'b', timestamp: 1 }], { now: 1 }));
      const second = 61 + 1 + (swapped[61]! >> 1);
      swapped[second + 3] = 0; // offsetDelta 0 again
      expect((await producePartition(c, 'lies', fixCrc(swapped))).errorCode).toBe(87);
      expect(await produce(c, 'lies', 0, buildBatch([{ value: 'second' }, { value: 'third' }]))).toBe(1);
      expect((await readAll(c, 'lies', 0)).map((r) => [r.offset, r.value])).toEqual([[0, 'first'], [1, 'second'], [2, 'third']]);
      expect((await listOffset(c, 'lies', -1)).offset).toBe(3);
    } finally {
      c.close();
      await broker.stop();
    }
  });

  it("fixes Sarama's maxTimestamp -1 (CRC recomputed) so offsets by time and MAX_TIMESTAMP work", async () => {
    const broker = await startBroker();
    const c = await WireClient.connect(broker.port);
    try {
      await createTopic(c, 'sarama', 1);
      const t = Date.now() - 60_000;
      for (const deltas of [[5, 50, 10], [20, 30]]) {
        const batch = Buffer.from(buildBatch(deltas.map((d, i) => ({ value: `v${d}-${i}`, timestamp: t + d })), { compression: 'lz4' }));
        writeInt64(batch, MAX_TIMESTAMP_OFFSET, -1);
        const p = await producePartition(c, 'sarama', fixCrc(batch));
        expect(p.errorCode).toBe(0);
      }
      expect(await servedMaxTimestamp(c, 'sarama', 0)).toBe(t + 50);
      expect(await servedMaxTimestamp(c, 'sarama', 3)).toBe(t + 30);
      expect(await readAll(c, 'sarama', 0)).toHaveLength(5); // CRCs verified by readAll
      // By time: the first record at or after t + 25 (with maxTimestamp -1 kept, nothing was found).
      expect(await listOffset(c, 'sarama', t + 25)).toMatchObject({ offset: 1, timestamp: t + 50 });
      // MAX_TIMESTAMP: the record holding t + 50 is offset 1, not its batch's last offset (KAFKA-16310).
      expect(await listOffset(c, 'sarama', -3)).toMatchObject({ offset: 1, timestamp: t + 50 });
    } finally {
      c.close();
      await broker.stop();
    }
  });

  it('recordErrors list the keyless records on a compacted topic, and timestamps out of bounds (INVALID_TIMESTAMP)', async () => {
    const broker = await startBroker();
    const c = await WireClient.connect(broker.port);
    try {
      await createTopic(c, 'keys', 1, [{ name: 'cleanup.policy', value: 'compact' }]);
      const keyless = await producePartition(c, 'keys', buildBatch([{ key: 'a', value: '1' }, { value: '2' }, { key: 'c', value: '3' }, { key: null, value: '4' }]));
      expect(keyless.errorCode).toBe(87);
      expect(keyless.recordErrors.map((e) => e.batchIndex)).toEqual([1, 3]);
      expect(keyless.recordErrors[0]!.batchIndexErrorMessage).toMatch(/without a key/);
      expect(await produce(c, 'keys', 0, buildBatch([{ key: 'a', value: '1' }]))).toBe(0);

      await createTopic(c, 'times', 1, [{ name: 'message.timestamp.before.max.ms', value: '3600000' }, { name: 'message.timestamp.after.max.ms', value: '3600000' }]);
      const now = Date.now();
      const late = await producePartition(c, 'times', buildBatch([{ value: 'ok', timestamp: now }, { value: 'old', timestamp: now - 7_200_000 }, { value: 'future', timestamp: now + 7_200_000 }]));
      expect(late.errorCode).toBe(32);
      expect(late.recordErrors.map((e) => e.batchIndex)).toEqual([1, 2]);
      expect((await listOffset(c, 'times', -1)).offset).toBe(0);
    } finally {
      c.close();
      await broker.stop();
    }
  });

  it('confluent-kafka-python: keyless records on a compacted topic fail delivery, keyed ones land; LogAppendTime is stamped', async () => {
    const broker = await startBroker();
    const script = `
import json, sys, time
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
bootstrap = sys.argv[1]
a = AdminClient({'bootstrap.servers': bootstrap})
fs = a.create_topics([NewTopic('compacted', 1, 1, config={'cleanup.policy': 'compact'}),
                      NewTopic('appendtime', 1, 1, config={'message.timestamp.type': 'LogAppendTime'})])
for f in fs.values(): f.result()
errors = []
def report(err, msg):
    errors.append(None if err is None else err.name())
p = Producer({'bootstrap.servers': bootstrap, 'linger.ms': 50, 'retries': 0})
p.produce('compacted', key=b'k', value=b'keyed', on_delivery=report)
p.flush(20)
p.produce('compacted', value=b'no key', on_delivery=report)
p.produce('compacted', key=b'k2', value=b'keyed too', on_delivery=report)
p.flush(20)
before = int(time.time() * 1000)
p.produce('appendtime', value=b'stamp me', timestamp=1000, on_delivery=report)
p.flush(20)
after = int(time.time() * 1000)
c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'lv', 'auto.offset.reset': 'earliest'})
c.assign([TopicPartition('appendtime', 0, 0)])
ts = None
deadline = time.time() + 20
while ts is None and time.time() < deadline:
    m = c.poll(0.5)
    if m is not None and not m.error(): ts = list(m.timestamp())
c.close()
print(json.dumps({'errors': errors, 'ts': ts, 'before': before, 'after': after}))
`;
    try {
      const r = await python<{ errors: (string | null)[]; ts: [number, number]; before: number; after: number }>(script, [broker.bootstrap]);
      expect(r.errors[0]).toBeNull();
      // The keyless record and the keyed one batched with it are refused together (Kafka rejects the batch).
      expect(r.errors.slice(1, 3).some((e) => e === 'INVALID_RECORD')).toBe(true);
      expect(r.errors[3]).toBeNull();
      expect(r.ts[0]).toBe(2); // TIMESTAMP_LOG_APPEND_TIME
      expect(r.ts[1]).toBeGreaterThanOrEqual(r.before - 1000);
      expect(r.ts[1]).toBeLessThanOrEqual(r.after + 1000);
    } finally {
      await broker.stop();
    }
  });
});

describe('authorized operations and message.format.version', () => {
  it('returns every supported operation when asked (none when not), as Kafka without an authorizer', async () => {
    const broker = await startBroker();
    const c = await WireClient.connect(broker.port);
    try {
      await createTopic(c, 'ops', 1);
      const asked = await c.request(ApiKey.Metadata, 10, { topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'ops' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: true });
      expect(asked.topics[0]!.topicAuthorizedOperations).toBe(3576);
      expect(asked.clusterAuthorizedOperations).toBe(8096);
      const plain = await c.request(ApiKey.Metadata, 10, { topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'ops' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
      expect(plain.topics[0]!.topicAuthorizedOperations).toBe(-2147483648);
      const cluster = await c.request(ApiKey.DescribeCluster, 0, { includeClusterAuthorizedOperations: true });
      expect(cluster.clusterAuthorizedOperations).toBe(8096);
      const groups = await c.request(ApiKey.DescribeGroups, 3, { groups: ['nobody'], includeAuthorizedOperations: true });
      expect(groups.groups[0]!.authorizedOperations).toBe(328);
    } finally {
      c.close();
      await broker.stop();
    }
  });

  it('accepts message.format.version on a topic and log.message.format.version on the broker, with a deprecation warning', async () => {
    const dir = tmpDir('sluice-mfv-');
    const props = path.join(dir, 'server.properties');
    fs.writeFileSync(props, 'log.message.format.version=2.8\n');
    const broker = await startBroker({ args: ['--config', props] });
    const c = await WireClient.connect(broker.port);
    try {
      await createTopic(c, 'old-format', 1, [{ name: 'message.format.version', value: '0.10.2' }]);
      const d = await c.request(ApiKey.DescribeConfigs, 1, { resources: [{ resourceType: 2, resourceName: 'old-format', configurationKeys: ['message.format.version'] }], includeSynonyms: false });
      expect(d.results[0]!.configs[0]).toMatchObject({ name: 'message.format.version', value: '0.10.2' });
      const bad = await c.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'bad-format', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'message.format.version', value: 'new' }] }], timeoutMs: 5000, validateOnly: false });
      expect(bad.topics[0]!.errorCode).toBe(40); // INVALID_CONFIG
      expect(bad.topics[0]!.errorMessage).toMatch(/Kafka version/);
      expect(await produce(c, 'old-format', 0, buildBatch([{ value: 'v2 anyway' }]))).toBe(0);
      expect(broker.output()).toMatch(/message.format.version is deprecated/);
    } finally {
      c.close();
      await broker.stop();
    }
  });
});
