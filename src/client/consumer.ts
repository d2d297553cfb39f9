/**
 * The embedded consumer. Either `assign` partitions by hand or `subscribe` to topics with a
 * groupId and let the group coordinator split partitions among the group's members (Kafka's
 * classic protocol, range or round-robin). `poll` returns decoded records from the positions
 * it keeps, waiting (long poll) when there are none yet; `for await` does the same record by
 * record. Committed offsets (auto or manual) live with the group coordinator and survive
 * restarts. Not thread-safe.
 */
import { unpack } from 'msgpackr';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { waitForAny, type Partition } from '../broker/partition.js';
import type { ClientHost } from '../broker/engine.js';
import { SluiceClosedError, UnknownTopicError } from '../broker/errors.js';
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';
import { BatchDecoder, readBatchHeader, type RecordFactory } from '../record/index.js';
import { LENGTH_OFFSET, LOG_OVERHEAD, RECORDS_OFFSET } from '../record/layout.js';
import { OffsetOutOfRangeError } from '../storage/index.js';
import { GroupMember, type Assignor } from './group-member.js';
import type { AbortedTxn } from '../storage/txn-index.js';

/**
 * How a consumer turns key or value bytes into JS values: by name, or a function of the bytes.
 * A null key or value (a record without a key, a tombstone) stays null: the function is not called.
 */
export type Deserializer = 'buffer' | 'string' | 'json' | 'msgpack' | ((data: Buffer) => unknown);

/**
 * The type a deserializer gives: Buffer for 'buffer' (the default), string for 'string', what
 * the function returns for a function, and `unknown` for 'json' and 'msgpack' (pass a function
 * such as `(b) => JSON.parse(b.toString()) as Order` to name the type). Null for absent keys
 * and tombstones.
 */
export type Deserialized<D> = [D] extends [undefined]
  ? Buffer | null
  : D extends 'buffer'
    ? Buffer | null
    : D extends 'string'
      ? string | null
      : D extends (data: Buffer) => infer T
        ? T | null
        : unknown;

export interface ConsumerOptions {
  /** group.id: needed for subscribe() and for committing offsets. */
  groupId?: string;
  /** group.instance.id: static membership (a restart within the session timeout keeps the assignment). */
  groupInstanceId?: string;
  /** auto.offset.reset: where to start with no committed offset, or when it is out of range (default 'latest'). */
  autoOffsetReset?: 'earliest' | 'latest' | 'none';
  /** enable.auto.commit (default true when there is a groupId). */
  enableAutoCommit?: boolean;
  /** auto.commit.interval.ms (default 5000). */
  autoCommitIntervalMs?: number;
  /** max.poll.records (default 500). */
  maxPollRecords?: number;
  /** fetch.max.bytes: bytes of keys and values one poll returns at most (default 50 MiB; at least one record). */
  fetchMaxBytes?: number;
  /** max.partition.fetch.bytes: bytes read from one partition per fetch (default 1 MiB). */
  maxPartitionFetchBytes?: number;
  /** session.timeout.ms (default 45000). */
  sessionTimeoutMs?: number;
  /** heartbeat.interval.ms (default 3000). */
  heartbeatIntervalMs?: number;
  /** max.poll.interval.ms, sent as the rebalance timeout (default 300000). */
  rebalanceTimeoutMs?: number;
  /** partition.assignment.strategy, in order of preference (default ['range', 'roundrobin']). */
  partitionAssignors?: Assignor[];
  /**
   * isolation.level: 'read_committed' reads only below the last stable offset and skips the
   * records of aborted transactions; 'read_uncommitted' (default) reads everything up to the
   * high watermark.
   */
  isolationLevel?: 'read_uncommitted' | 'read_committed';
  /** check.crcs: verify each batch's CRC32C before decoding (default true). */
  checkCrcs?: boolean;
  keyDeserializer?: Deserializer;
  valueDeserializer?: Deserializer;
  /** Called with the partitions taken away by a rebalance, after their offsets are committed. */
  onPartitionsRevoked?: (partitions: TopicPartition[]) => void | Promise<void>;
  /** Called with the partitions given by a rebalance. */
  onPartitionsAssigned?: (partitions: TopicPartition[]) => void | Promise<void>;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface ConsumerRecord<K = unknown, V = unknown> {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: K;
  value: V;
  headers: { key: string; value: Buffer | null }[];
  /** Bytes of the record's key and value as stored. */
  size: number;
}

export interface PollOptions {
  /** Longest wait for records, ms (default 1000). 0 returns at once. */
  timeoutMs?: number;
  /** At most this many records (default max.poll.records). */
  maxRecords?: number;
  /** Stop adding records once their keys and values reach this many bytes (default fetch.max.bytes, 50 MiB); at least one record is returned. */
  maxBytes?: number;
}

/** No committed offset and auto.offset.reset 'none', or an out-of-range position with it. */
export class NoOffsetForPartitionError extends KafkaError {
  constructor(tp: TopicPartition) {
    super(ErrorCode.OFFSET_OUT_OF_RANGE, `no valid position for ${tp.topic}-${tp.partition} and auto.offset.reset is 'none'; seek() first`);
    this.name = 'NoOffsetForPartitionError';
  }
}

interface Assigned extends TopicPartition {
  ref: Partition;
  /** Next offset to hand out; null until resolved from the committed offset or the reset policy. */
  position: number | null;
  paused: boolean;
  /** Where reading the log has got to; null until the next poll reads from `position`. */
  fetch: FetchState | null;
}

/**
 * Bytes read from a partition's log and not handed out yet. Records are decoded only as a
 * poll takes them (BatchDecoder), so what a poll leaves behind stays as bytes: decoding a
 * whole read ahead kept tens of thousands of record objects alive across polls when many
 * partitions were assigned, and garbage collection became most of the consumer's time.
 */
interface FetchState {
  /** The partition's position this state continues from (anything else makes it stale). */
  at: number;
  /** Whole batches read from the log, and where the next of them starts. */
  chunk: Buffer;
  chunkPos: number;
  /** The offset after the chunk's last batch: where the next read starts. */
  nextOffset: number;
  /** The batch being decoded, or null between batches. */
  decoder: BatchDecoder<ConsumerRecord> | null;
  /** The next compressed batches, by chunk position, already decompressing on the pool. */
  prefetch: Map<number, Promise<Buffer>>;
  /** Makes this partition's record objects. */
  make: RecordFactory<ConsumerRecord>;
  /** read_committed: the aborted transactions overlapping the chunk, whose batches are skipped. */
  aborted: readonly AbortedTxn[];
}

/** What one poll takes from one partition, applied only once the poll hands it out. */
interface Take {
  a: Assigned;
  position: number;
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

function deserializer(d: Deserializer | undefined): (b: Buffer | null) => unknown {
  if (typeof d === 'function') return (b) => (b === null ? null : d(b));
  switch (d ?? 'buffer') {
    case 'buffer':
      return (b) => b;
    case 'string':
      return (b) => (b === null ? null : b.toString('utf8'));
    case 'json':
      return (b) => (b === null ? null : JSON.parse(b.toString('utf8')));
    case 'msgpack':
      return (b) => (b === null ? null : unpack(b));
    default:
      throw new TypeError(`unknown deserializer '${String(d)}': use 'buffer', 'string', 'json', 'msgpack' or a function`);
  }
}

export class Consumer<K = unknown, V = unknown> {
  private readonly assigned = new Map<string, Assigned>();
  private readonly member: GroupMember | null = null;
  private readonly decodeKey: (b: Buffer | null) => unknown;
  private readonly decodeValue: (b: Buffer | null) => unknown;
  private readonly maxPollRecords: number;
  private readonly maxPartitionFetchBytes: number;
  private readonly checkCrcs: boolean;
  private readonly autoCommit: boolean;
  private readonly readCommitted: boolean;
  private subscription: string[] | null = null;
  private manual = false;
  /** Ends the poll's current wait for data (a seek, a rebalance, close); a no-op between waits. */
  private wake: () => void = () => {};
  private autoCommitTimer: NodeJS.Timeout | null = null;
  /**
   * A ref'd timer while a poll (or a `for await`) is pending, so the process stays alive as
   * it would for a socket; unref'd between polls, cleared by close(). The group's own timers
   * are unref'd, so without this a subscribed consumer waiting for its first assignment let
   * Node exit with "unsettled top-level await".
   */
  private keepAlive: NodeJS.Timeout | null = null;
  private pendingPolls = 0;
  private rotate = 0;
  private closed = false;

  constructor(
    private readonly sluice: ClientHost,
    private readonly options: ConsumerOptions = {},
  ) {
    this.decodeKey = deserializer(options.keyDeserializer);
    this.decodeValue = deserializer(options.valueDeserializer);
    this.maxPollRecords = options.maxPollRecords ?? 500;
    this.maxPartitionFetchBytes = options.maxPartitionFetchBytes ?? 1024 * 1024;
    this.checkCrcs = options.checkCrcs ?? true;
    const isolation = options.isolationLevel ?? 'read_uncommitted';
    if (isolation !== 'read_committed' && isolation !== 'read_uncommitted') {
      throw new TypeError(`unknown isolationLevel '${String(isolation)}': use 'read_committed' or 'read_uncommitted'`);
    }
    this.readCommitted = isolation === 'read_committed';
    this.autoCommit = options.groupId !== undefined && (options.enableAutoCommit ?? true);
    if (options.groupId !== undefined) {
      this.member = new GroupMember(sluice.groups, {
        groupId: options.groupId,
        groupInstanceId: options.groupInstanceId,
        sessionTimeoutMs: options.sessionTimeoutMs ?? 45_000,
        rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 300_000,
        heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3000,
        assignors: options.partitionAssignors ?? ['range', 'roundrobin'],
        partitionsOf: (topic) => (sluice.hasTopic(topic) ? sluice.partitionCount(topic) : 0),
        onRebalanceNeeded: () => this.wake(),
      });
    }
    if (this.autoCommit) {
      this.autoCommitTimer = setInterval(() => {
        this.commit().catch(() => {});
      }, options.autoCommitIntervalMs ?? 5000).unref();
    }
  }

  // ---- assignment ------------------------------------------------------------------------

  /** Consumes exactly these partitions (no group management). Replaces any earlier assignment. */
  assign(partitions: TopicPartition[]): void {
    this.ensureOpen();
    if (this.subscription) throw new Error('this consumer subscribed to topics; call unsubscribe() before assign()');
    this.manual = true;
    this.setAssignment(partitions);
  }

  /** Joins the group and consumes the partitions it assigns among `topics`. */
  subscribe(topics: string[]): void {
    this.ensureOpen();
    if (!this.member) throw new Error('subscribe() needs a groupId in the consumer options; use assign() without one');
    if (this.manual) throw new Error('this consumer has assigned partitions; subscribe() and assign() do not mix');
    if (topics.length === 0) throw new Error('subscribe() needs at least one topic');
    this.subscription = [...new Set(topics)];
    this.member.subscriptionChanged();
    this.wake();
  }

  /** Leaves the group (or drops the manual assignment). */
  async unsubscribe(): Promise<void> {
    if (this.member && this.subscription) {
      await this.commitOnRevoke([...this.assigned.values()]);
      await this.member.leave();
    }
    this.subscription = null;
    this.manual = false;
    this.setAssignment([]);
  }

  /** The partitions this consumer holds now. */
  assignment(): TopicPartition[] {
    return [...this.assigned.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  // ---- positions -------------------------------------------------------------------------

  /** Makes the next poll start at `offset` of the partition. */
  seek(tp: TopicPartition, offset: number): void {
    const a = this.get(tp);
    if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`seek offset must be a whole number >= 0, not ${offset}`);
    a.position = offset;
    a.fetch = null;
    this.wake();
  }

  seekToBeginning(tps: TopicPartition[] = this.assignment()): void {
    for (const tp of tps) this.seek(tp, this.get(tp).ref.logStartOffset);
  }

  seekToEnd(tps: TopicPartition[] = this.assignment()): void {
    for (const tp of tps) this.seek(tp, this.endOf(this.get(tp).ref));
  }

  /** The offset the next record of the partition will have. */
  async position(tp: TopicPartition): Promise<number> {
    const a = this.get(tp);
    if (a.position === null) await this.resolvePosition(a);
    return a.position!;
  }

  /** For each partition, the first offset whose timestamp is at or after the given one (null when none). */
  offsetsForTimes(query: (TopicPartition & { timestamp: number })[]): (TopicPartition & { offset: number | null; timestamp: number | null })[] {
    return query.map((q) => {
      const found = this.sluice.partition(q.topic, q.partition).log.offsetForTimestamp(q.timestamp);
      return { topic: q.topic, partition: q.partition, offset: found?.offset ?? null, timestamp: found?.timestamp ?? null };
    });
  }

  /** Log start and end offsets of partitions. */
  beginningOffsets(tps: TopicPartition[]): (TopicPartition & { offset: number })[] {
    return tps.map((tp) => ({ ...tp, offset: this.sluice.partition(tp.topic, tp.partition).logStartOffset }));
  }

  endOffsets(tps: TopicPartition[]): (TopicPartition & { offset: number })[] {
    return tps.map((tp) => ({ ...tp, offset: this.endOf(this.sluice.partition(tp.topic, tp.partition)) }));
  }

  /** Where this consumer's reading ends: the last stable offset (read_committed) or the high watermark. */
  private endOf(p: Partition): number {
    return this.readCommitted ? p.lastStableOffset : p.highWatermark;
  }

  pause(tps: TopicPartition[]): void {
    for (const tp of tps) this.get(tp).paused = true;
  }

  resume(tps: TopicPartition[]): void {
    for (const tp of tps) this.get(tp).paused = false;
    this.wake();
  }

  paused(): TopicPartition[] {
    return [...this.assigned.values()].filter((a) => a.paused).map(({ topic, partition }) => ({ topic, partition }));
  }

  // ---- offsets ---------------------------------------------------------------------------

  /**
   * Commits offsets: the given ones, or else the position of every assigned partition (the
   * offset after the last record handed out). Needs a groupId.
   */
  async commit(offsets?: (TopicPartition & { offset: number; metadata?: string })[]): Promise<void> {
    if (!this.member) throw new Error('commit() needs a groupId in the consumer options');
    const list =
      offsets ??
      [...this.assigned.values()].filter((a) => a.position !== null).map((a) => ({ topic: a.topic, partition: a.partition, offset: a.position! }));
    if (list.length === 0) return;
    await this.member.commit(list, this.subscription !== null);
  }

  /** The committed offsets of partitions (null where the group has none). */
  async committed(tps: TopicPartition[]): Promise<(TopicPartition & { offset: number | null; metadata: string | null })[]> {
    if (!this.member) throw new Error('committed() needs a groupId in the consumer options');
    return this.member.committed(tps);
  }

  // ---- fetching --------------------------------------------------------------------------

  /**
   * Records from the assigned, unpaused partitions, starting at each one's position: at most
   * maxRecords, waiting up to timeoutMs when there are none. Positions move past what is
   * returned.
   */
  async poll(options: PollOptions = {}): Promise<ConsumerRecord<K, V>[]> {
    this.ensureOpen();
    this.holdProcess();
    try {
      return await this.pollRecords(options);
    } finally {
      this.releaseProcess();
    }
  }

  private async pollRecords(options: PollOptions): Promise<ConsumerRecord<K, V>[]> {
    const timeoutMs = options.timeoutMs ?? 1000;
    const maxRecords = Math.max(1, options.maxRecords ?? this.maxPollRecords);
    const maxBytes = Math.max(1, options.maxBytes ?? this.options.fetchMaxBytes ?? 50 * 1024 * 1024);
    const deadline = Date.now() + timeoutMs;
    // One turn of the event loop per poll: a consumer in a tight loop never starves timers and I/O.
    await yieldToEventLoop();
    for (;;) {
      if (this.member && this.subscription) await this.ensureGroup();
      const out: ConsumerRecord<K, V>[] = [];
      const takes = await this.collect(maxRecords, maxBytes, out);
      // Hand nothing out once a rebalance has started: the partitions may be someone else's.
      if (out.length > 0 && this.member && this.subscription && !this.member.isStable()) {
        for (const t of takes) t.a.fetch = null; // read again from the unmoved positions
        continue;
      }
      if (out.length > 0) {
        for (const t of takes) {
          t.a.position = t.position;
          if (t.a.fetch !== null) t.a.fetch.at = t.position;
        }
        return out;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this.closed) return [];
      await this.waitForData(remaining);
      if (this.closed) return [];
    }
  }

  /** Records one at a time, polling as needed, until the consumer is closed. */
  async *[Symbol.asyncIterator](): AsyncIterator<ConsumerRecord<K, V>> {
    while (!this.closed) {
      const batch = await this.poll();
      for (const r of batch) yield r;
    }
  }

  /** Commits (with auto-commit on), leaves the group, stops. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.autoCommitTimer) clearInterval(this.autoCommitTimer);
    if (this.keepAlive) clearInterval(this.keepAlive);
    try {
      if (this.autoCommit && this.member?.isStable()) await this.commit();
    } catch {
      // The group moved on (rebalance, coordinator closing): nothing to commit against.
    }
    this.closed = true;
    this.wake();
    await this.member?.leave().catch(() => {});
    this.member?.stop();
    this.assigned.clear();
    this.sluice.untrack(this);
  }

  // ---- internals -------------------------------------------------------------------------

  private holdProcess(): void {
    if (this.pendingPolls++ === 0) (this.keepAlive ??= setInterval(() => {}, 0x7fffffff)).ref();
  }

  private releaseProcess(): void {
    if (--this.pendingPolls === 0) this.keepAlive?.unref();
  }

  private ensureOpen(): void {
    if (this.closed) throw new SluiceClosedError('consumer');
    this.sluice.ensureOpen();
  }

  private get(tp: TopicPartition): Assigned {
    const a = this.assigned.get(key(tp.topic, tp.partition));
    if (!a) throw new Error(`${tp.topic}-${tp.partition} is not assigned to this consumer`);
    return a;
  }

  private setAssignment(tps: TopicPartition[]): void {
    const next = new Map<string, Assigned>();
    for (const tp of tps) {
      const k = key(tp.topic, tp.partition);
      const old = this.assigned.get(k);
      if (old) {
        next.set(k, old);
        continue;
      }
      if (!this.sluice.hasTopic(tp.topic)) throw new UnknownTopicError(tp.topic);
      const ref = this.sluice.partition(tp.topic, tp.partition);
      next.set(k, { topic: tp.topic, partition: tp.partition, ref, position: null, paused: false, fetch: null });
    }
    this.assigned.clear();
    for (const [k, v] of next) this.assigned.set(k, v);
    this.wake();
  }

  /** Joins or rejoins when needed, committing and revoking first (eager protocol). */
  private async ensureGroup(): Promise<void> {
    const member = this.member!;
    if (member.isStable()) return;
    const revoked = [...this.assigned.values()];
    await this.commitOnRevoke(revoked);
    if (revoked.length > 0) await this.options.onPartitionsRevoked?.(revoked.map(({ topic, partition }) => ({ topic, partition })));
    this.setAssignment([]);
    const assignment = await member.join(this.subscription!);
    this.setAssignment(assignment);
    if (assignment.length > 0) await this.options.onPartitionsAssigned?.(assignment);
  }

  private async commitOnRevoke(revoked: Assigned[]): Promise<void> {
    if (!this.autoCommit || revoked.length === 0) return;
    const offsets = revoked.filter((a) => a.position !== null).map((a) => ({ topic: a.topic, partition: a.partition, offset: a.position! }));
    try {
      if (offsets.length > 0) await this.member!.commit(offsets, true);
    } catch {
      // The generation is gone: another member resumes from the last successful commit.
    }
  }

  private async resolvePosition(a: Assigned): Promise<void> {
    if (this.member) {
      const [c] = await this.member.committed([{ topic: a.topic, partition: a.partition }]);
      if (c && c.offset !== null && c.offset >= a.ref.logStartOffset && c.offset <= a.ref.highWatermark) {
        a.position = c.offset;
        return;
      }
    }
    this.reset(a);
  }

  private reset(a: Assigned): void {
    const policy = this.options.autoOffsetReset ?? 'latest';
    if (policy === 'none') throw new NoOffsetForPartitionError(a);
    a.position = policy === 'earliest' ? a.ref.logStartOffset : this.endOf(a.ref);
    a.fetch = null;
  }

  /**
   * Appends to `out` records from the fetchable partitions, round robin, at most `max`, and
   * stops after the record that brings keys and values to `maxBytes` (at least one record);
   * returns how far each partition would move. Positions are not moved here.
   */
  private async collect(max: number, maxBytes: number, out: ConsumerRecord<K, V>[]): Promise<Take[]> {
    const parts = [...this.assigned.values()].filter((a) => !a.paused);
    const takes: Take[] = [];
    let bytes = 0;
    for (let i = 0; i < parts.length && out.length < max && bytes < maxBytes; i++) {
      const a = parts[(this.rotate + i) % parts.length]!;
      if (a.position === null) await this.resolvePosition(a);
      if (a.fetch !== null && a.fetch.at !== a.position) a.fetch = null;
      const before = out.length;
      while (out.length < max && bytes < maxBytes) {
        const f = a.fetch ?? this.read(a);
        if (f === null) break; // nothing to read at the position yet
        const d = f.decoder;
        if (d !== null && d.remaining > 0) {
          d.take(out as ConsumerRecord[], max - out.length, maxBytes - bytes);
          bytes += d.takenBytes;
          continue;
        }
        f.decoder = null;
        if (f.chunkPos + RECORDS_OFFSET <= f.chunk.length) {
          await this.nextBatch(a, f);
          continue;
        }
        // The chunk is used up: the next read starts after it. When the poll took nothing
        // from this partition, what it held were batches a consumer skips (control batches,
        // records below the position): move past them.
        a.fetch = null;
        if (out.length === before) {
          if (f.nextOffset <= a.position!) break;
          a.position = f.nextOffset;
        } else if (this.read(a, f.nextOffset, f.at) === null) {
          break;
        }
      }
      if (out.length > before) takes.push({ a, position: out[out.length - 1]!.offset + 1 });
    }
    this.rotate++;
    return takes;
  }

  /**
   * Reads whole batches of the partition from `from` (default its position) into a new
   * fetch state continuing from `at`; null when there are none there yet. An offset out of
   * range resets the position by auto.offset.reset.
   */
  private read(a: Assigned, from = a.position!, at = a.position!): FetchState | null {
    let read;
    try {
      read = a.ref.read(from, this.maxPartitionFetchBytes, this.readCommitted ? a.ref.lastStableOffset : undefined);
    } catch (err) {
      if (err instanceof OffsetOutOfRangeError && from === a.position) {
        this.reset(a);
        return null;
      }
      throw err;
    }
    if (read.records.length === 0) return null;
    const { topic, partition } = a;
    const decodeKey = this.decodeKey;
    const decodeValue = this.decodeValue;
    const make: RecordFactory<ConsumerRecord> = (offset, timestamp, key, value, headers) => ({
      topic,
      partition,
      offset,
      timestamp,
      key: decodeKey(key),
      value: decodeValue(value),
      headers,
      size: (key === null ? 0 : key.length) + (value === null ? 0 : value.length),
    });
    const aborted = this.readCommitted ? a.ref.txns.abortedIn(from, read.nextOffset) : [];
    a.fetch = { at, chunk: read.records, chunkPos: 0, nextOffset: read.nextOffset, decoder: null, prefetch: new Map(), make, aborted };
    return a.fetch;
  }

  /**
   * Moves the fetch state on to its chunk's next batch. A compressed batch is decompressed
   * (on the pool when big), and the one after it starts decompressing at once, so the pool
   * works on it while this thread decodes: waiting for each batch in turn left both idle
   * half the time.
   */
  private async nextBatch(a: Assigned, f: FetchState): Promise<void> {
    const pos = f.chunkPos;
    const batch = this.batchAt(f, pos);
    f.chunkPos = pos + batch.length;
    const h = readBatchHeader(batch);
    if (h.lastOffset < f.at || h.isControl) return;
    if (h.isTransactional && f.aborted.length > 0 && isAborted(f.aborted, h.producerId, h.baseOffset)) return;
    let decompressed: Buffer | undefined;
    if (h.compression !== 0) {
      const pending = f.prefetch.get(pos) ?? this.sluice.pool.decompress(h.compression, batch.subarray(RECORDS_OFFSET));
      f.prefetch.delete(pos);
      this.prefetchAhead(f);
      decompressed = await pending;
    }
    f.decoder = new BatchDecoder(batch, { verifyCrc: this.checkCrcs, decompressed }, f.make, f.at);
    this.sluice.traffic.out(a.topic, h.recordsCount, batch.length);
  }

  /** The whole batch at `pos` of the chunk. */
  private batchAt(f: FetchState, pos: number): Buffer {
    const size = f.chunk.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD;
    return f.chunk.subarray(pos, pos + size);
  }

  /**
   * Starts decompressing the chunk's next compressed data batches, as many at a time as the
   * pool has threads (at least one).
   */
  private prefetchAhead(f: FetchState): void {
    const depth = Math.max(1, this.sluice.pool.threads);
    let pos = f.chunkPos;
    for (let n = 0; n < depth && pos + RECORDS_OFFSET <= f.chunk.length; n++) {
      const batch = this.batchAt(f, pos);
      if (!f.prefetch.has(pos)) {
        const h = readBatchHeader(batch);
        if (h.compression !== 0 && !h.isControl && h.lastOffset >= f.at && !(h.isTransactional && isAborted(f.aborted, h.producerId, h.baseOffset))) {
          const section = this.sluice.pool.decompress(h.compression, batch.subarray(RECORDS_OFFSET));
          section.catch(() => {}); // a failure is reported when the batch is reached, or dropped with the state
          f.prefetch.set(pos, section);
        }
      }
      pos += batch.length;
    }
  }

  /** Waits until a fetchable partition has data, something changes (seek, rebalance, close), or the time is up. */
  private async waitForData(timeoutMs: number): Promise<void> {
    const waits: [Partition, number][] = [];
    for (const a of this.assigned.values()) {
      if (!a.paused && a.position !== null) waits.push([a.ref, a.position]);
    }
    const { done, wake } = waitForAny(waits, timeoutMs, this.readCommitted ? 'lso' : 'hw');
    this.wake = wake;
    await done;
    this.wake = () => {};
  }
}

/** Whether the batch of `producerId` at `offset` belongs to one of the aborted transactions. */
function isAborted(aborted: readonly AbortedTxn[], producerId: number, offset: number): boolean {
  for (const e of aborted) if (e.producerId === producerId && e.firstOffset <= offset && offset <= e.lastOffset) return true;
  return false;
}
