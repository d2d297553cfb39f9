/**
 * Transactions with kafkajs 2.2.4 (its own protocol code, low API versions) against a real
 * broker process: commit/abort markers, sendOffsets committed only with the transaction, and
 * fencing of an old instance.
 */
import { describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker } from './helpers/broker.js';
import { storedBatches, storedSequence } from './helpers/txn-log.js';
import { offsetsPartitionFor } from '../src/group/offset-record.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

function client(bootstrap: string) {
  return new Kafka({ brokers: [bootstrap], clientId: 'txn-test', logLevel: logLevel.NOTHING, retry: { retries: 3 } });
}

async function createTopics(kafka: Kafka, ...topics: string[]) {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: topics.map((topic) => ({ topic })) });
  await admin.disconnect();
}

describe('transactions with kafkajs 2.2.4', () => {
  it('commits and aborts: markers in the log, offsets sent to the transaction visible only after commit', async () => {
    const broker = await startBroker();
    const kafka = client(broker.bootstrap);
    await createTopics(kafka, 'js-out', 'js-in');
    const producer = kafka.producer({ transactionalId: 'js-app', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const admin = kafka.admin();
    await admin.connect();
    const committed = async () => (await admin.fetchOffsets({ groupId: 'js-group', topics: ['js-in'] }))[0]!.partitions[0]!.offset;

    let txn = await producer.transaction();
    await txn.send({ topic: 'js-out', messages: [{ value: 'A0' }, { value: 'A1' }] });
    await txn.sendOffsets({ consumerGroupId: 'js-group', topics: [{ topic: 'js-in', partitions: [{ partition: 0, offset: '5' }] }] });
    expect(await committed()).toBe('-1');
    await txn.commit();
    expect(await committed()).toBe('5');

    txn = await producer.transaction();
    await txn.send({ topic: 'js-out', messages: [{ value: 'B0' }] });
    await txn.sendOffsets({ consumerGroupId: 'js-group', topics: [{ topic: 'js-in', partitions: [{ partition: 0, offset: '9' }] }] });
    await txn.abort();
    expect(await committed()).toBe('5');

    txn = await producer.transaction();
    await txn.send({ topic: 'js-out', messages: [{ value: 'C0' }] });
    await txn.commit();

    expect(storedSequence(broker.dir, 'js-out', 0)).toEqual(['A0', 'A1', '<commit>', 'B0', '<abort>', 'C0', '<commit>']);
    // The offsets travelled as transactional batches of the producer in the group's partition
    // of __consumer_offsets, each ended there by its transaction's marker.
    const out = storedBatches(broker.dir, 'js-out', 0);
    const offsets = storedBatches(broker.dir, '__consumer_offsets', offsetsPartitionFor('js-group', 50));
    expect(offsets.map((b) => [b.transactional, b.marker, b.producerId])).toEqual([
      [true, null, out[0]!.producerId],
      [true, 'commit', out[0]!.producerId],
      [true, null, out[0]!.producerId],
      [true, 'abort', out[0]!.producerId],
    ]);
    await admin.disconnect();
    await producer.disconnect();
  });

  it('a second instance with the same transactional id fences the first', async () => {
    const broker = await startBroker();
    const kafka = client(broker.bootstrap);
    await createTopics(kafka, 'js-fence');
    const first = kafka.producer({ transactionalId: 'js-fenced', idempotent: true, maxInFlightRequests: 1 });
    await first.connect();
    const old = await first.transaction();
    await old.send({ topic: 'js-fence', messages: [{ value: 'old' }] });

    const second = kafka.producer({ transactionalId: 'js-fenced', idempotent: true, maxInFlightRequests: 1 });
    await second.connect();
    // kafkajs sends InitProducerId for its transactional id at its first transaction().
    const txn = await second.transaction();
    const err = await old.commit().then(() => ({ type: 'committed' }), (e: { type?: string }) => e);
    expect(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']).toContain((err as { type?: string }).type);

    await txn.send({ topic: 'js-fence', messages: [{ value: 'new' }] });
    await txn.commit();
    expect(storedSequence(broker.dir, 'js-fence', 0)).toEqual(['old', '<abort>', 'new', '<commit>']);
    await first.disconnect();
    await second.disconnect();
  });
});
