import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode as E } from '../src/protocol/error-codes.js';
import {
  decodeAssignment,
  decodeSubscription,
  encodeGroupAssignment,
  encodeSubscription,
  GroupCoordinator,
  rangeAssignor,
  type GroupCoordinatorOptions,
  type JoinGroupRequest,
  type JoinGroupResponse,
  type SyncGroupResponse,
} from '../src/group/index.js';
import { tmpDir } from './helpers/tmp.js';

let coordinators: GroupCoordinator[] = [];
afterEach(async () => {
  for (const c of coordinators.splice(0)) await c.close();
});

async function open(options: Partial<GroupCoordinatorOptions> = {}): Promise<GroupCoordinator> {
  const c = await GroupCoordinator.open({ dir: tmpDir('sluice-group-'), minSessionTimeoutMs: 10, ...options });
  coordinators.push(c);
  return c;
}

const sub = (topics = ['t']): Buffer => encodeSubscription({ topics });
const protocols = (...names: string[]) => names.map((name) => ({ name, metadata: sub() }));

function join(c: GroupCoordinator, memberId: string, o: Partial<JoinGroupRequest> = {}): Promise<JoinGroupResponse> {
  return c.joinGroup({
    groupId: 'g',
    memberId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 2_000,
    protocolType: 'consumer',
    protocols: protocols('range'),
    clientId: 'c',
    clientHost: '/127.0.0.1',
    ...o,
  });
}

/** The leader assigns with `range` over the subscriptions it got; every member syncs. */
async function syncAll(c: GroupCoordinator, joins: JoinGroupResponse[], partitions: Record<string, number> = { t: 6 }) {
  const leader = joins.find((j) => j.memberId === j.leader)!;
  const members = leader.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, topics: decodeSubscription(m.metadata).topics }));
  const assignments = encodeGroupAssignment(rangeAssignor.assign(members, partitions));
  const results = await Promise.all(
    joins.map((j) =>
      c.syncGroup({ groupId: 'g', generationId: j.generationId, memberId: j.memberId, assignments: j === leader ? assignments : [] }),
    ),
  );
  return new Map<string, SyncGroupResponse>(joins.map((j, i) => [j.memberId, results[i]!]));
}

function partitionsOf(r: SyncGroupResponse): number[] {
  return decodeAssignment(r.assignment).assignedPartitions.flatMap((tp) => tp.partitions);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Heartbeats every 30 ms until stopped; remembers the last error code. */
function keepAlive(c: GroupCoordinator, memberId: string, generationId: number) {
  const state = { last: -99 };
  const t = setInterval(() => (state.last = c.heartbeat({ groupId: 'g', generationId, memberId }).errorCode), 30);
  return { state, stop: () => clearInterval(t) };
}

describe('rebalances', () => {
  for (let n = 1; n <= 4; n++) {
    it(`takes ${n} new member(s) through a complete rebalance`, async () => {
      const c = await open();
      const joins = await Promise.all(Array.from({ length: n }, () => join(c, '')));
      for (const j of joins) {
        expect(j).toMatchObject({ errorCode: E.NONE, generationId: 1, protocolType: 'consumer', protocolName: 'range', leader: joins[0]!.memberId });
        expect(j.members).toHaveLength(j.memberId === j.leader ? n : 0);
      }
      expect(new Set(joins.map((j) => j.memberId)).size).toBe(n);
      expect(c.groupState('g')).toBe('CompletingRebalance');
      const syncs = await syncAll(c, joins);
      expect(c.groupState('g')).toBe('Stable');
      const all = [...syncs.values()].flatMap((s) => {
        expect(s).toMatchObject({ errorCode: E.NONE, protocolType: 'consumer', protocolName: 'range' });
        return partitionsOf(s);
      });
      expect(all.sort()).toEqual([0, 1, 2, 3, 4, 5]);
      for (const j of joins) expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: j.memberId }).errorCode).toBe(E.NONE);
      const [described] = c.describeGroups(['g']);
      expect(described).toMatchObject({ errorCode: E.NONE, groupState: 'Stable', protocolType: 'consumer', protocolData: 'range' });
      expect(described!.members.map((m) => m.clientId)).toEqual(Array(n).fill('c'));
      expect(described!.members.every((m) => m.memberAssignment.length > 0 && m.memberMetadata.equals(sub()))).toBe(true);
    });
  }

  it('rebalances a Stable group when a member joins, keeping the leader and bumping the generation', async () => {
    const c = await open();
    const a = await join(c, '');
    await syncAll(c, [a]);
    const bJoin = join(c, '');
    expect(c.groupState('g')).toBe('PreparingRebalance');
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: a.memberId }).errorCode).toBe(E.REBALANCE_IN_PROGRESS);
    expect((await c.syncGroup({ groupId: 'g', generationId: 1, memberId: a.memberId, assignments: [] })).errorCode).toBe(E.REBALANCE_IN_PROGRESS);
    const [a2, b] = await Promise.all([join(c, a.memberId), bJoin]);
    expect(a2).toMatchObject({ errorCode: E.NONE, generationId: 2, leader: a.memberId, memberId: a.memberId });
    expect(b).toMatchObject({ errorCode: E.NONE, generationId: 2, leader: a.memberId, members: [] });
    expect(a2.members.map((m) => m.memberId)).toEqual([a.memberId, b.memberId]);
    expect((await c.syncGroup({ groupId: 'g', generationId: 1, memberId: a.memberId, assignments: [] })).errorCode).toBe(E.ILLEGAL_GENERATION);
    const syncs = await syncAll(c, [a2, b]);
    // range orders members by member id
    const [first, second] = [a.memberId, b.memberId].sort();
    expect(partitionsOf(syncs.get(first!)!)).toEqual([0, 1, 2]);
    expect(partitionsOf(syncs.get(second!)!)).toEqual([3, 4, 5]);
  });

  it('answers a follower rejoining with unchanged metadata in a Stable group without a rebalance', async () => {
    const c = await open();
    const joins = await Promise.all([join(c, ''), join(c, '')]);
    await syncAll(c, joins);
    const again = await join(c, joins[1]!.memberId);
    expect(again).toMatchObject({ errorCode: E.NONE, generationId: 1, members: [] });
    expect(c.groupState('g')).toBe('Stable');
  });

  it('rebalances the rest on LeaveGroup and becomes Empty when the last one leaves', async () => {
    const c = await open();
    const [a, b] = await Promise.all([join(c, ''), join(c, '')]);
    await syncAll(c, [a!, b!]);
    const left = c.leaveGroup({ groupId: 'g', members: [{ memberId: b!.memberId, reason: 'shutting down' }] });
    expect(left).toEqual({ errorCode: E.NONE, members: [{ memberId: b!.memberId, groupInstanceId: null, errorCode: E.NONE }] });
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: a!.memberId }).errorCode).toBe(E.REBALANCE_IN_PROGRESS);
    const a2 = await join(c, a!.memberId);
    expect(a2).toMatchObject({ generationId: 2, leader: a!.memberId });
    expect(a2.members).toHaveLength(1);
    await syncAll(c, [a2]);
    expect(c.leaveGroup({ groupId: 'g', members: [{ memberId: 'nobody' }] }).members[0]!.errorCode).toBe(E.UNKNOWN_MEMBER_ID);
    c.leaveGroup({ groupId: 'g', members: [{ memberId: a!.memberId }] });
    expect(c.listGroups()).toEqual([{ groupId: 'g', protocolType: 'consumer', groupState: 'Empty' }]);
    expect(c.listGroups(['stable'])).toEqual([]);
    expect(c.heartbeat({ groupId: 'g', generationId: 3, memberId: a!.memberId }).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
  });

  it('removes members that do not rejoin within the rebalance timeout', async () => {
    const c = await open();
    const [a, b] = await Promise.all([join(c, '', { rebalanceTimeoutMs: 300 }), join(c, '', { rebalanceTimeoutMs: 300 })]);
    await syncAll(c, [a!, b!]);
    // The leader rejoins (a rebalance); b never does.
    const a2 = await join(c, a!.memberId, { rebalanceTimeoutMs: 300 });
    expect(a2).toMatchObject({ errorCode: E.NONE, generationId: 2, leader: a!.memberId });
    expect(a2.members.map((m) => m.memberId)).toEqual([a!.memberId]);
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: b!.memberId }).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
  });

  it('elects a new leader when the leader does not rejoin', async () => {
    const c = await open();
    const [a, b] = await Promise.all([join(c, '', { rebalanceTimeoutMs: 300 }), join(c, '', { rebalanceTimeoutMs: 300 })]);
    await syncAll(c, [a!, b!]);
    const cJoin = join(c, '', { rebalanceTimeoutMs: 300 });
    const [b2, c2] = await Promise.all([join(c, b!.memberId, { rebalanceTimeoutMs: 300 }), cJoin]);
    expect(b2.leader).toBe(b!.memberId);
    expect(c2.leader).toBe(b!.memberId);
    expect(b2.members).toHaveLength(2);
  });

  it('expires a silent member after its session timeout and rebalances the others', async () => {
    const c = await open();
    // a's long session keeps it safe from a busy machine delaying its heartbeats.
    const [a, b] = await Promise.all([join(c, '', { sessionTimeoutMs: 10_000 }), join(c, '', { sessionTimeoutMs: 300 })]);
    await syncAll(c, [a!, b!]);
    const alive = keepAlive(c, a!.memberId, 1);
    try {
      await waitFor(() => alive.state.last === E.REBALANCE_IN_PROGRESS, 'a rebalance after b expired');
    } finally {
      alive.stop();
    }
    const a2 = await join(c, a!.memberId, { sessionTimeoutMs: 10_000 });
    expect(a2.generationId).toBe(2);
    expect(a2.members.map((m) => m.memberId)).toEqual([a!.memberId]);
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: b!.memberId }).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
  });

  it('removes a member that does not send SyncGroup within the rebalance timeout', async () => {
    const c = await open();
    const [a, b] = await Promise.all([join(c, '', { rebalanceTimeoutMs: 300 }), join(c, '', { rebalanceTimeoutMs: 300 })]);
    const leaderSync = await c.syncGroup({ groupId: 'g', generationId: 1, memberId: a!.memberId, assignments: [] });
    expect(leaderSync.errorCode).toBe(E.NONE);
    expect(c.groupState('g')).toBe('Stable');
    const alive = keepAlive(c, a!.memberId, 1);
    try {
      await waitFor(() => alive.state.last === E.REBALANCE_IN_PROGRESS, 'a rebalance without b');
    } finally {
      alive.stop();
    }
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: b!.memberId }).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
  });

  it('gives members the leader left out an empty assignment', async () => {
    const c = await open();
    const [a, b] = await Promise.all([join(c, ''), join(c, '')]);
    const follower = c.syncGroup({ groupId: 'g', generationId: 1, memberId: b!.memberId, assignments: [] });
    const only = encodeGroupAssignment(new Map([[a!.memberId, new Map([['t', [0]]])]]));
    const leader = await c.syncGroup({ groupId: 'g', generationId: 1, memberId: a!.memberId, assignments: [...only, { memberId: 'stranger', assignment: Buffer.from([1]) }] });
    expect(partitionsOf(leader)).toEqual([0]);
    expect((await follower).assignment.length).toBe(0);
  });
});

describe('member ids', () => {
  it('hands out a member id with MEMBER_ID_REQUIRED and accepts the member back with it', async () => {
    const c = await open();
    const first = await join(c, '', { requireKnownMemberId: true });
    expect(first).toMatchObject({ errorCode: E.MEMBER_ID_REQUIRED, generationId: -1, members: [] });
    expect(first.memberId).toMatch(/^c-/);
    const second = await join(c, first.memberId, { requireKnownMemberId: true });
    expect(second).toMatchObject({ errorCode: E.NONE, generationId: 1, memberId: first.memberId, leader: first.memberId });
  });

  it('holds a rebalance until a pending member rejoins', async () => {
    const c = await open();
    const a = await join(c, '');
    await syncAll(c, [a]);
    const pending = await join(c, '', { requireKnownMemberId: true });
    expect(c.groupState('g')).toBe('Stable');
    let aDone = false;
    const a2 = join(c, a.memberId).then((r) => ((aDone = true), r));
    await sleep(50);
    expect(aDone).toBe(false);
    const b = await join(c, pending.memberId);
    expect((await a2).generationId).toBe(2);
    expect(b).toMatchObject({ errorCode: E.NONE, generationId: 2 });
  });

  it('forgets a pending member that does not come back within its session timeout', async () => {
    const c = await open();
    const a = await join(c, '');
    await syncAll(c, [a]);
    const pending = await join(c, '', { requireKnownMemberId: true, sessionTimeoutMs: 100 });
    await sleep(400);
    expect((await join(c, pending.memberId)).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
    expect(c.groupState('g')).toBe('Stable');
  });

  it('reports generation, member and argument errors', async () => {
    const c = await open({ maxSessionTimeoutMs: 60_000 });
    expect((await join(c, '', { sessionTimeoutMs: 5 })).errorCode).toBe(E.INVALID_SESSION_TIMEOUT);
    expect((await join(c, '', { sessionTimeoutMs: 60_001 })).errorCode).toBe(E.INVALID_SESSION_TIMEOUT);
    expect((await join(c, '', { groupId: '' })).errorCode).toBe(E.INVALID_GROUP_ID);
    expect((await join(c, 'made-up')).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
    expect((await c.syncGroup({ groupId: 'g', generationId: 1, memberId: 'x', assignments: [] })).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: 'x' }).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
    const a = await join(c, '');
    expect((await join(c, 'made-up')).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
    expect((await c.syncGroup({ groupId: 'g', generationId: 2, memberId: a.memberId, assignments: [] })).errorCode).toBe(E.ILLEGAL_GENERATION);
    expect((await c.syncGroup({ groupId: 'g', generationId: 1, memberId: a.memberId, protocolName: 'roundrobin', assignments: [] })).errorCode).toBe(E.INCONSISTENT_GROUP_PROTOCOL);
    expect((await c.syncGroup({ groupId: 'g', generationId: 1, memberId: a.memberId, protocolType: 'connect', assignments: [] })).errorCode).toBe(E.INCONSISTENT_GROUP_PROTOCOL);
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: a.memberId }).errorCode).toBe(E.NONE); // CompletingRebalance
    await syncAll(c, [a]);
    expect(c.heartbeat({ groupId: 'g', generationId: 0, memberId: a.memberId }).errorCode).toBe(E.ILLEGAL_GENERATION);
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: 'x' }).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
    expect(c.heartbeat({ groupId: '', generationId: 1, memberId: a.memberId }).errorCode).toBe(E.INVALID_GROUP_ID);
  });
});

describe('protocols', () => {
  it('chooses the protocol every member supports', async () => {
    const c = await open();
    const joins = await Promise.all([
      join(c, '', { protocols: protocols('roundrobin', 'range') }),
      join(c, '', { protocols: protocols('range', 'roundrobin') }),
      join(c, '', { protocols: protocols('range') }),
    ]);
    expect(joins.map((j) => j.protocolName)).toEqual(['range', 'range', 'range']);
  });

  it('chooses the protocol with the most votes by preference', async () => {
    const c = await open();
    const joins = await Promise.all([
      join(c, '', { protocols: protocols('range', 'roundrobin') }),
      join(c, '', { protocols: protocols('roundrobin', 'range') }),
      join(c, '', { protocols: protocols('roundrobin', 'range') }),
    ]);
    expect(joins.map((j) => j.protocolName)).toEqual(['roundrobin', 'roundrobin', 'roundrobin']);
    // The leader gets the metadata of the chosen protocol.
    expect(joins[0]!.members.every((m) => m.metadata.equals(sub()))).toBe(true);
  });

  it('refuses a member whose protocol type or protocols do not fit the group', async () => {
    const c = await open();
    expect((await join(c, '', { protocolType: '' })).errorCode).toBe(E.INCONSISTENT_GROUP_PROTOCOL);
    expect((await join(c, '', { protocols: [] })).errorCode).toBe(E.INCONSISTENT_GROUP_PROTOCOL);
    expect(c.listGroups()).toEqual([]); // failed joins leave no group behind
    const a = await join(c, '', { protocols: protocols('range', 'roundrobin') });
    await syncAll(c, [a]);
    expect((await join(c, '', { protocolType: 'connect' })).errorCode).toBe(E.INCONSISTENT_GROUP_PROTOCOL);
    expect((await join(c, '', { protocols: protocols('cooperative-sticky') })).errorCode).toBe(E.INCONSISTENT_GROUP_PROTOCOL);
    expect(c.groupState('g')).toBe('Stable');
  });
});

describe('static membership', () => {
  async function staticGroup(c: GroupCoordinator, o: Partial<JoinGroupRequest> = {}) {
    const a = await join(c, '', { groupInstanceId: 'i-a', ...o });
    const b = join(c, '', { groupInstanceId: 'i-b', ...o });
    const a1 = await join(c, a.memberId, { groupInstanceId: 'i-a', ...o });
    const joins = [a1, await b];
    const syncs = await syncAll(c, joins);
    return { a: a1, b: joins[1]!, syncs };
  }

  it('replaces a restarted static member without a rebalance; the old id is fenced', async () => {
    const c = await open();
    const { a, b, syncs } = await staticGroup(c);
    expect(a.generationId).toBe(2);
    expect(a.memberId).toMatch(/^i-a-/);
    const restarted = await join(c, '', { groupInstanceId: 'i-a' });
    expect(restarted.errorCode).toBe(E.NONE);
    expect(restarted.memberId).not.toBe(a.memberId);
    expect(restarted.generationId).toBe(2);
    // Before JoinGroup v9 the old leader id comes back, so the restarted leader does not assign.
    expect(restarted).toMatchObject({ leader: a.memberId, skipAssignment: false, members: [] });
    expect(c.groupState('g')).toBe('Stable');
    const sync = await c.syncGroup({ groupId: 'g', generationId: 2, memberId: restarted.memberId, groupInstanceId: 'i-a', assignments: [] });
    expect(sync.assignment).toEqual(syncs.get(a.memberId)!.assignment);
    expect(c.heartbeat({ groupId: 'g', generationId: 2, memberId: a.memberId, groupInstanceId: 'i-a' }).errorCode).toBe(E.FENCED_INSTANCE_ID);
    expect(c.heartbeat({ groupId: 'g', generationId: 2, memberId: a.memberId }).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
    expect(c.heartbeat({ groupId: 'g', generationId: 2, memberId: b.memberId, groupInstanceId: 'i-b' }).errorCode).toBe(E.NONE);
    expect((await c.commitOffsets({ groupId: 'g', generationId: 2, memberId: a.memberId, groupInstanceId: 'i-a', topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1 }] }] })).topics[0]!.partitions[0]!.errorCode).toBe(E.FENCED_INSTANCE_ID);
  });

  it('tells a restarted static leader to skip assignment (JoinGroup v9)', async () => {
    const c = await open();
    await staticGroup(c);
    const restarted = await join(c, '', { groupInstanceId: 'i-a', supportsSkipAssignment: true });
    expect(restarted).toMatchObject({ errorCode: E.NONE, leader: restarted.memberId, skipAssignment: true, generationId: 2 });
    expect(restarted.members).toHaveLength(2);
    expect(c.groupState('g')).toBe('Stable');
  });

  it('fences the old member id of an instance with a pending JoinGroup', async () => {
    const c = await open();
    const { a, b } = await staticGroup(c);
    const bRejoin = join(c, b.memberId, { groupInstanceId: 'i-b', protocols: [{ name: 'range', metadata: sub(['t', 'u']) }] });
    expect(c.groupState('g')).toBe('PreparingRebalance');
    const bNew = join(c, '', { groupInstanceId: 'i-b' });
    expect((await bRejoin).errorCode).toBe(E.FENCED_INSTANCE_ID);
    const [a2, b2] = await Promise.all([join(c, a.memberId, { groupInstanceId: 'i-a' }), bNew]);
    expect(a2.generationId).toBe(3);
    expect(b2).toMatchObject({ errorCode: E.NONE, generationId: 3 });
  });

  it('rebalances when a restarted static member changes the protocol choice', async () => {
    const c = await open();
    const pr = protocols('range', 'roundrobin');
    const a = await join(c, '', { groupInstanceId: 'i-a', protocols: pr });
    const rest = Promise.all([join(c, '', { groupInstanceId: 'i-b', protocols: pr }), join(c, '', { protocols: protocols('roundrobin', 'range') })]);
    const a1 = await join(c, a.memberId, { groupInstanceId: 'i-a', protocols: pr });
    const [b1, c1] = await rest;
    expect(a1.protocolName).toBe('range');
    await syncAll(c, [a1, b1!, c1!]);
    const restarted = join(c, '', { groupInstanceId: 'i-a', protocols: protocols('roundrobin', 'range') });
    expect(c.groupState('g')).toBe('PreparingRebalance');
    const [r, b2, c2] = await Promise.all([restarted, join(c, b1!.memberId, { groupInstanceId: 'i-b', protocols: pr }), join(c, c1!.memberId, { protocols: protocols('roundrobin', 'range') })]);
    expect([r.protocolName, b2.protocolName, c2.protocolName]).toEqual(['roundrobin', 'roundrobin', 'roundrobin']);
  });

  it('keeps a static member that misses a rebalance and removes one by instance id on LeaveGroup', async () => {
    const c = await open();
    const { a, b } = await staticGroup(c, { rebalanceTimeoutMs: 200 });
    const a3 = await join(c, a.memberId, { groupInstanceId: 'i-a', rebalanceTimeoutMs: 200 });
    expect(a3.generationId).toBe(3);
    expect(a3.members.map((m) => m.groupInstanceId)).toEqual(['i-a', 'i-b']);
    const left = c.leaveGroup({ groupId: 'g', members: [{ memberId: '', groupInstanceId: 'i-b' }, { memberId: '', groupInstanceId: 'i-x' }] });
    expect(left.members.map((m) => m.errorCode)).toEqual([E.NONE, E.UNKNOWN_MEMBER_ID]);
    expect(c.heartbeat({ groupId: 'g', generationId: 3, memberId: b.memberId }).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
  });
});

describe('describe, list, close', () => {
  it('describes unknown groups as Dead and rebalancing groups without metadata', async () => {
    const c = await open();
    expect(c.describeGroups(['nope'])).toEqual([{ errorCode: E.NONE, groupId: 'nope', groupState: 'Dead', protocolType: '', protocolData: '', members: [] }]);
    const a = await join(c, '', { clientId: 'app' });
    const [d] = c.describeGroups(['g']);
    expect(d).toMatchObject({ groupState: 'CompletingRebalance', protocolData: '' });
    expect(d!.members).toEqual([{ memberId: a.memberId, groupInstanceId: null, clientId: 'app', clientHost: '/127.0.0.1', memberMetadata: Buffer.alloc(0), memberAssignment: Buffer.alloc(0) }]);
  });

  it('answers waiting requests with COORDINATOR_NOT_AVAILABLE on close', async () => {
    const c = await open({ initialRebalanceDelayMs: 60_000 });
    const waiting = join(c, '');
    await sleep(20);
    await c.close();
    expect((await waiting).errorCode).toBe(E.COORDINATOR_NOT_AVAILABLE);
    expect(c.heartbeat({ groupId: 'g', generationId: 0, memberId: 'x' }).errorCode).toBe(E.COORDINATOR_NOT_AVAILABLE);
    expect((await join(c, '')).errorCode).toBe(E.COORDINATOR_NOT_AVAILABLE);
  });

  it('waits the initial rebalance delay, collecting members that join meanwhile', async () => {
    const c = await open({ initialRebalanceDelayMs: 1000 });
    const first = join(c, '');
    await sleep(20);
    const second = join(c, '');
    const [a, b] = await Promise.all([first, second]);
    expect(a!.generationId).toBe(1);
    expect(b!.generationId).toBe(1);
    expect(a!.members).toHaveLength(2);
  });
});
