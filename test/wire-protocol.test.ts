import { describe, expect, it } from 'vitest';
import { ErrorCode, buildBatch, batchesIn, readRecords } from '../src/index.js';
import { ApiKey } from '../src/protocol/apis.js';
import { startBroker } from './helpers/broker.js';
import { WireClient } from './helpers/wire-client.js';

async function connect() {
  const broker = await startBroker();
  const c = await WireClient.connect(broker.port);
  return { broker, c };
}

async function createTopic(c: WireClient, name: string, partitions = 1) {
  const r = await c.request(ApiKey.CreateTopics, 5, { topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
  expect(r.topics[0]!.errorCode).toBe(0);
}

function produceBody(topic: string, records: Buffer, acks = -1) {
  return { transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] };
}

async function listOffset(c: WireClient, topic: string, timestamp: number) {
  const r = await c.request(ApiKey.ListOffsets, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }] });
  return r.topics[0]!.partitions[0]!;
}

describe('Kafka protocol details, request by request', () => {
  it('advertises its versions and answers an unknown ApiVersions version with v0', async () => {
    const { broker, c } = await connect();
    const v3 = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    const produce = v3.apiKeys.find((a) => a.apiKey === 0)!;
    // Listed from v0 like Kafka (librdkafka enables lz4/gzip/snappy only then)...
    expect(produce).toMatchObject({ minVersion: 0 });
    expect(v3.apiKeys.find((a) => a.apiKey === 1)!.minVersion).toBe(0);
    for (const key of [0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23, 32, 33, 37, 42, 44, 47, 60]) {
      expect(v3.apiKeys.some((a) => a.apiKey === key), `api ${key}`).toBe(true);
    }
    // A version from the future: the broker answers in v0 with UNSUPPORTED_VERSION and the list.
    const raw = Buffer.alloc(4 + 2 + 2 + 4 + 2);
    raw.writeInt32BE(10, 0);
    raw.writeInt16BE(18, 4);
    raw.writeInt16BE(99, 6);
    raw.writeInt32BE(77, 8);
    raw.writeInt16BE(-1, 12);
    c.write(raw);
    const frame = await c.nextFrame();
    expect(frame.readInt32BE(0)).toBe(77);
    expect(frame.readInt16BE(4)).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(frame.readInt32BE(6)).toBeGreaterThan(10); // the api list follows
    c.close();
    await broker.stop();
  });

  it('refuses a RecordBatch v2 where Produce v0-2 carry message sets; Fetch v3 answers in message format 1', async () => {
    const { c } = await connect();
    await createTopic(c, 'old');
    const p = await c.request(ApiKey.Produce, 2, produceBody('old', buildBatch([{ value: 'x' }])));
    expect(p.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect((await listOffset(c, 'old', -1)).offset).toBe(0);
    await c.request(ApiKey.Produce, 3, produceBody('old', buildBatch([{ value: 'x' }])));
    const f = await c.request(ApiKey.Fetch, 3, { replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, topics: [{ topic: 'old', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }] });
    const part = f.responses[0]!.partitions[0]!;
    expect(part.errorCode).toBe(ErrorCode.NONE);
    expect(part.records![16]).toBe(1); // the magic byte of the one message
    c.close();
  });

  it('acknowledges a duplicate idempotent batch without writing it twice and refuses gaps and old epochs', async () => {
    const { c } = await connect();
    await createTopic(c, 'idem');
    const init = await c.request(ApiKey.InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60000 });
    expect(init.errorCode).toBe(0);
    const pid = init.producerId;
    const batch = (seq: number, epoch = 0, n = 3) =>
      buildBatch(Array.from({ length: n }, (_, i) => ({ value: `s${seq + i}` })), { producerId: pid, producerEpoch: epoch, baseSequence: seq });
    const ok = await c.request(ApiKey.Produce, 7, produceBody('idem', batch(0)));
    expect(ok.responses[0]!.partitionResponses[0]).toMatchObject({ errorCode: 0, baseOffset: 0 });
    const dup = await c.request(ApiKey.Produce, 7, produceBody('idem', batch(0)));
    expect(dup.responses[0]!.partitionResponses[0]).toMatchObject({ errorCode: 0, baseOffset: 0 });
    expect((await listOffset(c, 'idem', -1)).offset).toBe(3); // written once
    const next = await c.request(ApiKey.Produce, 7, produceBody('idem', batch(3)));
    expect(next.responses[0]!.partitionResponses[0]).toMatchObject({ errorCode: 0, baseOffset: 3 });
    const gap = await c.request(ApiKey.Produce, 7, produceBody('idem', batch(10)));
    expect(gap.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    const bumped = await c.request(ApiKey.Produce, 7, produceBody('idem', batch(0, 1)));
    expect(bumped.responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
    const fenced = await c.request(ApiKey.Produce, 7, produceBody('idem', batch(6, 0)));
    expect(fenced.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect((await listOffset(c, 'idem', -1)).offset).toBe(9);
    c.close();
  });

  it('remembers idempotent sequences across a broker restart', async () => {
    const { broker, c } = await connect();
    await createTopic(c, 'idem');
    const { producerId } = await c.request(ApiKey.InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60000 });
    const b = (seq: number) => buildBatch([{ value: `s${seq}` }], { producerId, producerEpoch: 0, baseSequence: seq });
    await c.request(ApiKey.Produce, 7, produceBody('idem', b(0)));
    await c.request(ApiKey.Produce, 7, produceBody('idem', b(1)));
    c.close();
    await broker.kill();
    const again = await startBroker({ dir: broker.dir });
    const c2 = await WireClient.connect(again.port);
    const dup = await c2.request(ApiKey.Produce, 7, produceBody('idem', b(1)));
    expect(dup.responses[0]!.partitionResponses[0]).toMatchObject({ errorCode: 0, baseOffset: 1 });
    expect((await listOffset(c2, 'idem', -1)).offset).toBe(2);
    const init = await c2.request(ApiKey.InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60000 });
    expect(init.producerId).toBeGreaterThan(producerId); // ids are never reused
    c2.close();
  });

  it('writes acks=0 produces without answering, in order with the next request', async () => {
    const { c } = await connect();
    await createTopic(c, 't');
    const frame = (await import('../src/protocol/apis.js')).encodeRequest(ApiKey.Produce, 7, 999, 'x', produceBody('t', buildBatch([{ value: 'quiet' }]), 0), { sizePrefix: true });
    c.write(Buffer.concat([...frame.chunks]));
    const latest = await listOffset(c, 't', -1); // the next response is ListOffsets', not Produce's
    expect(latest.offset).toBe(1);
    c.close();
  });

  it('refuses a batch with a bad CRC and stores nothing', async () => {
    const { c } = await connect();
    await createTopic(c, 't');
    const bad = buildBatch([{ value: 'a' }, { value: 'b' }]);
    bad[bad.length - 1] ^= 0xff;
    const r = await c.request(ApiKey.Produce, 7, produceBody('t', bad));
    expect(r.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect((await listOffset(c, 't', -1)).offset).toBe(0);
    c.close();
  });

  it('fetches whole batches from the middle of one, long-polls until data arrives, reports the LSO', async () => {
    const { broker, c } = await connect();
    await createTopic(c, 't');
    await c.request(ApiKey.Produce, 7, produceBody('t', buildBatch(Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })))));
    const fetch = (offset: number, maxWaitMs = 0, isolationLevel = 1) =>
      c.request(ApiKey.Fetch, 11, {
        replicaId: -1,
        maxWaitMs,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: 't', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [],
        rackId: '',
      });
    const mid = (await fetch(4)).responses[0]!.partitions[0]!;
    expect(mid).toMatchObject({ errorCode: 0, highWatermark: 10, lastStableOffset: 10 });
    const records = [...batchesIn(mid.records!)].flatMap((b) => readRecords(b));
    expect(records.map((r) => r.offset)).toEqual([...Array(10).keys()]); // the whole batch from offset 0
    // Long poll at the end: a produce from another connection wakes it.
    const waiting = fetch(10, 10_000);
    const other = await WireClient.connect(broker.port);
    await other.request(ApiKey.Produce, 7, produceBody('t', buildBatch([{ value: 'late' }])));
    const woke = (await waiting).responses[0]!.partitions[0]!;
    expect([...batchesIn(woke.records!)].flatMap((b) => readRecords(b)).map((r) => r.value!.toString())).toEqual(['late']);
    const out = (await fetch(50)).responses[0]!.partitions[0]!;
    expect(out.errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    other.close();
    c.close();
  });

  it('lists offsets, deletes records, answers leader epochs, cluster and configs', async () => {
    const { c } = await connect();
    await createTopic(c, 't');
    await c.request(ApiKey.Produce, 7, produceBody('t', buildBatch(Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, timestamp: 5000 + i * 10 })))));
    expect((await listOffset(c, 't', -2)).offset).toBe(0);
    expect((await listOffset(c, 't', -1)).offset).toBe(10);
    expect(await listOffset(c, 't', 5035)).toMatchObject({ offset: 4, timestamp: 5040 });
    expect(await listOffset(c, 't', 9999)).toMatchObject({ offset: -1, timestamp: -1 });
    const del = await c.request(ApiKey.DeleteRecords, 1, { topics: [{ name: 't', partitions: [{ partitionIndex: 0, offset: 6 }] }], timeoutMs: 1000 });
    expect(del.topics[0]!.partitions[0]).toMatchObject({ errorCode: 0, lowWatermark: 6 });
    expect((await listOffset(c, 't', -2)).offset).toBe(6);
    const epoch = await c.request(ApiKey.OffsetForLeaderEpoch, 3, { replicaId: -1, topics: [{ topic: 't', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] });
    expect(epoch.topics[0]!.partitions[0]).toMatchObject({ errorCode: 0, leaderEpoch: 0, endOffset: 10 });
    const cluster = await c.request(ApiKey.DescribeCluster, 0, { includeClusterAuthorizedOperations: false });
    expect(cluster).toMatchObject({ errorCode: 0, controllerId: 0 });
    expect(cluster.brokers).toHaveLength(1);
    await c.request(ApiKey.IncrementalAlterConfigs, 0, { resources: [{ resourceType: 2, resourceName: 't', configs: [{ name: 'retention.ms', configOperation: 0, value: '1234' }] }], validateOnly: false });
    const described = await c.request(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: 2, resourceName: 't', configurationKeys: ['retention.ms', 'cleanup.policy'] }], includeSynonyms: false, includeDocumentation: true });
    const configs = described.results[0]!.configs;
    expect(configs.find((x) => x.name === 'retention.ms')).toMatchObject({ value: '1234', configSource: 1 });
    expect(configs.find((x) => x.name === 'cleanup.policy')).toMatchObject({ value: 'delete', configSource: 5 });
    const bad = await c.request(ApiKey.IncrementalAlterConfigs, 0, { resources: [{ resourceType: 2, resourceName: 't', configs: [{ name: 'retention.ms', configOperation: 0, value: 'never' }] }], validateOnly: false });
    expect(bad.responses[0]!.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect(bad.responses[0]!.errorMessage).toMatch(/retention\.ms/);
    c.close();
  });
});
