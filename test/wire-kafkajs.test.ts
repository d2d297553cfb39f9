import { describe, expect, it } from 'vitest';
import { CompressionTypes, Kafka, logLevel, type Consumer } from 'kafkajs';
import { startBroker } from './helpers/broker.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

function client(bootstrap: string) {
  return new Kafka({ brokers: [bootstrap], clientId: 'wire-test', logLevel: logLevel.NOTHING, retry: { retries: 3 } });
}

async function consumeAll(consumer: Consumer, topic: string, expected: number) {
  const got: { partition: number; offset: number; key: string; value: string; headers: Record<string, string>; timestamp: string }[] = [];
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed ${got.length} of ${expected}`)), 30_000);
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        got.push({ partition, offset: Number(message.offset), key: message.key!.toString(), value: message.value!.toString(), headers, timestamp: message.timestamp });
        if (got.length === expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  return got;
}

describe('kafkajs 2.2.4 against a Sluice broker process', () => {
  it('administers topics', async () => {
    const broker = await startBroker();
    const admin = client(broker.bootstrap).admin();
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic: 'a', numPartitions: 3 }, { topic: 'b' }] })).toBe(true);
    // As against Kafka, the list includes the internal __consumer_offsets.
    expect((await admin.listTopics()).sort()).toEqual(['__consumer_offsets', 'a', 'b']);
    const meta = await admin.fetchTopicMetadata({ topics: ['a'] });
    expect(meta.topics[0]!.partitions.length).toBe(3);
    await admin.createPartitions({ topicPartitions: [{ topic: 'b', count: 2 }] });
    expect((await admin.fetchTopicMetadata({ topics: ['b'] })).topics[0]!.partitions.length).toBe(2);
    await admin.deleteTopics({ topics: ['a'] });
    expect((await admin.listTopics()).sort()).toEqual(['__consumer_offsets', 'b']);
    const err = await admin.createTopics({ topics: [{ topic: 'bad name!' }] }).catch((e) => e);
    expect(err.errors[0]).toMatchObject({ type: 'INVALID_TOPIC_EXCEPTION' });
    await admin.disconnect();
  });

  for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
    it(`produces (${compression === CompressionTypes.GZIP ? 'gzip' : 'uncompressed'}) and consumes every record exactly`, async () => {
      const broker = await startBroker();
      const kafka = client(broker.bootstrap);
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 't', numPartitions: 3 }] });
      await admin.disconnect();
      const producer = kafka.producer();
      await producer.connect();
      const sent = Array.from({ length: 300 }, (_, i) => ({ key: `key-${i % 17}`, value: `value-${i}`, headers: { seq: String(i) }, timestamp: String(1_700_000_000_000 + i) }));
      for (let i = 0; i < sent.length; i += 50) await producer.send({ topic: 't', compression, messages: sent.slice(i, i + 50) });
      await producer.disconnect();
      const consumer = kafka.consumer({ groupId: 'g' });
      await consumer.connect();
      const got = await consumeAll(consumer, 't', 300);
      await consumer.disconnect();
      for (const r of got) {
        const i = Number(r.headers.seq);
        expect(r).toMatchObject({ key: sent[i]!.key, value: sent[i]!.value, timestamp: sent[i]!.timestamp });
      }
      for (const p of [0, 1, 2]) {
        const mine = got.filter((r) => r.partition === p);
        expect(mine.map((r) => r.offset)).toEqual([...Array(mine.length).keys()]);
        const seqs = mine.map((r) => Number(r.headers.seq));
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      }
      expect(new Set(got.map((r) => r.headers.seq)).size).toBe(300);
    });
  }

  it('refuses a batch over max.message.bytes with MESSAGE_TOO_LARGE', async () => {
    const broker = await startBroker();
    const kafka = client(broker.bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'small', configEntries: [{ name: 'max.message.bytes', value: '1000' }] }] });
    await admin.disconnect();
    const producer = kafka.producer({ retry: { retries: 0 } });
    await producer.connect();
    await expect(producer.send({ topic: 'small', messages: [{ value: 'x'.repeat(5000) }] })).rejects.toThrow(/too large|MESSAGE_TOO_LARGE|larger than/i);
    await producer.send({ topic: 'small', messages: [{ value: 'fits' }] });
    await producer.disconnect();
  });
});
