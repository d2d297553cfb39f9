/**
 * Committed offsets: an in-memory map mirrored by Kafka's internal topic `__consumer_offsets`,
 * `<dir>/__consumer_offsets-<p>` for p in 0..n-1, with records in Kafka's own format
 * (offset-record.ts). A group lives in partition abs(javaHashCode(groupId)) % n, as in Kafka,
 * so all of a group's records are in one log and one commit request is one batch there (all its
 * partitions, all or nothing). Memory changes at the moment a batch is appended, so memory is
 * always exactly the replay of the logs; a write resolves once its batches are in the logs (and
 * fsynced under 'fsync' durability).
 *
 * The partition count and the topic id are kept in `<dir>/__consumer_offsets.json`
 * (OffsetsTopicMeta), written once, when the topic is created: like Kafka, a data directory
 * keeps the count it was created with, whatever offsets.topic.num.partitions says later (a
 * different setting is reported, not applied, so no group ever moves partition). A data
 * directory from before this format (one msgpack log, no such file) is migrated on open
 * (offsets-migration.ts).
 *
 * Compaction, per partition: once a log is bigger than `compactionMinBytes` and 4x its live
 * entries, the live entries are written to `__consumer_offsets-<p>.compacting`, starting at the
 * old log end offset (so offsets only grow, and a reader of the topic sees the live entries
 * again rather than an offset going back), that log is closed (fsynced), and the directories
 * are swapped:
 *
 *   1. close the current log
 *   2. rename __consumer_offsets-<p>            -> __consumer_offsets-<p>.old
 *   3. rename __consumer_offsets-<p>.compacting -> __consumer_offsets-<p>
 *   4. fsync the parent directory, then delete .old
 *
 * open() finishes or undoes a swap a crash interrupted (see recoverInterruptedSwap). Writes that
 * arrive while a compaction runs wait for it.
 *
 * Not thread-safe: one owner (the GroupCoordinator) calls it from one thread.
 */
import type { SegmentHandles } from '../storage/segment-handles.js';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Partition } from '../broker/partition.js';
import { buildBatch, batchesIn, readBatchHeader, readRecords, type RecordInput } from '../record/index.js';
import { buildEndTransactionMarker, readEndTransactionMarker } from '../record/control.js';
import { CLEAN_SHUTDOWN_FILE, Log, type LogOptions } from '../storage/index.js';
import { writeCheckpoint } from '../storage/checkpoint.js';
import { replaceFile } from '../storage/write-fully.js';
import {
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeOffsetsTopicKey,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  offsetsPartitionFor,
  type GroupMetadataRecord,
} from './offset-record.js';
import { LEGACY_OFFSETS_DIRS, LEGACY_STAGING_DIR, migrateLegacyOffsets } from './offsets-migration.js';
import type { CommittedOffset, GroupLogger } from './types.js';

/** Kafka's internal topic name. */
export const OFFSETS_TOPIC = '__consumer_offsets';
/** The topic's partition count and id, beside the partition directories. */
export const OFFSETS_TOPIC_META_FILE = `${OFFSETS_TOPIC}.json`;
/**
 * offsets.topic.num.partitions when not set: Kafka's 50. In Kafka the count spreads group
 * coordinators over brokers, which one broker does not need; but tools and scripts that find a
 * group's records compute abs(hashCode) % 50, and a data directory keeps its count forever, so
 * the default follows Kafka. The cost here was measured small: an idle partition holds one open
 * file and one mapping, four files and about 8 KiB on disk, and adds well under a millisecond to
 * a clean start (50 partitions: 72 fds for the whole broker, 412 KiB).
 */
export const DEFAULT_OFFSETS_TOPIC_PARTITIONS = 50;
export const MAX_OFFSETS_TOPIC_PARTITIONS = 1000;

export function offsetsLogDir(partition: number): string {
  return `${OFFSETS_TOPIC}-${partition}`;
}

const COMPACTING_SUFFIX = '.compacting';
const OLD_SUFFIX = '.old';
/** Rough per-record cost in a batch beyond key and value (varints, attributes, deltas). */
const RECORD_OVERHEAD = 12;
/** The one leader epoch of a single broker, stamped on every batch as the produce path does. */
const APPEND = { leaderEpoch: 0 } as const;
/** Records per batch when compaction or a migration writes a log. */
export const REWRITE_BATCH_RECORDS = 4096;

export interface OffsetsReplication {
  leaderEpoch(partition: number): number | undefined;
  /** Resolves once the partition's high watermark reaches `endOffset`; throws (a KafkaError) when it cannot. */
  replicated(partition: number, endOffset: number): Promise<void>;
}

export interface OffsetStoreOptions {
  /** The directory that holds `__consumer_offsets-<p>`. */
  dir: string;
  /** offsets.topic.num.partitions: used when the topic is created (default 50, as Kafka). */
  partitions?: number;
  durability: 'pagecache' | 'fsync';
  time: () => number;
  logger: GroupLogger;
  compactionMinBytes: number;
  /** The bound on open segment files these logs count in (default: the thread's). */
  segmentHandles?: SegmentHandles;
}

/** `<dir>/__consumer_offsets.json`. */
export interface OffsetsTopicMeta {
  version: 1;
  /** The record format of the partitions: Kafka's OffsetCommit/GroupMetadata schemas. */
  format: 'kafka';
  partitions: number;
  /** The topic id Metadata and Fetch v13+ use. */
  topicId: string;
}

/** One change: a committed offset, or null to delete it (a tombstone). */
export interface OffsetChange {
  groupId: string;
  topic: string;
  partition: number;
  value: CommittedOffset | null;
}

interface Entry {
  value: CommittedOffset;
  /** Bytes of its record, for the compaction threshold. */
  size: number;
}

interface OffsetsPartition {
  index: number;
  dir: string;
  /** Replaced on each compaction swap (readers take it anew on each request). */
  partition: Partition;
  /** Bytes of the live records of this partition's groups. */
  liveBytes: number;
  compaction: Promise<void> | null;
}

const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

function splitKey(key: string): [string, number] {
  const cut = key.lastIndexOf('\u0000');
  return [key.slice(0, cut), Number(key.slice(cut + 1))];
}

export class OffsetStore {
  /** groupId -> "topic\0partition" -> entry. */
  private readonly groups = new Map<string, Map<string, Entry>>();
  /** The last GroupMetadataValue of each group found in the logs (kept through compaction). */
  private readonly groupRecords = new Map<string, GroupMetadataRecord>();
  private readonly parts: OffsetsPartition[] = [];
  /**
   * Offsets committed inside transactions (TxnOffsetCommit), not visible yet: partition ->
   * producer id -> changes in commit order. They are in the log as transactional batches of
   * that producer; its commit marker applies them, its abort marker drops them (as Kafka's
   * GroupMetadataManager does), in memory and on replay alike.
   */
  private readonly pendingTxn = new Map<number, Map<number, { change: OffsetChange; size: number }[]>>();
  private closed = false;
  /** Compactions done since open (for tests and metrics). */
  compactions = 0;
  /**
   * In a cluster, the partitions are replicated (replica-manager.ts): each write is stamped with
   * its partition's leader epoch and resolves only once the partition's in-sync replicas hold it,
   * as Kafka's offsets.commit.required.acks=-1. The store's own compaction (a directory swap
   * that renumbers nothing but replaces the log) is off then: followers copy the log as it is.
   */
  replication: OffsetsReplication | null = null;

  private constructor(
    readonly dir: string,
    readonly meta: OffsetsTopicMeta,
    private readonly options: OffsetStoreOptions,
  ) {}

  /**
   * Creates the topic on first use, migrates a msgpack-era data directory, finishes or undoes
   * interrupted compactions, opens every partition's log and replays it.
   */
  static async open(options: OffsetStoreOptions): Promise<OffsetStore> {
    const dir = options.dir;
    fs.mkdirSync(dir, { recursive: true });
    const requested = options.partitions ?? DEFAULT_OFFSETS_TOPIC_PARTITIONS;
    if (!Number.isInteger(requested) || requested < 1 || requested > MAX_OFFSETS_TOPIC_PARTITIONS) {
      throw new RangeError(`offsets.topic.num.partitions must be a whole number from 1 to ${MAX_OFFSETS_TOPIC_PARTITIONS}, not ${requested}`);
    }
    let meta = readOffsetsTopicMeta(dir);
    if (meta === null) {
      const fresh: OffsetsTopicMeta = { version: 1, format: 'kafka', partitions: requested, topicId: crypto.randomUUID() };
      if (LEGACY_OFFSETS_DIRS.some((d) => fs.existsSync(path.join(dir, d)))) {
        await migrateLegacyOffsets(dir, fresh, logOptions(options), options.logger, () => writeOffsetsTopicMeta(dir, fresh));
      } else {
        writeOffsetsTopicMeta(dir, fresh);
      }
      meta = fresh;
    } else {
      // A migration that crashed after its commit point leaves the old log behind.
      fs.rmSync(path.join(dir, LEGACY_STAGING_DIR), { recursive: true, force: true });
      if (meta.partitions !== requested && options.partitions !== undefined) {
        options.logger.warn(
          { dir, partitions: meta.partitions, requested },
          `offsets.topic.num.partitions=${requested} is not applied: ${OFFSETS_TOPIC} in this data directory was created with ${meta.partitions} partitions and keeps them (as in Kafka), so no group moves`,
        );
      }
    }
    const store = new OffsetStore(dir, meta, options);
    try {
      for (let p = 0; p < meta.partitions; p++) {
        const logDir = path.join(dir, offsetsLogDir(p));
        recoverInterruptedSwap(logDir, options.logger);
        const part: OffsetsPartition = { index: p, dir: logDir, partition: store.newPartition(p, Log.open(logDir, logOptions(options))), liveBytes: 0, compaction: null };
        store.parts.push(part);
        store.replay(part);
      }
    } catch (err) {
      for (const part of store.parts) void part.partition.close().catch(() => {});
      throw err;
    }
    return store;
  }

  get partitionCount(): number {
    return this.meta.partitions;
  }

  get topicId(): string {
    return this.meta.topicId;
  }

  /** The partition of `__consumer_offsets` a group's records go to. */
  partitionFor(groupId: string): number {
    return offsetsPartitionFor(groupId, this.meta.partitions);
  }

  /** Partition `index` of the topic, for Fetch, ListOffsets and describe (a new object after each compaction). */
  partition(index: number): Partition | undefined {
    return this.parts[index]?.partition;
  }

  /** Bytes of all partitions' logs. */
  get logSize(): number {
    let n = 0;
    for (const p of this.parts) n += p.partition.log.size;
    return n;
  }

  get(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.groups.get(groupId)?.get(partitionKey(topic, partition))?.value;
  }

  /** Every offset of a group as [topic, partition, value], in commit order of first commit. */
  *offsetsOf(groupId: string): Generator<[string, number, CommittedOffset]> {
    const g = this.groups.get(groupId);
    if (g === undefined) return;
    for (const [key, e] of g) yield [...splitKey(key), e.value];
  }

  hasOffsets(groupId: string): boolean {
    return (this.groups.get(groupId)?.size ?? 0) > 0;
  }

  groupIds(): string[] {
    return [...this.groups.keys()];
  }

  /** Groups with a GroupMetadataValue in the topic. */
  groupRecordIds(): string[] {
    return [...this.groupRecords.keys()];
  }

  /** The group's last GroupMetadataValue in the topic, if any. */
  groupRecord(groupId: string): GroupMetadataRecord | undefined {
    return this.groupRecords.get(groupId);
  }

  /**
   * Appends the changes, one batch per partition of `__consumer_offsets` they touch (one for
   * the changes of one group), and applies them to memory; resolves when the batches are
   * durable per the durability setting. Waits for running compactions of those partitions.
   */
  async write(changes: OffsetChange[]): Promise<void> {
    if (changes.length === 0) return;
    const byPartition = new Map<number, OffsetChange[]>();
    for (const c of changes) {
      const p = this.partitionFor(c.groupId);
      let list = byPartition.get(p);
      if (list === undefined) byPartition.set(p, (list = []));
      list.push(c);
    }
    await this.waitForCompactions(byPartition.keys());
    const now = this.options.time();
    const flushes: Promise<void>[] = [];
    for (const [p, list] of byPartition) {
      const records: RecordInput[] = [];
      const sizes: number[] = [];
      for (const c of list) {
        const key = encodeOffsetCommitKey(c);
        const value = c.value === null ? null : encodeOffsetCommitValue(c.value);
        records.push({ key, value, timestamp: c.value?.commitTimestamp ?? now });
        sizes.push(key.length + (value?.length ?? 0) + RECORD_OVERHEAD);
      }
      const part = this.parts[p]!;
      // Synchronous append, then memory: both happen before anything else can run, and memory
      // changes only when the append succeeded.
      const info = part.partition.append(buildBatch(records, { now }), this.appendOptions(p));
      list.forEach((c, i) => this.apply(part, c.groupId, c.topic, c.partition, c.value, sizes[i]!));
      if (this.options.durability === 'fsync') flushes.push(part.partition.log.flush());
      if (this.replication) flushes.push(this.replication.replicated(p, info.lastOffset + 1));
    }
    await Promise.all(flushes);
    for (const p of byPartition.keys()) this.maybeCompact(p);
  }

  /**
   * Appends offsets committed inside a transaction as one transactional batch of the producer
   * (TxnOffsetCommit); they stay pending, invisible to OffsetFetch, until writeTxnMarker.
   */
  async writeTransactional(producerId: number, producerEpoch: number, changes: OffsetChange[]): Promise<void> {
    if (changes.length === 0) return;
    const p = this.partitionFor(changes[0]!.groupId);
    if (changes.some((c) => this.partitionFor(c.groupId) !== p)) throw new RangeError('one transactional offset commit holds the offsets of one group');
    await this.waitForCompactions([p]);
    const now = this.options.time();
    const records: RecordInput[] = [];
    const pending: { change: OffsetChange; size: number }[] = [];
    for (const c of changes) {
      const key = encodeOffsetCommitKey(c);
      const value = c.value === null ? null : encodeOffsetCommitValue(c.value);
      records.push({ key, value, timestamp: c.value?.commitTimestamp ?? now });
      pending.push({ change: c, size: key.length + (value?.length ?? 0) + RECORD_OVERHEAD });
    }
    const part = this.parts[p]!;
    const info = part.partition.append(buildBatch(records, { now, producerId, producerEpoch, transactional: true }), this.appendOptions(p));
    this.addPending(p, producerId, pending);
    if (this.options.durability === 'fsync') await part.partition.log.flush();
    // In a cluster, as Kafka's TxnOffsetCommit: answered once the in-sync replicas have it.
    if (this.replication) await this.replication.replicated(p, info.lastOffset + 1);
  }

  /**
   * Ends a producer's transaction in the group's partition: appends the commit or abort
   * marker, then applies (commit) or drops (abort) the offsets it committed there.
   */
  async writeTxnMarker(groupPartition: number, producerId: number, producerEpoch: number, commit: boolean, coordinatorEpoch: number): Promise<void> {
    const part = this.parts[groupPartition];
    if (part === undefined) throw new RangeError(`${OFFSETS_TOPIC} has no partition ${groupPartition}`);
    await this.waitForCompactions([groupPartition]);
    const now = this.options.time();
    const info = part.partition.append(buildEndTransactionMarker({ committed: commit, producerId, producerEpoch, coordinatorEpoch, timestamp: now }), this.appendOptions(groupPartition));
    this.endPending(part, producerId, commit);
    if (this.options.durability === 'fsync') await part.partition.log.flush();
    this.maybeCompact(groupPartition);
    // In a cluster the coordinator counts the marker once the in-sync replicas have it.
    if (this.replication) await this.replication.replicated(groupPartition, info.lastOffset + 1);
  }

  /** True while the group has offsets committed in a transaction that has not ended (OffsetFetch requireStable). */
  hasPendingTransactionalOffsets(groupId: string): boolean {
    for (const list of this.pendingTxn.get(this.partitionFor(groupId))?.values() ?? []) {
      if (list.some((e) => e.change.groupId === groupId)) return true;
    }
    return false;
  }

  /** True while an offset of this group and partition is committed in a transaction that has not ended. */
  hasPendingTransactionalOffset(groupId: string, topic: string, partition: number): boolean {
    for (const list of this.pendingTxn.get(this.partitionFor(groupId))?.values() ?? []) {
      if (list.some((e) => e.change.groupId === groupId && e.change.topic === topic && e.change.partition === partition)) return true;
    }
    return false;
  }

  private addPending(p: number, producerId: number, entries: { change: OffsetChange; size: number }[]): void {
    let byProducer = this.pendingTxn.get(p);
    if (byProducer === undefined) this.pendingTxn.set(p, (byProducer = new Map()));
    const list = byProducer.get(producerId);
    if (list === undefined) byProducer.set(producerId, entries);
    else list.push(...entries);
  }

  private endPending(part: OffsetsPartition, producerId: number, commit: boolean): void {
    const byProducer = this.pendingTxn.get(part.index);
    const list = byProducer?.get(producerId);
    if (list === undefined) return;
    byProducer!.delete(producerId);
    if (byProducer!.size === 0) this.pendingTxn.delete(part.index);
    if (commit) for (const { change: c, size } of list) this.apply(part, c.groupId, c.topic, c.partition, c.value, size);
  }

  /**
   * Writes a group's GroupMetadataValue, or its tombstone (null), to its partition. Memory takes
   * the change at once, before a running compaction of that partition ends: a removal decided
   * meanwhile must see the record to tombstone it (and a compaction writes what memory holds).
   */
  async writeGroup(groupId: string, value: GroupMetadataRecord | null): Promise<void> {
    if (value === null) this.groupRecords.delete(groupId);
    else this.groupRecords.set(groupId, value);
    const p = this.partitionFor(groupId);
    await this.waitForCompactions([p]);
    const now = this.options.time();
    const part = this.parts[p]!;
    const info = part.partition.append(buildBatch([{ key: encodeGroupMetadataKey(groupId), value: value === null ? null : encodeGroupMetadataValue(value), timestamp: now }], { now }), this.appendOptions(p));
    if (this.options.durability === 'fsync') await part.partition.log.flush();
    if (this.replication) await this.replication.replicated(p, info.lastOffset + 1);
  }

  /** Waits for running compactions, flushes and closes every log. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.waitForCompactions(this.parts.map((p) => p.index));
    this.closed = true;
    await Promise.all(this.parts.map((p) => p.partition.close()));
  }

  private appendOptions(p: number): { leaderEpoch: number } {
    const epoch = this.replication?.leaderEpoch(p);
    return epoch === undefined ? APPEND : { ...APPEND, leaderEpoch: epoch };
  }

  /** Starts a compaction of partition `p` when its log is big enough; returns the running one, if any. */
  maybeCompact(p: number): Promise<void> | null {
    const part = this.parts[p]!;
    if (part.compaction !== null || this.closed) return part.compaction;
    if (this.replication) return null;
    // A rewrite keeps live entries only: transactional offsets still pending would be lost.
    if (this.pendingTxn.has(p)) return null;
    const size = part.partition.log.size;
    if (size <= this.options.compactionMinBytes || size <= 4 * part.liveBytes) return null;
    return this.startCompaction(part);
  }

  /** Rewrites every partition's log to its live entries now, whatever its size. */
  async compact(): Promise<void> {
    for (const part of this.parts) {
      while (part.compaction !== null) await part.compaction;
      if (this.closed) throw new Error(`the offsets logs in ${this.dir} are closed`);
      // Pending transactional offsets are not live entries yet: a rewrite would lose them.
      if (this.pendingTxn.has(part.index)) continue;
      await this.startCompaction(part);
    }
  }

  private async waitForCompactions(partitions: Iterable<number>): Promise<void> {
    for (const p of partitions) {
      const part = this.parts[p]!;
      while (part.compaction !== null) await part.compaction;
    }
    if (this.closed) throw new Error(`the offsets logs in ${this.dir} are closed`);
  }

  private newPartition(index: number, log: Log): Partition {
    return new Partition(OFFSETS_TOPIC, index, log, false);
  }

  private startCompaction(part: OffsetsPartition): Promise<void> {
    part.compaction = this.rewrite(part)
      .catch((err: unknown) => this.options.logger.warn({ dir: part.dir, err }, 'offsets log compaction failed'))
      .finally(() => {
        part.compaction = null;
      });
    return part.compaction;
  }

  /**
   * Replays partition `index` again from its log: in a cluster a follower copies records into
   * it without write(), so the broker that becomes its leader (its groups' coordinator) reads
   * what it now holds. Groups of that partition that are no longer in the log are forgotten.
   */
  reload(index: number): void {
    const part = this.parts[index];
    if (!part || this.closed) return;
    for (const g of [...this.groups.keys()]) if (this.partitionFor(g) === index) this.groups.delete(g);
    for (const g of [...this.groupRecords.keys()]) if (this.partitionFor(g) === index) this.groupRecords.delete(g);
    part.liveBytes = 0;
    this.replay(part);
  }

  private apply(part: OffsetsPartition, groupId: string, topic: string, partition: number, value: CommittedOffset | null, size: number): void {
    const key = partitionKey(topic, partition);
    let g = this.groups.get(groupId);
    const old = g?.get(key);
    if (old !== undefined) part.liveBytes -= old.size;
    if (value === null) {
      if (g !== undefined && old !== undefined) {
        g.delete(key);
        if (g.size === 0) this.groups.delete(groupId);
      }
      return;
    }
    if (g === undefined) this.groups.set(groupId, (g = new Map()));
    g.set(key, { value, size });
    part.liveBytes += size;
  }

  private replay(part: OffsetsPartition): void {
    const log = part.partition.log;
    let offset = log.logStartOffset;
    let skipped = 0;
    let misplaced = 0;
    while (offset < log.logEndOffset) {
      const r = log.read(offset, 8 * 1024 * 1024);
      if (r.records.length === 0) break;
      for (const batch of batchesIn(r.records)) {
        const header = readBatchHeader(batch, 0);
        if (header.isControl) {
          try {
            this.endPending(part, header.producerId, readEndTransactionMarker(batch).committed);
          } catch {
            skipped++;
          }
          continue;
        }
        const txn: { change: OffsetChange; size: number }[] | null = header.isTransactional ? [] : null;
        for (const rec of readRecords(batch)) {
          try {
            if (rec.key === null) throw new Error('no key');
            const key = decodeOffsetsTopicKey(rec.key);
            if (txn !== null && key.type === 'offset') {
              const value = rec.value === null ? null : decodeOffsetCommitValue(rec.value);
              if (value !== null) delete (value as { version?: number }).version;
              txn.push({ change: { groupId: key.groupId, topic: key.topic, partition: key.partition, value }, size: rec.key.length + (rec.value?.length ?? 0) + RECORD_OVERHEAD });
              continue;
            }
            // A record in a partition its group does not hash to would never be found again.
            if (this.partitionFor(key.groupId) !== part.index) misplaced++;
            if (key.type === 'group') {
              if (rec.value === null) this.groupRecords.delete(key.groupId);
              else this.groupRecords.set(key.groupId, decodeGroupMetadataValue(rec.value));
              continue;
            }
            const value = rec.value === null ? null : decodeOffsetCommitValue(rec.value);
            if (value !== null) delete (value as { version?: number }).version;
            const size = rec.key.length + (rec.value?.length ?? 0) + RECORD_OVERHEAD;
            this.apply(part, key.groupId, key.topic, key.partition, value, size);
          } catch {
            skipped++;
          }
        }
        if (txn !== null && txn.length > 0) this.addPending(part.index, header.producerId, txn);
      }
      offset = r.nextOffset;
    }
    if (skipped > 0) this.options.logger.warn({ dir: part.dir, skipped }, 'offsets log replay skipped undecodable records');
    if (misplaced > 0) this.options.logger.warn({ dir: part.dir, misplaced }, 'offsets log holds records of groups that belong to another partition');
  }

  /** The records that restore this partition's groups: group metadata, then every live offset. */
  *liveRecords(partition: number): Generator<RecordInput> {
    for (const [groupId, g] of this.groupRecords) {
      if (this.partitionFor(groupId) === partition) yield { key: encodeGroupMetadataKey(groupId), value: encodeGroupMetadataValue(g), timestamp: this.options.time() };
    }
    for (const [groupId, g] of this.groups) {
      if (this.partitionFor(groupId) !== partition) continue;
      for (const [key, e] of g) {
        const [topic, p] = splitKey(key);
        yield { key: encodeOffsetCommitKey({ groupId, topic, partition: p }), value: encodeOffsetCommitValue(e.value), timestamp: e.value.commitTimestamp };
      }
    }
  }

  /** Rewrites the live entries into a fresh log and swaps it in (see the file comment). */
  private async rewrite(part: OffsetsPartition): Promise<void> {
    const finalDir = part.dir;
    const tmpDir = finalDir + COMPACTING_SUFFIX;
    const oldDir = finalDir + OLD_SUFFIX;
    const oldLog = part.partition.log;
    const before = oldLog.size;
    fs.rmSync(tmpDir, { recursive: true, force: true });
    fs.mkdirSync(tmpDir);
    // The new log begins where the old one ends: offsets of the topic never go back.
    const start = oldLog.logEndOffset;
    writeCheckpoint(tmpDir, { logStartOffset: start, recoveryPoint: start });
    const out = Log.open(tmpDir, logOptions(this.options));
    try {
      writeRecords(out, this.liveRecords(part.index), this.options.time());
      await out.close();
    } catch (err) {
      await out.close().catch(() => {});
      fs.rmSync(tmpDir, { recursive: true, force: true });
      throw err;
    }
    await part.partition.close();
    try {
      fs.renameSync(finalDir, oldDir);
      fs.renameSync(tmpDir, finalDir);
      fsyncDir(path.dirname(finalDir));
      fs.rmSync(oldDir, { recursive: true, force: true });
    } finally {
      // Whatever happened above, put a log back: the swapped one, or the old one restored.
      recoverInterruptedSwap(finalDir, this.options.logger);
      part.partition = this.newPartition(part.index, Log.open(finalDir, logOptions(this.options)));
    }
    this.compactions++;
    this.options.logger.info({ dir: finalDir, before, after: part.partition.log.size }, 'compacted the offsets log');
  }
}

/** Appends `records` to `log` in batches of REWRITE_BATCH_RECORDS. */
export function writeRecords(log: Log, records: Iterable<RecordInput>, now: number): void {
  let batch: RecordInput[] = [];
  for (const r of records) {
    batch.push(r);
    if (batch.length === REWRITE_BATCH_RECORDS) {
      log.append(buildBatch(batch, { now }), APPEND);
      batch = [];
    }
  }
  if (batch.length > 0) log.append(buildBatch(batch, { now }), APPEND);
}

/** The options of every offsets log (Kafka's offsets.topic.* settings where they apply). */
export function logOptions(o: Pick<OffsetStoreOptions, 'durability' | 'time' | 'logger' | 'segmentHandles'>): LogOptions {
  return {
    segmentHandles: o.segmentHandles,
    durability: o.durability,
    time: o.time,
    logger: o.logger,
    background: false,
    segmentMs: Infinity,
    retentionMs: -1,
    // offsets.topic.segment.bytes; compaction keeps the log far below it in practice.
    segmentBytes: 100 * 1024 * 1024,
    // One commit request is one batch, however many partitions it names.
    maxMessageBytes: 64 * 1024 * 1024,
  };
}

export function readOffsetsTopicMeta(dir: string): OffsetsTopicMeta | null {
  const file = path.join(dir, OFFSETS_TOPIC_META_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let m: Partial<OffsetsTopicMeta>;
  try {
    m = JSON.parse(text) as Partial<OffsetsTopicMeta>;
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}); it should hold {"version":1,"format":"kafka","partitions":n,"topicId":"<uuid>"}`);
  }
  if (m.version !== 1 || m.format !== 'kafka' || !Number.isInteger(m.partitions) || m.partitions! < 1 || typeof m.topicId !== 'string') {
    throw new Error(`${file} is not a version 1 ${OFFSETS_TOPIC} description this Sluice reads: ${text.slice(0, 200)}`);
  }
  return m as OffsetsTopicMeta;
}

/** Written whole (temporary file, fsync, rename, directory fsync): the commit point of a creation or migration. */
function writeOffsetsTopicMeta(dir: string, meta: OffsetsTopicMeta): void {
  replaceFile(path.join(dir, OFFSETS_TOPIC_META_FILE), JSON.stringify(meta) + '\n', true);
  fsyncDir(dir);
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Puts an offsets log directory back in order after a compaction that a crash interrupted:
 *
 *   log and .compacting     the swap never started: the rewrite may be partial, delete it
 *   log and .old            the swap finished: delete the old copy
 *   no log, .compacting
 *     closed cleanly        between the two renames: finish the swap
 *   no log, .old            the rewrite is missing or unfinished: restore the old log
 */
export function recoverInterruptedSwap(logDir: string, logger: GroupLogger): void {
  const tmpDir = logDir + COMPACTING_SUFFIX;
  const oldDir = logDir + OLD_SUFFIX;
  const has = (p: string): boolean => fs.existsSync(p);
  if (has(logDir)) {
    if (has(tmpDir)) fs.rmSync(tmpDir, { recursive: true, force: true });
    if (has(oldDir)) fs.rmSync(oldDir, { recursive: true, force: true });
    return;
  }
  if (has(tmpDir) && has(path.join(tmpDir, CLEAN_SHUTDOWN_FILE))) {
    fs.renameSync(tmpDir, logDir);
    fsyncDir(path.dirname(logDir));
    fs.rmSync(oldDir, { recursive: true, force: true });
    logger.warn({ dir: logDir }, 'finished an interrupted offsets log compaction');
  } else if (has(oldDir)) {
    fs.renameSync(oldDir, logDir);
    fsyncDir(path.dirname(logDir));
    fs.rmSync(tmpDir, { recursive: true, force: true });
    logger.warn({ dir: logDir }, 'undid an interrupted offsets log compaction');
  }
}
