/**
 * What the hostile-client tests check around the fuzzer: the broker process's memory (VmRSS
 * sampled from /proc), a well-behaved client that must keep producing and fetching, a control
 * topic written before the attack and read back whole afterwards, and the setup of the state
 * the fuzzer's valid requests refer to.
 */
import fs from 'node:fs';
import net from 'node:net';
import { batchesIn, buildBatch, readRecords, verifyBatch } from '../../src/record/index.js';
import { encodeSubscription } from '../../src/group/consumer-protocol.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { WireClient } from './wire-client.js';
import type { AdvertisedApi, FuzzEnv } from './fuzz.js';

/** Samples a process's resident set size every `everyMs`; `peak` in bytes. */
export class RssSampler {
  peak = 0;
  last = 0;
  samples = 0;
  private timer: NodeJS.Timeout;

  constructor(private readonly pid: number, everyMs = 200) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  sample(): number {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      if (m) {
        this.last = Number(m[1]) * 1024;
        this.peak = Math.max(this.peak, this.last);
        this.samples++;
      }
    } catch {
      // the process is gone: the liveness checks report that
    }
    return this.last;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export const MiB = 1024 * 1024;

/** Rejects after `ms` with a message naming what hung. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}

/** A free TCP port of 127.0.0.1 (for --metrics-port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Sum of a Prometheus counter over its labels, from a /metrics text. */
export async function metricSum(port: number, name: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${text.slice(0, 500)}`);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export async function createTopic(c: WireClient, name: string, partitions: number, configs: { name: string; value: string }[] = []): Promise<void> {
  const r = await c.request(ApiKey.CreateTopics, 7, { topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs }], timeoutMs: 5000, validateOnly: false });
  const code = r.topics[0]!.errorCode;
  if (code !== 0 && code !== 36) throw new Error(`CreateTopics ${name}: error ${code} ${r.topics[0]!.errorMessage}`);
}

export async function produce(c: WireClient, topic: string, partition: number, records: Buffer): Promise<number> {
  const r = await c.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
  const p = r.responses[0]!.partitionResponses[0]!;
  if (p.errorCode !== 0) throw new Error(`Produce ${topic}-${partition}: error ${p.errorCode} ${p.errorMessage}`);
  return p.baseOffset;
}

/** Every record value of a partition from `from` to its high watermark; every batch's CRC checked. */
export async function readAll(c: WireClient, topic: string, partition: number, from = 0): Promise<{ offset: number; value: string }[]> {
  const out: { offset: number; value: string }[] = [];
  let offset = from;
  for (;;) {
    const r = await c.request(ApiKey.Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 4 * 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 4 * 1024 * 1024, currentLeaderEpoch: -1, logStartOffset: -1 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    const p = r.responses[0]!.partitions[0]!;
    if (p.errorCode !== 0) throw new Error(`Fetch ${topic}-${partition}@${offset}: error ${p.errorCode}`);
    const records = p.records ?? Buffer.alloc(0);
    let got = 0;
    for (const batch of batchesIn(records)) {
      verifyBatch(batch); // throws on a CRC mismatch or any malformed header
      for (const rec of readRecords(batch, { verifyCrc: true })) {
        if (rec.offset < offset) continue;
        out.push({ offset: rec.offset, value: rec.value?.toString() ?? '' });
        offset = rec.offset + 1;
        got++;
      }
    }
    if (got === 0 || offset >= p.highWatermark) return out;
  }
}

/** The control topic: written before the attack, must read back identical afterwards. */
export const CONTROL_TOPIC = 'keep-control-topic';

export async function writeControlTopic(c: WireClient): Promise<Map<number, string[]>> {
  await createTopic(c, CONTROL_TOPIC, 2);
  const expected = new Map<number, string[]>([
    [0, []],
    [1, []],
  ]);
  const codecs = ['none', 'gzip', 'snappy', 'lz4'] as const;
  for (let i = 0; i < 40; i++) {
    const partition = i % 2;
    const values = Array.from({ length: 10 }, (_, j) => `control-${i}-${j}-${'v'.repeat((i * 7 + j) % 50)}`);
    await produce(c, CONTROL_TOPIC, partition, buildBatch(values.map((value, j) => ({ key: `k${j}`, value })), { compression: codecs[i % 4] }));
    expected.get(partition)!.push(...values);
  }
  return expected;
}

export async function verifyControlTopic(c: WireClient, expected: Map<number, string[]>): Promise<void> {
  for (const [partition, values] of expected) {
    const got = await readAll(c, CONTROL_TOPIC, partition);
    if (got.length !== values.length) throw new Error(`control topic partition ${partition}: ${got.length} records, expected ${values.length}`);
    got.forEach((r, i) => {
      if (r.offset !== i || r.value !== values[i]) throw new Error(`control topic partition ${partition} offset ${i}: ${JSON.stringify(r)}, expected ${values[i]}`);
    });
  }
}

/**
 * A well-behaved client's round trip on a fresh connection: produce one record, fetch it back.
 * Returns the latency in ms; throws on a wrong answer, rejects via `within` on a hang.
 */
export async function probe(port: number, n: number): Promise<number> {
  const started = performance.now();
  const c = await WireClient.connect(port);
  try {
    const value = `probe-${n}`;
    const offset = await produce(c, 'keep-probe', 0, buildBatch([{ value }]));
    const got = await readAll(c, 'keep-probe', 0, offset);
    if (got[0]?.value !== value || got[0].offset !== offset) throw new Error(`probe ${n}: fetched ${JSON.stringify(got[0])} at ${offset}`);
    return performance.now() - started;
  } finally {
    c.close();
  }
}

/** Sets up what the fuzzer's valid requests name: topics, a group with a member, a producer id. */
export async function setupFuzzEnv(port: number): Promise<{ env: FuzzEnv; advertised: AdvertisedApi[] }> {
  const c = await WireClient.connect(port);
  try {
    const versions = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'fuzz-setup', clientSoftwareVersion: '1' });
    const advertised = versions.apiKeys.map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion }));
    await createTopic(c, 'fz-a', 3);
    await createTopic(c, 'fz-b', 1, [{ name: 'cleanup.policy', value: 'compact' }]);
    await createTopic(c, 'fz-c', 2, [{ name: 'compression.type', value: 'lz4' }]);
    await createTopic(c, 'keep-probe', 1);
    for (const t of ['fz-a', 'fz-b', 'fz-c']) await produce(c, t, 0, buildBatch([{ key: 'k', value: 'seed' }]));
    const meta = await c.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    const topics = meta.topics
      .filter((t) => t.name !== null && t.name.startsWith('fz-'))
      .map((t) => ({ name: t.name!, id: t.topicId, partitions: t.partitions.length }));
    const join = (memberId: string) =>
      c.request(ApiKey.JoinGroup, 5, {
        groupId: 'fz-group',
        sessionTimeoutMs: 30_000,
        rebalanceTimeoutMs: 1000,
        memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: encodeSubscription({ topics: ['fz-a'] }) }],
      });
    let j = await join('');
    if (j.errorCode === 79) j = await join(j.memberId);
    if (j.errorCode !== 0) throw new Error(`JoinGroup: error ${j.errorCode}`);
    const init = await c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
    return { env: { topics, groupId: 'fz-group', memberId: j.memberId, generationId: j.generationId, producerId: init.producerId }, advertised };
  } finally {
    c.close();
  }
}
