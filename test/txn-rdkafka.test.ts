/**
 * Transactions with a current librdkafka (node-rdkafka's bundled 2.12), which negotiates the
 * newest versions (InitProducerId v4+, flexible AddPartitionsToTxn/EndTxn/TxnOffsetCommit v3+):
 * consume-transform-produce with sendOffsetsToTransaction, abort, and fencing.
 */
import { createRequire } from 'node:module';
import type * as RdKafka from 'node-rdkafka';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerProcess } from './helpers/broker.js';
import { storedSequence } from './helpers/txn-log.js';

const require = createRequire(import.meta.url);
let Kafka: typeof RdKafka;

beforeAll(() => {
  try {
    Kafka = require('node-rdkafka') as typeof RdKafka;
  } catch (err) {
    throw new Error(`node-rdkafka is not built (${(err as Error).message}): run \`npm ci\``);
  }
});

type Client = RdKafka.Producer | RdKafka.KafkaConsumer;
const open = new Set<Client>();

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}

afterEach(async () => {
  const clients = [...open];
  open.clear();
  await within(Promise.all(clients.map((c) => new Promise<void>((r) => (c.isConnected() ? c.disconnect(() => r()) : r())))), 30_000, 'disconnecting');
});

async function connect<C extends Client>(c: C): Promise<C> {
  open.add(c);
  await within(new Promise<void>((resolve, reject) => c.connect({}, (err) => (err ? reject(err) : resolve()))), 30_000, 'connect()');
  return c;
}

const call = (what: string, f: (cb: (err: unknown) => void) => void) =>
  within(new Promise<void>((resolve, reject) => f((err) => (err ? reject(err) : resolve()))), 40_000, what);

function txnProducer(broker: BrokerProcess, id: string): RdKafka.Producer {
  return new Kafka.Producer({ 'metadata.broker.list': broker.bootstrap, 'transactional.id': id, 'linger.ms': 5, dr_cb: false });
}

async function consume(c: RdKafka.KafkaConsumer, n: number): Promise<RdKafka.Message[]> {
  const all: RdKafka.Message[] = [];
  const deadline = performance.now() + 30_000;
  while (all.length < n) {
    if (performance.now() > deadline) throw new Error(`consumed ${all.length} of ${n}`);
    all.push(...(await new Promise<RdKafka.Message[]>((resolve, reject) => c.consume(n - all.length, (err, m) => (err ? reject(err) : resolve(m))))));
  }
  return all;
}

describe('transactions with node-rdkafka (librdkafka 2.12)', () => {
  it('consume-transform-produce: offsets commit with the transaction, not with an aborted one', async () => {
    const broker = await startBroker();
    const plain = await connect(new Kafka.Producer({ 'metadata.broker.list': broker.bootstrap, 'linger.ms': 5 }));
    for (let i = 0; i < 10; i++) plain.produce('rd-in', 0, Buffer.from(`r${i}`));
    await call('flush', (cb) => plain.flush(20_000, cb));
    const consumer = await connect(
      new Kafka.KafkaConsumer({ 'metadata.broker.list': broker.bootstrap, 'group.id': 'rd-xform', 'enable.auto.commit': false }, { 'auto.offset.reset': 'earliest' }),
    );
    consumer.assign([{ topic: 'rd-in', partition: 0 }]);
    consumer.setDefaultConsumeTimeout(200);
    const p = await connect(txnProducer(broker, 'rd-app'));
    await call('initTransactions', (cb) => p.initTransactions(30_000, cb));
    const committed = () =>
      within(new Promise<number>((resolve, reject) => consumer.committed([{ topic: 'rd-in', partition: 0 }], 10_000, (err, tps) => (err ? reject(err) : resolve(tps[0]!.offset ?? -1)))), 20_000, 'committed()');

    for (const [n, commit] of [[4, true], [6, false]] as const) {
      const got = await consume(consumer, n);
      await call('beginTransaction', (cb) => p.beginTransaction(cb));
      for (const m of got) p.produce('rd-out', 0, Buffer.from(m.value!.toString().toUpperCase()));
      const next = got[got.length - 1]!.offset + 1;
      await call('sendOffsetsToTransaction', (cb) => p.sendOffsetsToTransaction([{ topic: 'rd-in', partition: 0, offset: next }], consumer, 30_000, cb));
      if (commit) {
        await call('commitTransaction', (cb) => p.commitTransaction(30_000, cb));
      } else {
        await call('flush', (cb) => p.flush(20_000, cb));
        await call('abortTransaction', (cb) => p.abortTransaction(30_000, cb));
      }
    }
    expect(await committed()).toBe(4);
    expect(storedSequence(broker.dir, 'rd-out', 0)).toEqual(['R0', 'R1', 'R2', 'R3', '<commit>', 'R4', 'R5', 'R6', 'R7', 'R8', 'R9', '<abort>']);
  });

  it('a second instance fences the first', async () => {
    const broker = await startBroker();
    const first = await connect(txnProducer(broker, 'rd-fenced'));
    await call('initTransactions', (cb) => first.initTransactions(30_000, cb));
    await call('beginTransaction', (cb) => first.beginTransaction(cb));
    first.produce('rd-fence', 0, Buffer.from('old'));
    await call('flush', (cb) => first.flush(20_000, cb));
    const second = await connect(txnProducer(broker, 'rd-fenced'));
    await call('initTransactions', (cb) => second.initTransactions(30_000, cb));
    const err = (await call('commitTransaction', (cb) => first.commitTransaction(10_000, cb)).then(
      () => null,
      (e: unknown) => e,
    )) as { isFatal?: boolean; message?: string } | null;
    expect(err).not.toBeNull();
    expect(err!.isFatal).toBe(true);
    await call('beginTransaction', (cb) => second.beginTransaction(cb));
    second.produce('rd-fence', 0, Buffer.from('new'));
    await call('commitTransaction', (cb) => second.commitTransaction(30_000, cb));
    expect(storedSequence(broker.dir, 'rd-fence', 0)).toEqual(['old', '<abort>', 'new', '<commit>']);
  });
});
