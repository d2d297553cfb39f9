/**
 * Issue 7: one regression test per bug the hostile-client work found (fuzzer seeds and the
 * frames that showed them are named in each test), plus the per-request bounds it set
 * (src/broker/api/limits.ts, MAX_REQUEST_ELEMENTS in src/protocol/apis.ts).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Sluice } from '../src/index.js';
import { buildBatch, computeBatchCrc, CRC_OFFSET, LAST_OFFSET_DELTA_OFFSET, RECORDS_COUNT_OFFSET } from '../src/record/index.js';
import { ApiKey, decodeResponse, encodeRequest, MAX_REQUEST_ELEMENTS, type RequestInput, type ResponseBody } from '../src/protocol/apis.js';
import { createDispatcher } from '../src/broker/api/dispatcher.js';
import { ProducerStateManager } from '../src/broker/api/producer-state.js';
import { ElementBudget, type RequestLimits } from '../src/broker/api/limits.js';
import type { BrokerContext } from '../src/broker/api/context.js';
import { startBroker } from './helpers/broker.js';
import { createTopic, freePort, MiB, produce, RssSampler, within } from './helpers/fuzz-probe.js';
import { WireClient } from './helpers/wire-client.js';
import { tmpDir } from './helpers/tmp.js';

/** Sends one request on `c` and, on another connection, ApiVersions: which answer came first? */
async function raceAgainstPing<T>(port: number, slow: Promise<T>): Promise<{ first: 'slow' | 'ping'; slow: T }> {
  let first: 'slow' | 'ping' | null = null;
  const ping = (async () => {
    const p = await WireClient.connect(port);
    await p.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'ping', clientSoftwareVersion: '1' });
    first ??= 'ping';
    p.close();
  })();
  const result = await slow;
  first ??= 'slow';
  await ping;
  return { first, slow: result };
}

// ---- in-process broker context with small limits ---------------------------------------------

const opened: Sluice[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

async function dispatcherWith(limits: Partial<RequestLimits>) {
  const sluice = await Sluice.open({ dir: tmpDir('sluice-limits-'), workerThreads: 0 });
  opened.push(sluice);
  const ctx: BrokerContext = {
    sluice,
    settings: { advertisedHost: '127.0.0.1', advertisedPort: 9092, acksAllFsync: false, autoCreateTopics: true, maxFetchWaitMs: 1000, limits },
    nodeId: sluice.meta.nodeId,
    clusterId: sluice.meta.clusterId,
    producers: new ProducerStateManager(sluice.dir),
  };
  const handler = createDispatcher(ctx);
  const call = async <K extends ApiKey>(apiKey: K, version: number, body: RequestInput<K>): Promise<ResponseBody<K>> => {
    const frame = Buffer.concat(encodeRequest(apiKey, version, 7, 'limits', body).chunks);
    const res = await handler({ apiKey, apiVersion: version, correlationId: 7, clientId: 'limits', frame, headerLength: 0, connection: { id: 1, remoteAddress: '127.0.0.1', remotePort: 1 }, signal: new AbortController().signal });
    return decodeResponse(apiKey, version, Buffer.concat(res!.chunks)).body;
  };
  return { sluice, call };
}

describe('hostile-client regressions (network)', () => {
  // Fuzz seed 1 (20,000 frames): the well-behaved probe got no answer for 10 s. A Fetch whose
  // minBytes (mutated to 0x7fffffff) exceeded the data present waited on partitions that
  // already had data past its offset: waitForData resolved at once, the long-poll loop spun
  // on microtasks and the event loop froze until maxWaitMs (up to 30 s) ran out.
  it('a Fetch asking more minBytes than there is does not freeze the event loop', async () => {
    const broker = await startBroker();
    const c = await WireClient.connect(broker.port);
    await createTopic(c, 'spin', 1);
    await produce(c, 'spin', 0, buildBatch([{ value: 'some data' }]));
    const fetch = c.request(ApiKey.Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 3000,
      minBytes: 0x7fffffff,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: 'spin', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    const r = await within(raceAgainstPing(broker.port, fetch), 20_000, 'fetch and ping');
    expect(r.first).toBe('ping'); // answered while the Fetch waits, not after it gave up
    expect(r.slow.responses[0]!.partitions[0]!.records!.length).toBeGreaterThan(0);
    c.close();
  });

  // Fuzz seed 1: CreatePartitions / CreateTopics with a count mutated to 0x10000 (65,536)
  // opened every partition synchronously (~7 ms each here): minutes of a frozen broker and a
  // file descriptor per partition, past the process limit.
  it('refuses absurd partition counts at once, and creates large topics without stalling others', async () => {
    const broker = await startBroker();
    const c = await WireClient.connect(broker.port);
    const huge = await within(
      c.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'huge', numPartitions: 0x10000, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false }),
      5000,
      'CreateTopics 65536 partitions',
    );
    expect(huge.topics[0]!.errorCode).toBe(44); // POLICY_VIOLATION
    await createTopic(c, 'grow', 1);
    const grow = await within(c.request(ApiKey.CreatePartitions, 3, { topics: [{ name: 'grow', count: 0x10000, assignments: null }], timeoutMs: 5000, validateOnly: false }), 5000, 'CreatePartitions 65536');
    expect(grow.results[0]!.errorCode).toBe(44);
    const meta = await c.request(ApiKey.Metadata, 12, { topics: [{ name: 'grow' }, { name: 'huge' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    expect(meta.topics[0]!.partitions).toHaveLength(1);
    expect(meta.topics[1]!.errorCode).toBe(3);
    // 200 partitions are allowed, and opened a few at a time: another client is answered meanwhile.
    const create = c.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'wide', numPartitions: 200, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    const r = await within(raceAgainstPing(broker.port, create), 60_000, 'create 200 partitions');
    expect(r.slow.topics[0]!.errorCode).toBe(0);
    expect(r.first).toBe('ping');
    const wide = await c.request(ApiKey.Metadata, 12, { topics: [{ name: 'wide' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    expect(wide.topics[0]!.partitions).toHaveLength(200);
    c.close();
  });

  // Fuzz seed 2 (100,000 frames): /metrics answered 500 "It is not possible to decrease a
  // counter" after the run. A Produce batch mutated behind a recomputed CRC had a negative
  // record count; it was stored and served, and the per-topic record counters went negative.
  it('refuses batches whose record count does not match their offset range; metrics stay up', async () => {
    const metricsPort = await freePort();
    const broker = await startBroker({ args: ['--metrics-port', String(metricsPort)] });
    const c = await WireClient.connect(broker.port);
    await createTopic(c, 'counts', 1);
    for (const [count, delta] of [
      [-5, 0],
      [0, -1],
      [3, 0],
    ] as const) {
      const batch = Buffer.from(buildBatch([{ value: 'a' }], { compression: 'lz4' }));
      batch.writeInt32BE(count, RECORDS_COUNT_OFFSET);
      batch.writeInt32BE(delta, LAST_OFFSET_DELTA_OFFSET);
      batch.writeUInt32BE(computeBatchCrc(batch, 0, batch.length), CRC_OFFSET);
      const r = await c.request(ApiKey.Produce, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'counts', partitionData: [{ index: 0, records: batch }] }] });
      expect(r.responses[0]!.partitionResponses[0]!.errorCode, `count ${count}, lastOffsetDelta ${delta}`).toBe(87); // INVALID_RECORD
    }
    expect(await produce(c, 'counts', 0, buildBatch([{ value: 'fine' }, { value: 'too' }]))).toBe(0);
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    c.close();
  });

  // Found measuring the memory bound: a 1 MiB Metadata v0 request of 524,287 empty topic names
  // took a broker from 75 MiB to 2.1 GiB of RSS (two Errors with stacks per name, an answer of
  // 524,287 entries). Now: over MAX_REQUEST_ELEMENTS closes the connection; below it, names
  // are answered once each, and names are judged without throwing.
  it('bounds what a request of many tiny array elements costs', async () => {
    const broker = await startBroker();
    const rss = new RssSampler(broker.proc.pid!, 20);
    try {
      const v0 = (names: string[]) => {
        const parts = [Buffer.alloc(4)];
        parts[0]!.writeInt32BE(names.length);
        for (const n of names) {
          const b = Buffer.alloc(2 + n.length);
          b.writeInt16BE(n.length);
          b.write(n, 2);
          parts.push(b);
        }
        const body = Buffer.concat([Buffer.from([0, 3, 0, 0, 0, 0, 0, 9, 0xff, 0xff]), ...parts]);
        const size = Buffer.alloc(4);
        size.writeInt32BE(body.length);
        return Buffer.concat([size, body]);
      };
      const before = rss.sample();
      // Over the element cap: the connection closes, nothing is decoded past the count.
      const closed = await new Promise<boolean>((resolve) => {
        const s = net.connect(broker.port, '127.0.0.1', () => s.write(v0(Array<string>(MAX_REQUEST_ELEMENTS + 1).fill(''))));
        s.on('error', () => {});
        s.on('data', () => {});
        s.on('close', () => resolve(true));
        setTimeout(() => resolve(false), 10_000);
      });
      expect(closed).toBe(true);
      for (let i = 0; i < 50 && !broker.output().includes('array elements'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(broker.output()).toContain(`more than ${MAX_REQUEST_ELEMENTS} array elements`);
      // Under it: 90,000 copies of one name are answered with one entry.
      const c = await WireClient.connect(broker.port);
      c.write(v0(Array<string>(90_000).fill('')));
      const dup = decodeResponse(ApiKey.Metadata, 0, await within(c.nextFrame(), 20_000, 'duplicate names'));
      expect(dup.body.topics).toHaveLength(1);
      expect(dup.body.topics[0]!.errorCode).toBe(17); // INVALID_TOPIC_EXCEPTION
      // 90,000 distinct illegal names: each answered, at a bounded cost.
      c.write(v0(Array.from({ length: 90_000 }, (_, i) => `!${i}`)));
      const distinct = decodeResponse(ApiKey.Metadata, 0, await within(c.nextFrame(), 30_000, 'distinct names'));
      expect(distinct.body.topics).toHaveLength(90_000);
      rss.sample();
      console.log(`[hostile elements] RSS ${(before / MiB).toFixed(0)} -> peak ${(rss.peak / MiB).toFixed(0)} MiB for 90,000 distinct names`);
      expect(rss.peak - before).toBeLessThan(400 * MiB);
      c.close();
    } finally {
      rss.stop();
    }
  });
});

describe('hostile-client bounds (in process, small limits)', () => {
  it('caps partitions per request and per broker, auto-creation included', async () => {
    const { sluice, call } = await dispatcherWith({ maxPartitions: 8, maxPartitionsPerRequest: 5, partitionOpenStep: 2 });
    // A Metadata request naming 7 new topics auto-creates 5 (the per-request budget).
    const names = Array.from({ length: 7 }, (_, i) => `auto-${i}`);
    const meta = await call(ApiKey.Metadata, 12, { topics: names.map((name) => ({ name })), allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
    expect(meta.topics.filter((t) => t.errorCode === 0)).toHaveLength(5);
    expect(meta.topics.filter((t) => t.errorCode === 3)).toHaveLength(2); // UNKNOWN_TOPIC_OR_PARTITION
    // 5 held: 4 more would pass the broker's 8.
    const four = await call(ApiKey.CreateTopics, 7, { topics: [{ name: 'four', numPartitions: 4, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
    expect(four.topics[0]!.errorCode).toBe(44);
    expect(four.topics[0]!.errorMessage).toContain('at most 8');
    const three = await call(ApiKey.CreateTopics, 7, { topics: [{ name: 'three', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
    expect(three.topics[0]!.errorCode).toBe(0);
    expect(sluice.partitionCount('three')).toBe(3); // created in steps of 2, all there
    const grow = await call(ApiKey.CreatePartitions, 3, { topics: [{ name: 'three', count: 4, assignments: null }], timeoutMs: 1000, validateOnly: false });
    expect(grow.results[0]!.errorCode).toBe(44);
    expect(sluice.partitionCount('three')).toBe(3);
    // Auto-creation stops at the broker's limit too.
    const more = await call(ApiKey.Metadata, 12, { topics: [{ name: 'one-more' }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
    expect(more.topics[0]!.errorCode).toBe(3);
  });

  it('a long-poll Fetch short of minBytes lets timers run while it waits (no microtask spin)', async () => {
    const { sluice, call } = await dispatcherWith({});
    await sluice.createTopic('spin', { partitions: 1 });
    await call(ApiKey.Produce, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'spin', partitionData: [{ index: 0, records: buildBatch([{ value: 'x' }]) }] }] });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    try {
      const r = await call(ApiKey.Fetch, 11, {
        replicaId: -1,
        maxWaitMs: 500,
        minBytes: 0x7fffffff,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: 'spin', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1 }] }],
        forgottenTopicsData: [],
        rackId: '',
      });
      expect(r.responses[0]!.partitions[0]!.records!.length).toBeGreaterThan(0);
    } finally {
      clearInterval(timer);
    }
    // Before the fix the loop spun on microtasks: 0 ticks in 500 ms (22,782 loop turns in 1 s).
    expect(ticks).toBeGreaterThan(5);
  });

  it('clamps a Fetch answer to maxFetchBytes (the first batch still goes out, KIP-74)', async () => {
    const { sluice, call } = await dispatcherWith({ maxFetchBytes: 1 });
    await sluice.createTopic('f', { partitions: 2 });
    for (const p of [0, 1]) await call(ApiKey.Produce, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'f', partitionData: [{ index: p, records: buildBatch([{ value: 'x'.repeat(100) }]) }] }] });
    const r = await call(ApiKey.Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 0x7fffffff,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: 'f', partitions: [0, 1].map((partition) => ({ partition, fetchOffset: 0, partitionMaxBytes: 0x7fffffff, currentLeaderEpoch: -1, logStartOffset: -1 })) }],
      forgottenTopicsData: [],
      rackId: '',
    });
    const [p0, p1] = r.responses[0]!.partitions;
    expect(p0!.records!.length).toBeGreaterThan(100);
    expect(p1!.records!.length).toBe(0);
  });

  it('refuses JoinGroup metadata and SyncGroup assignments over maxJoinMetadataBytes', async () => {
    const { call } = await dispatcherWith({ maxJoinMetadataBytes: 1000 });
    for (const version of [5, 9]) {
      const j = await call(ApiKey.JoinGroup, version, {
        groupId: 'g',
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 1000,
        memberId: '',
        groupInstanceId: null,
        protocolType: 'consumer',
        protocols: [
          { name: 'a', metadata: Buffer.alloc(600) },
          { name: 'b', metadata: Buffer.alloc(600) },
        ],
        reason: null,
      });
      expect(j.errorCode).toBe(42); // INVALID_REQUEST
    }
    const s = await call(ApiKey.SyncGroup, 5, { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: 'm', assignment: Buffer.alloc(1001) }] });
    expect(s.errorCode).toBe(42);
  });

  it('ElementBudget: first come first served, oversize admitted alone, aborts give up their place', async () => {
    const b = new ElementBudget(100);
    expect(b.tryAcquire(60)).toBe(true);
    expect(b.tryAcquire(50)).toBe(false);
    const order: string[] = [];
    const abort = new AbortController();
    const big = b.acquire(500, new AbortController().signal).then(() => order.push('big'));
    const cancelled = b.acquire(10, abort.signal).catch(() => order.push('cancelled'));
    const small = b.acquire(10, new AbortController().signal).then(() => order.push('small'));
    abort.abort();
    await cancelled;
    b.release(60); // nothing held: the oversize request goes alone
    await big;
    expect(b.inUse).toBe(500);
    b.release(500);
    await small;
    expect(order).toEqual(['cancelled', 'big', 'small']);
    expect(b.inUse).toBe(10);
  });
});
