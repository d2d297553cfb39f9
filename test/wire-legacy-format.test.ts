/**
 * Message formats 0/1 over the wire: kafka-python pinned to api_version (0, 10, 1) (Produce
 * v2 / Fetch v3, magic 1) and (0, 9) (Produce v1 / Fetch v1, magic 0) against a broker
 * process, with and without gzip, in a consumer group with committed offsets; round trips
 * with kcat (librdkafka, RecordBatch v2) both ways; bad message sets over a raw socket.
 * Also Fetch sizing as KIP-74 has it, over a raw socket, at v11 and v3.
 */
import { crc32 } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, decodeResponse, encodeRequest } from '../src/protocol/apis.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { buildBatch } from '../src/record/index.js';
import { startBroker } from './helpers/broker.js';
import { PYTHON, python, requireTool, run } from './helpers/clients.js';
import { WireClient } from './helpers/wire-client.js';

beforeAll(async () => {
  requireTool('kcat', 'apt-get install kcat');
  await run(PYTHON, ['-c', 'import kafka']).catch(() => {
    throw new Error('python3-kafka is not installed: apt-get install python3-kafka');
  });
});

/**
 * Produces 60 records (some keys and values null) with an old api_version, consumes them in
 * group g-<topic>, commits, then produces 5 more and has a second member of the group
 * resume from the committed offset.
 */
const OLD_CLIENT = `
import json, sys
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
bootstrap, topic, ver, comp = sys.argv[1], sys.argv[2], tuple(int(x) for x in sys.argv[3].split('.')), sys.argv[4]
comp = None if comp == 'none' else comp
ts = ver >= (0, 10)
def produce(start, n):
    p = KafkaProducer(bootstrap_servers=bootstrap, api_version=ver, compression_type=comp, linger_ms=20)
    futures = []
    for i in range(start, start + n):
        key = None if i % 5 == 0 else f'k{i}'.encode()
        value = None if i % 7 == 3 and i % 5 != 0 else f'v{i}'.encode() * (1 + i % 4)
        futures.append(p.send(topic, key=key, value=value, partition=0, **({'timestamp_ms': 1700000000000 + i} if ts else {})))
    p.flush()
    offsets = [f.get(10).offset for f in futures]
    p.close()
    return offsets
def consume(expect):
    c = KafkaConsumer(bootstrap_servers=bootstrap, api_version=ver, group_id='g-' + topic, auto_offset_reset='earliest', enable_auto_commit=False, consumer_timeout_ms=6000)
    c.subscribe([topic])
    got = []
    for m in c:
        got.append({'o': m.offset, 'k': m.key and m.key.decode(), 'v': m.value and m.value.decode(), 't': m.timestamp})
        if len(got) == expect: break
    c.commit()
    committed = c.committed(TopicPartition(topic, 0))
    c.close()
    return got, committed
sent = produce(0, 60)
first, committed = consume(60)
sent2 = produce(60, 5)
second, committed2 = consume(5)
print(json.dumps({'sent': sent + sent2, 'first': first, 'committed': committed, 'second': second, 'committed2': committed2}))
`;

interface Got {
  o: number;
  k: string | null;
  v: string | null;
  t: number | null;
}

function expected(i: number, timestamps: boolean): Got {
  return { o: i, k: i % 5 === 0 ? null : `k${i}`, v: i % 7 === 3 && i % 5 !== 0 ? null : `v${i}`.repeat(1 + (i % 4)), t: timestamps ? 1_700_000_000_000 + i : null };
}

describe('kafka-python with old api_versions (message formats 0 and 1)', () => {
  for (const [ver, timestamps] of [['0.10.1', true], ['0.9', false]] as const) {
    for (const comp of ['none', 'gzip']) {
      it(`api_version ${ver}, ${comp}: produce, consume in a group, commit, resume from the committed offset`, async () => {
        const broker = await startBroker();
        const topic = `old-${ver.replace(/\./g, '')}-${comp}`;
        const r = await python<{ sent: number[]; first: Got[]; committed: number; second: Got[]; committed2: number }>(OLD_CLIENT, [broker.bootstrap, topic, ver, comp]);
        expect(r.sent).toEqual([...Array(65).keys()]);
        // kafka-python 2.0 reports a magic 1 timestamp; magic 0 messages have none (None).
        expect(r.first).toEqual([...Array(60).keys()].map((i) => expected(i, timestamps)));
        expect(r.committed).toBe(60);
        expect(r.second).toEqual([60, 61, 62, 63, 64].map((i) => expected(i, timestamps)));
        expect(r.committed2).toBe(65);
        await broker.stop();
      });
    }
  }
});

const OLD_PRODUCE = `
import sys
from kafka import KafkaProducer
bootstrap, topic, ver = sys.argv[1], sys.argv[2], tuple(int(x) for x in sys.argv[3].split('.'))
p = KafkaProducer(bootstrap_servers=bootstrap, api_version=ver, compression_type='gzip', linger_ms=20)
for i in range(20): p.send(topic, key=f'k{i}'.encode(), value=f'old{i}'.encode(), partition=0, **({'timestamp_ms': 1700000001000 + i} if ver >= (0, 10) else {}))
p.flush()
print('[]')
`;

const OLD_CONSUME = `
import json, sys
from kafka import KafkaConsumer, TopicPartition
bootstrap, topic, ver = sys.argv[1], sys.argv[2], tuple(int(x) for x in sys.argv[3].split('.'))
c = KafkaConsumer(bootstrap_servers=bootstrap, api_version=ver, consumer_timeout_ms=5000)
tp = TopicPartition(topic, 0)
c.assign([tp])
c.seek_to_beginning(tp)
print(json.dumps([[m.offset, m.key.decode(), m.value.decode(), m.timestamp] for m in c]))
`;

describe('round trips between RecordBatch v2 and the old formats', () => {
  it('kcat (v2, lz4) -> kafka-python 0.10.1 and 0.9; kafka-python 0.10.1 and 0.9 (gzip) -> kcat', async () => {
    const broker = await startBroker();
    const lines = Array.from({ length: 30 }, (_, i) => `key${i}:new${i}`);
    await run('kcat', ['-b', broker.bootstrap, '-t', 'mixed', '-p', '0', '-P', '-K:', '-z', 'lz4', '-X', 'linger.ms=5'], lines.join('\n') + '\n');
    const v1 = await python<[number, string, string, number][]>(OLD_CONSUME, [broker.bootstrap, 'mixed', '0.10.1']);
    expect(v1.map(([o, k, v]) => [o, k, v])).toEqual(lines.map((l, i) => [i, `key${i}`, `new${i}`]));
    for (const [, , , t] of v1) expect(t).toBeGreaterThan(1_600_000_000_000);
    const v0 = await python<[number, string, string, number | null][]>(OLD_CONSUME, [broker.bootstrap, 'mixed', '0.9']);
    expect(v0).toEqual(lines.map((l, i) => [i, `key${i}`, `new${i}`, null]));

    await python(OLD_PRODUCE, [broker.bootstrap, 'mixed', '0.10.1']);
    await python(OLD_PRODUCE, [broker.bootstrap, 'mixed', '0.9']);
    const out = await run('kcat', ['-b', broker.bootstrap, '-t', 'mixed', '-p', '0', '-C', '-o', '30', '-e', '-q', '-f', '%o|%k|%s|%T\n']);
    const rows = out.trim().split('\n').map((l) => l.split('|'));
    expect(rows.map((r) => [Number(r[0]), r[1], r[2]])).toEqual([...Array(40).keys()].map((i) => [30 + i, `k${i % 20}`, `old${i % 20}`]));
    // Magic 1 timestamps are kept; magic 0 messages are stored with -1 as Kafka stores them.
    expect(rows.slice(0, 20).map((r) => Number(r[3]))).toEqual([...Array(20).keys()].map((i) => 1_700_000_001_000 + i));
    expect(rows.slice(20).map((r) => Number(r[3]))).toEqual(Array(20).fill(-1));
    await broker.stop();
  });
});

describe('librdkafka (kcat) in its pre-ApiVersions modes', () => {
  it('broker.version.fallback 0.9.0 (magic 0, lz4 with the old header checksum, snappy, gzip) and 0.10.0 (magic 1)', async () => {
    const broker = await startBroker();
    const cli = path.resolve(import.meta.dirname, '..', 'dist', 'src', 'cli', 'index.js');
    for (const fallback of ['0.9.0', '0.10.0']) {
      const legacy = ['-X', 'api.version.request=false', '-X', `broker.version.fallback=${fallback}`];
      for (const codec of ['lz4', 'snappy', 'gzip']) {
        const topic = `kc-${codec}-${fallback.replace(/\./g, '')}`;
        // One message set of three: a linger long enough that a busy machine cannot split the three lines.
        await run('kcat', ['-b', broker.bootstrap, '-t', topic, '-p', '0', '-P', '-K:', '-z', codec, '-X', 'queue.buffering.max.ms=500', ...legacy], 'a:1\nb:\nc:3\n');
        const out = await run('kcat', ['-b', broker.bootstrap, '-t', topic, '-p', '0', '-C', '-o', 'beginning', '-e', '-q', '-f', '%o|%k|%s\n', ...legacy]);
        expect(out).toBe('0|a|1\n1|b|\n2|c|3\n');
        if (fallback === '0.9.0') {
          // The wrapper's codec is the stored batch's: librdkafka compressed, Sluice unpacked it.
          const dump = await run(process.execPath, [cli, 'dump-log', '--files', path.join(broker.dir, `${topic}-0`, '00000000000000000000.log')]);
          expect(dump).toContain(`compresscodec: ${codec}`);
          expect(dump).toContain('count: 3');
        }
      }
    }
    await broker.stop();
  });
});

/** A magic 1 message set written by hand: offset | size | crc | magic | attributes | timestamp | key | value. */
function messageSet(values: string[]): Buffer {
  return Buffer.concat(
    values.map((v, i) => {
      const value = Buffer.from(v);
      const body = Buffer.alloc(2 + 8 + 4 + 4 + value.length);
      body[0] = 1;
      body.writeBigInt64BE(1_700_000_000_000n + BigInt(i), 2);
      body.writeInt32BE(-1, 10);
      body.writeInt32BE(value.length, 14);
      value.copy(body, 18);
      const head = Buffer.alloc(16);
      head.writeBigInt64BE(BigInt(i), 0);
      head.writeInt32BE(body.length + 4, 8);
      head.writeUInt32BE(crc32(body), 12);
      return Buffer.concat([head, body]);
    }),
  );
}

describe('bad message sets over a raw socket', () => {
  it('a bad CRC or a truncated set gets CORRUPT_MESSAGE, nothing is stored, the broker serves on', async () => {
    const broker = await startBroker();
    const c = await WireClient.connect(broker.port);
    const produce = (records: Buffer) =>
      c.request(ApiKey.Produce, 2, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'raw', partitionData: [{ index: 0, records }] }] });
    const good = messageSet(['a', 'b', 'c']);
    const badCrc = Buffer.from(good);
    badCrc[badCrc.length - 1]! ^= 0x20;
    for (const bad of [badCrc, good.subarray(0, good.length - 2), good.subarray(0, 10), Buffer.from('not a message set at all')]) {
      const r = await produce(bad);
      expect(r.responses[0]!.partitionResponses[0]).toMatchObject({ errorCode: ErrorCode.CORRUPT_MESSAGE, baseOffset: -1 });
    }
    const ok = await produce(good);
    expect(ok.responses[0]!.partitionResponses[0]).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0 });
    const f = await c.request(ApiKey.Fetch, 0, { replicaId: -1, maxWaitMs: 0, minBytes: 0, topics: [{ topic: 'raw', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }] });
    const p = f.responses[0]!.partitions[0]!;
    expect(p).toMatchObject({ errorCode: ErrorCode.NONE, highWatermark: 3 });
    // Magic 0 now: 3 messages of 12 + 14 + 1 bytes.
    expect(p.records!.length).toBe(3 * 27);
    expect(p.records![16]).toBe(0);
    c.close();
    await broker.stop();
  });
});

describe('the other APIs old clients use', () => {
  it('OffsetCommit v0/v1, OffsetFetch v0/v1 and ListOffsets v0 answer as Kafka 3.x does', async () => {
    const broker = await startBroker();
    const c = await WireClient.connect(broker.port);
    const r = await c.request(ApiKey.Produce, 1, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'olds', partitionData: [{ index: 0, records: messageSet(['a', 'b', 'c', 'd']) }] }] });
    expect(r.responses[0]!.partitionResponses[0]).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0 });
    const list = await c.request(ApiKey.ListOffsets, 0, { replicaId: -1, topics: [{ name: 'olds', partitions: [{ partitionIndex: 0, timestamp: -1, maxNumOffsets: 1 }] }] });
    expect(list.topics[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, oldStyleOffsets: [4] });
    const earliest = await c.request(ApiKey.ListOffsets, 0, { replicaId: -1, topics: [{ name: 'olds', partitions: [{ partitionIndex: 0, timestamp: -2, maxNumOffsets: 1 }] }] });
    expect(earliest.topics[0]!.partitions[0]!.oldStyleOffsets).toEqual([0]);
    // v0 commits outside any generation (ZooKeeper-era simple consumers), v1 with generation -1 likewise.
    for (const [version, offset] of [[0, 2], [1, 3]] as const) {
      const commit = await c.request(ApiKey.OffsetCommit, version, {
        groupId: `simple-${version}`, generationIdOrMemberEpoch: -1, memberId: '',
        topics: [{ name: 'olds', partitions: [{ partitionIndex: 0, committedOffset: offset, commitTimestamp: -1, committedMetadata: 'm' }] }],
      });
      expect(commit.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
      for (const fetchVersion of [0, 1]) {
        const fetched = await c.request(ApiKey.OffsetFetch, fetchVersion, { groupId: `simple-${version}`, topics: [{ name: 'olds', partitionIndexes: [0] }] });
        expect(fetched.topics![0]!.partitions[0]).toMatchObject({ committedOffset: offset, metadata: 'm', errorCode: ErrorCode.NONE });
      }
    }
    c.close();
    await broker.stop();
  });
});

describe('Fetch sizing (KIP-74) over a raw socket', () => {
  it('a response passes maxBytes or partitionMaxBytes only by the first batch of the first partition with data', async () => {
    const broker = await startBroker({ args: ['--num-partitions', '24'] });
    const c = await WireClient.connect(broker.port);
    const PARTS = 24;
    // 3 batches of ~40 KB per partition, incompressible values.
    for (let b = 0; b < 3; b++) {
      const partitionData = Array.from({ length: PARTS }, (_, index) => ({ index, records: buildBatch(Array.from({ length: 4 }, () => ({ value: randomBytes(10_000) }))) }));
      const r = await c.request(ApiKey.Produce, 7, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'wide', partitionData }] });
      for (const p of r.responses[0]!.partitionResponses) expect(p.errorCode).toBe(ErrorCode.NONE);
    }
    const batch = buildBatch(Array.from({ length: 4 }, () => ({ value: Buffer.alloc(10_000) }))).length;
    let correlationId = 100;
    const fetch = async (version: number, maxBytes: number, partitionMaxBytes: number) => {
      const body = {
        replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
        topics: [{ topic: 'wide', partitions: Array.from({ length: PARTS }, (_, partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes })) }],
      };
      const frame = encodeRequest(ApiKey.Fetch, version, ++correlationId, 'kip74', body, { sizePrefix: true });
      c.write(Buffer.concat([...frame.chunks]));
      const response = await c.nextFrame();
      const parts = decodeResponse(ApiKey.Fetch, version, response).body.responses[0]!.partitions;
      for (const p of parts) expect(p.errorCode).toBe(ErrorCode.NONE);
      return { frame: response.length, sizes: parts.map((p) => p.records?.length ?? 0) };
    };
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    for (const version of [11, 3]) {
      // Message formats 0/1 are bigger per record than v2 batches, and are cut per message.
      const unit = version >= 4 ? batch : 40_000;
      // Many partitions, a budget of about 8.3 partitions' data: never past it.
      const wide = await fetch(version, 1_000_000, 1_000_000);
      expect(sum(wide.sizes)).toBeLessThanOrEqual(1_000_000);
      expect(sum(wide.sizes)).toBeGreaterThan(1_000_000 - unit);
      expect(wide.frame).toBeLessThanOrEqual(1_000_000 + 2_000);
      // Two whole batches fit, a third does not: the remaining 20 KB take nothing from the others.
      const two = await fetch(version, 2 * batch + 20_000, 1_000_000);
      expect(sum(two.sizes)).toBeLessThanOrEqual(2 * batch + 20_000);
      if (version >= 4) expect(two.sizes).toEqual([2 * batch, ...Array(PARTS - 1).fill(0)]);
      // A first batch larger than maxBytes goes out alone.
      const small = await fetch(version, 1_000, 1_000_000);
      if (version >= 4) expect(small.sizes).toEqual([batch, ...Array(PARTS - 1).fill(0)]);
      else expect(small.sizes.filter((s) => s > 0)).toHaveLength(1);
      // Per partition likewise: the first partition's first batch, and then nothing too large.
      const perPartition = await fetch(version, 10_000_000, 1_000);
      if (version >= 4) expect(perPartition.sizes).toEqual([batch, ...Array(PARTS - 1).fill(0)]);
      else expect(perPartition.sizes.filter((s) => s > 0)).toHaveLength(1);
    }
    c.close();
    await broker.stop();
  });
});
