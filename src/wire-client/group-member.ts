/**
 * Membership of a consumer group over the wire, Kafka's classic (eager) protocol:
 *
 *   FindCoordinator -> JoinGroup (memberId '' -> MEMBER_ID_REQUIRED -> JoinGroup again with the
 *   id the coordinator handed out) -> the leader computes a `range` assignment from every
 *   member's subscription -> SyncGroup -> Heartbeat every heartbeatIntervalMs until a
 *   rebalance is signalled -> OffsetCommit (on an interval and before leaving) -> LeaveGroup.
 *
 * The owner checks `rejoinNeeded` between polls and calls join() again. Not thread-safe.
 */
import { ApiKey } from '../protocol/apis.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { rangeAssignor, encodeGroupAssignment } from '../group/assignors.js';
import { CONSUMER_PROTOCOL_TYPE, decodeAssignment, decodeSubscription, encodeSubscription, type TopicPartitions } from '../group/consumer-protocol.js';
import { commitOffsets, fetchOffsets, type CommittedOffsets } from './admin.js';
import type { Cluster } from './cluster.js';
import type { Connection } from './connection.js';
import { brokerError } from './errors.js';

export interface GroupMemberOptions {
  groupId: string;
  topics: string[];
  /** Default 10000 (the broker's minimum is usually 6000). */
  sessionTimeoutMs?: number;
  /** Default 30000. */
  rebalanceTimeoutMs?: number;
  /** Default 3000. */
  heartbeatIntervalMs?: number;
}

/** Errors after which the member joins again rather than giving up. */
const REJOIN = new Set<number>([
  ErrorCode.REBALANCE_IN_PROGRESS,
  ErrorCode.ILLEGAL_GENERATION,
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);

export class GroupMember {
  readonly groupId: string;
  memberId = '';
  generationId = -1;
  assignment: TopicPartitions[] = [];
  /** Set when a heartbeat or commit learns that the group is rebalancing. */
  rejoinNeeded = false;
  private readonly topics: string[];
  private readonly sessionTimeoutMs: number;
  private readonly rebalanceTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeating = false;

  constructor(
    private readonly cluster: Cluster,
    options: GroupMemberOptions,
  ) {
    this.groupId = options.groupId;
    this.topics = [...options.topics];
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000;
    this.rebalanceTimeoutMs = options.rebalanceTimeoutMs ?? 30_000;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 3000;
  }

  /** Joins (or rejoins) the group; resolves with this member's partitions. */
  async join(): Promise<TopicPartitions[]> {
    this.stopHeartbeats();
    for (let attempt = 0; ; attempt++) {
      if (attempt > 50) throw brokerError(ErrorCode.REBALANCE_IN_PROGRESS, `group '${this.groupId}' did not settle after ${attempt} attempts to join`);
      const conn = await this.cluster.coordinator(this.groupId);
      const joined = await this.joinGroup(conn);
      if (joined === 'again') continue;
      const code = await this.syncGroup(conn, joined.protocolName, joined.leaderAssignments);
      if (code === ErrorCode.NONE) break;
      if (code === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
      if (!REJOIN.has(code)) throw brokerError(code, `syncing with group '${this.groupId}'`);
    }
    this.rejoinNeeded = false;
    this.startHeartbeats();
    return this.assignment;
  }

  /** Committed offsets of the group for `partitions`. */
  async committed(partitions: TopicPartitions[]): Promise<CommittedOffsets> {
    return fetchOffsets(this.cluster, this.groupId, partitions.map((t) => ({ name: t.topic, partitions: t.partitions })));
  }

  /** Commits as this member; a rebalance under way marks rejoinNeeded and throws. */
  async commit(offsets: CommittedOffsets): Promise<void> {
    if (offsets.size === 0) return;
    try {
      await commitOffsets(this.cluster, this.groupId, offsets, { generationId: this.generationId, memberId: this.memberId });
    } catch (err) {
      if (REJOIN.has((err as { errorCode?: number }).errorCode ?? 0)) this.rejoinNeeded = true;
      throw err;
    }
  }

  /** Stops heartbeating and leaves the group, so the others rebalance at once. */
  async leave(): Promise<void> {
    this.stopHeartbeats();
    if (this.memberId === '') return;
    const conn = await this.cluster.coordinator(this.groupId);
    const v = conn.versions.versionFor(ApiKey.LeaveGroup);
    const res = await conn.request(
      ApiKey.LeaveGroup,
      v >= 3 ? { groupId: this.groupId, members: [{ memberId: this.memberId, groupInstanceId: null, reason: 'the consumer is closing' }] } : { groupId: this.groupId, memberId: this.memberId },
    );
    this.memberId = '';
    const code = res.errorCode || (res.members[0]?.errorCode ?? 0);
    if (code !== 0 && code !== ErrorCode.UNKNOWN_MEMBER_ID) throw brokerError(code, `leaving group '${this.groupId}'`);
  }

  stopHeartbeats(): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private startHeartbeats(): void {
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.heartbeatIntervalMs);
  }

  private async heartbeat(): Promise<void> {
    if (this.heartbeating || this.rejoinNeeded) return;
    this.heartbeating = true;
    try {
      const conn = await this.cluster.coordinator(this.groupId);
      const res = await conn.request(ApiKey.Heartbeat, { groupId: this.groupId, generationId: this.generationId, memberId: this.memberId });
      if (res.errorCode !== 0) {
        if (res.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
        if (res.errorCode === ErrorCode.NOT_COORDINATOR) this.cluster.dropCoordinators();
        this.rejoinNeeded = true;
      }
    } catch {
      this.rejoinNeeded = true;
    } finally {
      this.heartbeating = false;
    }
  }

  private async joinGroup(conn: Connection): Promise<'again' | { protocolName: string; leaderAssignments: { memberId: string; assignment: Buffer }[] }> {
    const res = await conn.request(
      ApiKey.JoinGroup,
      {
        groupId: this.groupId,
        sessionTimeoutMs: this.sessionTimeoutMs,
        rebalanceTimeoutMs: this.rebalanceTimeoutMs,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocols: [{ name: rangeAssignor.name, metadata: encodeSubscription({ topics: this.topics, generationId: this.generationId }) }],
        reason: null,
      },
      { extraTimeoutMs: this.rebalanceTimeoutMs },
    );
    switch (res.errorCode) {
      case ErrorCode.NONE:
        break;
      case ErrorCode.MEMBER_ID_REQUIRED:
        this.memberId = res.memberId;
        return 'again';
      case ErrorCode.UNKNOWN_MEMBER_ID:
        this.memberId = '';
        return 'again';
      case ErrorCode.NOT_COORDINATOR:
      case ErrorCode.COORDINATOR_NOT_AVAILABLE:
        this.cluster.dropCoordinators();
        return 'again';
      case ErrorCode.REBALANCE_IN_PROGRESS:
      case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
        return 'again';
      default:
        throw brokerError(res.errorCode, `joining group '${this.groupId}'`);
    }
    this.memberId = res.memberId;
    this.generationId = res.generationId;
    const protocolName = res.protocolName ?? rangeAssignor.name;
    if (res.leader !== res.memberId || res.skipAssignment) return { protocolName, leaderAssignments: [] };
    // The leader assigns: every member's subscription, every subscribed topic's partition count.
    const members = res.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, topics: decodeSubscription(m.metadata).topics }));
    const topics = [...new Set(members.flatMap((m) => m.topics))];
    const md = await this.cluster.metadata(topics);
    const counts = new Map(topics.map((t) => [t, md.topics.get(t)?.partitions.length ?? 0]));
    return { protocolName, leaderAssignments: encodeGroupAssignment(rangeAssignor.assign(members, counts)) };
  }

  private async syncGroup(conn: Connection, protocolName: string, assignments: { memberId: string; assignment: Buffer }[]): Promise<number> {
    const res = await conn.request(
      ApiKey.SyncGroup,
      {
        groupId: this.groupId,
        generationId: this.generationId,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocolName,
        assignments,
      },
      { extraTimeoutMs: this.rebalanceTimeoutMs },
    );
    if (res.errorCode !== 0) return res.errorCode;
    this.assignment = res.assignment.length === 0 ? [] : decodeAssignment(res.assignment).assignedPartitions;
    return ErrorCode.NONE;
  }
}
