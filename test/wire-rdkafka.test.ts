/**
 * A current librdkafka (node-rdkafka's bundled one, 2.12) against a Sluice broker process.
 * Debian's librdkafka 2.0.2 is covered by wire-kcat.test.ts and wire-python.test.ts; users
 * run both. librdkafka 2.3+ differs on the wire (issue 12: an all-topics Metadata v12 with 3
 * spare bytes after the body, which Sluice once refused), so these tests use the features
 * that depend on all-topics metadata (connect(), regex subscription) and the ones a modern
 * client negotiates at its newest versions (zstd, idempotence, cooperative rebalancing,
 * ListOffsets by timestamp).
 *
 * Every client is disconnected in afterEach (with a deadline, so a stuck client fails the
 * test rather than hanging it); brokers and temp dirs are removed by the helpers' afterEach.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as RdKafka from 'node-rdkafka';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerProcess } from './helpers/broker.js';

const require = createRequire(import.meta.url);
let Kafka: typeof RdKafka;

beforeAll(() => {
  try {
    Kafka = require('node-rdkafka') as typeof RdKafka;
  } catch (err) {
    throw new Error(
      `node-rdkafka is not built (${(err as Error).message}): run \`npm ci\` (it compiles its bundled librdkafka; ` +
        'needs gcc/g++, make, python3, libssl-dev, zlib1g-dev and libzstd-dev; .ci/run installs them)',
    );
  }
});

type AnyClient = RdKafka.Producer | RdKafka.KafkaConsumer | RdKafka.IAdminClient;
const open = new Set<AnyClient>();

/** Resolves when `p` does, or rejects after `ms` naming `what`: no wait in this file is unbounded. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}

function disconnect(c: AnyClient): Promise<void> {
  if ('createTopic' in c) {
    c.disconnect();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    if (!c.isConnected()) return resolve();
    c.disconnect(() => resolve());
  });
}

afterEach(async () => {
  const clients = [...open];
  open.clear();
  // Registered after the broker helper's afterEach, so (vitest runs after-hooks as a stack)
  // this runs first: clients leave while their broker is still up.
  await within(Promise.all(clients.map(disconnect)), 30_000, 'disconnecting node-rdkafka clients');
});

async function connect<C extends RdKafka.Producer | RdKafka.KafkaConsumer>(c: C, options: RdKafka.MetadataOptions = {}): Promise<RdKafka.Metadata> {
  open.add(c);
  const errors: string[] = [];
  c.on('event.error', (err) => errors.push(String(err)));
  return within(
    new Promise<RdKafka.Metadata>((resolve, reject) => c.connect(options, (err, metadata) => (err ? reject(err) : resolve(metadata)))),
    30_000,
    `connect() (client errors: ${errors.join('; ') || 'none'})`,
  );
}

function newProducer(broker: BrokerProcess, conf: Partial<RdKafka.ProducerGlobalConfig> = {}): RdKafka.Producer {
  return new Kafka.Producer({ 'metadata.broker.list': broker.bootstrap, 'client.id': 'sluice-rdkafka-test', dr_cb: true, 'linger.ms': 5, ...conf });
}

function newConsumer(broker: BrokerProcess, groupId: string, conf: Partial<RdKafka.ConsumerGlobalConfig> = {}): RdKafka.KafkaConsumer {
  return new Kafka.KafkaConsumer(
    { 'metadata.broker.list': broker.bootstrap, 'group.id': groupId, 'client.id': `sluice-rdkafka-${groupId}`, ...conf },
    { 'auto.offset.reset': 'earliest' },
  );
}

interface Out {
  value: string;
  key?: string;
  partition?: number;
  timestamp?: number;
}

/** Produces every message and waits for all delivery reports; returns them in send order. */
async function produceAll(p: RdKafka.Producer, topic: string, messages: Out[]): Promise<RdKafka.DeliveryReport[]> {
  const reports = new Array<RdKafka.DeliveryReport>(messages.length);
  let pending = messages.length;
  const done = new Promise<void>((resolve, reject) => {
    const onReport = (err: RdKafka.LibrdKafkaError, report: RdKafka.DeliveryReport) => {
      if (err) {
        p.off('delivery-report', onReport);
        reject(new Error(`delivery failed: ${err.message} (code ${err.code})`));
        return;
      }
      reports[report.opaque as number] = report;
      if (--pending === 0) {
        p.off('delivery-report', onReport);
        resolve();
      }
    };
    p.on('delivery-report', onReport);
  });
  p.setPollInterval(10);
  messages.forEach((m, i) => {
    p.produce(topic, m.partition ?? null, Buffer.from(m.value), m.key ?? null, m.timestamp ?? null, i);
  });
  await within(done, 45_000, `delivery reports for ${messages.length} messages to ${topic}`);
  return reports;
}

/** Consumes until `until(all)` holds; every message seen is returned. */
async function consumeUntil(c: RdKafka.KafkaConsumer, until: (all: RdKafka.Message[]) => boolean, what: string, ms = 45_000): Promise<RdKafka.Message[]> {
  const all: RdKafka.Message[] = [];
  const deadline = performance.now() + ms;
  c.setDefaultConsumeTimeout(200);
  while (!until(all)) {
    if (performance.now() > deadline) throw new Error(`${what}: only ${all.length} messages within ${ms} ms`);
    const batch = await new Promise<RdKafka.Message[]>((resolve, reject) => c.consume(500, (err, m) => (err ? reject(err) : resolve(m))));
    all.push(...batch);
  }
  return all;
}

function createTopic(broker: BrokerProcess, topic: string, partitions: number): Promise<void> {
  const admin = Kafka.AdminClient.create({ 'metadata.broker.list': broker.bootstrap, 'client.id': 'sluice-rdkafka-admin' });
  open.add(admin);
  return within(
    new Promise<void>((resolve, reject) =>
      admin.createTopic({ topic, num_partitions: partitions, replication_factor: 1 }, 10_000, (err) => (err ? reject(err) : resolve())),
    ),
    30_000,
    `AdminClient.createTopic(${topic})`,
  );
}

const text = (m: RdKafka.Message) => m.value?.toString() ?? '<null>';

describe('node-rdkafka (librdkafka 2.12) against a Sluice broker process', () => {
  it('is a librdkafka newer than 2.3 with every codec built in', () => {
    const [major, minor] = Kafka.librdkafkaVersion.split('.').map(Number);
    expect(major! * 100 + minor!).toBeGreaterThanOrEqual(203);
    // zstd needs libzstd-dev when node-rdkafka is built (npm ci); without it the build
    // silently leaves zstd out.
    for (const f of ['gzip', 'snappy', 'lz4', 'zstd']) {
      expect(Kafka.features, `node-rdkafka built without ${f}: apt-get install libzstd-dev, then npm rebuild node-rdkafka`).toContain(f);
    }
  });

  it('connect() and getMetadata() for all topics list every topic and the broker', async () => {
    const broker = await startBroker({ args: ['--log-level', 'debug'] });
    const p = newProducer(broker);
    // connect() asks for all topics by default: the request librdkafka 2.3+ pads (issue 12).
    const atConnect = await connect(p);
    expect(atConnect.brokers).toEqual([{ id: 0, host: '127.0.0.1', port: broker.port }]);
    await produceAll(p, 'meta-a', [{ value: 'a' }]);
    await produceAll(p, 'meta-b', [{ value: 'b' }]);
    const all = await within(
      new Promise<RdKafka.Metadata>((resolve, reject) => p.getMetadata({ allTopics: true, timeout: 10_000 }, (err, m) => (err ? reject(err) : resolve(m)))),
      30_000,
      'getMetadata() for all topics',
    );
    const names = all.topics.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['meta-a', 'meta-b']));
    const a = all.topics.find((t) => t.name === 'meta-a')!;
    expect(a.partitions.map((x) => ({ id: x.id, leader: x.leader, replicas: x.replicas, isrs: x.isrs }))).toEqual([{ id: 0, leader: 0, replicas: [0], isrs: [0] }]);
    // The connection that carried the padded request is still in use: one more round trip
    // (node-rdkafka's allTopics defaults to true even when a topic is named).
    const one = await within(
      new Promise<RdKafka.Metadata>((resolve, reject) => p.getMetadata({ topic: 'meta-b', allTopics: false, timeout: 10_000 }, (err, m) => (err ? reject(err) : resolve(m)))),
      30_000,
      'getMetadata() for one topic',
    );
    expect(one.topics.map((t) => t.name)).toEqual(['meta-b']);
    expect(broker.output()).not.toMatch(/closing connection/);
    // The padding this librdkafka adds (its issue #5049) reached the broker and was ignored.
    expect(broker.output()).toMatch(/"api":"Metadata","version":12,.*"trailingBytes":3.*bytes after the request body ignored/);
  });

  it('a regex subscription (^rx-.*) gets the matching topics and no other', async () => {
    const broker = await startBroker();
    const p = newProducer(broker);
    await connect(p);
    for (const topic of ['rx-one', 'rx-two', 'other']) {
      await produceAll(p, topic, Array.from({ length: 20 }, (_, i) => ({ value: `${topic} ${i}` })));
    }
    const c = newConsumer(broker, 'regex-group');
    await connect(c);
    c.subscribe(['^rx-.*']);
    const got = await consumeUntil(c, (all) => all.length >= 40, 'regex subscription');
    // Anything from 'other' would have arrived among these: the topics are consumed together.
    expect(new Set(got.map((m) => m.topic))).toEqual(new Set(['rx-one', 'rx-two']));
    for (const topic of ['rx-one', 'rx-two']) {
      expect(got.filter((m) => m.topic === topic).map(text)).toEqual(Array.from({ length: 20 }, (_, i) => `${topic} ${i}`));
    }
  });

  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    it(`produces and consumes with compression.codec=${codec}`, async () => {
      const broker = await startBroker();
      const p = newProducer(broker, { 'compression.codec': codec, 'linger.ms': 20 });
      await connect(p);
      const messages = Array.from({ length: 400 }, (_, i) => ({ key: `k${i % 17}`, value: `value ${i} ${'abc'.repeat(i % 40)}` }));
      const reports = await produceAll(p, 'codec', messages);
      expect(reports.map((r) => r.offset)).toEqual([...Array(400).keys()]);
      const c = newConsumer(broker, `codec-${codec}`);
      await connect(c);
      c.assign([{ topic: 'codec', partition: 0, offset: 0 }]);
      const got = await consumeUntil(c, (all) => all.length >= 400, `consume ${codec}`);
      expect(got.map((m) => [m.key?.toString(), text(m), m.offset])).toEqual(messages.map((m, i) => [m.key, m.value, i]));
      await disconnect(c);
      await disconnect(p);
      // The batches on disk carry the codec librdkafka used (it sends a batch uncompressed
      // when compressing does not shrink it, so some may be 0).
      await broker.stop();
      const data = fs.readFileSync(path.join(broker.dir, 'codec-0', '00000000000000000000.log'));
      const codecs = new Set<number>();
      for (let pos = 0; pos < data.length; pos += data.readInt32BE(pos + 8) + 12) codecs.add(data.readInt16BE(pos + 21) & 7);
      const id = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 }[codec];
      expect(codecs.has(id)).toBe(true);
      expect([...codecs].every((x) => x === id || x === 0)).toBe(true);
    });
  }

  it('an idempotent producer with acks=all stores every message once, in order', async () => {
    const broker = await startBroker();
    const p = newProducer(broker, { 'enable.idempotence': true, acks: 'all', 'max.in.flight.requests.per.connection': 5, 'linger.ms': 1, 'batch.num.messages': 50 });
    await connect(p);
    const messages = Array.from({ length: 2000 }, (_, i) => ({ value: `idem ${i}` }));
    const reports = await produceAll(p, 'idem', messages);
    expect(reports.map((r) => r.offset)).toEqual([...Array(2000).keys()]);
    const c = newConsumer(broker, 'idem-check');
    await connect(c);
    c.assign([{ topic: 'idem', partition: 0, offset: 0 }]);
    const got = await consumeUntil(c, (all) => all.length >= 2000, 'consume idempotent');
    expect(got.map(text)).toEqual(messages.map((m) => m.value));
    // Nothing after the 2000th: no duplicate was stored.
    const more = await new Promise<RdKafka.Message[]>((resolve, reject) => c.consume(100, (err, m) => (err ? reject(err) : resolve(m))));
    expect(more).toEqual([]);
  });

  it('a cooperative-sticky group of two members shares the partitions and consumes everything', async () => {
    const broker = await startBroker();
    await createTopic(broker, 'coop', 4);
    const conf: Partial<RdKafka.ConsumerGlobalConfig> = { 'partition.assignment.strategy': 'cooperative-sticky', rebalance_cb: true, 'session.timeout.ms': 10_000, 'heartbeat.interval.ms': 500 };
    const a = newConsumer(broker, 'coop-group', conf);
    const b = newConsumer(broker, 'coop-group', conf);
    await connect(a);
    await connect(b);
    a.setDefaultConsumeTimeout(100);
    b.setDefaultConsumeTimeout(100);
    const byMember = new Map<RdKafka.KafkaConsumer, RdKafka.Message[]>([
      [a, []],
      [b, []],
    ]);
    const pollBoth = async () => {
      for (const c of [a, b]) {
        const batch = await new Promise<RdKafka.Message[]>((resolve, reject) => c.consume(100, (err, m) => (err ? reject(err) : resolve(m))));
        byMember.get(c)!.push(...batch);
      }
    };
    const deadline = performance.now() + 60_000;
    const state = () => `assignments a=${JSON.stringify(a.assignments())} b=${JSON.stringify(b.assignments())}`;
    a.subscribe(['coop']);
    // A first alone (it takes all four partitions), then B joins: the cooperative protocol
    // moves some of A's partitions to B without revoking the rest.
    while (a.assignments().length !== 4) {
      if (performance.now() > deadline) throw new Error(`cooperative group: first member never got all 4 partitions (${state()})`);
      await pollBoth();
    }
    b.subscribe(['coop']);
    const shared = () => a.assignments().length > 0 && b.assignments().length > 0 && a.assignments().length + b.assignments().length === 4;
    while (!shared()) {
      if (performance.now() > deadline) throw new Error(`cooperative group: partitions never shared (${state()})`);
      await pollBoth();
    }
    expect(a.rebalanceProtocol()).toBe('COOPERATIVE');
    expect(b.rebalanceProtocol()).toBe('COOPERATIVE');
    const partitionsOf = (c: RdKafka.KafkaConsumer) => c.assignments().map((x) => x.partition).sort();
    expect([...partitionsOf(a), ...partitionsOf(b)].sort()).toEqual([0, 1, 2, 3]);

    const p = newProducer(broker);
    await connect(p);
    const messages = Array.from({ length: 400 }, (_, i) => ({ value: `coop ${i}`, partition: i % 4 }));
    await produceAll(p, 'coop', messages);
    const seen = () => new Set([...byMember.get(a)!, ...byMember.get(b)!].map(text));
    while (seen().size < 400) {
      if (performance.now() > deadline) throw new Error(`cooperative group: ${seen().size}/400 messages (${state()})`);
      await pollBoth();
    }
    expect(seen()).toEqual(new Set(messages.map((m) => m.value)));
    // Each member read exactly the partitions it was given, every one of their messages once.
    for (const c of [a, b]) {
      const got = byMember.get(c)!;
      expect(new Set(got.map((m) => m.partition))).toEqual(new Set(partitionsOf(c)));
      expect(got.map(text).sort()).toEqual(messages.filter((m) => partitionsOf(c).includes(m.partition)).map((m) => m.value).sort());
    }
  }, 120_000);

  it('offsetsForTimes finds the first offset at or after a timestamp', async () => {
    const broker = await startBroker();
    const p = newProducer(broker, { 'linger.ms': 0 });
    await connect(p);
    const base = Date.now() - 600_000;
    const messages = Array.from({ length: 10 }, (_, i) => ({ value: `t${i}`, timestamp: base + i * 1000 }));
    await produceAll(p, 'times', messages);
    const c = newConsumer(broker, 'times-check');
    await connect(c);
    const ask = (ts: number) =>
      within(
        new Promise<RdKafka.TopicPartitionOffset[]>((resolve, reject) =>
          c.offsetsForTimes([{ topic: 'times', partition: 0, offset: ts }], 10_000, (err, r) => (err ? reject(err) : resolve(r))),
        ),
        30_000,
        `offsetsForTimes(${ts})`,
      );
    expect((await ask(base))[0]!.offset).toBe(0);
    expect((await ask(base + 3000))[0]!.offset).toBe(3);
    expect((await ask(base + 3500))[0]!.offset).toBe(4);
    expect((await ask(base - 1))[0]!.offset).toBe(0);
    // After the last timestamp: no offset (librdkafka reports the end as -1).
    expect((await ask(base + 20_000))[0]!.offset).toBe(-1);
    // And a consumer started at that offset reads from there.
    c.assign([{ topic: 'times', partition: 0, offset: (await ask(base + 7000))[0]!.offset }]);
    const got = await consumeUntil(c, (all) => all.length >= 3, 'consume from offsetsForTimes');
    expect(got.map(text)).toEqual(['t7', 't8', 't9']);
    expect(got.map((m) => m.timestamp)).toEqual([base + 7000, base + 8000, base + 9000]);
  });
});
