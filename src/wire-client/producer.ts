/**
 * A producer over the wire: records collect in one batch per partition; a batch goes out when
 * it reaches `batchBytes` or `lingerMs` after its first record, in one Produce request per
 * leader holding every ready partition of that leader. A keyed record goes where the Java
 * client puts it (murmur2, src/client/partitioner.ts); records without a key stick to one
 * partition per topic until its batch is sent (KIP-480).
 *
 * acks: 0 (no answer: a request counts as done once written), 1 (leader), -1 (all in-sync
 * replicas). Retriable errors (a leader moved, a partition not ready yet) refresh metadata and
 * resend the same batch, up to `retries` times; any other error fails the next send/flush.
 * Requests to a broker are pipelined, so with retries order across batches of one partition
 * may change, as in Kafka without idempotence. Not thread-safe.
 */
import { ApiKey } from '../protocol/apis.js';
import { isRetriable } from '../protocol/error-codes.js';
import { partitionForKey, StickyPartitioner } from '../client/partitioner.js';
import { buildBatch, type RecordHeader, type RecordInput } from '../record/builder.js';
import { sleep, type Cluster } from './cluster.js';
import { brokerError } from './errors.js';

export type Acks = 0 | 1 | -1;
export type ProducerCompression = 'none' | 'gzip' | 'snappy' | 'lz4';

export interface ProducerOptions {
  acks?: Acks;
  compression?: ProducerCompression;
  /** Wait this long for more records before sending a batch (default 5). */
  lingerMs?: number;
  /** Send a partition's batch once its records reach this many bytes (default 256 KiB). */
  batchBytes?: number;
  /** send() waits while this many bytes are buffered or in flight (default 32 MiB). */
  maxBufferedBytes?: number;
  /** Produce timeoutMs: how long the broker may wait for replicas (default 30000). */
  timeoutMs?: number;
  retries?: number;
  /** Create a topic that does not exist, where the broker allows it (default true, as Kafka's producer). */
  allowAutoTopicCreation?: boolean;
  /**
   * Called once per batch acknowledged (written, for acks=0) with its record count and the
   * performance.now() of its first and last append: per-record latency for benchmarks.
   */
  onDelivered?: (count: number, firstAppendMs: number, lastAppendMs: number) => void;
}

export interface ProducerRecord {
  topic: string;
  /** Default: by key (murmur2), else sticky. */
  partition?: number;
  key?: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeader[];
  timestamp?: number;
}

interface Accumulating {
  topic: string;
  partition: number;
  records: RecordInput[];
  bytes: number;
  firstAt: number;
  lastAt: number;
}

interface Ready {
  topic: string;
  partition: number;
  batch: Buffer;
  count: number;
  bytes: number;
  attempts: number;
  firstAt: number;
  lastAt: number;
}

export class Producer {
  private readonly acks: Acks;
  private readonly compression: ProducerCompression;
  private readonly lingerMs: number;
  private readonly batchBytes: number;
  private readonly maxBufferedBytes: number;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly autoCreate: boolean;
  private readonly onDelivered: ProducerOptions['onDelivered'];
  private readonly sticky = new StickyPartitioner();
  private readonly partitionCounts = new Map<string, number>();
  private readonly accumulating = new Map<string, Accumulating>();
  private readonly inFlight = new Set<Promise<void>>();
  /** Cancels the pending linger send (a timer, or an immediate for linger.ms 0). */
  private lingerTimer: (() => void) | null = null;
  private bufferedBytes = 0;
  private failure: Error | null = null;
  /** Records and value+key bytes the brokers acknowledged (written, for acks=0). */
  readonly stats = { records: 0, bytes: 0, requests: 0 };

  constructor(
    private readonly cluster: Cluster,
    options: ProducerOptions = {},
  ) {
    this.acks = options.acks ?? -1;
    this.compression = options.compression ?? 'none';
    this.lingerMs = options.lingerMs ?? 5;
    this.batchBytes = options.batchBytes ?? 256 * 1024;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 32 * 1024 * 1024;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 5;
    this.autoCreate = options.allowAutoTopicCreation ?? true;
    this.onDelivered = options.onDelivered;
  }

  /** Partitions of a topic (metadata fetched once; the topic is created if allowed). */
  async partitionsOf(topic: string): Promise<number> {
    let n = this.partitionCounts.get(topic);
    if (n === undefined) {
      n = (await this.cluster.topic(topic, this.autoCreate)).partitions.length;
      this.partitionCounts.set(topic, n);
    }
    return n;
  }

  /** Adds a record to its partition's batch; waits while too much is buffered. */
  async send(r: ProducerRecord): Promise<void> {
    if (!this.partitionCounts.has(r.topic)) await this.partitionsOf(r.topic);
    if (!this.append(r)) await this.room();
  }

  /**
   * send() without the wait, for hot loops: the topic's partition count must be known
   * (partitionsOf). Returns false when the caller should await room() before adding more.
   */
  append(r: ProducerRecord): boolean {
    if (this.failure !== null) throw this.failure;
    const count = this.partitionCounts.get(r.topic);
    if (count === undefined) throw new Error(`append before partitionsOf('${r.topic}')`);
    let partition = r.partition;
    if (partition === undefined) {
      partition = r.key != null ? partitionForKey(r.key, count) : this.sticky.partition(r.topic, count);
    } else if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
      throw brokerError(3, `topic '${r.topic}' has partitions 0-${count - 1}, not ${partition}`);
    }
    const id = `${r.topic}\0${partition}`;
    let acc = this.accumulating.get(id);
    const at = this.onDelivered === undefined ? 0 : performance.now();
    if (acc === undefined) this.accumulating.set(id, (acc = { topic: r.topic, partition, records: [], bytes: 0, firstAt: at, lastAt: at }));
    acc.lastAt = at;
    const size = (r.key?.length ?? 0) + (r.value?.length ?? 0) + 16;
    acc.records.push({ key: r.key ?? null, value: r.value, headers: r.headers, timestamp: r.timestamp });
    acc.bytes += size;
    this.bufferedBytes += size;
    if (acc.bytes >= this.batchBytes) this.ship([id]);
    // linger.ms 0: send once the current burst of appends is done, not after a timer's 1 ms
    // minimum (a wait that end-to-end latency measured).
    else if (this.lingerTimer === null) {
      if (this.lingerMs === 0) {
        const t = setImmediate(() => this.ship(null));
        this.lingerTimer = () => clearImmediate(t);
      } else {
        const t = setTimeout(() => this.ship(null), this.lingerMs);
        this.lingerTimer = () => clearTimeout(t);
      }
    }
    return this.bufferedBytes <= this.maxBufferedBytes;
  }

  /**
   * Sends one already encoded RecordBatch v2 to a partition at once (no accumulating, no
   * linger), for benchmarks that encode their own batches. `count` records and `bytes` of keys
   * and values count in stats when it is acknowledged. Returns false when the caller should
   * await room() before sending more. The Buffer must not change until acknowledged.
   */
  sendBatch(topic: string, partition: number, batch: Buffer, count: number, bytes: number): boolean {
    if (this.failure !== null) throw this.failure;
    const at = this.onDelivered === undefined ? 0 : performance.now();
    const size = bytes + 16 * count;
    this.bufferedBytes += size;
    this.track(this.sendReady([{ topic, partition, batch, count, bytes: size, attempts: 0, firstAt: at, lastAt: at }]));
    return this.bufferedBytes <= this.maxBufferedBytes;
  }

  /** Waits until buffered bytes are below maxBufferedBytes (or nothing is in flight). */
  async room(): Promise<void> {
    while (this.bufferedBytes > this.maxBufferedBytes && this.inFlight.size > 0) await Promise.race(this.inFlight);
    if (this.failure !== null) throw this.failure;
  }

  /** Sends everything buffered and waits for every answer; throws the first failure. */
  async flush(): Promise<void> {
    this.ship(null);
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    if (this.failure !== null) throw this.failure;
  }

  /** Seals the batches of `ids` (null: all) and sends them, grouped by leader. */
  private ship(ids: string[] | null): void {
    if (ids === null && this.lingerTimer !== null) {
      this.lingerTimer();
      this.lingerTimer = null;
    }
    const ready: Ready[] = [];
    for (const id of ids ?? [...this.accumulating.keys()]) {
      const acc = this.accumulating.get(id);
      if (acc === undefined) continue;
      this.accumulating.delete(id);
      const batch = buildBatch(acc.records, { compression: this.compression });
      ready.push({ topic: acc.topic, partition: acc.partition, batch, count: acc.records.length, bytes: acc.bytes, attempts: 0, firstAt: acc.firstAt, lastAt: acc.lastAt });
      this.sticky.next(acc.topic, acc.partition, this.partitionCounts.get(acc.topic) ?? 1);
    }
    if (ready.length > 0) this.track(this.sendReady(ready));
  }

  private track(p: Promise<void>): void {
    const tracked = p.catch((err: Error) => {
      this.failure ??= err;
    }).finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private async sendReady(ready: Ready[]): Promise<void> {
    const byLeader = await this.cluster.byLeader(ready, (b) => b);
    await Promise.all([...byLeader].map(([leader, batches]) => this.produce(leader, batches)));
  }

  private async produce(leader: number, batches: Ready[]): Promise<void> {
    const conn = await this.cluster.broker(leader);
    const topics = new Map<string, { index: number; records: Buffer }[]>();
    for (const b of batches) {
      let list = topics.get(b.topic);
      if (list === undefined) topics.set(b.topic, (list = []));
      list.push({ index: b.partition, records: b.batch });
    }
    const body = {
      transactionalId: null,
      acks: this.acks,
      timeoutMs: this.timeoutMs,
      topicData: [...topics].map(([name, partitionData]) => ({ name, partitionData })),
    };
    this.stats.requests++;
    if (this.acks === 0) {
      await conn.send(ApiKey.Produce, body);
      for (const b of batches) this.done(b);
      return;
    }
    const res = await conn.request(ApiKey.Produce, body, { extraTimeoutMs: this.timeoutMs });
    const retry: Ready[] = [];
    for (const t of res.responses) {
      for (const p of t.partitionResponses) {
        const b = batches.find((x) => x.topic === t.name && x.partition === p.index);
        if (b === undefined) continue;
        if (p.errorCode === 0) this.done(b);
        else if (isRetriable(p.errorCode) && b.attempts < this.retries) {
          b.attempts++;
          retry.push(b);
        } else throw brokerError(p.errorCode, `producing to ${t.name}-${p.index}`, p.errorMessage);
      }
    }
    if (retry.length > 0) {
      await sleep(100 * retry[0]!.attempts);
      await this.cluster.metadata([...new Set(retry.map((b) => b.topic))]);
      await this.sendReady(retry);
    }
  }

  private done(b: Ready): void {
    this.stats.records += b.count;
    this.stats.bytes += b.bytes - 16 * b.count;
    this.bufferedBytes -= b.bytes;
    this.onDelivered?.(b.count, b.firstAt, b.lastAt);
  }
}
