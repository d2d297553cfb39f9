import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decodeAssignment,
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeOffsetsTopicKey,
  offsetsLogDir,
  offsetsPartitionFor,
  type OffsetsTopicKey,
} from '../src/group/index.js';
import { startBroker } from './helpers/broker.js';
import { sluice } from './helpers/cli.js';
import { PYTHON, python, requireTool, run } from './helpers/clients.js';

beforeAll(async () => {
  requireTool('kcat', 'apt-get install kcat');
  await run(PYTHON, ['-c', 'import confluent_kafka, kafka']).catch(() => {
    throw new Error('python3-confluent-kafka and python3-kafka are not installed: apt-get install python3-confluent-kafka python3-kafka');
  });
});

/** Runs a command to its end, whatever its exit code; stdout as bytes. */
function runRaw(cmd: string, args: string[], input = ''): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
    child.stdin.end(input);
  });
}

interface TopicRecord {
  partition: number;
  offset: number;
  key: OffsetsTopicKey;
  value: Buffer | null;
}

/**
 * Reads all of __consumer_offsets with kcat. Each record is printed as a text line
 * "partition offset keyLength valueLength" and then the raw key and value bytes, so binary
 * keys and values come through unchanged; they are decoded here with the codec.
 */
async function readOffsetsTopic(bootstrap: string): Promise<TopicRecord[]> {
  const r = await runRaw('kcat', ['-b', bootstrap, '-C', '-t', '__consumer_offsets', '-o', 'beginning', '-e', '-q', '-f', '%p %o %K %S\n%k%s']);
  expect(r.code, r.stderr).toBe(0);
  const out: TopicRecord[] = [];
  let pos = 0;
  while (pos < r.stdout.length) {
    const nl = r.stdout.indexOf(10, pos);
    const [p, o, k, v] = r.stdout.toString('latin1', pos, nl).split(' ').map(Number) as [number, number, number, number];
    pos = nl + 1;
    const key = r.stdout.subarray(pos, pos + k);
    pos += k;
    const value = v < 0 ? null : r.stdout.subarray(pos, pos + v);
    pos += Math.max(v, 0);
    out.push({ partition: p, offset: o, key: decodeOffsetsTopicKey(key), value });
  }
  return out;
}

/** Produces 30 records to a 3-partition topic and consumes them all in `group` (confluent-kafka), committing synchronously. */
const CONSUME = `
import json, sys, time
from confluent_kafka import Producer, Consumer
from confluent_kafka.admin import AdminClient, NewTopic
bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
a = AdminClient({'bootstrap.servers': bootstrap})
for f in a.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)]).values(): f.result()
p = Producer({'bootstrap.servers': bootstrap})
for i in range(30): p.produce(topic, key=str(i), value=f'v{i}', partition=i % 3)
assert p.flush(20) == 0
c = Consumer({'bootstrap.servers': bootstrap, 'group.id': group, 'auto.offset.reset': 'earliest', 'enable.auto.commit': False})
c.subscribe([topic])
n, deadline = 0, time.time() + 40
while n < 30 and time.time() < deadline:
    m = c.poll(0.5)
    if m is None or m.error(): continue
    n += 1
c.commit(asynchronous=False)
committed = {tp.partition: tp.offset for tp in c.committed([__import__('confluent_kafka').TopicPartition(topic, q) for q in range(3)], 10)}
c.close()
print(json.dumps({'consumed': n, 'committed': committed}))
`;

/** Kafka's admin view: is the topic internal, how many partitions; and a group's committed offsets. */
const ADMIN = `
import json, sys
from kafka import KafkaAdminClient
bootstrap, group = sys.argv[1], sys.argv[2]
a = KafkaAdminClient(bootstrap_servers=bootstrap)
[t] = a.describe_topics(['__consumer_offsets'])
offsets = a.list_consumer_group_offsets(group)
a.close()
print(json.dumps({'internal': t['is_internal'], 'error': t['error_code'], 'partitions': len(t['partitions']),
                  'offsets': {f'{tp.topic}-{tp.partition}': o.offset for tp, o in offsets.items()}}))
`;

describe('__consumer_offsets over the wire, in Kafka record format', () => {
  it('holds the commits of a real group, is internal in Metadata, refuses produce, decodes in dump-log, and survives a restart', async () => {
    const broker = await startBroker({ args: ['--offsets-topic-num-partitions', '12'] });
    const group = 'lag-watch';
    const c = await python<{ consumed: number; committed: Record<string, number> }>(CONSUME, [broker.bootstrap, 'orders', group]);
    expect(c.consumed).toBe(30);
    expect(c.committed).toEqual({ 0: 10, 1: 10, 2: 10 });
    // A second group commits through kcat's balanced consumer (librdkafka commits on close).
    await run('kcat', ['-b', broker.bootstrap, '-G', 'kcat-group', '-X', 'auto.offset.reset=earliest', '-e', '-q', 'orders']);

    const admin = await python<{ internal: boolean; error: number; partitions: number; offsets: Record<string, number> }>(ADMIN, [broker.bootstrap, group]);
    expect(admin).toEqual({ internal: true, error: 0, partitions: 12, offsets: { 'orders-0': 10, 'orders-1': 10, 'orders-2': 10 } });
    expect(await run('kcat', ['-b', broker.bootstrap, '-L'])).toMatch(/topic "__consumer_offsets" with 12 partitions:/);

    // kcat reads the topic; every record decodes with Kafka's schemas, in its group's partition.
    const records = await readOffsetsTopic(broker.bootstrap);
    const mine = records.filter((r) => r.key.groupId === group);
    expect(mine.length).toBeGreaterThanOrEqual(3);
    for (const r of records) expect(r.partition).toBe(offsetsPartitionFor(r.key.groupId, 12));
    const latest = new Map<string, number>();
    for (const r of mine.filter((x) => x.key.type === 'offset')) {
      expect(r.key).toMatchObject({ type: 'offset', version: 1 });
      const v = decodeOffsetCommitValue(r.value!);
      expect(v.version).toBe(3);
      if (r.key.type === 'offset') latest.set(`${r.key.topic}-${r.key.partition}`, v.offset);
    }
    expect(Object.fromEntries(latest)).toEqual({ 'orders-0': 10, 'orders-1': 10, 'orders-2': 10 });
    // GroupMetadata records: the generation the consumer got, with its member and assignment,
    // then the Empty group it left behind when it closed.
    const groupValues = mine.filter((x) => x.key.type === 'group').map((x) => decodeGroupMetadataValue(x.value!));
    expect(groupValues.length).toBeGreaterThanOrEqual(2);
    const assigned = groupValues.find((g) => g.members.length === 1)!;
    expect(assigned).toMatchObject({ version: 3, protocolType: 'consumer', generation: 1 });
    expect(decodeAssignment(assigned.members[0]!.assignment).assignedPartitions).toEqual([{ topic: 'orders', partitions: [0, 1, 2] }]);
    expect(groupValues.at(-1)).toMatchObject({ protocolType: 'consumer', generation: 2, protocol: null, leader: null, members: [] });
    expect(records.some((r) => r.key.groupId === 'kcat-group')).toBe(true);

    // Clients may not write to it: Kafka answers INVALID_TOPIC_EXCEPTION ("Broker: Invalid topic" in librdkafka).
    const produced = await runRaw('kcat', ['-b', broker.bootstrap, '-t', '__consumer_offsets', '-P', '-p', '0'], 'intruder\n');
    expect(produced.stderr).toMatch(/Invalid topic/);
    expect((await readOffsetsTopic(broker.bootstrap)).length).toBe(records.length);

    expect(await broker.stop()).toBe(0);
    const log = path.join(broker.dir, offsetsLogDir(offsetsPartitionFor(group, 12)), '00000000000000000000.log');
    const dump = await sluice(['dump-log', '--files', log, '--offsets-decoder']);
    expect(dump.code, dump.stderr).toBe(0);
    const lines = dump.stdout.split('\n').filter((l) => l.startsWith('| ') && l.includes(`"group":"${group}"`));
    expect(lines.length).toBe(mine.length);
    expect(lines.filter((l) => l.includes('key: {"type":"2"')).at(-1)).toMatch(
      new RegExp(`key: \\{"type":"2","data":\\{"group":"${group}"\\}\\} payload: \\{"version":"3","data":\\{"protocolType":"consumer","generation":2,"protocol":null,"leader":null,"currentStateTimestamp":\\d+,"members":\\[\\]\\}\\}$`),
    );
    expect(lines.filter((l) => l.includes('key: {"type":"1"')).at(-1)).toMatch(
      new RegExp(`^\\| offset: \\d+ CreateTime: \\d+ keySize: \\d+ valueSize: \\d+ sequence: -1 headerKeys: \\[\\] key: \\{"type":"1","data":\\{"group":"${group}","topic":"orders","partition":\\d\\}\\} payload: \\{"version":"3","data":\\{"offset":10,"leaderEpoch":-?\\d+,"metadata":"[^"]*","commitTimestamp":\\d+\\}\\}$`),
    );

    // Restart: the committed offsets and the topic are as they were.
    const again = await startBroker({ dir: broker.dir });
    const after = await python<{ internal: boolean; partitions: number; offsets: Record<string, number> }>(ADMIN, [again.bootstrap, group]);
    expect(after).toMatchObject({ internal: true, partitions: 12, offsets: { 'orders-0': 10, 'orders-1': 10, 'orders-2': 10 } });
    const reread = await readOffsetsTopic(again.bootstrap);
    expect(reread.map((r) => [r.partition, r.offset])).toEqual(records.map((r) => [r.partition, r.offset]));
    expect(fs.readdirSync(again.dir).filter((n) => n.startsWith('__consumer_offsets-')).length).toBe(12);
  });
});
