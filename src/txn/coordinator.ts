/**
 * The transaction coordinator (Kafka's TransactionCoordinator and TransactionStateManager):
 * hands out producer ids and epochs to transactional ids, tracks which partitions each
 * ongoing transaction wrote to, and ends transactions by writing commit or abort markers into
 * every one of them. Every state change is written to `__transaction_state`
 * (transaction-state-log.ts) before it is acted on or answered, so a coordinator that restarts
 * (even after SIGKILL) finds each transaction where it was: a decided one (PrepareCommit /
 * PrepareAbort) gets its markers written again, an ongoing one is aborted when its
 * transaction.timeout.ms runs out or when a new instance of its producer starts.
 *
 * Requests of one transactional id run one at a time (a chain per id); state checks that the
 * produce path makes (checkProduce) are synchronous and see the state the moment a batch is
 * appended. The state goes to PrepareCommit/PrepareAbort in memory before anything is awaited,
 * so no transactional batch can slip into a partition after its transaction was decided
 * (KIP-890 part 1; Jepsen's Bufstream analysis).
 *
 * In a cluster `__transaction_state` is a replicated topic and the coordinator of an id is the
 * leader of its partition: a broker loads a partition's ids from its copy of the log when it
 * becomes that leader (loadPartition, finishing the decided transactions as a restart does),
 * drops them when it stops leading, and counts a state change as written only once the
 * partition's in-sync replicas have it. The partition's leader epoch is the coordinator epoch
 * its markers carry.
 *
 * State machine: transaction-state.ts. Not thread-safe: one event loop.
 */
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';
import type { StorageLogger } from '../storage/index.js';
import type { MarkerWriter } from './markers.js';
import { TransactionStateLog } from './transaction-state-log.js';
import type { TransactionLogValue } from './transaction-log-record.js';
import {
  isLegalTransition,
  partitionKey,
  partitionsByTopic,
  splitPartitionKey,
  type TransactionMetadata,
  type TransactionStateName,
} from './transaction-state.js';

const TRANSACTION_STATE_PARTITION_MOVED = 'its __transaction_state partition moved to another coordinator (find the coordinator again)';

/** The error code of a failed state write: a KafkaError's own (NOT_COORDINATOR, ...), else a storage error. */
function codeOf(err: unknown): number {
  const code = (err as { errorCode?: unknown } | null)?.errorCode;
  return typeof code === 'number' ? code : ErrorCode.KAFKA_STORAGE_ERROR;
}

/** Highest epoch handed out before a producer id is replaced (Kafka: Short.MaxValue - 1). */
const MAX_PRODUCER_EPOCH = 32766;

export interface TransactionCoordinatorConfig {
  /** Directory of the data (the `__transaction_state-<p>` logs go there). */
  dir: string;
  durability: 'pagecache' | 'fsync';
  logger: StorageLogger;
  /** transaction.state.log.num.partitions, used when the topic is created (default 50). */
  stateLogPartitions?: number;
  /** transaction.max.timeout.ms (default 900000): longest transaction.timeout.ms a producer may ask for. */
  maxTimeoutMs?: number;
  /** transaction.abort.timed.out.transaction.cleanup.interval.ms (default 10000). */
  abortTimedOutIntervalMs?: number;
  /** transactional.id.expiration.ms (default 604800000, 7 days): an id idle this long is forgotten. */
  transactionalIdExpirationMs?: number;
  /** In a cluster, how `__transaction_state` is created: replicas per partition and min.insync.replicas (Kafka's 3 and 2). */
  stateLogReplication?: { factor: number; minIsr: number };
  /** A fresh producer id (the broker's allocator). */
  allocateProducerId: () => number | Promise<number>;
  /** Whether the topic has this partition (anywhere in the cluster). */
  hasPartition: (topic: string, index: number) => boolean;
  /** The group coordinator's side: the partition of `__consumer_offsets` a group lives in. */
  offsets: {
    topic: string;
    partitionFor(groupId: string): number;
  };
  /** Writes a decided transaction's markers (markers.ts). */
  writeMarkers: MarkerWriter;
  /**
   * In a cluster: no partition of the state log is loaded until this broker leads it
   * (loadPartition); `beforeAppend` throws a KafkaError unless a state change may be appended
   * now (this broker leads the partition, with enough in-sync replicas), and the change counts
   * once `replicated` resolves (it throws when the in-sync replicas did not take it).
   */
  cluster?: {
    beforeAppend(partition: number): void;
    replicated(partition: number, endOffset: number): Promise<void>;
  };
  time?: () => number;
}

/** Kafka's default transactional.id.expiration.ms: 7 days. */
export const DEFAULT_TRANSACTIONAL_ID_EXPIRATION_MS = 7 * 24 * 3600 * 1000;
/** How long a decided transaction's markers are retried before the answer goes back (the timer goes on trying). */
const MARKER_RETRY_MS = 10_000;

/** The answer to InitProducerId. */
export interface ProducerIdAndEpoch {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

export interface DescribedTransaction {
  errorCode: number;
  transactionalId: string;
  transactionState: string;
  transactionTimeoutMs: number;
  transactionStartTimeMs: number;
  producerId: number;
  producerEpoch: number;
  topics: { topic: string; partitions: number[] }[];
}

export class TransactionCoordinator {
  private readonly txns = new Map<string, TransactionMetadata>();
  /** The tail of each transactional id's request chain. */
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly maxTimeoutMs: number;
  private readonly time: () => number;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Marker writes that failed (a full disk, a leader away): retried by the timer. */
  private readonly unfinished = new Set<string>();
  /** The state partitions this coordinator has loaded, with their coordinator epoch (the partition's leader epoch). */
  private readonly loaded = new Map<number, number>();
  private readonly expirationMs: number;
  readonly stateLogReplication: { factor: number; minIsr: number };

  private constructor(
    private readonly config: TransactionCoordinatorConfig,
    readonly stateLog: TransactionStateLog,
  ) {
    this.maxTimeoutMs = config.maxTimeoutMs ?? 900_000;
    this.expirationMs = config.transactionalIdExpirationMs ?? DEFAULT_TRANSACTIONAL_ID_EXPIRATION_MS;
    this.stateLogReplication = config.stateLogReplication ?? { factor: 3, minIsr: 2 };
    this.time = config.time ?? Date.now;
  }

  /**
   * Opens `__transaction_state`. Alone, every partition is loaded at once (coordinator epoch 0)
   * and the transactions decided before a stop are finished before this resolves (their
   * markers are written again: a marker for a transaction that already ended in a partition
   * changes nothing there). In a cluster nothing is loaded until loadPartition.
   */
  static async open(config: TransactionCoordinatorConfig): Promise<TransactionCoordinator> {
    const stateLog = TransactionStateLog.open({ dir: config.dir, partitions: config.stateLogPartitions, durability: config.durability, logger: config.logger });
    const c = new TransactionCoordinator(config, stateLog);
    if (!config.cluster) {
      let decided: TransactionMetadata[] = [];
      for (let p = 0; p < stateLog.partitionCount; p++) decided = decided.concat(c.load(p, 0));
      await Promise.all(decided.map((m) => c.serialized(m.transactionalId, () => c.completeTransaction(m, m.state === 'PrepareCommit'))));
      if (c.txns.size > 0) {
        config.logger.info({ transactionalIds: c.txns.size, completed: decided.length, ongoing: [...c.txns.values()].filter((m) => m.state === 'Ongoing').length }, 'loaded the transaction state');
      }
    }
    const interval = config.abortTimedOutIntervalMs ?? 10_000;
    c.timer = setInterval(() => void c.tick(), interval);
    c.timer.unref();
    return c;
  }

  /**
   * A cluster broker became the leader of state partition `index` at `leaderEpoch` (its copy of
   * the log is what the partition holds): its ids are read from the log, and the transactions
   * decided there are finished in the background. Any earlier load of it is dropped first.
   */
  loadPartition(index: number, leaderEpoch: number): void {
    if (this.closed) return;
    this.unloadPartition(index);
    const decided = this.load(index, leaderEpoch);
    for (const m of decided) {
      void this.serialized(m.transactionalId, () => this.completeTransaction(m, m.state === 'PrepareCommit')).catch((err: unknown) =>
        this.config.logger.warn({ transactionalId: m.transactionalId, err }, 'finishing a decided transaction failed; retried later'),
      );
    }
    const ids = [...this.txns.values()].filter((m) => this.stateLog.partitionFor(m.transactionalId) === index);
    if (ids.length > 0) {
      this.config.logger.info({ partition: index, coordinatorEpoch: leaderEpoch, transactionalIds: ids.length, completing: decided.length, ongoing: ids.filter((m) => m.state === 'Ongoing').length }, 'took over transaction state partition');
    }
  }

  /** This broker no longer leads state partition `index`: its ids are forgotten here. */
  unloadPartition(index: number): void {
    if (!this.loaded.delete(index)) return;
    for (const id of [...this.txns.keys()]) {
      if (this.stateLog.partitionFor(id) !== index) continue;
      this.txns.delete(id);
      this.unfinished.delete(id);
    }
  }

  /** True when this coordinator has the state of `transactionalId` (its partition is loaded here). */
  coordinates(transactionalId: string): boolean {
    return this.loaded.has(this.stateLog.partitionFor(transactionalId));
  }

  /** Reads partition `index` into memory at `coordinatorEpoch`; returns its decided transactions. */
  private load(index: number, coordinatorEpoch: number): TransactionMetadata[] {
    const found = new Map<string, TransactionLogValue>();
    this.stateLog.replayPartition(index, (id, value) => {
      if (value === null) found.delete(id);
      else found.set(id, value);
    });
    const decided: TransactionMetadata[] = [];
    for (const [id, v] of found) {
      const m: TransactionMetadata = {
        transactionalId: id,
        producerId: v.producerId,
        lastProducerId: -1,
        producerEpoch: v.producerEpoch,
        lastProducerEpoch: -1,
        timeoutMs: v.transactionTimeoutMs,
        state: v.state,
        partitions: new Set(v.partitions.flatMap((t) => t.partitionIds.map((p) => partitionKey(t.topic, p)))),
        startTimestampMs: v.startTimestampMs,
        lastUpdateTimestampMs: v.lastUpdateTimestampMs,
      };
      this.txns.set(id, m);
      if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') decided.push(m);
    }
    this.loaded.set(index, coordinatorEpoch);
    return decided;
  }

  // ---- the client's requests -------------------------------------------------------------

  /**
   * InitProducerId with a transactional id: a new id gets a producer id at epoch 0; a known
   * one gets its epoch bumped, which fences every older instance, and an ongoing transaction
   * of the old instance is aborted first. `expected` (InitProducerId v3+, KIP-360) is the
   * producer id and epoch the caller holds; an instance that is not the current one is fenced.
   */
  initProducerId(transactionalId: string, timeoutMs: number, expected: { producerId: number; producerEpoch: number } | null): Promise<ProducerIdAndEpoch> {
    const fail = (errorCode: number): ProducerIdAndEpoch => ({ errorCode, producerId: -1, producerEpoch: -1 });
    if (transactionalId === '') return Promise.resolve(fail(ErrorCode.INVALID_REQUEST));
    if (!(timeoutMs > 0) || timeoutMs > this.maxTimeoutMs) return Promise.resolve(fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT));
    return this.serialized(transactionalId, async () => {
      if (this.closed) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      if (!this.coordinates(transactionalId)) return fail(ErrorCode.NOT_COORDINATOR);
      try {
        return await this.initProducerIdNow(transactionalId, timeoutMs, expected);
      } catch (err) {
        this.config.logger.warn({ transactionalId, err }, 'InitProducerId failed');
        return fail(codeOf(err));
      }
    });
  }

  private async initProducerIdNow(transactionalId: string, timeoutMs: number, expected: { producerId: number; producerEpoch: number } | null): Promise<ProducerIdAndEpoch> {
    const fail = (errorCode: number): ProducerIdAndEpoch => ({ errorCode, producerId: -1, producerEpoch: -1 });
    const now = this.time();
    let m = this.txns.get(transactionalId);
    if (m === undefined) {
      const producerId = await this.config.allocateProducerId();
      m = {
        transactionalId,
        producerId,
        lastProducerId: -1,
        producerEpoch: 0,
        lastProducerEpoch: -1,
        timeoutMs,
        state: 'Empty',
        partitions: new Set(),
        startTimestampMs: -1,
        lastUpdateTimestampMs: now,
      };
      await this.persist(transactionalId, this.logValue(m));
      this.txns.set(transactionalId, m);
      this.config.logger.info({ transactionalId, producerId, producerEpoch: 0 }, 'new transactional producer');
      return { errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
    }
    if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    if (expected !== null && expected.producerId >= 0) {
      // A retry of an InitProducerId that bumped the epoch already: answer what it got.
      const retried = (expected.producerId === m.lastProducerId || expected.producerId === m.producerId) && expected.producerEpoch === m.lastProducerEpoch;
      if (retried) return { errorCode: ErrorCode.NONE, producerId: m.producerId, producerEpoch: m.producerEpoch };
      if (expected.producerId !== m.producerId || expected.producerEpoch !== m.producerEpoch) return fail(ErrorCode.PRODUCER_FENCED);
    }
    if (m.state === 'Ongoing') {
      // The old instance's transaction: aborted under a bumped epoch, so its late writes are refused.
      await this.abortWithBumpedEpoch(m, 'a new instance of the producer started');
      m = this.txns.get(transactionalId)!;
      // Markers not all written (a full disk): the new instance retries, as with Kafka.
      if (m.state !== 'CompleteAbort') return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    }
    const before = { producerId: m.producerId, producerEpoch: m.producerEpoch };
    await this.bumpEpoch(m, timeoutMs);
    m = this.txns.get(transactionalId)!;
    this.config.logger.info({ transactionalId, producerId: m.producerId, producerEpoch: m.producerEpoch, previous: before }, 'transactional producer (re)initialised; older instances are fenced');
    return { errorCode: ErrorCode.NONE, producerId: m.producerId, producerEpoch: m.producerEpoch };
  }

  /** AddPartitionsToTxn: per topic and partition, an error code (all NONE when added). */
  addPartitions(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    topics: readonly { name: string; partitions: readonly number[] }[],
  ): Promise<Map<string, number>> {
    return this.serialized(transactionalId, async () => {
      const codes = new Map<string, number>();
      const all = (code: number) => {
        for (const t of topics) for (const p of t.partitions) codes.set(partitionKey(t.name, p), code);
        return codes;
      };
      const m = this.txns.get(transactionalId);
      const error = this.checkProducer(transactionalId, m, producerId, producerEpoch);
      if (error !== ErrorCode.NONE) return all(error);
      if (m!.state === 'PrepareCommit' || m!.state === 'PrepareAbort') return all(ErrorCode.CONCURRENT_TRANSACTIONS);
      // One unknown partition fails the request; the others are not attempted (as Kafka).
      let unknown = false;
      for (const t of topics) {
        for (const p of t.partitions) {
          const ok = this.config.hasPartition(t.name, p);
          codes.set(partitionKey(t.name, p), ok ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          if (!ok) unknown = true;
        }
      }
      if (unknown) {
        for (const [k, c] of codes) if (c === ErrorCode.NONE) codes.set(k, ErrorCode.OPERATION_NOT_ATTEMPTED);
        return codes;
      }
      const added = [...codes.keys()].filter((k) => !m!.partitions.has(k));
      if (added.length === 0 && m!.state === 'Ongoing') return codes;
      try {
        await this.addToTransaction(m!, added);
      } catch (err) {
        this.config.logger.warn({ transactionalId, err }, 'adding partitions to the transaction failed');
        return all(codeOf(err));
      }
      return codes;
    });
  }

  /** AddPartitionsToTxn v4+ verifyOnly (KIP-890): whether each partition is in the ongoing transaction. */
  verifyPartitions(transactionalId: string, producerId: number, producerEpoch: number, topics: readonly { name: string; partitions: readonly number[] }[]): Map<string, number> {
    const codes = new Map<string, number>();
    const here = this.coordinates(transactionalId);
    for (const t of topics) for (const p of t.partitions) codes.set(partitionKey(t.name, p), here ? this.checkProduce(transactionalId, producerId, producerEpoch, t.name, p) : ErrorCode.NOT_COORDINATOR);
    return codes;
  }

  /** AddOffsetsToTxn: the group's `__consumer_offsets` partition joins the transaction. */
  addOffsets(transactionalId: string, producerId: number, producerEpoch: number, groupId: string): Promise<number> {
    return this.serialized(transactionalId, async () => {
      const m = this.txns.get(transactionalId);
      const error = this.checkProducer(transactionalId, m, producerId, producerEpoch);
      if (error !== ErrorCode.NONE) return error;
      if (m!.state === 'PrepareCommit' || m!.state === 'PrepareAbort') return ErrorCode.CONCURRENT_TRANSACTIONS;
      const key = partitionKey(this.config.offsets.topic, this.config.offsets.partitionFor(groupId));
      if (m!.partitions.has(key) && m!.state === 'Ongoing') return ErrorCode.NONE;
      try {
        await this.addToTransaction(m!, [key]);
      } catch (err) {
        this.config.logger.warn({ transactionalId, err }, 'adding the offsets partition to the transaction failed');
        return codeOf(err);
      }
      return ErrorCode.NONE;
    });
  }

  /** EndTxn: writes the decision, then the markers; NONE once the decision is in the log. */
  endTransaction(transactionalId: string, producerId: number, producerEpoch: number, commit: boolean): Promise<number> {
    return this.serialized(transactionalId, async () => {
      const m = this.txns.get(transactionalId);
      const error = this.checkProducer(transactionalId, m, producerId, producerEpoch);
      if (error !== ErrorCode.NONE) return error;
      switch (m!.state) {
        case 'Ongoing':
          break;
        // A retry of an EndTxn that was answered (or lost on the way back): same answer.
        case 'CompleteCommit':
          return commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
        case 'CompleteAbort':
          return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE;
        case 'PrepareCommit':
        case 'PrepareAbort':
          return ErrorCode.CONCURRENT_TRANSACTIONS;
        default:
          // Empty: nothing was added, so there is nothing to end.
          return ErrorCode.INVALID_TXN_STATE;
      }
      try {
        await this.decide(m!, commit);
      } catch (err) {
        this.config.logger.warn({ transactionalId, err }, 'writing the transaction decision failed');
        return codeOf(err);
      }
      await this.completeTransaction(this.txns.get(transactionalId)!, commit);
      return ErrorCode.NONE;
    });
  }

  /**
   * KIP-890 part 1, for Produce: NONE when `producerId`/`producerEpoch` is the current
   * instance of `transactionalId` and its ongoing transaction holds the partition. Called
   * synchronously just before the append.
   */
  checkProduce(transactionalId: string, producerId: number, producerEpoch: number, topic: string, partition: number): number {
    const m = this.txns.get(transactionalId);
    if (m === undefined || m.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (producerEpoch < m.producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    if (producerEpoch > m.producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    if (m.state !== 'Ongoing' || !m.partitions.has(partitionKey(topic, partition))) return ErrorCode.INVALID_TXN_STATE;
    return ErrorCode.NONE;
  }

  /** For TxnOffsetCommit: NONE when the producer is current and the group's partition is in its transaction. */
  checkTxnOffsetCommit(transactionalId: string, producerId: number, producerEpoch: number, groupId: string): number {
    const m = this.txns.get(transactionalId);
    const error = this.checkProducer(transactionalId, m, producerId, producerEpoch);
    if (error !== ErrorCode.NONE) return error;
    if (m!.state !== 'Ongoing' || !m!.partitions.has(partitionKey(this.config.offsets.topic, this.config.offsets.partitionFor(groupId)))) return ErrorCode.INVALID_TXN_STATE;
    return ErrorCode.NONE;
  }

  // ---- tools ------------------------------------------------------------------------------

  /** ListTransactions: ids with their producer id and state, filtered as Kafka's tool filters. */
  list(stateFilters: readonly string[], producerIdFilters: readonly number[], durationFilterMs = -1): { transactionalId: string; producerId: number; transactionState: string }[] {
    const now = this.time();
    const out: { transactionalId: string; producerId: number; transactionState: string }[] = [];
    for (const m of this.txns.values()) {
      if (stateFilters.length > 0 && !stateFilters.includes(m.state)) continue;
      if (producerIdFilters.length > 0 && !producerIdFilters.includes(m.producerId)) continue;
      if (durationFilterMs >= 0 && (m.state !== 'Ongoing' || now - m.startTimestampMs < durationFilterMs)) continue;
      out.push({ transactionalId: m.transactionalId, producerId: m.producerId, transactionState: m.state });
    }
    return out.sort((a, b) => (a.transactionalId < b.transactionalId ? -1 : a.transactionalId > b.transactionalId ? 1 : 0));
  }

  describe(transactionalId: string): DescribedTransaction {
    const m = this.txns.get(transactionalId);
    if (m === undefined) {
      return { errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, transactionalId, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerId: -1, producerEpoch: -1, topics: [] };
    }
    return {
      errorCode: ErrorCode.NONE,
      transactionalId,
      transactionState: m.state,
      transactionTimeoutMs: m.timeoutMs,
      transactionStartTimeMs: m.startTimestampMs,
      producerId: m.producerId,
      producerEpoch: m.producerEpoch,
      topics: partitionsByTopic(m.partitions).map((t) => ({ topic: t.topic, partitions: t.partitionIds })),
    };
  }

  /** Aborts every ongoing transaction older than its timeout (the timer calls it; tests may too). */
  async abortTimedOutTransactions(): Promise<number> {
    const now = this.time();
    const expired = [...this.txns.values()].filter((m) => m.state === 'Ongoing' && now - m.startTimestampMs > m.timeoutMs);
    let aborted = 0;
    for (const m0 of expired) {
      await this.serialized(m0.transactionalId, async () => {
        const m = this.txns.get(m0.transactionalId);
        if (m === undefined || m.state !== 'Ongoing' || this.time() - m.startTimestampMs <= m.timeoutMs) return;
        await this.abortWithBumpedEpoch(m, `it ran past its transaction.timeout.ms (${m.timeoutMs} ms)`);
        aborted++;
      }).catch((err: unknown) => this.config.logger.warn({ transactionalId: m0.transactionalId, err }, 'aborting a timed-out transaction failed; retried later'));
    }
    return aborted;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    await Promise.all([...this.chains.values()].map((c) => c.catch(() => {})));
    await this.stateLog.close();
  }

  // ---- state changes ----------------------------------------------------------------------

  /** Runs `fn` after every earlier request of the same transactional id. */
  private serialized<T>(transactionalId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.chains.get(transactionalId) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => {});
    this.chains.set(transactionalId, tail);
    void tail.then(() => {
      if (this.chains.get(transactionalId) === tail) this.chains.delete(transactionalId);
    });
    return run;
  }

  /** Producer id and epoch checks shared by the requests of an ongoing producer. */
  private checkProducer(transactionalId: string, m: TransactionMetadata | undefined, producerId: number, producerEpoch: number): number {
    if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (!this.coordinates(transactionalId)) return ErrorCode.NOT_COORDINATOR;
    if (m === undefined || m.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (producerEpoch !== m.producerEpoch) return ErrorCode.PRODUCER_FENCED;
    return ErrorCode.NONE;
  }

  private async addToTransaction(m: TransactionMetadata, keys: string[]): Promise<void> {
    const starting = m.state !== 'Ongoing';
    const next: TransactionMetadata = {
      ...m,
      state: 'Ongoing',
      partitions: starting ? new Set(keys) : new Set([...m.partitions, ...keys]),
      startTimestampMs: starting ? this.time() : m.startTimestampMs,
      lastUpdateTimestampMs: this.time(),
    };
    await this.transition(m, next);
  }

  /** Writes PrepareCommit / PrepareAbort: from here the outcome is fixed. */
  private async decide(m: TransactionMetadata, commit: boolean, epoch = m.producerEpoch): Promise<void> {
    // In memory first, synchronously: the produce path refuses this transaction's batches from now.
    const next: TransactionMetadata = { ...m, partitions: new Set(m.partitions), producerEpoch: epoch, state: commit ? 'PrepareCommit' : 'PrepareAbort', lastUpdateTimestampMs: this.time() };
    await this.transition(m, next);
  }

  /**
   * Writes the markers of a decided transaction, then CompleteCommit / CompleteAbort. In a
   * cluster a marker whose partition's leader is away is retried for a while (a failover
   * takes seconds); what is still missing then is left to the timer.
   */
  private async completeTransaction(m: TransactionMetadata, commit: boolean): Promise<void> {
    const statePartition = this.stateLog.partitionFor(m.transactionalId);
    const coordinatorEpoch = this.loaded.get(statePartition);
    if (coordinatorEpoch === undefined) return;
    const marker = { producerId: m.producerId, producerEpoch: m.producerEpoch, commit, coordinatorEpoch };
    // A partition deleted since has nothing to end.
    const live = (t: { topic: string; partition: number }) => t.topic === this.config.offsets.topic || this.config.hasPartition(t.topic, t.partition);
    let targets = [...m.partitions].map((k) => splitPartitionKey(k)).map(([topic, partition]) => ({ topic, partition })).filter(live);
    const deadline = Date.now() + (this.config.cluster ? MARKER_RETRY_MS : 0);
    for (let delay = 50; targets.length > 0; delay = Math.min(delay * 2, 1000)) {
      const failures = await this.config.writeMarkers(marker, targets);
      targets = failures.filter(live);
      if (targets.length === 0) break;
      if (this.closed || this.loaded.get(statePartition) !== coordinatorEpoch || Date.now() + delay > deadline) {
        for (const f of failures) this.config.logger.warn({ transactionalId: m.transactionalId, topic: f.topic, partition: f.partition, reason: f.reason }, `writing the ${commit ? 'commit' : 'abort'} marker failed; retried later`);
        if (this.loaded.get(statePartition) === coordinatorEpoch) this.unfinished.add(m.transactionalId);
        return;
      }
      await new Promise((r) => setTimeout(r, delay));
    }
    this.unfinished.delete(m.transactionalId);
    const next: TransactionMetadata = { ...m, state: commit ? 'CompleteCommit' : 'CompleteAbort', partitions: new Set(), lastUpdateTimestampMs: this.time() };
    try {
      // Not waited for in a cluster: if it is lost with this broker, the next coordinator finds
      // the decision and writes the (already written) markers again; a later state of this id
      // can only reach the replicas after it, as the log is copied in order.
      await this.transition(m, next, false);
    } catch (err) {
      // The markers are written: the timer (or the next coordinator) writes them again and completes it.
      this.config.logger.warn({ transactionalId: m.transactionalId, err }, 'recording the completed transaction failed; retried later');
      if (this.loaded.get(statePartition) === coordinatorEpoch) this.unfinished.add(m.transactionalId);
    }
  }

  /** Aborts an ongoing transaction under epoch + 1, fencing the instance that ran it. */
  private async abortWithBumpedEpoch(m: TransactionMetadata, why: string): Promise<void> {
    const epoch = m.producerEpoch + 1;
    this.config.logger.info({ transactionalId: m.transactionalId, producerId: m.producerId, producerEpoch: epoch, partitions: m.partitions.size }, `aborting the ongoing transaction: ${why}`);
    if (epoch > MAX_PRODUCER_EPOCH) {
      await this.decide(m, false);
    } else {
      m.lastProducerEpoch = -1;
      await this.decide(m, false, epoch);
    }
    await this.completeTransaction(this.txns.get(m.transactionalId)!, false);
  }

  /** A new instance: epoch + 1 (a new producer id once the epoch is exhausted), state Empty. */
  private async bumpEpoch(m: TransactionMetadata, timeoutMs: number): Promise<void> {
    let producerId = m.producerId;
    let epoch = m.producerEpoch + 1;
    let lastProducerId = m.producerId;
    if (epoch > MAX_PRODUCER_EPOCH) {
      producerId = await this.config.allocateProducerId();
      epoch = 0;
      lastProducerId = m.producerId;
    }
    const next: TransactionMetadata = {
      ...m,
      producerId,
      producerEpoch: epoch,
      lastProducerId,
      lastProducerEpoch: m.producerEpoch,
      timeoutMs,
      state: 'Empty',
      partitions: new Set(),
      startTimestampMs: -1,
      lastUpdateTimestampMs: this.time(),
    };
    await this.transition(m, next);
  }

  /**
   * Makes `next` the state of its id, in the log and in memory. A decision (PrepareCommit /
   * PrepareAbort) takes effect in memory at once, before the log write, so that the produce
   * path's synchronous check refuses the transaction's batches from that moment; anything
   * else only once it is in the log, so no batch is let in on a state the log may never
   * hold. If the write fails, memory stays (or goes back to) `from` and the error is thrown.
   */
  private async transition(from: TransactionMetadata, next: TransactionMetadata, awaitReplication = true): Promise<void> {
    if (!isLegalTransition(from.state, next.state)) {
      throw new Error(`transactional id '${from.transactionalId}': illegal transition ${from.state} -> ${next.state}`);
    }
    const id = next.transactionalId;
    const early = next.state === 'PrepareCommit' || next.state === 'PrepareAbort';
    if (early) this.txns.set(id, next);
    try {
      await this.persist(id, this.logValue(next), awaitReplication);
    } catch (err) {
      // (An unload dropped `next` with the partition; a reload put a fresh state there.)
      if (this.txns.get(id) === next) this.txns.set(id, from);
      throw err;
    }
    this.txns.set(id, next);
    if (from.state !== next.state || from.producerEpoch !== next.producerEpoch) {
      this.config.logger.debug?.({ transactionalId: id, from: from.state, to: next.state, producerEpoch: next.producerEpoch }, 'transaction state change');
    }
  }

  private logValue(m: TransactionMetadata): TransactionLogValue {
    return {
      producerId: m.producerId,
      producerEpoch: m.producerEpoch,
      transactionTimeoutMs: m.timeoutMs,
      state: m.state,
      partitions: partitionsByTopic(m.partitions),
      lastUpdateTimestampMs: m.lastUpdateTimestampMs,
      startTimestampMs: m.startTimestampMs,
    };
  }

  /**
   * Appends an id's state (null: its tombstone) to its partition, stamped with the coordinator
   * epoch; in a cluster only while this broker leads the partition, and done once replicated.
   * Throws NOT_COORDINATOR when the partition moved to another coordinator (or was taken over
   * again) while the write was out: the caller must not apply the state in memory then.
   */
  private async persist(transactionalId: string, value: TransactionLogValue | null, awaitReplication = true): Promise<void> {
    const cluster = this.config.cluster;
    const statePartition = this.stateLog.partitionFor(transactionalId);
    const coordinatorEpoch = this.loaded.get(statePartition);
    const moved = () => new KafkaError(ErrorCode.NOT_COORDINATOR, `transactional id '${transactionalId}': ${TRANSACTION_STATE_PARTITION_MOVED}`);
    if (coordinatorEpoch === undefined) throw moved();
    cluster?.beforeAppend(statePartition);
    const endOffset = await this.stateLog.write(transactionalId, value, coordinatorEpoch);
    if (cluster && awaitReplication) await cluster.replicated(statePartition, endOffset);
    if (this.loaded.get(statePartition) !== coordinatorEpoch) throw moved();
  }

  /**
   * transactional.id.expiration.ms: an id with no transaction open that has been idle that
   * long is forgotten (its tombstone is written), as Kafka does; its next InitProducerId
   * starts afresh with a new producer id.
   */
  async expireTransactionalIds(): Promise<number> {
    const now = this.time();
    const idle = (m: TransactionMetadata | undefined): m is TransactionMetadata =>
      m !== undefined && (m.state === 'Empty' || m.state === 'CompleteCommit' || m.state === 'CompleteAbort') && now - m.lastUpdateTimestampMs > this.expirationMs;
    let expired = 0;
    for (const m0 of [...this.txns.values()].filter(idle)) {
      const id = m0.transactionalId;
      await this.serialized(id, async () => {
        const m = this.txns.get(id);
        if (!idle(m)) return;
        await this.persist(id, null);
        if (this.txns.get(id) === m) this.txns.delete(id);
        expired++;
        this.config.logger.info({ transactionalId: id, producerId: m.producerId, idleMs: now - m.lastUpdateTimestampMs }, 'transactional id expired (transactional.id.expiration.ms)');
      }).catch((err: unknown) => this.config.logger.warn({ transactionalId: id, err }, 'expiring a transactional id failed; retried later'));
    }
    return expired;
  }

  private async tick(): Promise<void> {
    if (this.closed) return;
    for (const id of [...this.unfinished]) {
      await this.serialized(id, async () => {
        const m = this.txns.get(id);
        if (m !== undefined && (m.state === 'PrepareCommit' || m.state === 'PrepareAbort')) await this.completeTransaction(m, m.state === 'PrepareCommit');
        else if (m !== undefined && (m.state === 'CompleteCommit' || m.state === 'CompleteAbort')) this.unfinished.delete(id);
      }).catch(() => {});
    }
    await this.abortTimedOutTransactions();
    await this.expireTransactionalIds();
    await this.stateLog.maybeCompact();
  }
}
