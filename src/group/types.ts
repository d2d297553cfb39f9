/**
 * Requests and responses of the classic group protocol, shaped after Kafka's message schemas
 * (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, ListGroups,
 * DescribeGroups, DeleteGroups, OffsetDelete): field names are the schemas' in camelCase, errors
 * are Kafka's numeric codes in `errorCode`. Each carries what the highest wire version needs; the
 * wire layer drops what an older version lacks.
 */
import type { SegmentHandles } from '../storage/segment-handles.js';

/** The classic group states (Kafka's GroupState names, as ListGroups/DescribeGroups show them). */
export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface GroupCoordinatorOptions {
  /** The bound on open segment files the offsets logs count in (default: the thread's). */
  segmentHandles?: SegmentHandles;
  /** Directory holding the topic `__consumer_offsets`: `${dir}/__consumer_offsets-<p>`. */
  dir: string;
  /**
   * offsets.topic.num.partitions, used when the topic is created (default 50); a data
   * directory keeps the count it was created with.
   */
  offsetsTopicPartitions?: number;
  /** 'fsync': commits resolve after the batch is fsynced. Default 'pagecache'. */
  durability?: 'pagecache' | 'fsync';
  /** Clock in ms for commit timestamps and expiry (default Date.now). Timers are real. */
  time?: () => number;
  /** group.initial.rebalance.delay.ms (Kafka: 3000; default here 0). */
  initialRebalanceDelayMs?: number;
  /** group.min.session.timeout.ms (default 6000). */
  minSessionTimeoutMs?: number;
  /** group.max.session.timeout.ms (default 1800000). */
  maxSessionTimeoutMs?: number;
  /** offsets.retention.minutes * 60000 (default 7 days). */
  offsetsRetentionMs?: number;
  /** offsets.retention.check.interval.ms (default 600000; 0 disables the timer). */
  offsetsRetentionCheckIntervalMs?: number;
  /** offset.metadata.max.bytes (default 4096). */
  offsetMetadataMaxBytes?: number;
  /** Rewrite the offsets log once it is this big and 4x its live entries (default 1 MiB). */
  offsetsCompactionMinBytes?: number;
  /** False for a topic that does not exist: commits to it fail, its offsets are removed. */
  topicExists?: (topic: string) => boolean;
  logger?: GroupLogger;
}

/** Where the coordinator reports rebalances and expiry (pino's signature fits). */
export interface GroupLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface JoinGroupProtocol {
  name: string;
  metadata: Buffer;
}

export interface JoinGroupRequest {
  groupId: string;
  /** '' for a member that has no id yet. */
  memberId: string;
  groupInstanceId?: string | null;
  sessionTimeoutMs: number;
  /** JoinGroup v1+; absent or -1 (v0): the session timeout is used. */
  rebalanceTimeoutMs?: number;
  protocolType: string;
  protocols: JoinGroupProtocol[];
  /** JoinGroup v4+: a new dynamic member first gets MEMBER_ID_REQUIRED and its id. */
  requireKnownMemberId?: boolean;
  /** JoinGroup v9+: a rejoining static leader of a Stable group is told to skip assignment. */
  supportsSkipAssignment?: boolean;
  reason?: string | null;
  clientId?: string;
  clientHost?: string;
}

export interface JoinGroupResponseMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

export interface JoinGroupResponse {
  errorCode: number;
  generationId: number;
  /** null on errors (JoinGroup v7+ sends it; older versions do not). */
  protocolType: string | null;
  /** null on errors; the wire layer sends '' below v7. */
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  /** The members with their metadata for the chosen protocol: for the leader only. */
  members: JoinGroupResponseMember[];
}

export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId?: string | null;
  /** SyncGroup v5+: checked against the group's when present. */
  protocolType?: string | null;
  protocolName?: string | null;
  /** From the leader: each member's assignment; followers send []. */
  assignments: { memberId: string; assignment: Buffer }[];
}

export interface SyncGroupResponse {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface HeartbeatRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId?: string | null;
}

export interface LeaveGroupMember {
  /** '' to remove a static member by its groupInstanceId (admin removal). */
  memberId: string;
  groupInstanceId?: string | null;
  reason?: string | null;
}

export interface LeaveGroupRequest {
  groupId: string;
  members: LeaveGroupMember[];
}

export interface LeaveGroupResponse {
  /**
   * Group-level error. Per-member errors are in `members`; LeaveGroup v0-2 has no member list,
   * so the wire layer answers those with the first non-zero member error.
   */
  errorCode: number;
  members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
}

export interface OffsetCommitRequest {
  groupId: string;
  /** -1 for a consumer that does not use group management (or the admin client). */
  generationId: number;
  memberId: string;
  groupInstanceId?: string | null;
  /** OffsetCommit v2-4: per-request retention; -1 or absent: the broker's. */
  retentionTimeMs?: number;
  topics: {
    name: string;
    partitions: {
      partitionIndex: number;
      committedOffset: number;
      committedLeaderEpoch?: number;
      committedMetadata?: string | null;
    }[];
  }[];
}

export interface OffsetCommitResponse {
  topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
}

export interface OffsetFetchRequest {
  groupId: string;
  /** null: every committed offset of the group (OffsetFetch v2+). */
  topics: { name: string; partitionIndexes: number[] }[] | null;
  requireStable?: boolean;
}

export interface OffsetFetchPartition {
  partitionIndex: number;
  /** -1 when nothing is committed. */
  committedOffset: number;
  committedLeaderEpoch: number;
  /** '' when none was given (Kafka stores a null metadata as ''). */
  metadata: string | null;
  errorCode: number;
}

export interface OffsetFetchResponse {
  errorCode: number;
  topics: { name: string; partitions: OffsetFetchPartition[] }[];
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  groupState: GroupState;
}

export interface DescribedGroupMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Only in the Stable state (empty otherwise), as in Kafka. */
  memberMetadata: Buffer;
  memberAssignment: Buffer;
}

export interface DescribedGroup {
  errorCode: number;
  groupId: string;
  groupState: GroupState;
  protocolType: string;
  /** The chosen protocol's name, in the Stable state only. */
  protocolData: string;
  members: DescribedGroupMember[];
}

export interface DeleteGroupResult {
  groupId: string;
  errorCode: number;
}

export interface OffsetDeleteResponse {
  errorCode: number;
  topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
}

/** One committed offset as kept in memory and in the offsets log. */
export interface CommittedOffset {
  offset: number;
  /** -1 when unknown. */
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
  /** Set by OffsetCommit v2-4 retentionTimeMs; -1 otherwise. */
  expireTimestamp: number;
}

export interface GroupOffset extends CommittedOffset {
  topic: string;
  partition: number;
}
