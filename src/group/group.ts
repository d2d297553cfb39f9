/**
 * The state of one classic group (Kafka's GroupMetadata): members, static and pending members,
 * the leader, the generation, the chosen protocol, and the state machine
 *
 *   Empty --join--> PreparingRebalance --all rejoined / rebalance timeout--> CompletingRebalance
 *   CompletingRebalance --leader's SyncGroup--> Stable
 *   Stable | CompletingRebalance --join, leave, expiry--> PreparingRebalance
 *   PreparingRebalance --nobody left--> Empty;  Empty --delete/expiry--> Dead
 *
 * It holds no timers' logic and writes nothing: the GroupCoordinator drives it. Not thread-safe.
 */
import { ErrorCode } from '../protocol/error-codes.js';
import { CONSUMER_PROTOCOL_TYPE, decodeSubscription } from './consumer-protocol.js';
import { EMPTY_BUFFER, MemberMetadata, type JoinCallback } from './member.js';
import type { DescribedGroup, GroupState, JoinGroupProtocol, JoinGroupResponse, JoinGroupResponseMember, SyncGroupResponse } from './types.js';

/** The states each state may be entered from (Kafka's validPreviousStates). */
const VALID_PREVIOUS: Record<GroupState, readonly GroupState[]> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

export class GroupMetadata {
  state: GroupState = 'Empty';
  /** When the group entered its state (-1: unknown, e.g. loaded from the offsets log). */
  stateTimestamp: number;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** In join order (Map keeps insertion order), so a new leader is the oldest member. */
  readonly members = new Map<string, MemberMetadata>();
  /** groupInstanceId -> memberId. */
  readonly staticMembers = new Map<string, string>();
  /** Members told MEMBER_ID_REQUIRED, expected back: memberId -> expiry timer. */
  readonly pendingMembers = new Map<string, NodeJS.Timeout>();
  /** Members of this generation that have not sent SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>();
  /** Protocol name -> how many members support it. */
  private readonly supportedProtocols = new Map<string, number>();
  numMembersAwaitingJoin = 0;
  /** A member joined during the initial delay: extend it (group.initial.rebalance.delay.ms). */
  newMemberAdded = false;
  /** Topics the members subscribe to (consumer protocol), null when unknown. */
  subscribedTopics: Set<string> | null = null;
  /** The join phase's timer, and whether it is the initial delay (which never ends early). */
  joinTimer: NodeJS.Timeout | null = null;
  inInitialDelay = false;
  /** The pending-sync expiration timer. */
  syncTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly groupId: string,
    now: number,
  ) {
    this.stateTimestamp = now;
  }

  is(state: GroupState): boolean {
    return this.state === state;
  }

  transitionTo(state: GroupState, now: number): void {
    if (!VALID_PREVIOUS[state].includes(this.state)) {
      throw new Error(`group ${this.groupId} cannot go from ${this.state} to ${state}`);
    }
    this.state = state;
    this.stateTimestamp = now;
  }

  get canRebalance(): boolean {
    return this.state === 'Stable' || this.state === 'CompletingRebalance' || this.state === 'Empty';
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  get(memberId: string): MemberMetadata {
    const m = this.members.get(memberId);
    if (m === undefined) throw new Error(`member ${memberId} is not in group ${this.groupId}`);
    return m;
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  isPendingMember(memberId: string): boolean {
    return this.pendingMembers.has(memberId);
  }

  currentStaticMemberId(groupInstanceId: string): string | undefined {
    return this.staticMembers.get(groupInstanceId);
  }

  /**
   * NONE when `memberId` is a member and, if a groupInstanceId is given, that instance's current
   * member id; FENCED_INSTANCE_ID when the instance now has another member id.
   */
  validateCurrentMember(memberId: string, groupInstanceId: string | null | undefined): number {
    if (groupInstanceId !== null && groupInstanceId !== undefined) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
      return ErrorCode.NONE;
    }
    return this.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  /** The largest rebalance timeout of the members (0 when none). */
  get rebalanceTimeoutMs(): number {
    let t = 0;
    for (const m of this.members.values()) t = Math.max(t, m.rebalanceTimeoutMs);
    return t;
  }

  get hasAllMembersJoined(): boolean {
    return this.members.size === this.numMembersAwaitingJoin && this.pendingMembers.size === 0;
  }

  add(member: MemberMetadata, callback: JoinCallback | null): void {
    if (this.members.size === 0) this.protocolType = member.protocolType;
    this.members.set(member.memberId, member);
    this.countProtocols(member.protocols, 1);
    this.leaderId ??= member.memberId;
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    if (callback !== null) this.numMembersAwaitingJoin++;
    member.awaitingJoin = callback;
    this.dropPendingMember(member.memberId);
  }

  /**
   * Removes a member. A JoinGroup or SyncGroup it still has pending gets UNKNOWN_MEMBER_ID (Kafka
   * answers the join only; an in-process caller must never be left waiting).
   */
  remove(memberId: string, error: number): MemberMetadata | undefined {
    const m = this.members.get(memberId);
    if (m === undefined) {
      this.dropPendingMember(memberId);
      return undefined;
    }
    this.members.delete(memberId);
    this.countProtocols(m.protocols, -1);
    this.invokeJoin(m, errorJoin(memberId, error));
    this.invokeSync(m, errorSync(error));
    if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) === memberId) {
      this.staticMembers.delete(m.groupInstanceId);
    }
    this.pendingSyncMembers.delete(memberId);
    if (this.isLeader(memberId)) this.leaderId = this.members.keys().next().value ?? null;
    if (m.sessionTimer !== null) clearTimeout(m.sessionTimer);
    m.sessionTimer = null;
    return m;
  }

  addPendingMember(memberId: string, timer: NodeJS.Timeout): void {
    this.pendingMembers.set(memberId, timer);
  }

  dropPendingMember(memberId: string): boolean {
    const t = this.pendingMembers.get(memberId);
    if (t === undefined) return false;
    clearTimeout(t);
    this.pendingMembers.delete(memberId);
    return true;
  }

  updateMember(member: MemberMetadata, protocols: JoinGroupProtocol[], rebalanceTimeoutMs: number, sessionTimeoutMs: number, callback: JoinCallback | null): void {
    this.countProtocols(member.protocols, -1);
    member.protocols = protocols;
    this.countProtocols(protocols, 1);
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
    if (callback !== null && member.awaitingJoin === null) this.numMembersAwaitingJoin++;
    else if (callback === null && member.awaitingJoin !== null) this.numMembersAwaitingJoin--;
    // A JoinGroup sent again before the first was answered replaces it.
    if (member.awaitingJoin !== null && callback !== null) member.awaitingJoin(errorJoin(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    member.awaitingJoin = callback;
  }

  /**
   * Gives a static member a new member id (a restarted instance joining with memberId ''). The
   * old id's pending join or sync is answered FENCED_INSTANCE_ID.
   */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string, fencedError: number): MemberMetadata {
    const m = this.get(oldMemberId);
    this.members.delete(oldMemberId);
    this.invokeJoin(m, errorJoin(oldMemberId, fencedError));
    this.invokeSync(m, errorSync(fencedError));
    m.memberId = newMemberId;
    this.members.set(newMemberId, m);
    if (this.isLeader(oldMemberId)) this.leaderId = newMemberId;
    this.staticMembers.set(groupInstanceId, newMemberId);
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    return m;
  }

  /** Answers the member's pending JoinGroup, if any. */
  invokeJoin(member: MemberMetadata, response: JoinGroupResponse): boolean {
    const cb = member.awaitingJoin;
    if (cb === null) return false;
    member.awaitingJoin = null;
    this.numMembersAwaitingJoin--;
    cb(response);
    return true;
  }

  /** Answers the member's pending SyncGroup, if any. */
  invokeSync(member: MemberMetadata, response: SyncGroupResponse): boolean {
    const cb = member.awaitingSync;
    if (cb === null) return false;
    member.awaitingSync = null;
    cb(response);
    return true;
  }

  /** Members that have not rejoined during this join phase. */
  notYetRejoinedMembers(): MemberMetadata[] {
    return [...this.members.values()].filter((m) => m.awaitingJoin === null);
  }

  /** Keeps the leader if it rejoined, else picks a member that did; false when none did. */
  maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    if (this.get(this.leaderId).awaitingJoin !== null) return true;
    for (const m of this.members.values()) {
      if (m.awaitingJoin !== null) {
        this.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  /**
   * Whether a member with these protocols may join: an Empty group takes any non-empty
   * protocolType and protocol list; otherwise the type must match and one of the protocols must
   * be supported by every member.
   */
  supportsProtocols(protocolType: string, protocols: readonly JoinGroupProtocol[]): boolean {
    if (this.state === 'Empty') return protocolType.length > 0 && protocols.length > 0;
    if (this.protocolType !== protocolType) return false;
    return protocols.some((p) => this.supportedProtocols.get(p.name) === this.members.size);
  }

  /**
   * The protocol every member supports with the most votes, each member voting for its most
   * preferred candidate. Kafka leaves a tie to hash order; here the candidate the leader
   * prefers most wins it.
   */
  selectProtocol(): string {
    if (this.members.size === 0) throw new Error(`cannot select a protocol for the empty group ${this.groupId}`);
    const candidates = new Set<string>();
    for (const [name, n] of this.supportedProtocols) if (n === this.members.size) candidates.add(name);
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const v = m.vote(candidates);
      votes.set(v, (votes.get(v) ?? 0) + 1);
    }
    const leader = this.members.get(this.leaderId ?? '') ?? this.members.values().next().value!;
    let best = '';
    let bestVotes = -1;
    for (const p of leader.protocols) {
      const n = votes.get(p.name) ?? -1;
      if (n > bestVotes) {
        best = p.name;
        bestVotes = n;
      }
    }
    return best;
  }

  /** Ends a join phase: next generation, protocol chosen; Empty when no member is left. */
  initNextGeneration(now: number): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('CompletingRebalance', now);
    } else {
      this.protocolName = null;
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('Empty', now);
    }
    this.pendingSyncMembers.clear();
  }

  /** Whether a member of a consumer group subscribes to `topic` (false when unknown). */
  isSubscribedToTopic(topic: string): boolean {
    return this.subscribedTopics?.has(topic) ?? false;
  }

  /** The members with their metadata for the chosen protocol, as the leader's JoinGroup gets them. */
  currentMemberMetadata(): JoinGroupResponseMember[] {
    const protocol = this.protocolName ?? '';
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadata(protocol),
    }));
  }

  /** DescribeGroups' view: metadata and assignments only when Stable, as in Kafka. */
  summary(): DescribedGroup {
    const stable = this.state === 'Stable';
    return {
      errorCode: 0,
      groupId: this.groupId,
      groupState: this.state,
      protocolType: this.protocolType ?? '',
      protocolData: stable ? (this.protocolName ?? '') : '',
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable ? m.metadata(this.protocolName ?? '') : EMPTY_BUFFER,
        memberAssignment: stable ? m.assignment : EMPTY_BUFFER,
      })),
    };
  }

  private computeSubscribedTopics(): Set<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE) return null;
    if (this.members.size === 0) return new Set();
    if (this.protocolName === null) return null;
    const topics = new Set<string>();
    try {
      for (const m of this.members.values()) {
        for (const t of decodeSubscription(m.metadata(this.protocolName)).topics) topics.add(t);
      }
    } catch {
      return null;
    }
    return topics;
  }

  private countProtocols(protocols: readonly JoinGroupProtocol[], delta: number): void {
    for (const p of protocols) {
      const n = (this.supportedProtocols.get(p.name) ?? 0) + delta;
      if (n === 0) this.supportedProtocols.delete(p.name);
      else this.supportedProtocols.set(p.name, n);
    }
  }
}

/** A JoinGroup answer that carries only an error (Kafka's JoinGroupResult(memberId, error)). */
export function errorJoin(memberId: string, errorCode: number): JoinGroupResponse {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId, members: [] };
}

export function errorSync(errorCode: number): SyncGroupResponse {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BUFFER };
}
