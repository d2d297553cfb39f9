/**
 * Transactions end to end, both halves together: a confluent-kafka (librdkafka) transactional
 * producer commits, aborts and commits again against a real broker process, and
 * read_committed consumers (confluent-kafka, kafkajs) see exactly the committed records, in
 * order, while read_uncommitted ones see everything; the last stable offset is what
 * read_committed ListOffsets answers as the end. Also across a restart of the broker.
 */
import { Kafka, logLevel } from 'kafkajs';
import { expect, it } from 'vitest';
import { startBroker } from './helpers/broker.js';
import { python } from './helpers/clients.js';

const SCRIPT = `
import json, sys, time
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
bootstrap, mode = sys.argv[1], sys.argv[2]
def read(isolation, expect):
    c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'r-' + isolation, 'auto.offset.reset': 'earliest', 'enable.auto.commit': False, 'isolation.level': isolation})
    c.assign([TopicPartition('eos', 0)])
    got, deadline = [], time.time() + 15
    while time.time() < deadline and len(got) < expect:
        m = c.poll(0.2)
        if m is None or m.error(): continue
        got.append(m.value().decode())
    # Nothing more comes for a read_committed reader.
    end = time.time() + 1
    while time.time() < end:
        m = c.poll(0.2)
        if m is not None and not m.error(): got.append(m.value().decode())
    lo, hi = c.get_watermark_offsets(TopicPartition('eos', 0), cached=False)
    c.close()
    return got, hi
if mode == 'write':
    a = AdminClient({'bootstrap.servers': bootstrap})
    for f in a.create_topics([NewTopic('eos', num_partitions=1, replication_factor=1)]).values(): f.result()
    p = Producer({'bootstrap.servers': bootstrap, 'transactional.id': 'e2e', 'linger.ms': 5})
    p.init_transactions(30)
    for name, commit in (('A', True), ('B', False), ('C', True)):
        p.begin_transaction()
        for i in range(3): p.produce('eos', value=f'{name}{i}'.encode())
        p.flush(30)
        if commit: p.commit_transaction(30)
        else: p.abort_transaction(30)
    # An open transaction at the end: the last stable offset stops before it.
    p.begin_transaction()
    p.produce('eos', value=b'D0')
    p.flush(30)
committed, hi = read('read_committed', 6)
everything, _ = read('read_uncommitted', 10)
print(json.dumps({'committed': committed, 'everything': everything}))
`;

it('read_committed consumers see exactly the committed transactions of a real transactional producer', async () => {
  const broker = await startBroker();
  const first = await python<{ committed: string[]; everything: string[] }>(SCRIPT, [broker.bootstrap, 'write']);
  expect(first.committed).toEqual(['A0', 'A1', 'A2', 'C0', 'C1', 'C2']);
  expect(first.everything).toEqual(['A0', 'A1', 'A2', 'B0', 'B1', 'B2', 'C0', 'C1', 'C2', 'D0']);

  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: 'kjs-rc', readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic: 'eos', fromBeginning: true });
  const got: string[] = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        got.push(message.value!.toString());
        if (got.length === 6) resolve();
      },
    });
  });
  await new Promise((r) => setTimeout(r, 500));
  await consumer.disconnect();
  expect(got).toEqual(['A0', 'A1', 'A2', 'C0', 'C1', 'C2']);

  // After a restart the open transaction is still open (the producer never ended it), so the
  // same records are visible; the transaction timeout would abort it later.
  await broker.stop();
  const again = await startBroker({ dir: broker.dir });
  const second = await python<{ committed: string[]; everything: string[] }>(SCRIPT, [again.bootstrap, 'read']);
  expect(second.committed).toEqual(['A0', 'A1', 'A2', 'C0', 'C1', 'C2']);
  expect(second.everything).toEqual(['A0', 'A1', 'A2', 'B0', 'B1', 'B2', 'C0', 'C1', 'C2', 'D0']);
  await again.stop();
}, 120_000);
