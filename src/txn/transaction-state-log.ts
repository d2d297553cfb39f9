/**
 * The transaction coordinator's log: Kafka's internal topic `__transaction_state`,
 * `<dir>/__transaction_state-<p>` for p in 0..n-1, records in Kafka's format
 * (transaction-log-record.ts). A transactional id lives in partition abs(hashCode(id)) % n, as
 * in Kafka; the partition count is kept in `<dir>/__transaction_state.json`, fixed at creation
 * (transaction.state.log.num.partitions, default 50, as Kafka's).
 *
 * Each change of an id's state is one record holding the whole new state, appended
 * synchronously (and fsynced under 'fsync' durability) before the coordinator acts on it; on
 * open every partition is replayed, the last record of each id wins. The logs are compacted
 * (Kafka's cleanup.policy=compact) once their sealed segments are mostly superseded records.
 *
 * Not thread-safe: one owner (the TransactionCoordinator).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Partition } from '../broker/partition.js';
import { batchesIn, buildBatch, readRecords } from '../record/index.js';
import { Log, type LogOptions, type StorageLogger } from '../storage/index.js';
import { replaceFile } from '../storage/write-fully.js';
import {
  decodeTransactionLogKey,
  decodeTransactionLogValue,
  encodeTransactionLogKey,
  encodeTransactionLogValue,
  TRANSACTION_STATE_TOPIC,
  transactionStatePartitionFor,
  type TransactionLogValue,
} from './transaction-log-record.js';

export const TRANSACTION_STATE_META_FILE = `${TRANSACTION_STATE_TOPIC}.json`;
/** transaction.state.log.num.partitions when not set: Kafka's 50. */
export const DEFAULT_TRANSACTION_STATE_PARTITIONS = 50;
/** transaction.state.log.segment.bytes: Kafka's 100 MiB is far more than state needs. */
const SEGMENT_BYTES = 16 * 1024 * 1024;
/** Compact when this share of the sealed segments was written since the last compaction. */
const MIN_DIRTY_RATIO = 0.5;

export interface TransactionStateLogOptions {
  dir: string;
  partitions?: number;
  durability: 'pagecache' | 'fsync';
  logger: StorageLogger;
}

interface StateMeta {
  version: 1;
  partitions: number;
  topicId: string;
}

export class TransactionStateLog {
  private readonly parts: Partition[] = [];
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly meta: StateMeta,
    private readonly options: TransactionStateLogOptions,
  ) {}

  /**
   * Opens (creating on first use) every partition; `onRecord`, when given, sees each live
   * record, oldest first. (In a cluster the coordinator reads a partition when it becomes its
   * leader instead: replayPartition.)
   */
  static open(options: TransactionStateLogOptions, onRecord?: (transactionalId: string, value: TransactionLogValue | null) => void): TransactionStateLog {
    fs.mkdirSync(options.dir, { recursive: true });
    const metaPath = path.join(options.dir, TRANSACTION_STATE_META_FILE);
    let meta: StateMeta;
    try {
      meta = JSON.parse(fs.readFileSync(metaPath, 'utf8')) as StateMeta;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${metaPath}: ${(err as Error).message} (restore it from a backup, or move the ${TRANSACTION_STATE_TOPIC}-* directories aside to start with no transactions)`);
      const partitions = options.partitions ?? DEFAULT_TRANSACTION_STATE_PARTITIONS;
      if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1000) {
        throw new RangeError(`transaction.state.log.num.partitions must be a whole number from 1 to 1000, not ${partitions}`);
      }
      meta = { version: 1, partitions, topicId: crypto.randomUUID() };
      replaceFile(metaPath, `${JSON.stringify(meta)}\n`, true);
    }
    const log = new TransactionStateLog(options.dir, meta, options);
    try {
      for (let p = 0; p < meta.partitions; p++) {
        const part = new Partition(TRANSACTION_STATE_TOPIC, p, Log.open(path.join(options.dir, `${TRANSACTION_STATE_TOPIC}-${p}`), log.logOptions()), false);
        log.parts.push(part);
        if (onRecord) log.replay(part, onRecord);
      }
    } catch (err) {
      for (const part of log.parts) void part.close().catch(() => {});
      throw err;
    }
    return log;
  }

  /** The topic id of `__transaction_state` in this data directory. */
  get topicId(): string {
    return this.meta.topicId;
  }

  get partitionCount(): number {
    return this.meta.partitions;
  }

  partitionFor(transactionalId: string): number {
    return transactionStatePartitionFor(transactionalId, this.meta.partitions);
  }

  /** Partition `index` of the topic (for reading it as Kafka's tools do). */
  partition(index: number): Partition | undefined {
    return this.parts[index];
  }

  /**
   * Appends the new state of `transactionalId` (null: a tombstone), stamped with the partition's
   * leader epoch, and resolves with the log end offset after it (what a cluster waits to see
   * replicated). Throws when the append fails (a full disk): the caller must not act on a
   * state that is not in the log.
   */
  async write(transactionalId: string, value: TransactionLogValue | null, leaderEpoch = 0): Promise<number> {
    if (this.closed) throw new Error(`the transaction state log in ${this.dir} is closed`);
    const part = this.parts[this.partitionFor(transactionalId)]!;
    const now = Date.now();
    const info = part.append(buildBatch([{ key: encodeTransactionLogKey(transactionalId), value: value === null ? null : encodeTransactionLogValue(value), timestamp: now }], { now }), { leaderEpoch });
    if (this.options.durability === 'fsync') await part.log.flush();
    return info.lastOffset + 1;
  }

  /** Every live record of partition `index`, oldest first (a coordinator taking the partition over). */
  replayPartition(index: number, onRecord: (transactionalId: string, value: TransactionLogValue | null) => void): void {
    const part = this.parts[index];
    if (part === undefined) throw new RangeError(`${TRANSACTION_STATE_TOPIC} has no partition ${index}`);
    this.replay(part, onRecord);
  }

  /** Compacts partitions whose sealed segments are mostly superseded records. */
  async maybeCompact(): Promise<void> {
    for (const part of this.parts) {
      if (this.closed) return;
      if (part.log.dirtyRatio < MIN_DIRTY_RATIO) continue;
      try {
        await part.log.compact({ deleteRetentionMs: 24 * 3600 * 1000, minCompactionLagMs: 0 });
      } catch (err) {
        if (!this.closed) this.options.logger.warn({ dir: part.log.dir, err }, `${TRANSACTION_STATE_TOPIC} compaction failed; it is retried later`);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.parts.map((p) => p.close()));
  }

  private replay(part: Partition, onRecord: (transactionalId: string, value: TransactionLogValue | null) => void): void {
    const log = part.log;
    let offset = log.logStartOffset;
    let skipped = 0;
    while (offset < log.logEndOffset) {
      const r = log.read(offset, 8 * 1024 * 1024);
      if (r.records.length === 0) break;
      for (const batch of batchesIn(r.records)) {
        for (const rec of readRecords(batch)) {
          try {
            if (rec.key === null) throw new Error('no key');
            const id = decodeTransactionLogKey(Buffer.from(rec.key));
            onRecord(id, rec.value === null ? null : decodeTransactionLogValue(Buffer.from(rec.value)));
          } catch {
            skipped++;
          }
        }
      }
      offset = r.nextOffset;
    }
    if (skipped > 0) this.options.logger.warn({ dir: log.dir, skipped }, `${TRANSACTION_STATE_TOPIC} replay skipped undecodable records`);
  }

  private logOptions(): LogOptions {
    return {
      durability: this.options.durability,
      logger: this.options.logger,
      background: false,
      segmentMs: Infinity,
      retentionMs: -1,
      segmentBytes: SEGMENT_BYTES,
      maxMessageBytes: 1024 * 1024,
    };
  }
}
