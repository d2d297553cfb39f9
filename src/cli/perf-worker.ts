/**
 * One thread of `sluice perf`: its own connections (Cluster), its own producer or consumer, its
 * share of the records and partitions. It reports counts and a latency window every second and
 * its totals and latency histogram at the end; the main thread adds them up and prints.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Cluster, sleep } from '../wire-client/cluster.js';
import { Consumer, type ConsumerOptions } from '../wire-client/consumer.js';
import { GroupMember } from '../wire-client/group-member.js';
import { Producer, type ProducerCompression, type ProducerOptions } from '../wire-client/producer.js';
import { buildBatch } from '../record/builder.js';
import { computeBatchCrc, writeInt64 } from '../record/header.js';
import { BASE_TIMESTAMP_OFFSET, CRC_OFFSET, MAX_TIMESTAMP_OFFSET } from '../record/layout.js';
import { countBatch, forEachStamp, type BatchCount } from './perf-count.js';
import { filePayloads, logPayloads } from './perf-payload.js';
import { LatencyHistogram } from './perf-stats.js';

export type PerfMode = 'produce' | 'consume' | 'end-to-end';

export interface WorkerTask {
  mode: PerfMode;
  thread: number;
  bootstrap: string;
  requestTimeoutMs: number | undefined;
  topic: string;
  /** This thread's partitions. */
  partitions: number[];
  /** produce and end-to-end: records this thread sends. */
  records: number;
  /** consume: every thread stops when the shared count (Atomics on `consumed`) reaches it. */
  totalRecords: number;
  consumed: SharedArrayBuffer;
  /** Records/s for this thread; -1: as fast as possible. */
  throughput: number;
  recordSize: number | undefined;
  payloadText: string | undefined;
  payloadDelimiter: string;
  producer: Omit<ProducerOptions, 'onDelivered'>;
  consumer: ConsumerOptions;
  group: string | undefined;
  /** consume: stop after this long without a record. */
  timeoutMs: number;
  /** consume: build every record (key, value, headers) as an application's poll gets them, instead of counting them from the batches. */
  decodeRecords: boolean;
  /** produce at -1: encode each record into a batch as sent (the wire producer's path), instead of sending pre-encoded batches. */
  encodeRecords: boolean;
  /** end-to-end: records sent in the first this many ms are timed apart (start-up). */
  warmupMs: number;
}

export interface WindowReport {
  type: 'window';
  thread: number;
  records: number;
  bytes: number;
  latCount: number;
  latSum: number;
  latMax: number;
}

export interface DoneReport {
  type: 'done';
  thread: number;
  records: number;
  bytes: number;
  hist: { counts: Float64Array; count: number; sum: number; max: number };
  /** consume: ms spent joining the group; epoch ms of the first fetch and of the last record. */
  rebalanceMs: number;
  fetchStart: number;
  lastRecordAt: number;
  /** epoch ms when this thread began sending or fetching (after connecting and setting up). */
  begunAt: number;
  /**
   * end-to-end: records sent during the warm-up (not in `hist`), and, on a LogAppendTime
   * topic, the two legs of the others: send to the broker's append, and append to delivery.
   */
  e2e?: { warmup: HistogramData; append: HistogramData; deliver: HistogramData };
}

type HistogramData = { counts: Float64Array; count: number; sum: number; max: number };

export type WorkerMessage = WindowReport | DoneReport | { type: 'error'; thread: number; message: string };

/** Distinct payloads per thread: more than a batch holds, so a codec never sees one value repeated. */
const POOL = 65_536;
const SENT_HEADER = 'perf.sent';

class Meter {
  readonly hist = new LatencyHistogram();
  records = 0;
  bytes = 0;
  private wCount = 0;
  private wSum = 0;
  private wMax = 0;

  latency(ms: number, n = 1): void {
    this.hist.add(ms, n);
    this.wCount += n;
    this.wSum += ms * n;
    if (ms > this.wMax) this.wMax = ms;
  }

  window(thread: number): WindowReport {
    const w: WindowReport = { type: 'window', thread, records: this.records, bytes: this.bytes, latCount: this.wCount, latSum: this.wSum, latMax: this.wMax };
    this.wCount = this.wSum = this.wMax = 0;
    return w;
  }
}

async function run(task: WorkerTask, port: NonNullable<typeof parentPort>): Promise<void> {
  const cluster = await Cluster.connect({ bootstrap: task.bootstrap, clientId: `sluice-perf-${task.thread}`, requestTimeoutMs: task.requestTimeoutMs });
  const meter = new Meter();
  const ticker = setInterval(() => port.postMessage(meter.window(task.thread)), 1000);
  const done: DoneReport = { type: 'done', thread: task.thread, records: 0, bytes: 0, hist: meter.hist, rebalanceMs: 0, fetchStart: Date.now(), lastRecordAt: 0, begunAt: Date.now() };
  try {
    if (task.mode === 'produce') await produce(task, cluster, meter, done);
    else if (task.mode === 'consume') await consume(task, cluster, meter, done);
    else await endToEnd(task, cluster, meter, done);
  } finally {
    clearInterval(ticker);
    cluster.close();
  }
  done.records = meter.records;
  done.bytes = meter.bytes;
  port.postMessage(done);
}

function payloads(task: WorkerTask): Buffer[] {
  if (task.payloadText !== undefined) return filePayloads(task.payloadText, task.payloadDelimiter);
  return logPayloads(POOL, task.recordSize, 1 + task.thread * 7919);
}

/** Paces a loop at `rate` per second: resolves when record `i` is due (at once when -1). */
function pacer(rate: number): (i: number) => Promise<void> | null {
  const start = performance.now();
  if (rate < 0) return () => null;
  return (i) => {
    const ahead = (i * 1000) / rate - (performance.now() - start);
    return ahead >= 1 ? sleep(ahead) : null;
  };
}

async function produce(task: WorkerTask, cluster: Cluster, meter: Meter, done: DoneReport): Promise<void> {
  if (task.records === 0) return;
  const values = payloads(task);
  const producer = new Producer(cluster, {
    ...task.producer,
    allowAutoTopicCreation: false,
    onDelivered: (count, first, last) => {
      const now = performance.now();
      if (first === last) return meter.latency(now - first, count);
      // Records of a batch were appended between first and last: spread them evenly.
      const step = count > 1 ? (last - first) / (count - 1) : 0;
      for (let k = 0; k < count; k++) meter.latency(now - (first + step * k));
    },
  });
  await producer.partitionsOf(task.topic);
  const avg = values.reduce((s, v) => s + v.length, 0) / values.length;
  // Fill one partition's batch, then the next (as the sticky partitioner does), over this
  // thread's partitions only.
  const block = Math.max(1, Math.floor((task.producer.batchBytes ?? 256 * 1024) / (avg + 16)));
  const parts = task.partitions;
  done.begunAt = Date.now();
  const due = pacer(task.throughput);
  const stats = producer.stats;
  const sync = () => {
    meter.records = stats.records;
    meter.bytes = stats.bytes;
  };
  const syncer = setInterval(sync, 250);
  try {
    if (task.throughput < 0 && !task.encodeRecords) {
      // As fast as possible: pre-encoded batches, each only copied, stamped with the time and
      // its CRC redone before it goes out; the client's own encoding is no longer the limit.
      const pool = batchPool(values, block, task.producer.compression ?? 'none');
      done.begunAt = Date.now();
      for (let sent = 0, k = 0; sent < task.records; k++) {
        const p = pool[k % pool.length]!;
        const count = Math.min(p.count, task.records - sent);
        let batch: Buffer;
        let bytes = p.bytes;
        if (count === p.count) batch = stamped(p.batch);
        else {
          // The last batch, when shorter, holds the first records of the pooled one it stands for.
          const tail = p.values.slice(0, count);
          batch = buildBatch(tail.map((value) => ({ value })), { compression: task.producer.compression ?? 'none' });
          bytes = tail.reduce((n, v) => n + v.length, 0);
        }
        if (!producer.sendBatch(task.topic, parts[k % parts.length]!, batch, count, bytes)) await producer.room();
        sent += count;
        // Let answers and timers in now and then: sendBatch never yields by itself.
        if ((k & 7) === 7) await new Promise(setImmediate);
      }
      await producer.flush();
      return;
    }
    for (let i = 0; i < task.records; i++) {
      const value = values[i % values.length]!;
      const partition = parts[Math.floor(i / block) % parts.length]!;
      if (!producer.append({ topic: task.topic, partition, value })) await producer.room();
      if ((i & 63) === 0) {
        const wait = due(i);
        if (wait !== null) await wait;
        // Let answers and timers in now and then: append never yields by itself.
        else if ((i & 8191) === 0) await new Promise(setImmediate);
      }
    }
    await producer.flush();
  } finally {
    clearInterval(syncer);
    sync();
  }
}

interface PooledBatch {
  batch: Buffer;
  values: Buffer[];
  count: number;
  /** Value bytes of its records. */
  bytes: number;
}

/**
 * Every payload of the pool in a batch of `perBatch` records, encoded once: the batches differ
 * as the payloads do, so a codec never sees the same batch twice in a row.
 */
function batchPool(values: Buffer[], perBatch: number, compression: ProducerCompression): PooledBatch[] {
  const now = Date.now();
  const pool: PooledBatch[] = [];
  for (let i = 0; i < values.length; i += perBatch) {
    let chunk = values.slice(i, i + perBatch);
    // The last batch is filled up from the start of the pool, so every batch holds perBatch.
    if (chunk.length < perBatch) chunk = chunk.concat(values.slice(0, Math.min(values.length, perBatch) - chunk.length));
    const batch = buildBatch(chunk.map((value) => ({ value, timestamp: now })), { compression, now });
    pool.push({ batch, values: chunk, count: chunk.length, bytes: chunk.reduce((n, v) => n + v.length, 0) });
  }
  return pool;
}

/** A copy of a pooled batch with its timestamps set to now (every record's delta is 0) and its CRC redone. */
function stamped(pooled: Buffer): Buffer {
  const batch = Buffer.allocUnsafeSlow(pooled.length);
  pooled.copy(batch);
  const now = Date.now();
  writeInt64(batch, BASE_TIMESTAMP_OFFSET, now);
  writeInt64(batch, MAX_TIMESTAMP_OFFSET, now);
  batch.writeUInt32BE(computeBatchCrc(batch, 0, batch.length), CRC_OFFSET);
  return batch;
}

async function consume(task: WorkerTask, cluster: Cluster, meter: Meter, done: DoneReport): Promise<void> {
  const consumer = new Consumer(cluster, { autoOffsetReset: 'earliest', ...task.consumer });
  const shared = new BigInt64Array(task.consumed);
  const total = BigInt(task.totalRecords);
  let member: GroupMember | null = null;
  if (task.group !== undefined) {
    const t0 = Date.now();
    member = new GroupMember(cluster, { groupId: task.group, topics: [task.topic] });
    const assignment = await member.join();
    const committed = await member.committed(assignment);
    for (const a of assignment) {
      const offsets = committed.get(a.topic);
      for (const p of a.partitions) {
        const o = offsets?.get(p);
        await consumer.assign(a.topic, [p], o !== undefined && o >= 0 ? { offset: o } : { earliest: true });
      }
    }
    done.rebalanceMs = Date.now() - t0;
  } else if (task.partitions.length > 0) await consumer.assign(task.topic, task.partitions, { earliest: true });
  done.fetchStart = done.begunAt = Date.now();
  let last = Date.now();
  try {
    if (!task.decodeRecords) {
      const counted: BatchCount = { records: 0, bytes: 0, next: 0, complete: true };
      let got = 0;
      // Counts each batch's records from its bytes; Atomics keeps threads to --num-records in all.
      const onBatch = (_topic: string, _partition: number, batch: Buffer, position: number): number | undefined => {
        const left = Number(total - Atomics.load(shared, 0));
        if (left <= 0) return position;
        countBatch(batch, position, left, counted);
        const before = Atomics.add(shared, 0, BigInt(counted.records));
        const take = before >= total ? 0 : Math.min(counted.records, Number(total - before));
        if (take < counted.records) countBatch(batch, position, take, counted);
        got += counted.records;
        meter.records += counted.records;
        meter.bytes += counted.bytes;
        // Records past --num-records stay unread, so a group commits where the count ended.
        return counted.complete ? undefined : counted.next;
      };
      while (Atomics.load(shared, 0) < total) {
        got = 0;
        await consumer.pollBatches(onBatch);
        const now = Date.now();
        if (got === 0) {
          if (now - last > task.timeoutMs) break;
          continue;
        }
        last = done.lastRecordAt = now;
      }
      return;
    }
    while (Atomics.load(shared, 0) < total) {
      const records = await consumer.poll();
      const now = Date.now();
      if (records.length === 0) {
        if (now - last > task.timeoutMs) break;
        continue;
      }
      // Count only up to the total, as kafka-consumer-perf-test stops at --messages.
      const before = Atomics.add(shared, 0, BigInt(records.length));
      const take = before >= total ? 0 : Math.min(records.length, Number(total - before));
      let bytes = 0;
      for (let k = 0; k < take; k++) {
        const r = records[k]!;
        bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0);
      }
      meter.records += take;
      meter.bytes += bytes;
      last = now;
      if (take > 0) done.lastRecordAt = now;
      if (take < records.length && member !== null) {
        const r = records[take]!;
        consumer.seek(r.topic, r.partition, r.offset);
      }
    }
  } finally {
    if (member !== null) {
      const offsets = new Map<string, Map<number, number>>();
      for (const p of consumer.positions()) {
        let m = offsets.get(p.topic);
        if (m === undefined) offsets.set(p.topic, (m = new Map()));
        m.set(p.partition, p.position);
      }
      await member.commit(offsets).catch(() => {});
      await member.leave().catch(() => {});
    }
  }
}

/**
 * Each record carries its send time (performance.now(), a header) and is timed when the poll
 * hands it over. The producer sends each record at once (linger.ms 0 unless set) and the fetch
 * returns as soon as a record arrives (fetch.min.bytes 1), so no batching wait sits between.
 */
async function endToEnd(task: WorkerTask, cluster: Cluster, meter: Meter, done: DoneReport): Promise<void> {
  const values = payloads(task);
  const producer = new Producer(cluster, { acks: 1, lingerMs: 0, ...task.producer, allowAutoTopicCreation: false });
  // The consumer has connections of its own, as a separate client would: a broker answers one
  // connection's requests in order, so a Fetch waiting for data held back the Produce answers
  // queued behind it until its fetch.max.wait.ms ran out (the 100 ms tail at 50% load).
  const fetching = await Cluster.connect({ bootstrap: task.bootstrap, clientId: `sluice-perf-${task.thread}-consumer`, requestTimeoutMs: task.requestTimeoutMs });
  try {
    await endToEndWith(task, producer, new Consumer(fetching, { maxWaitMs: 100, ...task.consumer, minBytes: 1 }), values, meter, done);
  } finally {
    fetching.close();
  }
}

async function endToEndWith(task: WorkerTask, producer: Producer, consumer: Consumer, values: Buffer[], meter: Meter, done: DoneReport): Promise<void> {
  await producer.partitionsOf(task.topic);
  await consumer.assign(task.topic, task.partitions, { latest: true });
  let received = 0;
  let lastAt = Date.now();
  done.begunAt = lastAt;
  let sendError: Error | null = null;
  // Send and delivery times are epoch ms with µs precision (timeOrigin + now), so that they
  // compare with the broker's LogAppendTime stamp (epoch ms) on the same machine.
  const origin = performance.timeOrigin;
  const warmUntil = origin + performance.now() + task.warmupMs;
  const split = { warmup: new LatencyHistogram(), append: new LatencyHistogram(), deliver: new LatencyHistogram() };
  done.e2e = split;
  const sending = (async () => {
    const due = pacer(task.throughput);
    for (let i = 0; i < task.records; i++) {
      const wait = due(i);
      if (wait !== null) await wait;
      const stamp = Buffer.allocUnsafe(8);
      stamp.writeDoubleLE(origin + performance.now());
      const partition = task.partitions[i % task.partitions.length]!;
      if (!producer.append({ topic: task.topic, partition, value: values[i % values.length]!, headers: [{ key: SENT_HEADER, value: stamp }] })) await producer.room();
    }
    await producer.flush();
  })().catch((err: Error) => {
    sendError = err;
  });
  const time = (sent: number, now: number, appendMs: number) => {
    if (sent < warmUntil) split.warmup.add(now - sent);
    else {
      meter.latency(now - sent);
      if (appendMs >= 0) {
        split.append.add(appendMs - sent);
        split.deliver.add(now - appendMs);
      }
    }
  };
  if (!task.decodeRecords) {
    // The send stamps are read in place from the fetched batches (perf-count.ts).
    let now = 0;
    let got = 0;
    const onStamp = (sent: number, appendMs: number, valueBytes: number) => {
      time(sent, now, appendMs);
      meter.bytes += valueBytes;
      got++;
    };
    const onBatch = (_topic: string, _partition: number, batch: Buffer, position: number): undefined => {
      // Delivery: when the answer is there, the same moment for all of its records.
      if (now === 0) now = origin + performance.now();
      forEachStamp(batch, position, onStamp);
      return undefined;
    };
    while (received < task.records && sendError === null) {
      got = 0;
      now = 0;
      await consumer.pollBatches(onBatch);
      received += got;
      meter.records = received;
      if (got > 0) lastAt = Date.now();
      else if (Date.now() - lastAt > task.timeoutMs) throw new Error(`end-to-end: no record came back for ${task.timeoutMs} ms (${received} of ${task.records} received)`);
    }
    await sending;
    if (sendError !== null) throw sendError;
    return;
  }
  while (received < task.records && sendError === null) {
    const records = await consumer.poll();
    const now = origin + performance.now();
    for (const r of records) {
      const h = r.headers.find((x) => x.key === SENT_HEADER);
      if (h?.value == null || h.value.length !== 8) continue;
      const sent = h.value.readDoubleLE(0);
      if (sent < warmUntil) split.warmup.add(now - sent);
      else {
        meter.latency(now - sent);
        // With LogAppendTime the broker stamped each batch as it appended it: the two legs.
        if (r.timestampType === 'LogAppendTime') {
          split.append.add(r.timestamp - sent);
          split.deliver.add(now - r.timestamp);
        }
      }
      meter.bytes += r.value?.length ?? 0;
      received++;
    }
    meter.records = received;
    if (records.length > 0) lastAt = Date.now();
    else if (Date.now() - lastAt > task.timeoutMs) throw new Error(`end-to-end: no record came back for ${task.timeoutMs} ms (${received} of ${task.records} received)`);
  }
  await sending;
  if (sendError !== null) throw sendError;
}

if (parentPort !== null) {
  const port = parentPort;
  const task = workerData as WorkerTask;
  run(task, port).catch((err: unknown) => port.postMessage({ type: 'error', thread: task.thread, message: err instanceof Error ? err.message : String(err) }));
}
