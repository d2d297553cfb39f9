/**
 * `sluice perf --workload FILE`: runs an OpenMessaging-Benchmark-style workload against a
 * broker: fresh topics, producers paced to the workload's total rate, consumers per
 * subscription, a warm-up that is left out of the figures, then one window per second of
 * publish and consume rates, backlog and latency percentiles. The result follows the field
 * names of OMB's result JSON (publishRate, aggregatedEndToEndLatency99pct, ...).
 *
 * Each producer and each consumer has its own connections (a Cluster), as separate clients
 * would. A subscription's consumers split the topic's partitions between them as a group's
 * range assignor would, by assignment: no group coordinator and no rebalance sits in the
 * measured path. Everything runs on this thread's event loop, which suits the rates OMB's
 * workloads use (up to a few hundred thousand messages/s here); faster runs need
 * `sluice perf produce --threads`.
 */
import fs from 'node:fs';
import { Cluster, sleep } from '../wire-client/cluster.js';
import { createTopic } from '../wire-client/admin.js';
import { Consumer } from '../wire-client/consumer.js';
import { Producer } from '../wire-client/producer.js';
import { logPayloads } from './perf-payload.js';
import { LatencyHistogram, ms, type LatencySummary } from './perf-stats.js';
import type { Workload } from './perf-workload-file.js';

export interface WorkloadOptions {
  bootstrap: string;
  requestTimeoutMs: number | undefined;
  /** A progress line every this many ms. */
  reportMs: number;
  log: (line: string) => void;
}

/** One second of the measured part of the run. */
export interface WorkloadWindow {
  /** Seconds since the end of the warm-up, at the window's end. */
  t: number;
  publishRate: number;
  consumeRate: number;
  backlog: number;
  publishLatency: LatencySummary;
  endToEndLatency: LatencySummary;
}

export interface WorkloadResult {
  workload: string;
  driver: string;
  topics: string[];
  partitionsPerTopic: number;
  messageSize: number;
  producersPerTopic: number;
  subscriptionsPerTopic: number;
  consumersPerSubscription: number;
  producerRate: number;
  warmupSeconds: number;
  testSeconds: number;
  /** Messages sent and received (every subscription counts its own) in the measured part. */
  sent: number;
  received: number;
  windows: WorkloadWindow[];
  [key: string]: unknown;
}

const SENT_HEADER = 'perf.sent';
const WINDOW_MS = 1000;
/** After the producers stop, how long consumers may take to catch up. */
const DRAIN_MS = 10_000;

/** Payloads of exactly messageSize bytes: varied log lines, or successive slices of the payload file. */
function workloadPayloads(w: Workload): Buffer[] {
  if (w.payloadFile === null) return logPayloads(4096, w.messageSize, 17);
  let data: Buffer;
  try {
    data = fs.readFileSync(w.payloadFile);
  } catch (err) {
    throw new Error(`cannot read the workload's payloadFile ${w.payloadFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (data.length < w.messageSize) throw new Error(`payloadFile ${w.payloadFile} holds ${data.length} bytes, less than one message of messageSize ${w.messageSize}`);
  const out: Buffer[] = [];
  for (let at = 0; at + w.messageSize <= data.length; at += w.messageSize) out.push(data.subarray(at, at + w.messageSize));
  return out;
}

class Window {
  sent = 0;
  received = 0;
  readonly publish = new LatencyHistogram();
  readonly e2e = new LatencyHistogram();
  reset(): void {
    this.sent = this.received = 0;
    for (const h of [this.publish, this.e2e]) {
      h.counts.fill(0);
      h.count = h.sum = h.max = 0;
    }
  }
}

export async function runWorkload(w: Workload, o: WorkloadOptions): Promise<WorkloadResult> {
  const values = workloadPayloads(w);
  const stamp = Date.now().toString(36);
  const slug = w.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'workload';
  const topics = Array.from({ length: w.topics }, (_, i) => `omb-${slug}-${stamp}-${i}`);
  const clusters: Cluster[] = [];
  const connect = async (role: string) => {
    const c = await Cluster.connect({ bootstrap: o.bootstrap, clientId: `sluice-perf-${role}`, requestTimeoutMs: o.requestTimeoutMs });
    clusters.push(c);
    return c;
  };
  try {
    const admin = await connect('admin');
    for (const name of topics) await createTopic(admin, { name, partitions: w.partitionsPerTopic, replicationFactor: -1, configs: {} });
    for (const name of topics) await admin.topic(name);

    const origin = performance.timeOrigin;
    const now = () => origin + performance.now();
    const warmupMs = w.warmupDurationMinutes * 60_000;
    const testMs = w.testDurationMinutes * 60_000;
    let measuring = false;
    let stopping = false;
    const win = new Window();
    const total = { sent: 0, received: 0, publish: new LatencyHistogram(), e2e: new LatencyHistogram() };
    let sentAll = 0;
    let receivedAll = 0;
    /** Epoch ms of the first message sent after the warm-up. */
    let measureFrom = Infinity;

    // Consumers first, at the start of the fresh topics, as OMB waits for them before producing.
    const consumers: { consumer: Consumer }[] = [];
    for (const topic of topics) {
      for (let s = 0; s < w.subscriptionsPerTopic; s++) {
        for (let c = 0; c < w.consumerPerSubscription; c++) {
          const partitions = rangeShare(w.partitionsPerTopic, w.consumerPerSubscription, c);
          if (partitions.length === 0) continue;
          const consumer = new Consumer(await connect(`${topic}-sub${s}-c${c}`), { maxWaitMs: 100, minBytes: 1 });
          await consumer.assign(topic, partitions, { earliest: true });
          consumers.push({ consumer });
        }
      }
    }
    const consuming = consumers.map(async ({ consumer }) => {
      while (!stopping) {
        const records = await consumer.poll();
        const at = now();
        for (const r of records) {
          receivedAll++;
          const h = r.headers.find((x) => x.key === SENT_HEADER);
          if (h?.value == null || h.value.length !== 8) continue;
          const sent = h.value.readDoubleLE(0);
          // A message counts when it was sent in the measured part, as OMB's warm-up discards.
          if (!measuring || sent < measureFrom) continue;
          win.received++;
          total.received++;
          win.e2e.add(at - sent);
          total.e2e.add(at - sent);
        }
      }
    });

    const producers: Producer[] = [];
    for (const topic of topics) {
      for (let p = 0; p < w.producersPerTopic; p++) {
        const producer = new Producer(await connect(`${topic}-p${p}`), {
          // OMB's Kafka driver: acks=all, linger.ms=1, batch.size=1 MiB.
          acks: -1,
          lingerMs: 1,
          batchBytes: 1024 * 1024,
          allowAutoTopicCreation: false,
          onDelivered: (count, first, last) => {
            if (!measuring || first + origin < measureFrom) return;
            const at = performance.now();
            const step = count > 1 ? (last - first) / (count - 1) : 0;
            for (let k = 0; k < count; k++) {
              win.publish.add(at - (first + step * k));
              total.publish.add(at - (first + step * k));
            }
          },
        });
        await producer.partitionsOf(topic);
        producers.push(producer);
      }
    }
    const perProducer = w.producerRate / producers.length;
    const started = performance.now();
    const endAt = started + warmupMs + testMs;
    const producing = producers.map(async (producer, idx) => {
      const topic = topics[Math.floor(idx / w.producersPerTopic)]!;
      for (let i = 0; ; i++) {
        // Paced from the start: message i is due at i / rate seconds.
        const due = started + (i * 1000) / perProducer;
        let t = performance.now();
        if (due - t >= 1) {
          await sleep(due - t);
          t = performance.now();
        }
        if (t >= endAt) break;
        const header = Buffer.allocUnsafe(8);
        header.writeDoubleLE(origin + t);
        if (!measuring && t >= started + warmupMs) measuring = true;
        if (measuring) {
          if (measureFrom === Infinity) measureFrom = origin + t;
          win.sent++;
          total.sent++;
        }
        sentAll++;
        if (!producer.append({ topic, partition: i % w.partitionsPerTopic, value: values[(i + idx * 7) % values.length]!, headers: [{ key: SENT_HEADER, value: header }] })) await producer.room();
      }
      await producer.flush();
    });

    const windows: WorkloadWindow[] = [];
    let lastWindow = performance.now();
    let lastReport = lastWindow;
    let reportSent = 0;
    let reportReceived = 0;
    let wasMeasuring = false;
    const ticker = setInterval(() => {
      const t = performance.now();
      const secs = (t - lastWindow) / 1000;
      lastWindow = t;
      // The window in which the warm-up ended is partial: left out.
      if (measuring && wasMeasuring) {
        windows.push({
          t: +((t - started - warmupMs) / 1000).toFixed(3),
          publishRate: win.sent / secs,
          consumeRate: win.received / secs,
          backlog: sentAll * w.subscriptionsPerTopic - receivedAll,
          publishLatency: win.publish.summary(),
          endToEndLatency: win.e2e.summary(),
        });
      }
      wasMeasuring = measuring;
      win.reset();
      if (t - lastReport >= o.reportMs - 1) {
        const s = (t - lastReport) / 1000;
        const phase = measuring ? '' : ' (warm-up)';
        const last = windows[windows.length - 1];
        o.log(`pub rate ${((sentAll - reportSent) / s).toFixed(1)} msg/s, cons rate ${((receivedAll - reportReceived) / s).toFixed(1)} msg/s, backlog ${sentAll * w.subscriptionsPerTopic - receivedAll}${phase}` + (last !== undefined && measuring ? `, pub latency p99 ${ms(last.publishLatency.p99)} ms, e2e p99 ${ms(last.endToEndLatency.p99)} ms` : ''));
        lastReport = t;
        reportSent = sentAll;
        reportReceived = receivedAll;
      }
    }, WINDOW_MS);
    try {
      await Promise.all(producing);
      const drainUntil = performance.now() + DRAIN_MS;
      while (receivedAll < sentAll * w.subscriptionsPerTopic && performance.now() < drainUntil) await sleep(20);
    } finally {
      clearInterval(ticker);
      stopping = true;
      await Promise.allSettled(consuming);
    }
    await Promise.all(consuming);
    const pub = total.publish.summary();
    const e2e = total.e2e.summary();
    const testSeconds = testMs / 1000;
    return {
      workload: w.name,
      driver: 'sluice-wire-client',
      topics,
      partitionsPerTopic: w.partitionsPerTopic,
      messageSize: w.messageSize,
      producersPerTopic: w.producersPerTopic,
      subscriptionsPerTopic: w.subscriptionsPerTopic,
      consumersPerSubscription: w.consumerPerSubscription,
      producerRate: w.producerRate,
      warmupSeconds: warmupMs / 1000,
      testSeconds,
      sent: total.sent,
      received: total.received,
      publishRate: windows.map((x) => round(x.publishRate)),
      consumeRate: windows.map((x) => round(x.consumeRate)),
      backlog: windows.map((x) => x.backlog),
      publishLatency50pct: windows.map((x) => round(x.publishLatency.p50)),
      publishLatency99pct: windows.map((x) => round(x.publishLatency.p99)),
      endToEndLatency50pct: windows.map((x) => round(x.endToEndLatency.p50)),
      endToEndLatency99pct: windows.map((x) => round(x.endToEndLatency.p99)),
      aggregatedPublishRate: round(total.sent / testSeconds),
      aggregatedConsumeRate: round(total.received / testSeconds),
      aggregatedPublishLatencyAvg: round(pub.avg),
      aggregatedPublishLatency50pct: round(pub.p50),
      aggregatedPublishLatency95pct: round(pub.p95),
      aggregatedPublishLatency99pct: round(pub.p99),
      aggregatedPublishLatency999pct: round(pub.p999),
      aggregatedPublishLatencyMax: round(pub.max),
      aggregatedEndToEndLatencyAvg: round(e2e.avg),
      aggregatedEndToEndLatency50pct: round(e2e.p50),
      aggregatedEndToEndLatency95pct: round(e2e.p95),
      aggregatedEndToEndLatency99pct: round(e2e.p99),
      aggregatedEndToEndLatency999pct: round(e2e.p999),
      aggregatedEndToEndLatencyMax: round(e2e.max),
      windows,
    };
  } finally {
    for (const c of clusters) c.close();
  }
}

const round = (n: number) => +n.toFixed(3);

/** Partitions of consumer `c` of `consumers` under Kafka's range assignor, for one topic. */
export function rangeShare(partitions: number, consumers: number, c: number): number[] {
  const per = Math.floor(partitions / consumers);
  const extra = partitions % consumers;
  const from = c * per + Math.min(c, extra);
  const n = per + (c < extra ? 1 : 0);
  return Array.from({ length: n }, (_, i) => from + i);
}

/** The summary lines printed at the end. */
export function workloadSummary(r: WorkloadResult): string {
  return [
    `workload '${r.workload}': ${r.topics.length} topic(s) x ${r.partitionsPerTopic} partition(s), ${r.messageSize} B, ${r.producerRate} msg/s asked, ${r.testSeconds} s measured after ${r.warmupSeconds} s warm-up`,
    `aggregated pub rate ${r.aggregatedPublishRate} msg/s, cons rate ${r.aggregatedConsumeRate} msg/s (${r.sent} sent, ${r.received} received)`,
    `aggregated publish latency: avg ${ms(r.aggregatedPublishLatencyAvg as number)} ms, p50 ${ms(r.aggregatedPublishLatency50pct as number)} ms, p99 ${ms(r.aggregatedPublishLatency99pct as number)} ms, p99.9 ${ms(r.aggregatedPublishLatency999pct as number)} ms, max ${ms(r.aggregatedPublishLatencyMax as number)} ms`,
    `aggregated end-to-end latency: avg ${ms(r.aggregatedEndToEndLatencyAvg as number)} ms, p50 ${ms(r.aggregatedEndToEndLatency50pct as number)} ms, p99 ${ms(r.aggregatedEndToEndLatency99pct as number)} ms, p99.9 ${ms(r.aggregatedEndToEndLatency999pct as number)} ms, max ${ms(r.aggregatedEndToEndLatencyMax as number)} ms`,
  ].join('\n');
}
