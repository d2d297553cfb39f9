/**
 * The embedded producer. Records are placed on partitions (explicit partition, else Kafka's
 * murmur2 of the key, else sticky), gathered into one batch per partition until batch.size
 * bytes or linger.ms, built (and compressed on the worker pool when big enough) and appended
 * in order. `send` resolves with the partition and offset of every record. Not thread-safe.
 */
import { pack } from 'msgpackr';
import type { ClientHost } from '../broker/engine.js';
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';
import { Arenas, BatchWriter, recordSizeBound } from '../record/batch-writer.js';
import type { CompressionName, RecordBytes, RecordHeader } from '../record/index.js';
import { InvalidTopicError, SluiceClosedError, UnknownTopicError } from '../broker/errors.js';
import { isInternalTopic } from '../broker/topic-name.js';
import { StickyPartitioner, partitionForKey } from './partitioner.js';
import { TransactionalSession } from './transactional-session.js';

export interface ProducerOptions {
  /** linger.ms: wait this long for more records before sending a batch (default 0: the end of the current tick). */
  lingerMs?: number;
  /** batch.size: send a partition's batch once its records reach this many bytes (default 512 KiB). */
  batchSize?: number;
  /** compression.type: codec of the batches (default 'none'; a topic's own compression.type wins). */
  compression?: Exclude<CompressionName, 'zstd'>;
  /** buffer.memory: bytes of records held before `send` waits for room (default 32 MiB). */
  bufferMemory?: number;
  /** acks: 0 resolves without waiting for the append, 1 after it, 'all' / -1 also after the fsync in 'fsync' durability (default 'all'). */
  acks?: 0 | 1 | -1 | 'all';
  /** Encodes values that are not Buffer, Uint8Array, string or null (default: msgpack via msgpackr). */
  valueSerializer?: (value: unknown) => Buffer;
  /**
   * transactional.id: makes the producer transactional (beginTransaction, commitTransaction,
   * abortTransaction, sendOffsetsToTransaction), with the same coordinator and semantics as a
   * Kafka client's over the wire. A second producer with the same id fences this one.
   */
  transactionalId?: string;
  /** transaction.timeout.ms (default 60000): the coordinator aborts a transaction open longer. */
  transactionTimeoutMs?: number;
}

/** An offset to commit with a transaction (the next record the group will read). */
export interface TransactionOffset {
  topic: string;
  partition: number;
  offset: number;
  metadata?: string;
}

export interface ProducerRecord {
  key?: Buffer | Uint8Array | string | null;
  /** Buffer, Uint8Array, string (UTF-8), null, or any value the serializer takes (msgpack by default). */
  value: unknown;
  headers?: Record<string, Buffer | string | null> | RecordHeader[];
  /** Milliseconds since the epoch (default: now). */
  timestamp?: number;
  /** Send to this partition instead of choosing by key. */
  partition?: number;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** -1 with acks 0. */
  offset: number;
  timestamp: number;
}

/** A record larger than max.message.bytes. */
export class MessageTooLargeError extends KafkaError {
  constructor(topic: string, size: number, max: number) {
    super(ErrorCode.MESSAGE_TOO_LARGE, `a record of about ${size} bytes exceeds max.message.bytes (${max}) of topic '${topic}'`);
    this.name = 'MessageTooLargeError';
  }
}

interface SendHandle {
  results: RecordMetadata[];
  /** Records not yet written (or given up); buffer.memory is released when it reaches 0. */
  pending: number;
  /** buffer.memory reserved for the send (its records' size bounds). */
  bytes: number;
  failed: boolean;
  resolve: (r: RecordMetadata[]) => void;
  reject: (e: unknown) => void;
}

/** A run of consecutive records of one send inside a batch. */
interface Span {
  handle: SendHandle;
  /** Index of the run's first record in the send. */
  slot: number;
  count: number;
}

/** A partition's batch being filled: records are encoded into `writer` as they are sent. */
interface OpenBatch {
  topic: string;
  partition: number;
  writer: BatchWriter;
  spans: Span[];
  sticky: boolean;
  timer: NodeJS.Timeout | null;
}

export class Producer {
  private readonly lingerMs: number;
  private readonly batchSize: number;
  private readonly bufferMemory: number;
  private readonly acks: 0 | 1 | 'all';
  private readonly serialize: (value: unknown) => Buffer;
  private readonly sticky = new StickyPartitioner();
  /** Batch buffers, reused: a few batches' worth is kept while unused. */
  private readonly arenas: Arenas;
  /** Open batches by topic, then by partition. */
  private readonly open = new Map<string, (OpenBatch | undefined)[]>();
  private openCount = 0;
  private readonly inFlight = new Set<Promise<unknown>>();
  private memoryUsed = 0;
  private readonly memoryWaiters: { bytes: number; go: () => void }[] = [];
  private immediate: NodeJS.Immediate | null = null;
  private closed = false;
  /** Present for a producer with a transactionalId. */
  private readonly txn: TransactionalSession | null;

  constructor(
    private readonly sluice: ClientHost,
    private readonly options: ProducerOptions = {},
  ) {
    this.lingerMs = options.lingerMs ?? 0;
    this.batchSize = options.batchSize ?? 512 * 1024;
    this.bufferMemory = options.bufferMemory ?? 32 * 1024 * 1024;
    this.acks = options.acks === -1 || options.acks === undefined || options.acks === 'all' ? 'all' : options.acks;
    this.serialize = options.valueSerializer ?? ((v) => pack(v));
    if (!(this.lingerMs >= 0)) throw new RangeError(`lingerMs must be >= 0, not ${options.lingerMs}`);
    if (!(this.batchSize >= 1)) throw new RangeError(`batchSize must be >= 1, not ${options.batchSize}`);
    this.arenas = new Arenas(Math.min(this.bufferMemory / 4, 8 * Math.max(this.batchSize, 64 * 1024)));
    this.txn = options.transactionalId === undefined ? null : new TransactionalSession(sluice, options.transactionalId, options.transactionTimeoutMs ?? 60_000);
  }

  /**
   * Gets the producer id and epoch of the transactionalId from the coordinator (Kafka's
   * initTransactions): fences older producers with the same id and aborts what they left
   * open. beginTransaction calls it when it was not called.
   */
  async initTransactions(): Promise<void> {
    await this.transactional().init();
  }

  /** Starts a transaction: records sent until commit or abort belong to it. */
  async beginTransaction(): Promise<void> {
    await this.transactional().begin();
  }

  /**
   * Commits `offsets` of consumer group `groupId` as part of the transaction: they become the
   * group's committed offsets only if the transaction commits (consume-transform-produce).
   */
  async sendOffsetsToTransaction(offsets: TransactionOffset[], groupId: string): Promise<void> {
    await this.transactional().sendOffsets(offsets, groupId);
  }

  /** Writes every record sent in the transaction, then commits it. */
  async commitTransaction(): Promise<void> {
    const txn = this.transactional();
    await this.flush();
    await txn.end(true);
  }

  /** Writes what is still buffered, then aborts the transaction: none of its records count. */
  async abortTransaction(): Promise<void> {
    const txn = this.transactional();
    await this.flush();
    await txn.end(false);
  }

  private transactional(): TransactionalSession {
    if (this.closed) throw new SluiceClosedError('producer');
    if (this.txn === null) throw new KafkaError(ErrorCode.INVALID_TXN_STATE, 'this producer has no transactionalId: create it with producer({ transactionalId })');
    return this.txn;
  }

  /**
   * Sends records to `topic` (created on first use when auto-creation is on). Resolves, in
   * the order given, with where each record landed; rejects if any record could not be
   * written (records of other batches are not affected). A record with a field of the wrong
   * type, or larger than max.message.bytes, fails the whole send before any of it is sent.
   */
  async send(topic: string, records: ProducerRecord | ProducerRecord[]): Promise<RecordMetadata[]> {
    if (this.closed) throw new SluiceClosedError('producer');
    const list = Array.isArray(records) ? records : [records];
    const n = list.length;
    if (n === 0) return [];
    if (isInternalTopic(topic)) throw new InvalidTopicError(topic, 'it is internal to the broker: only the group coordinator appends to it');
    this.txn?.checkSend();
    if (!this.sluice.hasTopic(topic)) await this.sluice.ensureTopic(topic);
    const partitions = this.sluice.partitionCount(topic);
    const config = this.sluice.topicConfig(topic);
    const maxMessageBytes = Number(config['max.message.bytes']);
    if (config['cleanup.policy']!.includes('compact')) {
      const keyless = list.findIndex((r) => r.key == null);
      if (keyless >= 0) throw new KafkaError(ErrorCode.INVALID_RECORD, `topic '${topic}' is compacted (cleanup.policy=compact): record ${keyless} needs a key`);
    }
    // Check every record first (types, sizes) and serialize values that are not bytes, so a
    // bad record fails the send before any of it is placed.
    let serialized: (Buffer | undefined)[] | null = null;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const r = list[i]!;
      let value = r.value;
      if (!(value == null || typeof value === 'string' || value instanceof Uint8Array)) {
        value = this.serialize(value);
        (serialized ??= new Array<Buffer | undefined>(n))[i] = value as Buffer;
      }
      const size = recordSizeBound(r.key, value, r.headers, r.timestamp);
      if (size > maxMessageBytes) throw new MessageTooLargeError(topic, size, maxMessageBytes);
      bytes += size;
    }
    await this.reserve(bytes);
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      const handle: SendHandle = { results: new Array(n), pending: n, bytes, failed: false, resolve, reject };
      const limit = Math.min(this.batchSize, maxMessageBytes);
      let batch: OpenBatch | null = null;
      // Records [runStart, i) went into `batch`: one span, added when the run ends.
      let runStart = 0;
      let stickyPartition = -1;
      let i = 0;
      const endRun = () => {
        if (batch !== null && i > runStart) batch.spans.push({ handle, slot: runStart, count: i - runStart });
        runStart = i;
      };
      try {
        for (; i < n; i++) {
          const r = list[i]!;
          let partition: number;
          let sticky = false;
          if (r.partition !== undefined) {
            partition = r.partition;
            if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) {
              endRun();
              runStart = i + 1;
              this.fail(handle, new UnknownTopicError(topic, partition));
              this.settle(handle, 1);
              continue;
            }
          } else if (r.key != null) {
            partition = partitionForKey(typeof r.key === 'string' ? Buffer.from(r.key) : r.key, partitions);
          } else {
            if (stickyPartition < 0) stickyPartition = this.sticky.partition(topic, partitions);
            partition = stickyPartition;
            sticky = true;
          }
          if (batch === null || batch.partition !== partition) {
            endRun();
            batch = this.batchFor(topic, partition, limit);
          }
          const value = (serialized !== null ? serialized[i] : undefined) ?? (r.value as RecordBytes | null | undefined);
          if (!batch.writer.tryAppend(r.key, value, r.headers, r.timestamp)) {
            // Full: send it, and start the next batch (on the next sticky partition when keyless).
            endRun();
            this.drain(batch);
            if (sticky) partition = stickyPartition = this.sticky.partition(topic, partitions);
            batch = this.batchFor(topic, partition, limit);
            batch.writer.tryAppend(r.key, value, r.headers, r.timestamp);
          }
          if (sticky) batch.sticky = true;
        }
        endRun();
      } catch (err) {
        // Only a record the checks above let through could get here; the records before it
        // are placed and go out with their batches, the rest are given up.
        endRun();
        this.fail(handle, err);
        this.settle(handle, n - i);
      }
      this.scheduleLinger();
      if (this.acks === 0 && !handle.failed) {
        const now = Date.now();
        for (let k = 0; k < n; k++) handle.results[k] ??= { topic, partition: -1, offset: -1, timestamp: list[k]!.timestamp ?? now };
        resolve(handle.results);
      }
    });
  }

  /** Bytes of records accepted by send() and not yet written (bounded by bufferMemory). */
  get bufferedBytes(): number {
    return this.memoryUsed;
  }

  /** Sends every open batch now and waits until all sends so far are done. */
  async flush(): Promise<void> {
    this.drainAll();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Flushes, then refuses further sends. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    this.arenas.clear();
    this.sluice.untrack(this);
  }

  private batchFor(topic: string, partition: number, limit: number): OpenBatch {
    let byPartition = this.open.get(topic);
    if (!byPartition) this.open.set(topic, (byPartition = []));
    let b = byPartition[partition];
    if (!b) {
      b = { topic, partition, writer: new BatchWriter(Date.now(), limit, this.arenas), spans: [], sticky: false, timer: null };
      byPartition[partition] = b;
      this.openCount++;
    }
    return b;
  }

  private drainAll(): void {
    for (const byPartition of this.open.values()) for (const b of byPartition) if (b) this.drain(b);
  }

  private scheduleLinger(): void {
    if (this.openCount === 0) return;
    if (this.lingerMs === 0) {
      this.immediate ??= setImmediate(() => {
        this.immediate = null;
        this.drainAll();
      });
      return;
    }
    for (const byPartition of this.open.values()) {
      for (const b of byPartition) if (b) b.timer ??= setTimeout(() => this.drain(b), this.lingerMs);
    }
  }

  /** Closes a batch to new records and queues its append; settles its records' sends. */
  private drain(batch: OpenBatch): void {
    const byPartition = this.open.get(batch.topic);
    if (byPartition?.[batch.partition] !== batch) return;
    byPartition[batch.partition] = undefined;
    this.openCount--;
    if (batch.timer) clearTimeout(batch.timer);
    if (batch.sticky) this.sticky.next(batch.topic, batch.partition, this.sluice.partitionCount(batch.topic));
    // Always write on a later turn of the event loop (setImmediate keeps the order of the
    // drains, so of the appends), so a busy producer never starves timers and I/O.
    const done = new Promise<void>((r) => setImmediate(r)).then(() => this.write(batch)).finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
  }

  private async write(batch: OpenBatch): Promise<void> {
    const writer = batch.writer;
    try {
      const partition = this.sluice.partition(batch.topic, batch.partition);
      const config = this.sluice.topicConfig(batch.topic);
      const topicCodec = config['compression.type'];
      const compression =
        topicCodec === 'producer' || topicCodec === undefined
          ? this.options.compression ?? 'none'
          : topicCodec === 'uncompressed'
            ? 'none'
            : (topicCodec as Exclude<CompressionName, 'zstd'>);
      const build =
        compression === 'none'
          ? Promise.resolve(writer.finish())
          : this.sluice.pool.finishBatch(writer.section(), { compression, count: writer.count, baseTimestamp: writer.baseTimestamp, maxTimestamp: writer.maxTimestamp });
      // A transactional batch: its partition joins the transaction first; it is stamped with the
      // producer id, epoch and sequence just before the append, in the partition's order.
      const txn = this.txn;
      if (txn !== null) await txn.addPartition(batch.topic, batch.partition);
      const info = await partition.appendInOrder(build, this.acks === 'all', { validate: false }, txn === null ? undefined : (b) => txn.stamp(b, batch.topic, batch.partition));
      this.sluice.traffic.in(batch.topic, writer.count, info.bytes);
      const logAppendTime = config['message.timestamp.type'] === 'LogAppendTime' ? info.maxTimestamp : -1;
      let offset = info.firstOffset;
      let j = 0;
      for (const span of batch.spans) {
        const h = span.handle;
        for (let k = 0; k < span.count; k++, j++) {
          h.results[span.slot + k] = {
            topic: batch.topic,
            partition: batch.partition,
            offset: offset++,
            timestamp: logAppendTime >= 0 ? logAppendTime : writer.timestampAt(j),
          };
        }
        this.settle(h, span.count);
      }
    } catch (err) {
      this.txn?.markFailed(err);
      for (const span of batch.spans) {
        this.fail(span.handle, err);
        this.settle(span.handle, span.count);
      }
    } finally {
      // The append has copied the bytes (or failed): the buffer can take the next batch.
      writer.release();
    }
  }

  /** `count` records of a send are done with: resolves it when none are left, and frees its memory. */
  private settle(h: SendHandle, count: number): void {
    h.pending -= count;
    if (h.pending > 0) return;
    this.release(h.bytes);
    if (!h.failed) h.resolve(h.results);
  }

  private fail(h: SendHandle, err: unknown): void {
    if (h.failed) return;
    h.failed = true;
    h.reject(err);
  }

  /** Waits until `bytes` fit in buffer.memory (a single send larger than all of it goes alone). */
  private reserve(bytes: number): Promise<void> {
    if (this.memoryUsed === 0 || this.memoryUsed + bytes <= this.bufferMemory) {
      this.memoryUsed += bytes;
      return Promise.resolve();
    }
    return new Promise((go) => this.memoryWaiters.push({ bytes, go: () => go() }));
  }

  private release(bytes: number): void {
    this.memoryUsed -= bytes;
    while (this.memoryWaiters.length > 0) {
      const w = this.memoryWaiters[0]!;
      if (this.memoryUsed > 0 && this.memoryUsed + w.bytes > this.bufferMemory) break;
      this.memoryWaiters.shift();
      this.memoryUsed += w.bytes;
      w.go();
    }
  }
}
