/**
 * The consumer group APIs, each handed to the GroupCoordinator (shared with the embedded
 * consumers), adapting Kafka's version differences: JoinGroup v4+ requires a known member id
 * (MEMBER_ID_REQUIRED round trip), v9 can skip assignment, and below v7 protocolName is ''
 * not null; LeaveGroup v0-2 names one member and answers with its error at the top;
 * OffsetFetch v8+ batches groups; OffsetCommit v0 commits without a generation.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerContext } from './context.js';
import { authorizedOperations, GROUP_OPERATIONS } from './authorized-operations.js';
import { limitsOf } from './limits.js';
import { coordinatorError } from './coordinator-placement.js';

export interface ClientInfo {
  clientId: string;
  clientHost: string;
}

export async function handleJoinGroup(
  ctx: BrokerContext,
  req: { groupId: string; sessionTimeoutMs: number; rebalanceTimeoutMs: number; memberId: string; groupInstanceId: string | null; protocolType: string; protocols: { name: string; metadata: Buffer }[]; reason: string | null },
  version: number,
  client: ClientInfo,
) {
  const placed = coordinatorError(ctx, req.groupId);
  if (placed !== ErrorCode.NONE) return joinRefused(req.memberId, placed, version);
  // Protocol metadata stays in memory for the member's whole session: bound what one join may park.
  const metadataBytes = req.protocols.reduce((n, p) => n + p.metadata.length, 0);
  if (metadataBytes > limitsOf(ctx).maxJoinMetadataBytes) {
    return joinRefused(req.memberId, ErrorCode.INVALID_REQUEST, version);
  }
  const res = await ctx.sluice.groups.joinGroup({
    groupId: req.groupId,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId,
    sessionTimeoutMs: req.sessionTimeoutMs,
    rebalanceTimeoutMs: version >= 1 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
    protocolType: req.protocolType,
    protocols: req.protocols,
    requireKnownMemberId: version >= 4,
    supportsSkipAssignment: version >= 9,
    reason: req.reason,
    clientId: client.clientId,
    clientHost: client.clientHost,
  });
  return {
    throttleTimeMs: 0,
    errorCode: res.errorCode,
    generationId: res.generationId,
    protocolType: res.protocolType,
    protocolName: version < 7 ? res.protocolName ?? '' : res.protocolName,
    leader: res.leader,
    skipAssignment: res.skipAssignment,
    memberId: res.memberId,
    members: res.members,
  };
}

function joinRefused(memberId: string, errorCode: number, version: number) {
  return { throttleTimeMs: 0, errorCode, generationId: -1, protocolType: null, protocolName: version < 7 ? '' : null, leader: '', skipAssignment: false, memberId, members: [] };
}

export async function handleSyncGroup(
  ctx: BrokerContext,
  req: { groupId: string; generationId: number; memberId: string; groupInstanceId: string | null; protocolType: string | null; protocolName: string | null; assignments: { memberId: string; assignment: Buffer }[] },
) {
  const placed = coordinatorError(ctx, req.groupId);
  if (placed !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: placed, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
  if (req.assignments.reduce((n, a) => n + a.assignment.length, 0) > limitsOf(ctx).maxJoinMetadataBytes) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
  }
  const res = await ctx.sluice.groups.syncGroup(req);
  return { throttleTimeMs: 0, errorCode: res.errorCode, protocolType: res.protocolType, protocolName: res.protocolName, assignment: res.assignment };
}

export function handleHeartbeat(ctx: BrokerContext, req: { groupId: string; generationId: number; memberId: string; groupInstanceId: string | null }) {
  const placed = coordinatorError(ctx, req.groupId);
  if (placed !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: placed };
  return { throttleTimeMs: 0, errorCode: ctx.sluice.groups.heartbeat(req).errorCode };
}

export function handleLeaveGroup(
  ctx: BrokerContext,
  req: { groupId: string; memberId: string; members: { memberId: string; groupInstanceId: string | null; reason?: string | null }[] },
  version: number,
) {
  const members = version >= 3 ? req.members : [{ memberId: req.memberId, groupInstanceId: null }];
  const placed = coordinatorError(ctx, req.groupId);
  if (placed !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: placed, members: [] };
  const res = ctx.sluice.groups.leaveGroup({ groupId: req.groupId, members });
  const errorCode = version >= 3 ? res.errorCode : res.errorCode || (res.members.find((m) => m.errorCode !== ErrorCode.NONE)?.errorCode ?? ErrorCode.NONE);
  return { throttleTimeMs: 0, errorCode, members: res.members };
}

export async function handleOffsetCommit(
  ctx: BrokerContext,
  req: {
    groupId: string;
    generationIdOrMemberEpoch: number;
    memberId: string;
    groupInstanceId: string | null;
    retentionTimeMs: number;
    topics: { name: string; partitions: { partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }[] }[];
  },
  version: number,
) {
  const placed = coordinatorError(ctx, req.groupId);
  if (placed !== ErrorCode.NONE) {
    return { throttleTimeMs: 0, topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: placed })) })) };
  }
  const res = await ctx.sluice.groups.commitOffsets({
    groupId: req.groupId,
    generationId: version >= 1 ? req.generationIdOrMemberEpoch : -1,
    memberId: version >= 1 ? req.memberId : '',
    groupInstanceId: req.groupInstanceId,
    retentionTimeMs: req.retentionTimeMs,
    topics: req.topics,
  });
  return { throttleTimeMs: 0, topics: res.topics };
}

export function handleOffsetFetch(
  ctx: BrokerContext,
  req: {
    groupId: string;
    topics: { name: string; partitionIndexes: number[] }[] | null;
    groups: { groupId: string; memberId: string | null; memberEpoch: number; topics: { name: string; partitionIndexes: number[] }[] | null }[];
    requireStable: boolean;
  },
  version: number,
) {
  if (version >= 8) {
    const groups = req.groups.map((g) => {
      const placed = coordinatorError(ctx, g.groupId);
      if (placed !== ErrorCode.NONE) return { groupId: g.groupId, topics: [], errorCode: placed };
      const res = ctx.sluice.groups.fetchOffsets({ groupId: g.groupId, topics: g.topics, requireStable: req.requireStable });
      return { groupId: g.groupId, topics: res.topics, errorCode: res.errorCode };
    });
    return { throttleTimeMs: 0, groups };
  }
  // v0 and v1 have no "all topics" form: an empty or null list asks for nothing.
  const topics = version < 2 && req.topics === null ? [] : req.topics;
  const placed = coordinatorError(ctx, req.groupId);
  if (placed !== ErrorCode.NONE) return { throttleTimeMs: 0, topics: [], errorCode: placed };
  const res = ctx.sluice.groups.fetchOffsets({ groupId: req.groupId, topics, requireStable: req.requireStable });
  return { throttleTimeMs: 0, topics: res.topics, errorCode: res.errorCode };
}

export function handleListGroups(ctx: BrokerContext, req: { statesFilter: string[]; typesFilter: string[] }) {
  const types = req.typesFilter.map((t) => t.toLowerCase());
  const groups = ctx.sluice.groups
    .listGroups(req.statesFilter.length > 0 ? req.statesFilter : null)
    .filter(() => types.length === 0 || types.includes('classic'))
    .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.groupState, groupType: 'classic' }));
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups };
}

export function handleDescribeGroups(ctx: BrokerContext, req: { groups: string[]; includeAuthorizedOperations: boolean }) {
  const groups = ctx.sluice.groups.describeGroups(req.groups).map((g) => {
    const placed = coordinatorError(ctx, g.groupId);
    if (placed !== ErrorCode.NONE) return { ...g, errorCode: placed, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: authorizedOperations(false, GROUP_OPERATIONS) };
    return { ...g, authorizedOperations: authorizedOperations(req.includeAuthorizedOperations, GROUP_OPERATIONS) };
  });
  return { throttleTimeMs: 0, groups };
}

export async function handleDeleteGroups(ctx: BrokerContext, req: { groupsNames: string[] }) {
  const mine = req.groupsNames.filter((g) => coordinatorError(ctx, g) === ErrorCode.NONE);
  const deleted = await ctx.sluice.groups.deleteGroups(mine);
  const others = req.groupsNames.filter((g) => !mine.includes(g)).map((groupId) => ({ groupId, errorCode: coordinatorError(ctx, groupId) }));
  return { throttleTimeMs: 0, results: [...deleted, ...others] };
}

export async function handleOffsetDelete(ctx: BrokerContext, req: { groupId: string; topics: { name: string; partitions: { partitionIndex: number }[] }[] }) {
  const placed = coordinatorError(ctx, req.groupId);
  if (placed !== ErrorCode.NONE) return { errorCode: placed, topics: [], throttleTimeMs: 0 };
  const res = await ctx.sluice.groups.deleteOffsets(
    req.groupId,
    req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) })),
  );
  return { ...res, throttleTimeMs: 0 };
}
