import { beforeAll, describe, expect, it } from 'vitest';
import { PYTHON, python, run } from './helpers/clients.js';
import { startBroker } from './helpers/broker.js';

beforeAll(async () => {
  await run(PYTHON, ['-c', 'import confluent_kafka, kafka']).catch(() => {
    throw new Error('python3-confluent-kafka and python3-kafka are not installed: apt-get install python3-confluent-kafka python3-kafka');
  });
});

const CONFLUENT = `
import json, sys, time
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
bootstrap, topic = sys.argv[1], sys.argv[2]
a = AdminClient({'bootstrap.servers': bootstrap})
for f in a.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)]).values(): f.result()
p = Producer({'bootstrap.servers': bootstrap, 'linger.ms': 5})
for i in range(200): p.produce(topic, key=f'k{i % 7}', value=f'v{i}', headers=[('seq', str(i).encode())], timestamp=1700000000000 + i)
assert p.flush(20) == 0
c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'py-confluent', 'auto.offset.reset': 'earliest'})
c.subscribe([topic])
got, deadline = [], time.time() + 30
while len(got) < 200 and time.time() < deadline:
    m = c.poll(0.5)
    if m is None or m.error(): continue
    got.append({'p': m.partition(), 'o': m.offset(), 'k': m.key().decode(), 'v': m.value().decode(), 't': m.timestamp()[1], 'seq': int(dict(m.headers())['seq'])})
times = c.offsets_for_times([TopicPartition(topic, 0, 1700000000100), TopicPartition(topic, 1, 1700000000100)], 10)
c.close()
print(json.dumps({'got': got, 'times': [[t.partition, t.offset] for t in times]}))
`;

const KAFKA_PYTHON = `
import json, sys
from kafka import KafkaProducer, KafkaConsumer, KafkaAdminClient, TopicPartition
from kafka.admin import NewTopic
bootstrap, topic = sys.argv[1], sys.argv[2]
a = KafkaAdminClient(bootstrap_servers=bootstrap)
a.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
p = KafkaProducer(bootstrap_servers=bootstrap)
for i in range(200): p.send(topic, key=f'k{i % 7}'.encode(), value=f'v{i}'.encode(), headers=[('seq', str(i).encode())], timestamp_ms=1700000000000 + i)
p.flush()
c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id='py-kafka', auto_offset_reset='earliest', consumer_timeout_ms=8000)
got = [{'p': m.partition, 'o': m.offset, 'k': m.key.decode(), 'v': m.value.decode(), 't': m.timestamp, 'seq': int(dict(m.headers)['seq'])} for m in c]
c.commit()
committed = [c.committed(TopicPartition(topic, p)) for p in (0, 1)]
times = c.offsets_for_times({TopicPartition(topic, 0): 1700000000100, TopicPartition(topic, 1): 1700000000100})
c.close()
groups = a.describe_consumer_groups(['py-kafka'])
print(json.dumps({'got': got, 'committed': committed, 'times': [[tp.partition, ot.offset if ot else None] for tp, ot in times.items()], 'listed': [g[0] for g in a.list_consumer_groups()], 'state': groups[0].state}))
`;

interface Got {
  p: number;
  o: number;
  k: string;
  v: string;
  t: number;
  seq: number;
}

function checkAll(got: Got[]) {
  expect(got.length).toBe(200);
  for (const r of got) expect(r).toMatchObject({ k: `k${r.seq % 7}`, v: `v${r.seq}`, t: 1_700_000_000_000 + r.seq });
  for (const p of [0, 1]) {
    const mine = got.filter((r) => r.p === p);
    expect(mine.map((r) => r.o)).toEqual([...Array(mine.length).keys()]);
    expect(mine.map((r) => r.seq)).toEqual([...mine.map((r) => r.seq)].sort((a, b) => a - b));
  }
  return got;
}

/** First offset in partition p whose timestamp is >= 1700000000100. */
function expectedTimeOffset(got: Got[], p: number): number {
  return got.filter((r) => r.p === p).find((r) => r.t >= 1_700_000_000_100)!.o;
}

describe('Python clients against a Sluice broker process', () => {
  it('confluent-kafka-python: admin, keyed produce, group consume, offsets for times', async () => {
    const broker = await startBroker();
    const r = await python<{ got: Got[]; times: [number, number][] }>(CONFLUENT, [broker.bootstrap, 'ck']);
    const got = checkAll(r.got);
    for (const [p, offset] of r.times) expect(offset).toBe(expectedTimeOffset(got, p));
  });

  it('kafka-python: admin, keyed produce, consume, commit, committed offsets, groups, offsets for times', async () => {
    const broker = await startBroker();
    const r = await python<{ got: Got[]; committed: number[]; times: [number, number][]; listed: string[]; state: string }>(KAFKA_PYTHON, [broker.bootstrap, 'kp']);
    const got = checkAll(r.got);
    expect(r.committed).toEqual([0, 1].map((p) => got.filter((x) => x.p === p).length));
    for (const [p, offset] of r.times) expect(offset).toBe(expectedTimeOffset(got, p));
    expect(r.listed).toContain('py-kafka');
    expect(['Empty', 'Stable']).toContain(r.state);
  });
});
