/**
 * Kafka's classic group coordinator, in process: JoinGroup / SyncGroup / Heartbeat / LeaveGroup
 * drive each group's state machine (group.ts), and the offset APIs go to the OffsetManager over
 * the durable offsets log. The coordinator never computes assignments: the leader (a client)
 * does and hands them over in its SyncGroup.
 *
 * Waiting requests (a JoinGroup until the join phase ends, a follower's SyncGroup until the
 * leader's arrives) are promises resolved by the state machine. Timers (join phase, pending
 * sync, sessions, MEMBER_ID_REQUIRED members, offset expiry) are real, unref'd, and all cleared
 * by close(); the injected clock only stamps times (commits, state changes, expiry).
 *
 * Not thread-safe: call it from one thread (the event loop); every handler runs to completion
 * before another starts.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/error-codes.js';
import { errorJoin, errorSync, GroupMetadata } from './group.js';
import { EMPTY_BUFFER, MemberMetadata, type JoinCallback, type SyncCallback } from './member.js';
import { OffsetManager, type GroupConfig } from './offset-manager.js';
import { OffsetStore } from './offset-store.js';
import type {
  DeleteGroupResult,
  DescribedGroup,
  GroupCoordinatorOptions,
  GroupLogger,
  GroupOffset,
  GroupState,
  HeartbeatRequest,
  JoinGroupProtocol,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  ListedGroup,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetDeleteResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  SyncGroupRequest,
  SyncGroupResponse,
} from './types.js';

/** How long a new member's JoinGroup may wait for the join phase (Kafka's NewMemberJoinTimeoutMs). */
const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;
/** setTimeout's largest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const silentLogger: GroupLogger = { info() {}, warn() {} };

/** A JoinGroup with its defaults filled in. */
interface Join {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: JoinGroupProtocol[];
  requireKnownMemberId: boolean;
  supportsSkipAssignment: boolean;
  reason: string;
  clientId: string;
  clientHost: string;
}

export class GroupCoordinator {
  private readonly groups = new Map<string, GroupMetadata>();
  private readonly offsets: OffsetManager;
  private readonly retentionTimer: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(
    private readonly store: OffsetStore,
    private readonly config: GroupConfig,
  ) {
    this.offsets = new OffsetManager(this.groups, store, config, {
      isClosed: () => this.closed,
      touchMember: (group, member) => this.scheduleSession(group, member, member.sessionTimeoutMs),
    });
    // Every group that has offsets or a GroupMetadata record exists, Empty; the record gives its
    // generation and protocol type (members rejoin: their sessions did not survive the restart).
    for (const groupId of new Set([...store.groupIds(), ...store.groupRecordIds()])) {
      const group = new GroupMetadata(groupId, -1);
      const record = store.groupRecord(groupId);
      if (record !== undefined) {
        group.generationId = record.generation;
        group.protocolType = record.protocolType === '' ? null : record.protocolType;
      }
      this.groups.set(groupId, group);
    }
    if (config.offsetsRetentionCheckIntervalMs > 0) {
      this.retentionTimer = setInterval(() => {
        this.offsets.expireOffsets().catch((err: unknown) => config.logger.warn({ err }, 'offset expiry failed'));
      }, Math.min(config.offsetsRetentionCheckIntervalMs, MAX_TIMER_MS)).unref();
    }
  }

  /** Partitions of the offsets topic (offsets.topic.num.partitions this data directory was made with). */
  get offsetsPartitionCount(): number {
    return this.store.partitionCount;
  }

  /** Opens the offsets log under `options.dir`, replays it, and starts the expiry timer. */
  static async open(options: GroupCoordinatorOptions): Promise<GroupCoordinator> {
    const logger = options.logger ?? silentLogger;
    const time = options.time ?? Date.now;
    const config: GroupConfig = {
      time,
      logger,
      initialRebalanceDelayMs: options.initialRebalanceDelayMs ?? 0,
      minSessionTimeoutMs: options.minSessionTimeoutMs ?? 6000,
      maxSessionTimeoutMs: options.maxSessionTimeoutMs ?? 1_800_000,
      offsetsRetentionMs: options.offsetsRetentionMs ?? 7 * 24 * 60 * 60 * 1000,
      offsetsRetentionCheckIntervalMs: options.offsetsRetentionCheckIntervalMs ?? 600_000,
      offsetMetadataMaxBytes: options.offsetMetadataMaxBytes ?? 4096,
      topicExists: options.topicExists ?? null,
    };
    const store = await OffsetStore.open({
      dir: options.dir,
      partitions: options.offsetsTopicPartitions,
      durability: options.durability ?? 'pagecache',
      time,
      logger,
      compactionMinBytes: options.offsetsCompactionMinBytes ?? 1024 * 1024,
      segmentHandles: options.segmentHandles,
    });
    return new GroupCoordinator(store, config);
  }

  // ---- JoinGroup -----------------------------------------------------------------------------

  /** Resolves when the join phase ends (or at once with an error or MEMBER_ID_REQUIRED). */
  joinGroup(req: JoinGroupRequest): Promise<JoinGroupResponse> {
    return new Promise((resolve) => {
      try {
        this.handleJoin(req, resolve);
      } catch (err) {
        this.config.logger.warn({ groupId: req.groupId, memberId: req.memberId, err }, 'JoinGroup failed');
        resolve(errorJoin(req.memberId, ErrorCode.UNKNOWN_SERVER_ERROR));
      }
    });
  }

  private handleJoin(req: JoinGroupRequest, respond: JoinCallback): void {
    const memberId = req.memberId ?? '';
    if (this.closed) return respond(errorJoin(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (typeof req.groupId !== 'string' || req.groupId === '') return respond(errorJoin(memberId, ErrorCode.INVALID_GROUP_ID));
    const { minSessionTimeoutMs, maxSessionTimeoutMs } = this.config;
    if (!(req.sessionTimeoutMs >= minSessionTimeoutMs && req.sessionTimeoutMs <= maxSessionTimeoutMs)) {
      return respond(errorJoin(memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    const j = normalizeJoin(req);
    let group = this.groups.get(j.groupId);
    if (group === undefined) {
      // Only a member without an id may create a group.
      if (memberId !== '') return respond(errorJoin(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      group = new GroupMetadata(j.groupId, this.config.time());
      this.groups.set(j.groupId, group);
    }
    if (memberId === '') this.newMemberJoin(group, j, respond);
    else this.currentMemberJoin(group, j, respond);
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
    this.dropIfUnused(group);
  }

  private newMemberJoin(group: GroupMetadata, j: Join, respond: JoinCallback): void {
    if (group.is('Dead')) return respond(errorJoin('', ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!group.supportsProtocols(j.protocolType, j.protocols)) return respond(errorJoin('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    const newMemberId = `${j.groupInstanceId ?? j.clientId}-${randomUUID()}`;
    if (j.groupInstanceId !== null) {
      const oldMemberId = group.currentStaticMemberId(j.groupInstanceId);
      if (oldMemberId !== undefined) this.updateStaticMember(group, oldMemberId, newMemberId, j, respond);
      else this.addMemberAndRebalance(group, newMemberId, j, respond);
    } else if (j.requireKnownMemberId) {
      // JoinGroup v4+: hand out the id, expect the member back with it within its session.
      const timer = this.timer(j.sessionTimeoutMs, () => this.onPendingMemberExpired(group, newMemberId));
      group.addPendingMember(newMemberId, timer);
      respond(errorJoin(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    } else {
      this.addMemberAndRebalance(group, newMemberId, j, respond);
    }
  }

  private currentMemberJoin(group: GroupMetadata, j: Join, respond: JoinCallback): void {
    const memberId = j.memberId;
    if (group.is('Dead')) return respond(errorJoin(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!group.supportsProtocols(j.protocolType, j.protocols)) return respond(errorJoin(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    if (group.isPendingMember(memberId)) {
      // Back from MEMBER_ID_REQUIRED (pending members are never static).
      return this.addMemberAndRebalance(group, memberId, { ...j, groupInstanceId: null }, respond);
    }
    const error = group.validateCurrentMember(memberId, j.groupInstanceId);
    if (error !== ErrorCode.NONE) return respond(errorJoin(memberId, error));
    const member = group.get(memberId);
    member.clientId = j.clientId;
    member.clientHost = j.clientHost;
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(group, member, j, respond, `member ${memberId} joined during a rebalance`);
      case 'CompletingRebalance':
        // The same metadata again: it probably lost the first answer; answer it again.
        if (member.matches(j.protocols)) return respond(this.joinResult(group, member, false));
        return this.updateMemberAndRebalance(group, member, j, respond, `member ${memberId} changed its metadata`);
      case 'Stable':
        // The leader's JoinGroup forces a rebalance (it saw metadata change); so does new metadata.
        if (group.isLeader(memberId)) return this.updateMemberAndRebalance(group, member, j, respond, `leader ${memberId} rejoined`);
        if (!member.matches(j.protocols)) return this.updateMemberAndRebalance(group, member, j, respond, `member ${memberId} changed its metadata`);
        return respond({ ...this.joinResult(group, member, false), members: [] });
      default:
        return respond(errorJoin(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  private addMemberAndRebalance(group: GroupMetadata, memberId: string, j: Join, respond: JoinCallback): void {
    const member = new MemberMetadata(
      memberId,
      j.groupInstanceId,
      j.clientId,
      j.clientHost,
      j.rebalanceTimeoutMs,
      j.sessionTimeoutMs,
      j.protocolType,
      j.protocols,
    );
    member.isNew = true;
    // A member joining during the initial delay of a new group extends the delay.
    if (group.is('PreparingRebalance') && group.generationId === 0) group.newMemberAdded = true;
    group.add(member, respond);
    // A new member cannot heartbeat yet; its JoinGroup waits at most this long.
    this.scheduleSession(group, member, NEW_MEMBER_JOIN_TIMEOUT_MS);
    this.maybePrepareRebalance(group, `member ${memberId} joined (${j.reason})`);
  }

  private updateMemberAndRebalance(group: GroupMetadata, member: MemberMetadata, j: Join, respond: JoinCallback, reason: string): void {
    group.updateMember(member, j.protocols, j.rebalanceTimeoutMs, j.sessionTimeoutMs, respond);
    this.maybePrepareRebalance(group, `${reason} (${j.reason})`);
  }

  /**
   * A known static instance joined with no member id (it restarted): it takes a new member id,
   * the old one is fenced. A Stable group whose protocol choice does not change is not
   * rebalanced: the member gets the current generation and, through SyncGroup, its assignment.
   */
  private updateStaticMember(group: GroupMetadata, oldMemberId: string, newMemberId: string, j: Join, respond: JoinCallback): void {
    const currentLeader = group.leaderId;
    const member = group.replaceStaticMember(j.groupInstanceId!, oldMemberId, newMemberId, ErrorCode.FENCED_INSTANCE_ID);
    member.clientId = j.clientId;
    member.clientHost = j.clientHost;
    this.scheduleSession(group, member, member.sessionTimeoutMs);
    group.updateMember(member, j.protocols, j.rebalanceTimeoutMs, j.sessionTimeoutMs, respond);
    this.config.logger.info({ groupId: group.groupId, groupInstanceId: j.groupInstanceId, oldMemberId, newMemberId, state: group.state }, 'static member replaced');
    switch (group.state) {
      case 'Stable':
        if (group.protocolName === group.selectProtocol()) {
          const isLeader = group.isLeader(newMemberId);
          if (j.supportsSkipAssignment) {
            // JoinGroup v9+: the leader learns it leads (to keep watching metadata) but must not
            // assign: a Stable group would not hand a new assignment out.
            group.invokeJoin(member, { ...this.joinResult(group, member, isLeader), skipAssignment: isLeader });
          } else {
            // Older versions: report the old leader id, so a restarted leader does not see
            // itself as leader and assign for nothing.
            group.invokeJoin(member, { ...this.joinResult(group, member, false), leader: currentLeader ?? '', members: [] });
          }
        } else {
          this.maybePrepareRebalance(group, `static member ${newMemberId} changed the group's protocol`);
        }
        return;
      case 'CompletingRebalance':
        // The leader may be assigning for the old member id: start over.
        return this.prepareRebalance(group, `static member ${newMemberId} replaced ${oldMemberId} while completing a rebalance`);
      default:
        return; // PreparingRebalance: it waits for the join phase like everyone
    }
  }

  /** A successful JoinGroup answer for the current generation. */
  private joinResult(group: GroupMetadata, member: MemberMetadata, withMembers: boolean): JoinGroupResponse {
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      skipAssignment: false,
      memberId: member.memberId,
      members: withMembers || group.isLeader(member.memberId) ? group.currentMemberMetadata() : [],
    };
  }

  // ---- the join phase ------------------------------------------------------------------------

  private maybePrepareRebalance(group: GroupMetadata, reason: string): void {
    if (group.canRebalance) this.prepareRebalance(group, reason);
  }

  private prepareRebalance(group: GroupMetadata, reason: string): void {
    // Members waiting for an assignment must rejoin instead.
    if (group.is('CompletingRebalance')) this.resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS);
    this.clearSyncExpiration(group);
    const fromEmpty = group.is('Empty');
    group.transitionTo('PreparingRebalance', this.config.time());
    this.clearJoinTimer(group);
    this.config.logger.info({ groupId: group.groupId, generationId: group.generationId, reason }, 'preparing to rebalance group');
    if (fromEmpty) {
      const delay = this.config.initialRebalanceDelayMs;
      this.scheduleInitialJoin(group, delay, Math.max(group.rebalanceTimeoutMs - delay, 0));
    } else {
      group.joinTimer = this.timer(group.rebalanceTimeoutMs, () => this.completeJoin(group));
      this.tryCompleteJoin(group);
    }
  }

  /** group.initial.rebalance.delay.ms: wait, and wait again while new members keep coming. */
  private scheduleInitialJoin(group: GroupMetadata, delayMs: number, remainingMs: number): void {
    group.inInitialDelay = true;
    group.joinTimer = this.timer(delayMs, () => {
      group.joinTimer = null;
      if (group.newMemberAdded && remainingMs > 0) {
        group.newMemberAdded = false;
        const delay = this.config.initialRebalanceDelayMs;
        this.scheduleInitialJoin(group, Math.min(delay, remainingMs), Math.max(remainingMs - delay, 0));
      } else {
        this.completeJoin(group);
      }
    });
  }

  private tryCompleteJoin(group: GroupMetadata): void {
    if (group.is('PreparingRebalance') && !group.inInitialDelay && group.hasAllMembersJoined) this.completeJoin(group);
  }

  /** Ends the join phase: drops dynamic members that did not rejoin, starts the next generation. */
  private completeJoin(group: GroupMetadata): void {
    this.clearJoinTimer(group);
    group.newMemberAdded = false;
    if (!group.is('PreparingRebalance')) return;
    for (const m of group.notYetRejoinedMembers()) {
      if (m.isStatic) continue; // static members stay until their session expires
      this.config.logger.info({ groupId: group.groupId, memberId: m.memberId }, 'removed a member that did not rejoin in time');
      group.remove(m.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    }
    if (!group.maybeElectNewJoinedLeader() && group.members.size > 0) {
      // Nobody rejoined: wait another round, until sessions expire the silent members.
      this.config.logger.warn({ groupId: group.groupId }, 'could not complete the rebalance: no member rejoined');
      group.joinTimer = this.timer(group.rebalanceTimeoutMs, () => this.completeJoin(group));
      return;
    }
    group.initNextGeneration(this.config.time());
    if (group.is('Empty')) {
      this.config.logger.info({ groupId: group.groupId, generationId: group.generationId }, 'group is now empty');
      this.storeGroup(group);
      return;
    }
    this.config.logger.info(
      { groupId: group.groupId, generationId: group.generationId, protocol: group.protocolName, members: group.members.size, leader: group.leaderId },
      'group stabilized a generation',
    );
    for (const m of group.members.values()) {
      group.invokeJoin(m, this.joinResult(group, m, false));
      this.scheduleSession(group, m, m.sessionTimeoutMs);
      m.isNew = false;
      group.pendingSyncMembers.add(m.memberId);
    }
    // Members that do not send SyncGroup within the rebalance timeout are removed.
    const generationId = group.generationId;
    group.syncTimer = this.timer(group.rebalanceTimeoutMs, () => this.onPendingSyncExpired(group, generationId));
  }

  private onPendingSyncExpired(group: GroupMetadata, generationId: number): void {
    group.syncTimer = null;
    if (generationId !== group.generationId || !(group.is('CompletingRebalance') || group.is('Stable'))) return;
    if (group.pendingSyncMembers.size === 0) return;
    const missing = [...group.pendingSyncMembers];
    for (const memberId of missing) group.remove(memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    this.prepareRebalance(group, `members ${missing.join(', ')} sent no SyncGroup in time`);
  }

  private clearSyncExpiration(group: GroupMetadata): void {
    group.pendingSyncMembers.clear();
    if (group.syncTimer !== null) clearTimeout(group.syncTimer);
    group.syncTimer = null;
  }

  private removePendingSyncMember(group: GroupMetadata, memberId: string): void {
    group.pendingSyncMembers.delete(memberId);
    if (group.pendingSyncMembers.size === 0) this.clearSyncExpiration(group);
  }

  private clearJoinTimer(group: GroupMetadata): void {
    if (group.joinTimer !== null) clearTimeout(group.joinTimer);
    group.joinTimer = null;
    group.inInitialDelay = false;
  }

  // ---- SyncGroup -----------------------------------------------------------------------------

  /** The leader's resolves at once; a follower's when the leader's has arrived. */
  syncGroup(req: SyncGroupRequest): Promise<SyncGroupResponse> {
    return new Promise((resolve) => {
      try {
        this.handleSync(req, resolve);
      } catch (err) {
        this.config.logger.warn({ groupId: req.groupId, memberId: req.memberId, err }, 'SyncGroup failed');
        resolve(errorSync(ErrorCode.UNKNOWN_SERVER_ERROR));
      }
    });
  }

  private handleSync(req: SyncGroupRequest, respond: SyncCallback): void {
    if (this.closed) return respond(errorSync(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (typeof req.groupId !== 'string' || req.groupId === '') return respond(errorSync(ErrorCode.INVALID_GROUP_ID));
    const group = this.groups.get(req.groupId);
    if (group === undefined) return respond(errorSync(ErrorCode.UNKNOWN_MEMBER_ID));
    if (group.is('Dead')) return respond(errorSync(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    const error = group.validateCurrentMember(req.memberId, req.groupInstanceId);
    if (error !== ErrorCode.NONE) return respond(errorSync(error));
    if (req.generationId !== group.generationId) return respond(errorSync(ErrorCode.ILLEGAL_GENERATION));
    if (req.protocolType != null && req.protocolType !== group.protocolType) return respond(errorSync(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    if (req.protocolName != null && req.protocolName !== group.protocolName) return respond(errorSync(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    const member = group.get(req.memberId);
    switch (group.state) {
      case 'Empty':
        return respond(errorSync(ErrorCode.UNKNOWN_MEMBER_ID));
      case 'PreparingRebalance':
        return respond(errorSync(ErrorCode.REBALANCE_IN_PROGRESS));
      case 'CompletingRebalance': {
        // A SyncGroup sent again replaces the first.
        group.invokeSync(member, errorSync(ErrorCode.REBALANCE_IN_PROGRESS));
        member.awaitingSync = respond;
        this.removePendingSyncMember(group, member.memberId);
        if (group.isLeader(member.memberId)) this.completeSync(group, req.assignments);
        return;
      }
      case 'Stable':
        this.removePendingSyncMember(group, member.memberId);
        respond({ errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment });
        this.scheduleSession(group, member, member.sessionTimeoutMs);
        return;
      default:
        return respond(errorSync(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    }
  }

  /** The leader's assignments: each member gets its own (empty when the leader left it out). */
  private completeSync(group: GroupMetadata, assignments: SyncGroupRequest['assignments']): void {
    const byMember = new Map<string, Buffer>();
    for (const a of assignments) byMember.set(a.memberId, a.assignment);
    const missing: string[] = [];
    for (const m of group.members.values()) {
      const a = byMember.get(m.memberId);
      if (a === undefined) missing.push(m.memberId);
      m.assignment = a ?? EMPTY_BUFFER;
    }
    if (missing.length > 0) {
      this.config.logger.warn({ groupId: group.groupId, generationId: group.generationId, missing }, 'the leader sent no assignment for some members; they get an empty one');
    }
    this.propagateAssignment(group, ErrorCode.NONE);
    group.transitionTo('Stable', this.config.time());
    this.storeGroup(group);
  }

  /**
   * Writes the group's GroupMetadataValue to __consumer_offsets, as Kafka does when a generation
   * gets its assignment and when a group becomes Empty, so tools reading the topic see members
   * and assignments and a restart keeps the generation. The SyncGroup answers do not wait for it
   * (the offsets, not this record, are what a consumer resumes from); a failure is logged.
   */
  private storeGroup(group: GroupMetadata): void {
    const protocol = group.protocolName;
    const members = [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      sessionTimeoutMs: m.sessionTimeoutMs,
      subscription: protocol === null ? EMPTY_BUFFER : m.metadata(protocol),
      assignment: m.assignment,
    }));
    const record = {
      protocolType: group.protocolType ?? '',
      generation: group.generationId,
      protocol,
      leader: members.length > 0 ? group.leaderId : null,
      currentStateTimestamp: group.stateTimestamp,
      members,
    };
    this.store.writeGroup(group.groupId, record).catch((err: unknown) => this.config.logger.warn({ groupId: group.groupId, err }, 'writing the group metadata record failed'));
  }

  private resetAndPropagateAssignmentError(group: GroupMetadata, error: number): void {
    for (const m of group.members.values()) m.assignment = EMPTY_BUFFER;
    this.propagateAssignment(group, error);
  }

  private propagateAssignment(group: GroupMetadata, error: number): void {
    for (const m of group.members.values()) {
      const response: SyncGroupResponse =
        error === ErrorCode.NONE
          ? { errorCode: error, protocolType: group.protocolType, protocolName: group.protocolName, assignment: m.assignment }
          : errorSync(error);
      // The session restarts once the member has its answer.
      if (group.invokeSync(m, response)) this.scheduleSession(group, m, m.sessionTimeoutMs);
    }
  }

  // ---- Heartbeat and LeaveGroup --------------------------------------------------------------

  heartbeat(req: HeartbeatRequest): { errorCode: number } {
    if (this.closed) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    if (typeof req.groupId !== 'string' || req.groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID };
    const group = this.groups.get(req.groupId);
    if (group === undefined) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
    if (group.is('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    const error = group.validateCurrentMember(req.memberId, req.groupInstanceId);
    if (error !== ErrorCode.NONE) return { errorCode: error };
    if (req.generationId !== group.generationId) return { errorCode: ErrorCode.ILLEGAL_GENERATION };
    const member = group.get(req.memberId);
    switch (group.state) {
      case 'Empty':
        return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
      case 'PreparingRebalance':
        this.scheduleSession(group, member, member.sessionTimeoutMs);
        return { errorCode: ErrorCode.REBALANCE_IN_PROGRESS };
      default: // CompletingRebalance (a member may heartbeat before its SyncGroup) and Stable
        this.scheduleSession(group, member, member.sessionTimeoutMs);
        return { errorCode: ErrorCode.NONE };
    }
  }

  /**
   * Removes members (LeaveGroup v3+ takes several; memberId '' with a groupInstanceId removes a
   * static member by instance). The group rebalances without them.
   */
  leaveGroup(req: LeaveGroupRequest): LeaveGroupResponse {
    const top = (errorCode: number): LeaveGroupResponse => ({ errorCode, members: [] });
    if (this.closed) return top(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (typeof req.groupId !== 'string' || req.groupId === '') return top(ErrorCode.INVALID_GROUP_ID);
    const group = this.groups.get(req.groupId);
    const result = (m: LeaveGroupRequest['members'][number], errorCode: number) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId ?? null,
      errorCode,
    });
    if (group === undefined) return { errorCode: ErrorCode.NONE, members: req.members.map((m) => result(m, ErrorCode.UNKNOWN_MEMBER_ID)) };
    if (group.is('Dead')) return top(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const members = req.members.map((m) => {
      const instanceId = m.groupInstanceId ?? null;
      const why = `left the group${m.reason ? ` (${m.reason})` : ''}`;
      if (m.memberId === '') {
        const current = instanceId === null ? undefined : group.currentStaticMemberId(instanceId);
        if (current === undefined) return result(m, ErrorCode.UNKNOWN_MEMBER_ID);
        this.removeMemberAndUpdateGroup(group, group.get(current), `static member ${instanceId} ${why}`);
        return result(m, ErrorCode.NONE);
      }
      if (group.dropPendingMember(m.memberId)) {
        if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
        return result(m, ErrorCode.NONE);
      }
      const error = group.validateCurrentMember(m.memberId, instanceId);
      if (error === ErrorCode.NONE) this.removeMemberAndUpdateGroup(group, group.get(m.memberId), `member ${m.memberId} ${why}`);
      return result(m, error);
    });
    return { errorCode: ErrorCode.NONE, members };
  }

  private removeMemberAndUpdateGroup(group: GroupMetadata, member: MemberMetadata, reason: string): void {
    group.remove(member.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    this.config.logger.info({ groupId: group.groupId, memberId: member.memberId, reason }, 'member removed');
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        return this.maybePrepareRebalance(group, reason);
      case 'PreparingRebalance':
        return this.tryCompleteJoin(group);
      default:
        return;
    }
  }

  // ---- sessions ------------------------------------------------------------------------------

  /** (Re)starts the member's session: it must heartbeat, join or sync within `timeoutMs`. */
  private scheduleSession(group: GroupMetadata, member: MemberMetadata, timeoutMs: number): void {
    if (member.sessionTimer !== null) clearTimeout(member.sessionTimer);
    member.sessionTimer = this.timer(timeoutMs, () => this.onSessionExpired(group, member));
  }

  private onSessionExpired(group: GroupMetadata, member: MemberMetadata): void {
    member.sessionTimer = null;
    if (group.is('Dead') || group.members.get(member.memberId) !== member) return;
    // A known member waiting in a JoinGroup or SyncGroup counts as alive; a new one does not.
    if (!member.isNew && (member.awaitingJoin !== null || member.awaitingSync !== null)) return;
    this.config.logger.info({ groupId: group.groupId, memberId: member.memberId, sessionTimeoutMs: member.sessionTimeoutMs }, 'member session expired');
    this.removeMemberAndUpdateGroup(group, member, `session of ${member.memberId} expired`);
  }

  private onPendingMemberExpired(group: GroupMetadata, memberId: string): void {
    if (!group.dropPendingMember(memberId)) return;
    this.config.logger.info({ groupId: group.groupId, memberId }, 'member did not rejoin after MEMBER_ID_REQUIRED');
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
    this.dropIfUnused(group);
  }

  /** An unref'd timer whose callback cannot throw into the event loop. */
  private timer(ms: number, fn: () => void): NodeJS.Timeout {
    return setTimeout(() => {
      if (this.closed) return;
      try {
        fn();
      } catch (err) {
        this.config.logger.warn({ err }, 'group coordinator timer failed');
      }
    }, Math.min(Math.max(ms, 0), MAX_TIMER_MS)).unref();
  }

  /** Forgets a group that a failed join created: no members, no pending members, no offsets. */
  private dropIfUnused(group: GroupMetadata): void {
    if (group.is('Empty') && group.members.size === 0 && group.pendingMembers.size === 0 && group.generationId === 0 && !this.store.hasOffsets(group.groupId)) {
      group.transitionTo('Dead', this.config.time());
      this.groups.delete(group.groupId);
    }
  }

  // ---- listing and describing ----------------------------------------------------------------

  /** Groups, optionally only those in the given states (case-insensitive, ListGroups v4+). */
  listGroups(statesFilter?: readonly string[] | null): ListedGroup[] {
    if (this.closed) return [];
    const states = statesFilter && statesFilter.length > 0 ? new Set(statesFilter.map((s) => s.toLowerCase())) : null;
    const out: ListedGroup[] = [];
    for (const g of this.groups.values()) {
      if (g.is('Dead') || (states !== null && !states.has(g.state.toLowerCase()))) continue;
      out.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: g.state });
    }
    return out;
  }

  /** A group that does not exist is described as Dead with no error (DescribeGroups v0-5). */
  describeGroups(groupIds: readonly string[]): DescribedGroup[] {
    return groupIds.map((groupId) => {
      const dead = (errorCode: number): DescribedGroup => ({ errorCode, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [] });
      if (this.closed) return dead(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      if (typeof groupId !== 'string') return dead(ErrorCode.INVALID_GROUP_ID);
      const g = this.groups.get(groupId);
      return g === undefined ? dead(ErrorCode.NONE) : g.summary();
    });
  }

  /** The state of a group, or null when it does not exist. */
  groupState(groupId: string): GroupState | null {
    return this.groups.get(groupId)?.state ?? null;
  }

  // ---- offsets (offset-manager.ts) -----------------------------------------------------------

  /** OffsetCommit: one batch in the offsets log; resolves once it is durable. */
  commitOffsets(req: OffsetCommitRequest): Promise<OffsetCommitResponse> {
    return this.offsets.commitOffsets(req);
  }

  /** OffsetFetch: committed offsets, -1 where none. */
  fetchOffsets(req: OffsetFetchRequest): OffsetFetchResponse {
    return this.offsets.fetchOffsets(req);
  }

  /** DeleteGroups: Empty groups only (NON_EMPTY_GROUP otherwise); their offsets go too. */
  deleteGroups(groupIds: readonly string[]): Promise<DeleteGroupResult[]> {
    return this.offsets.deleteGroups(groupIds);
  }

  /** OffsetDelete: GROUP_SUBSCRIBED_TO_TOPIC for topics a live consumer subscribes to. */
  deleteOffsets(groupId: string, topics: readonly { name: string; partitions: number[] }[]): Promise<OffsetDeleteResponse> {
    return this.offsets.deleteOffsets(groupId, topics);
  }

  /** Every committed offset of a group (for lag in the CLI and metrics). */
  committedOffsets(groupId: string): GroupOffset[] {
    return this.offsets.committedOffsets(groupId);
  }

  /**
   * Expires offsets now (the timer does this every offsetsRetentionCheckIntervalMs) and drops
   * Empty groups left with no offsets. Returns how many offsets were removed.
   */
  expireOffsets(now?: number): Promise<number> {
    return this.offsets.expireOffsets(now);
  }

  /** TxnOffsetCommit: offsets that become visible when the producer's transaction commits. */
  commitTransactionalOffsets(req: OffsetCommitRequest & { producerId: number; producerEpoch: number }): Promise<OffsetCommitResponse> {
    return this.offsets.commitTransactionalOffsets(req);
  }

  /** The offsets log (for tests and metrics). */
  get offsetStore(): OffsetStore {
    return this.store;
  }

  /**
   * Stops every timer, answers waiting JoinGroup / SyncGroup requests with
   * COORDINATOR_NOT_AVAILABLE, and closes the offsets log cleanly.
   */
  /**
   * Makes this coordinator's view of one offsets partition what its log holds (in a cluster:
   * the broker became its leader, and a follower copied the records in without write()), or
   * drops that partition's groups (`load` false: it is no longer the leader). Members waiting
   * in a join or sync are told NOT_COORDINATOR and find the new coordinator.
   */
  loadPartition(index: number, load = true): void {
    if (this.closed) return;
    for (const group of [...this.groups.values()]) {
      if (this.store.partitionFor(group.groupId) !== index) continue;
      this.clearJoinTimer(group);
      this.clearSyncExpiration(group);
      for (const id of [...group.pendingMembers.keys()]) group.dropPendingMember(id);
      for (const m of group.members.values()) {
        if (m.sessionTimer !== null) clearTimeout(m.sessionTimer);
        m.sessionTimer = null;
        group.invokeJoin(m, errorJoin(m.memberId, ErrorCode.NOT_COORDINATOR));
        group.invokeSync(m, errorSync(ErrorCode.NOT_COORDINATOR));
      }
      this.groups.delete(group.groupId);
    }
    if (!load) return;
    this.store.reload(index);
    for (const groupId of new Set([...this.store.groupIds(), ...this.store.groupRecordIds()])) {
      if (this.store.partitionFor(groupId) !== index || this.groups.has(groupId)) continue;
      const group = new GroupMetadata(groupId, -1);
      const record = this.store.groupRecord(groupId);
      if (record !== undefined) {
        group.generationId = record.generation;
        group.protocolType = record.protocolType === '' ? null : record.protocolType;
      }
      this.groups.set(groupId, group);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retentionTimer !== null) clearInterval(this.retentionTimer);
    for (const group of this.groups.values()) {
      this.clearJoinTimer(group);
      this.clearSyncExpiration(group);
      for (const id of [...group.pendingMembers.keys()]) group.dropPendingMember(id);
      for (const m of group.members.values()) {
        if (m.sessionTimer !== null) clearTimeout(m.sessionTimer);
        m.sessionTimer = null;
        group.invokeJoin(m, errorJoin(m.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
        group.invokeSync(m, errorSync(ErrorCode.COORDINATOR_NOT_AVAILABLE));
      }
    }
    await this.store.close();
  }
}

function normalizeJoin(req: JoinGroupRequest): Join {
  // Protocol names are a map key in the schema: keep the first of duplicates.
  const seen = new Set<string>();
  const protocols = req.protocols.filter((p) => !seen.has(p.name) && seen.add(p.name) !== undefined);
  const rebalance = req.rebalanceTimeoutMs;
  return {
    groupId: req.groupId,
    memberId: req.memberId ?? '',
    groupInstanceId: req.groupInstanceId ?? null,
    sessionTimeoutMs: req.sessionTimeoutMs,
    rebalanceTimeoutMs: rebalance === undefined || rebalance < 0 ? req.sessionTimeoutMs : rebalance,
    protocolType: req.protocolType ?? '',
    protocols,
    requireKnownMemberId: req.requireKnownMemberId ?? false,
    supportsSkipAssignment: req.supportsSkipAssignment ?? false,
    reason: req.reason ?? 'no reason given',
    clientId: req.clientId ?? '',
    clientHost: req.clientHost ?? '',
  };
}

