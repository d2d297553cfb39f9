/**
 * The client side of Kafka's classic group protocol, for the embedded consumer: JoinGroup
 * (with the MEMBER_ID_REQUIRED round trip), the leader's assignment, SyncGroup, heartbeats
 * on a timer, commits and LeaveGroup, all as calls on the in-process GroupCoordinator, the
 * same one the wire protocol server answers real Kafka clients with. Eager rebalancing:
 * every partition is given up before rejoining. Not thread-safe.
 */
import {
  ASSIGNORS,
  CONSUMER_PROTOCOL_TYPE,
  decodeAssignment,
  decodeSubscription,
  encodeGroupAssignment,
  encodeSubscription,
  type GroupCoordinator,
} from '../group/index.js';
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';
import type { TopicPartition } from './consumer.js';

export type Assignor = 'range' | 'roundrobin';

export interface GroupMemberOptions {
  groupId: string;
  groupInstanceId?: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  assignors: Assignor[];
  /** Partition count of a topic (0 when it does not exist). */
  partitionsOf: (topic: string) => number;
  /** Called from the heartbeat timer when the group needs this member to rejoin. */
  onRebalanceNeeded: () => void;
}

/** A commit the group refused (the generation moved on, the member was removed, ...). */
export class CommitFailedError extends KafkaError {
  constructor(errorCode: number, groupId: string, detail: string) {
    super(errorCode, `commit to group '${groupId}' failed: ${detail}`);
    this.name = 'CommitFailedError';
  }
}

const REJOIN = new Set<number>([ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.ILLEGAL_GENERATION, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.FENCED_INSTANCE_ID]);
const RETRY = new Set<number>([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.NOT_COORDINATOR]);

export class GroupMember {
  memberId = '';
  generationId = -1;
  private stable = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly coordinator: GroupCoordinator,
    private readonly o: GroupMemberOptions,
  ) {
    for (const a of o.assignors) {
      if (!ASSIGNORS.has(a)) throw new TypeError(`unknown partition assignor '${a}': use ${[...ASSIGNORS.keys()].join(' or ')}`);
    }
  }

  /**
   * True while this member holds a current generation. Checks with the coordinator (a
   * heartbeat), so a consumer never hands out records of partitions a rebalance has started
   * to move.
   */
  isStable(): boolean {
    if (!this.stable) return false;
    this.beat();
    return this.stable;
  }

  /** The subscription changed: rejoin on the next poll. */
  subscriptionChanged(): void {
    this.stable = false;
  }

  /** Joins (or rejoins) the group and returns this member's partitions. */
  async join(topics: string[]): Promise<TopicPartition[]> {
    this.stopHeartbeats();
    const g = this.o;
    for (let attempt = 0; !this.stopped; attempt++) {
      const metadata = encodeSubscription({ topics });
      const join = await this.coordinator.joinGroup({
        groupId: g.groupId,
        memberId: this.memberId,
        groupInstanceId: g.groupInstanceId ?? null,
        sessionTimeoutMs: g.sessionTimeoutMs,
        rebalanceTimeoutMs: g.rebalanceTimeoutMs,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocols: g.assignors.map((name) => ({ name, metadata })),
        requireKnownMemberId: true,
        clientId: 'sluice-embedded',
        clientHost: 'localhost',
      });
      if (join.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
        this.memberId = join.memberId;
        continue;
      }
      if (join.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
        this.memberId = '';
        continue;
      }
      if (RETRY.has(join.errorCode) || join.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) {
        await backoff(attempt);
        continue;
      }
      if (join.errorCode !== ErrorCode.NONE) throw new KafkaError(join.errorCode, `joining group '${g.groupId}'`);
      this.memberId = join.memberId;
      this.generationId = join.generationId;
      let assignments: { memberId: string; assignment: Buffer }[] = [];
      if (join.leader === join.memberId) assignments = this.assign(join.protocolName!, join.members);
      const sync = await this.coordinator.syncGroup({
        groupId: g.groupId,
        generationId: join.generationId,
        memberId: join.memberId,
        groupInstanceId: g.groupInstanceId ?? null,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocolName: join.protocolName,
        assignments,
      });
      if (sync.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
      if (REJOIN.has(sync.errorCode) || RETRY.has(sync.errorCode)) {
        await backoff(attempt);
        continue;
      }
      if (sync.errorCode !== ErrorCode.NONE) throw new KafkaError(sync.errorCode, `syncing group '${g.groupId}'`);
      const mine = sync.assignment.length === 0 ? [] : decodeAssignment(sync.assignment).assignedPartitions;
      this.stable = true;
      this.startHeartbeats();
      return mine.flatMap((tp) => tp.partitions.map((partition) => ({ topic: tp.topic, partition })));
    }
    return [];
  }

  /** The leader's job: run the chosen assignor over every member's subscription. */
  private assign(protocol: string, members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[]) {
    const assignor = ASSIGNORS.get(protocol);
    if (!assignor) throw new KafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, `group '${this.o.groupId}' chose assignor '${protocol}', which this consumer does not have`);
    const subs = members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, topics: decodeSubscription(m.metadata).topics }));
    const counts = new Map<string, number>();
    for (const s of subs) for (const t of s.topics) counts.set(t, this.o.partitionsOf(t));
    return encodeGroupAssignment(assignor.assign(subs, counts));
  }

  /** Commits offsets; with `asMember` under this member's generation (else as a simple consumer). */
  async commit(offsets: (TopicPartition & { offset: number; metadata?: string })[], asMember: boolean): Promise<void> {
    const byTopic = new Map<string, { partitionIndex: number; committedOffset: number; committedMetadata: string | null }[]>();
    for (const o of offsets) {
      let list = byTopic.get(o.topic);
      if (!list) byTopic.set(o.topic, (list = []));
      list.push({ partitionIndex: o.partition, committedOffset: o.offset, committedMetadata: o.metadata ?? null });
    }
    const res = await this.coordinator.commitOffsets({
      groupId: this.o.groupId,
      generationId: asMember ? this.generationId : -1,
      memberId: asMember ? this.memberId : '',
      groupInstanceId: asMember ? this.o.groupInstanceId ?? null : null,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    });
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode === ErrorCode.NONE) continue;
        if (REJOIN.has(p.errorCode)) this.stable = false;
        throw new CommitFailedError(p.errorCode, this.o.groupId, `${t.name}-${p.partitionIndex}`);
      }
    }
  }

  /** Committed offsets (null where none). */
  async committed(tps: TopicPartition[]): Promise<(TopicPartition & { offset: number | null; metadata: string | null })[]> {
    const byTopic = new Map<string, number[]>();
    for (const tp of tps) {
      let list = byTopic.get(tp.topic);
      if (!list) byTopic.set(tp.topic, (list = []));
      list.push(tp.partition);
    }
    const res = await this.coordinator.fetchOffsets({
      groupId: this.o.groupId,
      topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
    });
    const found = new Map<string, { offset: number; metadata: string | null }>();
    for (const t of res.topics) {
      for (const p of t.partitions) found.set(`${t.name}\u0000${p.partitionIndex}`, { offset: p.committedOffset, metadata: p.metadata });
    }
    return tps.map((tp) => {
      const f = found.get(`${tp.topic}\u0000${tp.partition}`);
      return { ...tp, offset: f && f.offset >= 0 ? f.offset : null, metadata: f && f.offset >= 0 ? f.metadata : null };
    });
  }

  /** Leaves the group so the others rebalance at once instead of after the session timeout. */
  async leave(): Promise<void> {
    this.stopHeartbeats();
    this.stable = false;
    if (this.memberId === '') return;
    const memberId = this.memberId;
    this.memberId = '';
    this.generationId = -1;
    await this.coordinator.leaveGroup({ groupId: this.o.groupId, members: [{ memberId, groupInstanceId: this.o.groupInstanceId ?? null }] });
  }

  /** Stops for good (the consumer closed). */
  stop(): void {
    this.stopped = true;
    this.stopHeartbeats();
  }

  private beat(): void {
    const r = this.coordinator.heartbeat({
      groupId: this.o.groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.o.groupInstanceId ?? null,
    });
    if (r.errorCode === ErrorCode.NONE) return;
    if (r.errorCode === ErrorCode.UNKNOWN_MEMBER_ID || r.errorCode === ErrorCode.FENCED_INSTANCE_ID) this.memberId = '';
    if (this.stable) {
      this.stable = false;
      this.o.onRebalanceNeeded();
    }
  }

  private startHeartbeats(): void {
    this.stopHeartbeats();
    this.heartbeat = setInterval(() => this.beat(), this.o.heartbeatIntervalMs).unref();
  }

  private stopHeartbeats(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}

function backoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.min(20 * 2 ** Math.min(attempt, 5), 500)));
}
