/**
 * Sluice embedded: a broker inside the Node process. It owns a data directory of topics
 * (each partition a Log), the worker pool, the group coordinator and the background
 * schedule (retention, timed flushes), and hands out producers and consumers.
 * Not thread-safe: use it from one event loop (workers are internal).
 */
import fs from 'node:fs';
import path from 'node:path';
import { GroupCoordinator, OFFSETS_TOPIC } from '../group/index.js';
import { consumerLag } from '../group/lag.js';
import { syncFilesystem } from '../native.js';
import { RecoveryOffloadError } from '../storage/log.js';
import { Log, StorageError, StorageIOError, type Durability, type LogOptions, type LogRecoveryReport, type StorageLogger } from '../storage/index.js';
import type { QuarantineEntry } from '../storage/quarantine.js';
import { DEFAULT_MAX_OPEN_SEGMENTS, SegmentHandles } from '../storage/segment-handles.js';
import { checkOpenFileLimit, type OpenFileNeed } from './file-limit.js';
import { WorkerPool } from '../workers/index.js';
import { Consumer, type ConsumerOptions, type Deserialized, type Deserializer } from '../client/consumer.js';
import { Producer, type ProducerOptions } from '../client/producer.js';
import { loadMeta, lockDataDir, resolveDataDir, type DataDirMeta } from './data-dir.js';
import { InvalidPartitionsError, SluiceClosedError, TopicExistsError, UnknownTopicError } from './errors.js';
import { Partition } from './partition.js';
import {
  defaultTopicConfig,
  resolveTopicConfig,
  toLogConfig,
  topicConfigOverrides,
  type TopicConfig,
  type TopicConfigInput,
  deprecationNotes,
} from './topic-config.js';
import { collidingTopic, isInternalTopic, validateTopicName } from './topic-name.js';
import { TopicRegistry, fsyncDir, type TopicMetadata } from './topic-registry.js';
import { InvalidTopicError } from './errors.js';
import { TrafficCounters } from '../observability/traffic.js';
import type { TransactionCoordinator } from '../txn/coordinator.js';
import { openEmbeddedTransactionCoordinator } from '../txn/embedded.js';
import type { TransactionStateLog } from '../txn/transaction-state-log.js';
import { TRANSACTION_STATE_TOPIC } from '../txn/transaction-log-record.js';

export interface SluiceOptions {
  /** Data directory (created when missing; default ./data). */
  dir?: string;
  /** node.id written in the directory's meta.properties when it is new; a directory of another node id is refused (default 0). */
  nodeId?: number;
  /** Default durability of every partition: 'pagecache' (Kafka's default) or 'fsync' before acks. */
  durability?: Durability;
  /** Broker-wide defaults for topic configs, under Kafka's names (log.retention.ms is retention.ms here). */
  topicDefaults?: TopicConfigInput;
  /** Create a topic on first use by a producer (auto.create.topics.enable, default true). */
  autoCreateTopics?: boolean;
  /** Partitions of an auto-created topic (num.partitions, default 1). */
  numPartitions?: number;
  /** Worker threads for codec work (default: one per core); 0 runs everything inline. */
  workerThreads?: number;
  /** Close a partition's segment files after this long unused, ms (default 60 s; 0 keeps them open). */
  idleFileTimeoutMs?: number;
  /**
   * Segment files open at once, across every partition (sluice.max.open.segments, default
   * 4096): past it the least recently used closes, and reopens on its next use.
   */
  maxOpenSegments?: number;
  /**
   * Descriptors the embedding application holds besides Sluice's own (a server's connections),
   * added to the start-up check of RLIMIT_NOFILE, which logs a warning when the limit is lower.
   */
  openFileNeeds?: OpenFileNeed[];
  /** How often the log cleaner looks for compacted topics to clean, ms (log.cleaner.backoff.ms, default 15 s; 0 turns the cleaner off). */
  cleanerBackoffMs?: number;
  /** How often retention runs, ms (log.retention.check.interval.ms, default 5 minutes). */
  retentionCheckIntervalMs?: number;
  /**
   * offsets.topic.num.partitions: partitions of `__consumer_offsets` when a data directory
   * creates it (default 50, as Kafka; a data directory keeps the count it was created with).
   */
  offsetsTopicPartitions?: number;
  /** Group coordinator settings. */
  groups?: {
    initialRebalanceDelayMs?: number;
    minSessionTimeoutMs?: number;
    maxSessionTimeoutMs?: number;
    offsetsRetentionMs?: number;
  };
  logger?: StorageLogger;
}

export interface PartitionDescription {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  logStartOffset: number;
  logEndOffset: number;
  highWatermark: number;
  /** Bytes of data on disk. */
  size: number;
  segments: number;
  /** Damaged ranges quarantined in this partition: offsets [firstOffset, nextOffset) are a gap. */
  quarantined: readonly QuarantineEntry[];
}

export interface TopicDescription {
  name: string;
  id: string;
  internal: boolean;
  partitions: PartitionDescription[];
  /** Every topic config with its value in force. */
  config: TopicConfig;
  /** The keys set on this topic (not broker defaults). */
  overrides: TopicConfig;
}

/** The configs `__consumer_offsets` has in Kafka (offsets.topic.segment.bytes; compaction is the group coordinator's). */
/** The config of the internal topics (`__consumer_offsets`, `__transaction_state`). */
const INTERNAL_TOPIC_CONFIG: TopicConfig = { 'cleanup.policy': 'compact', 'segment.bytes': String(100 * 1024 * 1024), 'compression.type': 'producer' };

export interface CreateTopicOptions {
  /** Number of partitions (default: numPartitions of the broker). */
  partitions?: number;
  /** Topic configs under Kafka's names, for example { 'retention.ms': 3600000 }. */
  config?: TopicConfigInput;
  /** Check everything, create nothing (CreateTopics' validateOnly). */
  validateOnly?: boolean;
  /**
   * When the topic exists already, return its description instead of throwing
   * TopicExistsError (its partitions and config are left as they are).
   */
  ifNotExists?: boolean;
  /** @internal The topic id to give it (a cluster's brokers mirror topics under the cluster's ids). */
  topicId?: string;
}

/** An embedded Sluice broker. Create with `await Sluice.open({ dir })`. */
export class Sluice {
  readonly dir: string;
  readonly meta: DataDirMeta;
  /** @internal The codec worker pool. */
  readonly pool: WorkerPool;
  /** @internal The group coordinator (embedded consumers and the wire server share it). */
  readonly groups: GroupCoordinator;
  /** @internal Records and bytes in and out per topic (read by the metrics endpoint). */
  readonly traffic = new TrafficCounters();
  /** What recovery did at open, per partition directory that was not closed cleanly. */
  readonly recovered: { dir: string; report: LogRecoveryReport }[] = [];
  private readonly registry: TopicRegistry;
  private readonly partitions = new Map<string, Partition[]>();
  private readonly defaults: TopicConfig;
  private readonly durability: Durability;
  private readonly release: () => void;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly clients = new Set<{ close(): Promise<void> }>();
  /** Every partition's open segment files, under one bound. */
  private readonly segmentHandles: SegmentHandles;
  private closed = false;
  private compacting = false;
  /** The transaction coordinator: the broker's, or one opened on first use by a transactional producer. */
  private transactions: Promise<TransactionCoordinator> | null = null;
  /** The coordinator's `__transaction_state` (a cluster replicates it like any topic), once there is one. */
  private transactionState: TransactionStateLog | null = null;

  private constructor(
    private readonly options: SluiceOptions,
    parts: {
      dir: string;
      meta: DataDirMeta;
      release: () => void;
      registry: TopicRegistry;
      pool: WorkerPool;
      groups: GroupCoordinator;
      defaults: TopicConfig;
      segmentHandles: SegmentHandles;
    },
  ) {
    this.dir = parts.dir;
    this.meta = parts.meta;
    this.release = parts.release;
    this.registry = parts.registry;
    this.pool = parts.pool;
    this.groups = parts.groups;
    this.defaults = parts.defaults;
    this.durability = options.durability ?? 'pagecache';
    this.segmentHandles = parts.segmentHandles;
  }

  /**
   * Opens (or creates) the data directory: takes its lock, recovers partitions that were not
   * closed cleanly (in parallel on the worker pool), opens every topic and the group
   * coordinator. A second process opening the same directory gets DataDirLockedError.
   */
  static async open(options: SluiceOptions = {}): Promise<Sluice> {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`Sluice.open takes an options object such as { dir: './data' }, not ${options === null ? 'null' : typeof options}`);
    }
    const dir = resolveDataDir(options.dir);
    const release = lockDataDir(dir);
    const maxOpenSegments = options.maxOpenSegments ?? DEFAULT_MAX_OPEN_SEGMENTS;
    checkOpenFileLimit([{ setting: 'sluice.max.open.segments', flag: '--max-open-segments (maxOpenSegments)', count: maxOpenSegments }, ...(options.openFileNeeds ?? [])], options.logger);
    let pool: WorkerPool | undefined;
    try {
      const meta = loadMeta(dir, options.nodeId);
      const registry = TopicRegistry.load(dir);
      const defaults = resolveTopicConfig(options.topicDefaults ?? {}, defaultTopicConfig());
      for (const note of deprecationNotes(options.topicDefaults ?? {})) options.logger?.warn({ source: 'broker topic defaults (log.*)' }, note);
      pool = new WorkerPool(options.workerThreads === 0 ? { inline: true } : { threads: options.workerThreads });
      // One bound on open segment files for every log: topics' and the offsets topic's.
      const segmentHandles = new SegmentHandles(maxOpenSegments);
      const groups = await GroupCoordinator.open({
        segmentHandles,
        dir,
        durability: options.durability,
        logger: options.logger,
        ...options.groups,
        offsetsTopicPartitions: options.offsetsTopicPartitions,
        topicExists: (t: string) => registry.get(t) !== undefined,
      });
      const s = new Sluice(options, { dir, meta, release, registry, pool, groups, defaults, segmentHandles });
      removeDeletedTopicDirs(dir);
      await s.openAllPartitions();
      s.startSchedule();
      return s;
    } catch (err) {
      await pool?.close();
      release();
      throw err;
    }
  }

  // ---- topics ----------------------------------------------------------------------------

  /** Creates a topic; TopicExistsError, InvalidTopicError, TopicConfigError or InvalidPartitionsError otherwise. */
  async createTopic(name: string, options: CreateTopicOptions = {}): Promise<TopicDescription | null> {
    this.ensureOpen();
    validateTopicName(name);
    if (isInternalTopic(name)) throw new InvalidTopicError(name, 'names starting with __ are internal to the broker');
    if (this.registry.get(name)) {
      if (options.ifNotExists) return this.describeTopic(name);
      throw new TopicExistsError(name);
    }
    const clash = collidingTopic(name, this.registry.names());
    if (clash) throw new InvalidTopicError(name, `it collides with existing topic '${clash}' ('.' and '_' are the same in metric names)`);
    const count = options.partitions ?? this.options.numPartitions ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > 100_000) {
      throw new InvalidPartitionsError(`topic '${name}' needs a whole number of partitions from 1 to 100000, not ${count}`);
    }
    const config = resolveTopicConfig(options.config ?? {}, this.defaults);
    if (options.validateOnly) return null;
    for (const note of deprecationNotes(options.config ?? {})) this.options.logger?.warn({ topic: name }, note);
    const meta: TopicMetadata = {
      name,
      id: options.topicId ?? TopicRegistry.newTopicId(),
      partitions: count,
      config: topicConfigOverrides(config, this.defaults),
      createdAt: Date.now(),
    };
    const parts = await this.openNewPartitions(meta, 0, count);
    try {
      this.registry.put(meta);
    } catch (err) {
      await this.discardPartitions(meta, parts);
      throw new StorageIOError(this.dir, `saving topics.json for the new topic '${name}'`, err);
    }
    this.partitions.set(name, parts);
    return this.describeTopic(name);
  }

  /** @internal Creates the topic with broker defaults unless it exists (auto-creation). */
  async ensureTopic(name: string): Promise<void> {
    if (this.registry.get(name)) return;
    if (this.options.autoCreateTopics === false) throw new UnknownTopicError(name);
    try {
      await this.createTopic(name);
    } catch (err) {
      if (!(err instanceof TopicExistsError)) throw err;
    }
  }

  /** Deletes a topic and its data. Views already handed out stay readable. */
  async deleteTopic(name: string): Promise<void> {
    this.ensureOpen();
    const meta = this.registry.get(name);
    const parts = this.partitions.get(name);
    if (!meta || !parts) throw new UnknownTopicError(name);
    this.partitions.delete(name);
    this.registry.remove(name);
    for (const p of parts) {
      await p.close();
      const from = path.join(this.dir, `${name}-${p.index}`);
      const to = `${from}.${meta.id.replace(/-/g, '')}-delete`;
      fs.renameSync(from, to);
    }
    fsyncDir(this.dir);
    removeDeletedTopicDirs(this.dir);
  }

  /**
   * The topics; with `internal`, `__consumer_offsets` too (as Kafka's Metadata lists it); with
   * `transactionState`, `__transaction_state` too (a cluster lists it once it has created it).
   */
  listTopics(options: { internal?: boolean; transactionState?: boolean } = {}): string[] {
    this.ensureOpen();
    const names = this.registry.names();
    const internal = options.internal ? [OFFSETS_TOPIC] : [];
    if (options.transactionState && this.transactionState) internal.push(TRANSACTION_STATE_TOPIC);
    return [...names, ...internal];
  }

  /** The topic's id (a UUID string), or UnknownTopicError. */
  topicId(name: string): string {
    if (name === OFFSETS_TOPIC) return this.groups.offsetStore.topicId;
    if (name === TRANSACTION_STATE_TOPIC && this.transactionState) return this.transactionState.topicId;
    const meta = this.registry.get(name);
    if (!meta) throw new UnknownTopicError(name);
    return meta.id;
  }

  /** The name of the topic with this id, or undefined. */
  topicById(id: string): string | undefined {
    if (id === this.groups.offsetStore.topicId) return OFFSETS_TOPIC;
    if (this.transactionState && id === this.transactionState.topicId) return TRANSACTION_STATE_TOPIC;
    return this.registry.all().find((t) => t.id === id)?.name;
  }

  /** True for the user topics and for the internal `__consumer_offsets` and `__transaction_state`. */
  hasTopic(name: string): boolean {
    return this.registry.get(name) !== undefined || name === OFFSETS_TOPIC || (name === TRANSACTION_STATE_TOPIC && this.transactionState !== null);
  }

  describeTopic(name: string): TopicDescription {
    this.ensureOpen();
    const internal = this.isInternal(name);
    const meta = internal ? { id: this.topicId(name), config: INTERNAL_TOPIC_CONFIG } : this.registry.get(name);
    const parts = internal ? this.internalPartitions(name) : this.partitions.get(name);
    if (!meta || !parts) throw new UnknownTopicError(name);
    return {
      name,
      id: meta.id,
      internal,
      config: this.topicConfig(name),
      overrides: { ...meta.config },
      partitions: parts.map((p) => ({
        partition: p.index,
        leader: this.meta.nodeId,
        replicas: [this.meta.nodeId],
        isr: [this.meta.nodeId],
        logStartOffset: p.logStartOffset,
        logEndOffset: p.logEndOffset,
        highWatermark: p.highWatermark,
        size: p.log.size,
        segments: p.log.segmentCount,
        quarantined: p.log.quarantined,
      })),
    };
  }

  /** The config in force for a topic: broker defaults overlaid with the topic's own keys. */
  topicConfig(name: string): TopicConfig {
    if (this.isInternal(name)) return { ...this.defaults, ...INTERNAL_TOPIC_CONFIG };
    const meta = this.registry.get(name);
    if (!meta) throw new UnknownTopicError(name);
    return { ...this.defaults, ...meta.config };
  }

  /** Partitions of a topic created without a count (num.partitions). */
  get partitionCountDefault(): number {
    return this.options.numPartitions ?? 1;
  }

  /** The broker-wide defaults every topic starts from. */
  get topicDefaults(): TopicConfig {
    return { ...this.defaults };
  }

  /** Grows a topic to `total` partitions (Kafka's CreatePartitions; never shrinks). */
  async createPartitions(name: string, total: number, validateOnly = false): Promise<void> {
    this.ensureOpen();
    const meta = this.registry.get(name);
    const parts = this.partitions.get(name);
    if (!meta || !parts) throw new UnknownTopicError(name);
    if (!Number.isInteger(total) || total <= meta.partitions || total > 100_000) {
      throw new InvalidPartitionsError(
        `topic '${name}' has ${meta.partitions} partitions; the new count must be a whole number above that (up to 100000), not ${total}`,
      );
    }
    if (validateOnly) return;
    const added = await this.openNewPartitions(meta, meta.partitions, total);
    try {
      this.registry.put({ ...meta, partitions: total });
    } catch (err) {
      await this.discardPartitions(meta, added);
      throw new StorageIOError(this.dir, `saving topics.json with ${total} partitions of '${name}'`, err);
    }
    parts.push(...added);
  }

  /**
   * Changes a topic's config: `set` keys take the given values, `remove` keys return to the
   * broker default (Kafka's IncrementalAlterConfigs SET and DELETE). With `replace`, the
   * topic's keys become exactly `set` (Kafka's AlterConfigs).
   */
  async alterTopicConfig(
    name: string,
    change: { set?: TopicConfigInput; remove?: string[]; replace?: boolean; validateOnly?: boolean },
  ): Promise<TopicConfig> {
    this.ensureOpen();
    const meta = this.registry.get(name);
    if (!meta) throw new UnknownTopicError(name);
    const base = change.replace ? this.defaults : { ...this.defaults, ...meta.config };
    const next = resolveTopicConfig(change.set ?? {}, base);
    for (const key of change.remove ?? []) {
      resolveTopicConfig({ [key]: this.defaults[key] ?? '' }); // names the key when unknown
      next[key] = this.defaults[key]!;
    }
    if (change.validateOnly) return next;
    for (const note of deprecationNotes(change.set ?? {})) this.options.logger?.warn({ topic: name }, note);
    this.registry.put({ ...meta, config: topicConfigOverrides(next, this.defaults) });
    for (const p of this.partitions.get(name) ?? []) {
      p.log.reconfigure(toLogConfig(next, this.durability));
      p.setLogAppendTime(next['message.timestamp.type'] === 'LogAppendTime');
    }
    return next;
  }

  /**
   * Consumer lag of a group: per partition it has committed, the committed offset against the
   * log end offset (-2 and -1, as reset tools commit them, stand for the log start and the log
   * end; see group/lag.ts). Partitions of deleted topics, and negative values that name no
   * offset, are left out.
   */
  groupLag(groupId: string): { topic: string; partition: number; committedOffset: number; logEndOffset: number; lag: number; metadata: string | null }[] {
    this.ensureOpen();
    const out = [];
    for (const c of this.groups.committedOffsets(groupId)) {
      const parts = this.partitions.get(c.topic);
      const p = parts?.[c.partition];
      if (!p) continue;
      const logEndOffset = p.highWatermark;
      // Reset tools commit -2/-1 for earliest/latest: lag counts from what they stand for (group/lag.ts).
      const lag = consumerLag(c.offset, p.logStartOffset, logEndOffset);
      if (lag === null) continue;
      out.push({ topic: c.topic, partition: c.partition, committedOffset: c.offset, logEndOffset, lag, metadata: c.metadata });
    }
    return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }

  // ---- partitions ------------------------------------------------------------------------

  /** @internal The partition, or UnknownTopicError. */
  partition(topic: string, index: number): Partition {
    this.ensureOpen();
    const parts = this.isInternal(topic) ? this.internalPartitions(topic) : this.partitions.get(topic);
    if (!parts) throw new UnknownTopicError(topic);
    const p = parts[index];
    if (!p) throw new UnknownTopicError(topic, index);
    return p;
  }

  partitionCount(topic: string): number {
    if (topic === OFFSETS_TOPIC) return this.groups.offsetStore.partitionCount;
    if (topic === TRANSACTION_STATE_TOPIC && this.transactionState) return this.transactionState.partitionCount;
    const parts = this.partitions.get(topic);
    if (!parts) throw new UnknownTopicError(topic);
    return parts.length;
  }

  /** `__consumer_offsets`, or `__transaction_state` once a transaction coordinator is attached. */
  private isInternal(name: string): boolean {
    return name === OFFSETS_TOPIC || (name === TRANSACTION_STATE_TOPIC && this.transactionState !== null);
  }

  /**
   * The partitions of an internal topic, owned by the group coordinator (`__consumer_offsets`)
   * or the transaction coordinator (`__transaction_state`): read-only to clients.
   */
  private internalPartitions(name: string): Partition[] {
    if (name === TRANSACTION_STATE_TOPIC && this.transactionState) {
      const log = this.transactionState;
      return Array.from({ length: log.partitionCount }, (_, i) => log.partition(i)!);
    }
    const store = this.groups.offsetStore;
    return Array.from({ length: store.partitionCount }, (_, i) => store.partition(i)!);
  }

  // ---- transactions ------------------------------------------------------------------------

  /** @internal The transaction coordinator (opened on first use when no broker gave one). */
  transactionCoordinator(): Promise<TransactionCoordinator> {
    this.ensureOpen();
    this.transactions ??= openEmbeddedTransactionCoordinator(this, this.durability, this.options.logger ?? { info() {}, warn() {} });
    return this.transactions;
  }

  /** @internal A KafkaBroker's coordinator, shared with the embedded producers. */
  useTransactionCoordinator(coordinator: TransactionCoordinator): void {
    this.transactions = Promise.resolve(coordinator);
    this.transactionState = coordinator.stateLog;
  }

  // ---- clients ---------------------------------------------------------------------------

  /** A producer that batches, compresses and appends in process. */
  producer(options: ProducerOptions = {}): Producer {
    this.ensureOpen();
    const p = new Producer(this, options);
    this.track(p);
    return p;
  }

  /**
   * A consumer: assign partitions or subscribe to topics with a group. Keys and values are
   * typed by the deserializers: `consumer({ valueDeserializer: 'string' })` is a
   * `Consumer<Buffer | null, string | null>` (see Deserialized).
   */
  consumer<KD extends Deserializer = 'buffer', VD extends Deserializer = 'buffer'>(
    options: ConsumerOptions & { keyDeserializer?: KD; valueDeserializer?: VD } = {},
  ): Consumer<Deserialized<KD>, Deserialized<VD>> {
    this.ensureOpen();
    const c = new Consumer<Deserialized<KD>, Deserialized<VD>>(this, options);
    this.track(c);
    return c;
  }

  private track(client: { close(): Promise<void> }): void {
    this.clients.add(client);
  }

  /** @internal Called by a client when it closes. */
  untrack(client: { close(): Promise<void> }): void {
    this.clients.delete(client);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Graceful: closes producers (sending what they hold) and consumers (committing), then the
   * group coordinator, then every partition (flush, indexes, clean-shutdown marker), stops
   * the workers and releases the directory lock.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const t of this.timers) clearInterval(t);
    for (const c of [...this.clients]) await c.close().catch(() => {});
    this.closed = true;
    // Each step runs whatever the one before did (a full disk may fail a close): every log
    // gets closed, the pool stopped and the lock released; the first error is thrown last.
    let first: unknown = null;
    const attempt = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        first ??= err;
        this.options.logger?.warn({ err }, `close: ${what} failed`);
      }
    };
    // Before the groups and partitions it writes markers to.
    await attempt('the transaction coordinator', async () => (await this.transactions?.catch(() => null))?.close());
    await attempt('the group coordinator', () => this.groups.close());
    // One syncfs makes every partition durable at once (thousands of fdatasyncs take minutes);
    // if it fails, each log falls back to its own fdatasync in close().
    const all = [...this.partitions.values()].flat();
    await Promise.all(all.map((p) => p.quiesce().catch(() => {})));
    try {
      syncFilesystem(this.dir);
      for (const p of all) p.log.assumeFlushed();
    } catch (err) {
      this.options.logger?.warn({ err, dir: this.dir }, 'close: syncfs failed; flushing partition by partition');
    }
    await inBatches(all, 64, (p) => attempt(`partition ${p.topic}-${p.index}`, () => p.close()));
    this.partitions.clear();
    await attempt('the worker pool', () => this.pool.close());
    this.release();
    if (first !== null) throw first;
  }

  /** @internal */
  ensureOpen(): void {
    if (this.closed) throw new SluiceClosedError(`Sluice at ${this.dir}`);
  }

  // ---- internals -------------------------------------------------------------------------

  private logOptions(meta: TopicMetadata): LogOptions {
    const config = { ...this.defaults, ...meta.config };
    return { ...toLogConfig(config, this.durability), background: false, logger: this.options.logger, segmentHandles: this.segmentHandles };
  }

  /**
   * Opens partitions [from, to) of a topic being created or grown. All or nothing: when one
   * cannot be made (a full disk), the ones made are closed and their directories removed,
   * and the error is a StorageIOError (KAFKA_STORAGE_ERROR).
   */
  private async openNewPartitions(meta: TopicMetadata, from: number, to: number): Promise<Partition[]> {
    const parts: Partition[] = [];
    for (let p = from; p < to; p++) {
      try {
        parts.push(this.openPartition(meta, p));
      } catch (err) {
        await this.discardPartitions(meta, parts);
        fs.rmSync(path.join(this.dir, `${meta.name}-${p}`), { recursive: true, force: true });
        throw err instanceof StorageError ? err : new StorageIOError(this.dir, `creating partition ${p} of '${meta.name}'`, err);
      }
    }
    return parts;
  }

  /** Closes partitions never registered and removes their directories (best effort). */
  private async discardPartitions(meta: TopicMetadata, parts: Partition[]): Promise<void> {
    for (const p of parts) {
      await p.close().catch(() => {});
      fs.rmSync(path.join(this.dir, `${meta.name}-${p.index}`), { recursive: true, force: true });
    }
  }

  private openPartition(meta: TopicMetadata, index: number, options: Pick<LogOptions, 'recovered' | 'recoverInlineUpTo'> = {}): Partition {
    const config = { ...this.defaults, ...meta.config };
    const log = Log.open(path.join(this.dir, `${meta.name}-${index}`), { ...this.logOptions(meta), ...options });
    return new Partition(meta.name, index, log, config['message.timestamp.type'] === 'LogAppendTime');
  }

  /** Recovers unclean partition directories on the pool in parallel, then opens all cleanly. */
  /**
   * Opens every partition. A log left by an unclean shutdown is recovered in place when that
   * checks little data (most of ten thousand partitions after a SIGKILL hold a few batches
   * past their recovery point: a hand-over to a worker and a second open cost more), and on
   * the worker pool, in parallel, when it checks more than RECOVER_INLINE_BYTES.
   */
  private async openAllPartitions(): Promise<void> {
    const started = performance.now();
    const offload: { meta: TopicMetadata; index: number; dir: string; config: LogOptions }[] = [];
    for (const meta of this.registry.all()) {
      const parts: Partition[] = [];
      for (let p = 0; p < meta.partitions; p++) {
        try {
          const partition = this.openPartition(meta, p, { recoverInlineUpTo: RECOVER_INLINE_BYTES });
          if (!partition.log.recovery.cleanShutdown) this.recovered.push({ dir: partition.log.dir, report: partition.log.recovery });
          parts.push(partition);
        } catch (err) {
          if (!(err instanceof RecoveryOffloadError)) {
            for (const done of [...this.partitions.values()].flat().concat(parts)) if (done) await done.close().catch(() => {});
            throw err;
          }
          // The logger stays: the pool replays each worker's recovery lines into it.
          offload.push({ meta, index: p, dir: err.dir, config: this.logOptions(meta) });
          parts.push(null as unknown as Partition); // filled in below
        }
      }
      this.partitions.set(meta.name, parts);
    }
    if (offload.length > 0) {
      const reports = await this.pool.recoverLogs(offload.map(({ dir, config }) => ({ dir, config })));
      reports.forEach((report, i) => {
        const { meta, index, dir } = offload[i]!;
        this.recovered.push({ dir, report });
        this.partitions.get(meta.name)![index] = this.openPartition(meta, index, { recovered: true });
      });
    }
    if (this.recovered.length > 0) this.logRecoverySummary(performance.now() - started);
  }

  /** One info line for the whole recovery at start; each partition's details went to debug. */
  private logRecoverySummary(durationMs: number): void {
    let segments = 0;
    let bytes = 0;
    let truncatedBytes = 0;
    let repaired = 0;
    for (const { report } of this.recovered) {
      segments += report.recovered.length;
      for (const r of report.recovered) bytes += r.validBytes + r.truncatedBytes;
      truncatedBytes += report.truncatedBytes;
      if (report.truncatedBytes > 0 || report.deletedSegments.length > 0 || report.rebuiltIndexes.length > 0) repaired++;
    }
    const all = [...this.partitions.values()].reduce((n, parts) => n + parts.length, 0);
    this.options.logger?.info(
      { partitions: all, recoveredPartitions: this.recovered.length, segmentsChecked: segments, bytesChecked: bytes, truncatedBytes, partitionsRepaired: repaired, durationMs: Math.round(durationMs) },
      `recovered ${this.recovered.length} of ${all} partitions after an unclean shutdown in ${Math.round(durationMs)} ms: ` +
        `${segments} segments and ${bytes} bytes checked, ${repaired} partitions needed repair (${truncatedBytes} bytes dropped)`,
    );
  }

  private startSchedule(): void {
    const retentionEvery = this.options.retentionCheckIntervalMs ?? 5 * 60 * 1000;
    if (retentionEvery > 0) {
      this.timers.push(setInterval(() => this.runRetention(), retentionEvery).unref());
    }
    // Idle partitions give back their file descriptors and mappings; they reopen on use.
    const idleMs = this.options.idleFileTimeoutMs ?? 60_000;
    if (idleMs > 0) {
      this.timers.push(
        setInterval(() => {
          // The internal topics too: their partitions are as idle as any when their groups are.
          const internal = [this.internalPartitions(OFFSETS_TOPIC), ...(this.transactionState ? [this.internalPartitions(TRANSACTION_STATE_TOPIC)] : [])];
          for (const parts of [...this.partitions.values(), ...internal]) {
            for (const p of parts) p.log.releaseIdleFiles(idleMs).catch((err: unknown) => this.options.logger?.warn({ err, topic: p.topic, partition: p.index }, 'closing idle files failed'));
          }
        }, Math.min(idleMs, 10_000)).unref(),
      );
    }
    // Log compaction (log.cleaner.backoff.ms): look for dirty compacted partitions.
    const cleanerEvery = this.options.cleanerBackoffMs ?? 15_000;
    if (cleanerEvery > 0) {
      this.timers.push(setInterval(() => void this.runCompaction().catch(() => {}), cleanerEvery).unref());
    }
    // flush.ms per topic: one tick a second looks for partitions due a flush.
    this.timers.push(
      setInterval(() => {
        const now = Date.now();
        for (const parts of this.partitions.values()) {
          for (const p of parts) {
            const every = p.log.config.flushMs;
            if (Number.isFinite(every) && now - p.log.lastFlushTime >= every && p.log.recoveryPoint < p.logEndOffset) {
              p.log.flush().catch((err: unknown) => this.options.logger?.warn({ err, topic: p.topic, partition: p.index }, 'flush failed'));
            }
          }
        }
      }, 1000).unref(),
    );
  }

  /**
   * @internal
   * Compacts every partition of every topic with cleanup.policy=compact whose dirty ratio has
   * reached min.cleanable.dirty.ratio (or all of them with `force`), on the worker pool. It
   * also runs every cleanerBackoffMs.
   */
  async runCompaction(force = false): Promise<{ partitions: number; recordsRemoved: number; bytesBefore: number; bytesAfter: number }> {
    const total = { partitions: 0, recordsRemoved: 0, bytesBefore: 0, bytesAfter: 0 };
    if (this.compacting) return total;
    this.compacting = true;
    try {
      for (const name of this.registry.names()) {
        const config = this.topicConfig(name);
        if (!config['cleanup.policy']!.split(',').includes('compact')) continue;
        for (const p of this.partitions.get(name) ?? []) {
          if (this.closed || p.isClosed) return total;
          if (!force && p.log.dirtyRatio < Number(config['min.cleanable.dirty.ratio'])) continue;
          try {
            const r = await p.log.compact({
              deleteRetentionMs: Number(config['delete.retention.ms']),
              minCompactionLagMs: Number(config['min.compaction.lag.ms']),
              maxOffset: p.highWatermark,
              transactions: { lastStableOffset: p.lastStableOffset, aborted: p.txns.abortedTransactionsAll() },
              pool: this.pool,
            });
            total.partitions++;
            total.recordsRemoved += r.recordsRemoved;
            total.bytesBefore += r.bytesBefore;
            total.bytesAfter += r.bytesAfter;
          } catch (err) {
            this.options.logger?.warn({ err, topic: p.topic, partition: p.index }, 'compaction failed');
          }
        }
      }
      return total;
    } finally {
      this.compacting = false;
    }
  }

  /** Applies retention to every partition now (it also runs every retentionCheckIntervalMs). */
  runRetention(): { deletedSegments: number; deletedBytes: number } {
    let deletedSegments = 0;
    let deletedBytes = 0;
    for (const parts of this.partitions.values()) {
      for (const p of parts) {
        try {
          const r = p.log.applyRetention();
          deletedSegments += r.deletedSegments;
          deletedBytes += r.deletedBytes;
        } catch (err) {
          this.options.logger?.warn({ err, topic: p.topic, partition: p.index }, 'retention failed');
        }
      }
    }
    return { deletedSegments, deletedBytes };
  }
}

/** Unclean logs that check more than this on open are recovered on the worker pool (CRC32C runs at about 9 GB/s a core). */
const RECOVER_INLINE_BYTES = 4 * 2 ** 20;

/** Runs `fn` over `items`, at most `width` at a time. */
async function inBatches<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

/** Removes directories left by topic deletion (`<topic>-<p>.<id>-delete`). */
function removeDeletedTopicDirs(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    if (name.endsWith('-delete')) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}
