/**
 * The offset APIs of the group coordinator (Kafka's GroupMetadataManager part): OffsetCommit
 * and OffsetFetch, DeleteGroups, OffsetDelete, and offset expiry (offsets.retention.minutes).
 * It shares the coordinator's groups map and writes through the OffsetStore.
 *
 * Expiry, per group:
 *   Empty                 every offset expires once the group has been Empty for the
 *                         retention since it became Empty or since its last commit, whichever
 *                         is later (after a restart the moment it became Empty is unknown, so
 *                         the last commit counts);
 *   Stable consumer group offsets of topics no member subscribes to expire by their own commit
 *                         time;
 *   otherwise             nothing.
 * An offset committed with OffsetCommit v2-4's retentionTimeMs expires at its own time instead,
 * and offsets of topics that no longer exist (topicExists) are removed in any state. An Empty
 * group left with no offsets is removed (Dead).
 *
 * Not thread-safe: the coordinator calls it from one thread.
 */
import { ErrorCode } from '../protocol/error-codes.js';
import { StorageError } from '../storage/index.js';
import { CONSUMER_PROTOCOL_TYPE } from './consumer-protocol.js';
import { GroupMetadata } from './group.js';
import type { MemberMetadata } from './member.js';
import type { OffsetChange, OffsetStore } from './offset-store.js';
import type {
  CommittedOffset,
  DeleteGroupResult,
  GroupLogger,
  GroupOffset,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetDeleteResponse,
  OffsetFetchPartition,
  OffsetFetchRequest,
  OffsetFetchResponse,
} from './types.js';

/** The coordinator's settings, defaults filled in. */
export interface GroupConfig {
  time: () => number;
  logger: GroupLogger;
  initialRebalanceDelayMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  offsetsRetentionMs: number;
  offsetsRetentionCheckIntervalMs: number;
  offsetMetadataMaxBytes: number;
  topicExists: ((topic: string) => boolean) | null;
}

export interface CoordinatorHooks {
  isClosed(): boolean;
  /** A commit from a member counts as a sign of life: restart its session. */
  touchMember(group: GroupMetadata, member: MemberMetadata): void;
}

type PartitionErrors = { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];

export class OffsetManager {
  constructor(
    private readonly groups: Map<string, GroupMetadata>,
    private readonly store: OffsetStore,
    private readonly config: GroupConfig,
    private readonly hooks: CoordinatorHooks,
  ) {}

  async commitOffsets(req: OffsetCommitRequest): Promise<OffsetCommitResponse> {
    const all = (errorCode: number): OffsetCommitResponse => ({ topics: eachPartition(req.topics, () => errorCode) });
    if (typeof req.groupId !== 'string') return all(ErrorCode.INVALID_GROUP_ID);
    if (this.hooks.isClosed()) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    let group = this.groups.get(req.groupId);
    let created = false;
    if (group === undefined) {
      // A consumer without group management (generation -1) may commit to a new group; a
      // generation from a group that no longer exists is stale.
      if (req.generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
      group = new GroupMetadata(req.groupId, this.config.time());
      this.groups.set(req.groupId, group);
      created = true;
    }
    const error = this.validateCommit(group, req);
    if (error !== ErrorCode.NONE) return all(error);
    if (group.is('CompletingRebalance')) {
      // Its generation is current but the assignment is not out yet.
      return all(ErrorCode.REBALANCE_IN_PROGRESS);
    }
    if (group.is('Stable') || group.is('PreparingRebalance')) this.hooks.touchMember(group, group.get(req.memberId));

    const now = this.config.time();
    const retention = req.retentionTimeMs ?? -1;
    const changes: OffsetChange[] = [];
    const codes = eachPartition(req.topics, (topic, p) => {
      const metadata = p.committedMetadata ?? '';
      if (Buffer.byteLength(metadata, 'utf8') > this.config.offsetMetadataMaxBytes) return ErrorCode.OFFSET_METADATA_TOO_LARGE;
      if (this.config.topicExists !== null && !this.config.topicExists(topic)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      const value: CommittedOffset = {
        offset: p.committedOffset,
        leaderEpoch: p.committedLeaderEpoch ?? -1,
        metadata,
        commitTimestamp: now,
        expireTimestamp: retention >= 0 ? now + retention : -1,
      };
      changes.push({ groupId: req.groupId, topic, partition: p.partitionIndex, value });
      return ErrorCode.NONE;
    });
    try {
      await this.store.write(changes);
    } catch (err) {
      const code = this.hooks.isClosed() ? ErrorCode.COORDINATOR_NOT_AVAILABLE : storageErrorCode(err);
      this.config.logger.warn({ groupId: req.groupId, err }, 'offset commit failed');
      for (const t of codes) for (const p of t.partitions) if (p.errorCode === ErrorCode.NONE) p.errorCode = code;
    }
    // A group this commit created but that stored nothing is not kept.
    if (created && group.is('Empty') && group.members.size === 0 && !this.store.hasOffsets(group.groupId)) this.removeGroup(group);
    return { topics: codes };
  }

  /**
   * TxnOffsetCommit: the offsets are written as the producer's transactional batch and stay
   * pending (invisible to OffsetFetch) until its transaction's marker reaches the group's
   * partition. The transaction coordinator has checked the producer's epoch and that the
   * group's partition is in the transaction.
   */
  async commitTransactionalOffsets(req: OffsetCommitRequest & { producerId: number; producerEpoch: number }): Promise<OffsetCommitResponse> {
    const all = (errorCode: number): OffsetCommitResponse => ({ topics: eachPartition(req.topics, () => errorCode) });
    if (typeof req.groupId !== 'string') return all(ErrorCode.INVALID_GROUP_ID);
    if (this.hooks.isClosed()) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    let group = this.groups.get(req.groupId);
    let created = false;
    if (group === undefined) {
      if (req.generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
      group = new GroupMetadata(req.groupId, this.config.time());
      this.groups.set(req.groupId, group);
      created = true;
    }
    // Kafka checks the member only when the producer sent it (TxnOffsetCommit v3+, KIP-447).
    if (req.generationId >= 0 || req.memberId !== '') {
      const error = this.validateCommit(group, req);
      if (error !== ErrorCode.NONE) return all(error);
    } else if (group.is('Dead')) {
      return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
    const now = this.config.time();
    const changes: OffsetChange[] = [];
    const codes = eachPartition(req.topics, (topic, p) => {
      const metadata = p.committedMetadata ?? '';
      if (Buffer.byteLength(metadata, 'utf8') > this.config.offsetMetadataMaxBytes) return ErrorCode.OFFSET_METADATA_TOO_LARGE;
      if (this.config.topicExists !== null && !this.config.topicExists(topic)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      changes.push({
        groupId: req.groupId,
        topic,
        partition: p.partitionIndex,
        value: { offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch ?? -1, metadata, commitTimestamp: now, expireTimestamp: -1 },
      });
      return ErrorCode.NONE;
    });
    try {
      await this.store.writeTransactional(req.producerId, req.producerEpoch, changes);
    } catch (err) {
      const code = this.hooks.isClosed() ? ErrorCode.COORDINATOR_NOT_AVAILABLE : storageErrorCode(err);
      this.config.logger.warn({ groupId: req.groupId, err }, 'transactional offset commit failed');
      for (const t of codes) for (const p of t.partitions) if (p.errorCode === ErrorCode.NONE) p.errorCode = code;
    }
    if (created && group.is('Empty') && group.members.size === 0 && !this.store.hasOffsets(group.groupId) && !this.store.hasPendingTransactionalOffsets(group.groupId)) this.removeGroup(group);
    return { topics: codes };
  }

  /** Kafka's validateOffsetCommit. */
  private validateCommit(group: GroupMetadata, req: OffsetCommitRequest): number {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    // Generation -1 (admin client, simple consumer) may commit while nobody is a member.
    if (req.generationId < 0 && group.is('Empty')) return ErrorCode.NONE;
    if (req.generationId >= 0 || req.memberId !== '' || (req.groupInstanceId ?? null) !== null) {
      const error = group.validateCurrentMember(req.memberId, req.groupInstanceId);
      if (error !== ErrorCode.NONE) return error;
      return req.generationId === group.generationId ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION;
    }
    // A group with members takes commits from its members only.
    return ErrorCode.UNKNOWN_MEMBER_ID;
  }

  fetchOffsets(req: OffsetFetchRequest): OffsetFetchResponse {
    if (typeof req.groupId !== 'string') return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] };
    if (this.hooks.isClosed()) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
    const none = (partitionIndex: number): OffsetFetchPartition => ({
      partitionIndex,
      committedOffset: -1,
      committedLeaderEpoch: -1,
      metadata: '',
      errorCode: ErrorCode.NONE,
    });
    const found = (partitionIndex: number, v: CommittedOffset): OffsetFetchPartition => ({
      partitionIndex,
      committedOffset: v.offset,
      committedLeaderEpoch: v.leaderEpoch,
      metadata: v.metadata,
      errorCode: ErrorCode.NONE,
    });
    if (req.topics === null) {
      const byTopic = new Map<string, OffsetFetchPartition[]>();
      for (const [topic, partition, v] of this.store.offsetsOf(req.groupId)) {
        let list = byTopic.get(topic);
        if (list === undefined) byTopic.set(topic, (list = []));
        list.push(found(partition, v));
      }
      return { errorCode: ErrorCode.NONE, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => {
          // OffsetFetch v7+ requireStable (KIP-447): an offset a transaction may still change is not answered yet.
          if (req.requireStable === true && this.store.hasPendingTransactionalOffset(req.groupId, t.name, p)) {
            return { ...none(p), errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT };
          }
          const v = this.store.get(req.groupId, t.name, p);
          return v === undefined ? none(p) : found(p, v);
        }),
      })),
    };
  }

  async deleteGroups(groupIds: readonly string[]): Promise<DeleteGroupResult[]> {
    const changes: OffsetChange[] = [];
    const results = groupIds.map((groupId): DeleteGroupResult => {
      if (this.hooks.isClosed()) return { groupId, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
      if (typeof groupId !== 'string') return { groupId, errorCode: ErrorCode.INVALID_GROUP_ID };
      const group = this.groups.get(groupId);
      if (group === undefined || group.is('Dead')) return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND };
      if (!group.is('Empty')) return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP };
      for (const [topic, partition] of this.store.offsetsOf(groupId)) changes.push({ groupId, topic, partition, value: null });
      this.removeGroup(group);
      return { groupId, errorCode: ErrorCode.NONE };
    });
    try {
      await this.store.write(changes);
    } catch (err) {
      // As in Kafka, the groups are gone either way; the tombstones failed to persist.
      this.config.logger.warn({ groupIds, err }, 'writing tombstones of deleted groups failed');
    }
    return results;
  }

  async deleteOffsets(groupId: string, topics: readonly { name: string; partitions: number[] }[]): Promise<OffsetDeleteResponse> {
    const top = (errorCode: number): OffsetDeleteResponse => ({ errorCode, topics: [] });
    if (typeof groupId !== 'string') return top(ErrorCode.INVALID_GROUP_ID);
    if (this.hooks.isClosed()) return top(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const group = this.groups.get(groupId);
    if (group === undefined || group.is('Dead')) return top(ErrorCode.GROUP_ID_NOT_FOUND);
    const empty = group.is('Empty');
    if (!empty && group.protocolType !== CONSUMER_PROTOCOL_TYPE) return top(ErrorCode.NON_EMPTY_GROUP);
    const changes: OffsetChange[] = [];
    const result: PartitionErrors = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((partitionIndex) => {
        if (!empty && group.isSubscribedToTopic(t.name)) return { partitionIndex, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
        if (this.store.get(groupId, t.name, partitionIndex) !== undefined) {
          changes.push({ groupId, topic: t.name, partition: partitionIndex, value: null });
        }
        return { partitionIndex, errorCode: ErrorCode.NONE };
      }),
    }));
    try {
      await this.store.write(changes);
    } catch (err) {
      const code = storageErrorCode(err);
      for (const t of result) for (const p of t.partitions) if (p.errorCode === ErrorCode.NONE) p.errorCode = code;
      return { errorCode: ErrorCode.NONE, topics: result };
    }
    if (group.is('Empty') && !this.store.hasOffsets(groupId) && group.pendingMembers.size === 0) this.removeGroup(group);
    return { errorCode: ErrorCode.NONE, topics: result };
  }

  committedOffsets(groupId: string): GroupOffset[] {
    const out: GroupOffset[] = [];
    for (const [topic, partition, v] of this.store.offsetsOf(groupId)) out.push({ topic, partition, ...v });
    return out;
  }

  async expireOffsets(now = this.config.time()): Promise<number> {
    if (this.hooks.isClosed()) return 0;
    const retention = this.config.offsetsRetentionMs;
    const topicExists = this.config.topicExists;
    const changes: OffsetChange[] = [];
    for (const groupId of this.store.groupIds()) {
      const group = this.groups.get(groupId);
      const entries = [...this.store.offsetsOf(groupId)];
      let expired: (topic: string, v: CommittedOffset) => boolean = () => false;
      if (group === undefined || group.is('Empty')) {
        let base = group?.stateTimestamp ?? -1;
        for (const [, , v] of entries) base = Math.max(base, v.commitTimestamp);
        expired = (_t, v) => (v.expireTimestamp >= 0 ? now >= v.expireTimestamp : now - base >= retention);
      } else if (group.is('Stable') && group.protocolType === CONSUMER_PROTOCOL_TYPE && group.subscribedTopics !== null) {
        expired = (t, v) =>
          !group.isSubscribedToTopic(t) && (v.expireTimestamp >= 0 ? now >= v.expireTimestamp : now - v.commitTimestamp >= retention);
      }
      for (const [topic, partition, v] of entries) {
        if ((topicExists !== null && !topicExists(topic)) || expired(topic, v)) changes.push({ groupId, topic, partition, value: null });
      }
    }
    if (changes.length > 0) {
      await this.store.write(changes);
      this.config.logger.info({ removed: changes.length }, 'expired committed offsets');
    }
    for (const group of [...this.groups.values()]) {
      if (group.is('Empty') && group.pendingMembers.size === 0 && !this.store.hasOffsets(group.groupId)) this.removeGroup(group);
    }
    return changes.length;
  }

  private removeGroup(group: GroupMetadata): void {
    group.transitionTo('Dead', this.config.time());
    if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
    // As Kafka: a removed group's GroupMetadata record gets its tombstone.
    if (this.store.groupRecord(group.groupId) !== undefined && !this.hooks.isClosed()) {
      this.store.writeGroup(group.groupId, null).catch((err: unknown) => this.config.logger.warn({ groupId: group.groupId, err }, 'writing the group tombstone failed'));
    }
  }
}

/** Runs `f` for each requested partition, giving back the response shape with its codes. */
function eachPartition(
  topics: OffsetCommitRequest['topics'],
  f: (topic: string, p: OffsetCommitRequest['topics'][number]['partitions'][number]) => number,
): PartitionErrors {
  return topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: f(t.name, p) })) }));
}

/** Kafka's mapping of a failed offsets-log append to a commit error. */
function storageErrorCode(err: unknown): number {
  if (err instanceof StorageError) {
    if (err.code === 'ERR_RECORD_BATCH_TOO_LARGE') return ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
    if (err.code === 'ERR_KAFKA_STORAGE' || err.code === 'ERR_LOG_CLOSED') return ErrorCode.NOT_COORDINATOR;
  }
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}
