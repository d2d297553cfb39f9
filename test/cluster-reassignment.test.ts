/**
 * The controller's reassignment and election state machine against a real etcd. Brokers are
 * in-process (etcd client, session, cache, controller each). Nothing here copies data: the
 * test changes the ISR itself by compare-and-set, the way a partition leader does once a
 * follower has caught up (src/replication/ does that in the brokers).
 */
import { describe, expect, it } from 'vitest';
import { describeReassignment, reassignmentOf, withReassignment, writeElectionRequests, writeReassignments } from '../src/cluster/reassignment.js';
import { NO_LEADER, type TopicRecord } from '../src/cluster/types.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { startEtcd } from './helpers/etcd.js';
import { startTestBroker, topicRecord, type TestBroker } from './helpers/controller-broker.js';



/** What a partition leader does when followers join the ISR: CAS on the state's revision. */
async function setIsr(b: TestBroker, name: string, p: number, isr: number[]): Promise<void> {
  const state = b.cache.partitionState(name, p)!;
  const rev = await b.store.writePartitionState(name, p, { version: 1, leader: state.leader, leaderEpoch: state.leaderEpoch, isr, partitionEpoch: state.partitionEpoch + 1, controllerEpoch: state.controllerEpoch }, state.modRevision);
  expect(rev).not.toBeNull();
}

/** Three brokers; broker 1 starts first and so is the controller. */
async function threeBrokers(endpoint: string, options: { autoLeaderRebalance?: boolean } = {}): Promise<TestBroker[]> {
  const brokers = [await startTestBroker(endpoint, 1, options)];
  await brokers[0]!.cache.waitFor(() => brokers[0]!.controller.isActive, 10_000);
  brokers.push(await startTestBroker(endpoint, 2, options), await startTestBroker(endpoint, 3, options));
  await Promise.all(brokers.map((b) => b.cache.waitFor(() => b.cache.brokers.size === 3 && b.cache.controller !== null, 10_000)));
  return brokers;
}

describe('reassignment records', () => {
  const live = new Set([1, 2, 3, 4]);
  it('puts the target first, keeps the original, and refuses bad targets with Kafka codes', () => {
    const t = topicRecord('t', [[1, 2], [3]]);
    const r = withReassignment(t, 0, [3, 4], live);
    expect(r.replicas[0]).toEqual([3, 4, 1, 2]);
    expect(r.reassignments).toEqual({ 0: { target: [3, 4], original: [1, 2] } });
    expect(describeReassignment(r, 0)).toEqual({ replicas: [3, 4, 1, 2], adding: [3, 4], removing: [1, 2] });
    // A new target while one runs keeps the original and every replica it holds until the end.
    const again = withReassignment(r, 0, [2, 3], live);
    expect(again.replicas[0]).toEqual([2, 3, 4, 1]);
    expect(again.reassignments!['0']).toEqual({ target: [2, 3], original: [1, 2] });
    expect(describeReassignment(again, 0)).toEqual({ replicas: [2, 3, 4, 1], adding: [3], removing: [4, 1] });
    const cancelled = withReassignment(again, 0, null, live);
    expect(cancelled.reassignments!['0']!.cancel).toBe(true);
    expect(describeReassignment(cancelled, 0)).toEqual({ replicas: [2, 3, 4, 1], adding: [], removing: [3, 4] });
    expect(withReassignment(t, 1, [3], live)).toBe(t); // nothing to do
    // An entry that is not a reassignment (etcd is writable by hand) is ignored, and replaced by a real one.
    const junk = { ...t, reassignments: { 0: { target: 'x' } } } as unknown as TopicRecord;
    expect(reassignmentOf(junk, 0)).toBeUndefined();
    expect(withReassignment(junk, 0, [3], live).reassignments).toEqual({ 0: { target: [3], original: [1, 2] } });
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return [(err as { errorCode: number }).errorCode, (err as Error).message];
      }
      return null;
    };
    expect(code(() => withReassignment(t, 1, null, live))).toEqual([ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, 'no reassignment of t-1 is in progress']);
    expect(code(() => withReassignment(t, 0, [1, 9], live))).toEqual([ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'the new replica list of t-0 names broker 9, not alive in the cluster (live brokers: 1, 2, 3, 4)']);
    expect(code(() => withReassignment(t, 0, [2, 2], live))![0]).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(code(() => withReassignment(t, 0, [], live))![0]).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(code(() => withReassignment(t, 2, [1], live))![0]).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});

describe('controller reassignment', () => {
  it('adds the target replicas, completes once they are in the ISR, moves the leader off a removed replica, and cancels', async () => {
    const etcd = await startEtcd();
    // No automatic preferred-leader election, so leadership moves only through the steps under test.
    const brokers = await threeBrokers(etcd.endpoint, { autoLeaderRebalance: false });
    const [b1] = brokers;
    const view = b1!.cache;
    const live = new Set([1, 2, 3]);
    try {
      expect(await b1!.store.createTopic(topicRecord('r', [[1, 2], [1]]))).toBe(true);
      expect(await view.waitFor(() => view.partitionState('r', 0)?.leader === 1 && view.partitionState('r', 1)?.leader === 1, 10_000)).toBe(true);

      // [1, 2] -> [2, 3]: 3 joins the replica list at once, the original stays until the end.
      const out = await writeReassignments(b1!.store, live, 'r', [{ partition: 0, replicas: [2, 3] }]);
      expect(out.get(0)).toBeNull();
      expect(await view.waitFor(() => view.topics.get('r')!.replicas[0]!.length === 3, 5000)).toBe(true);
      expect(view.topics.get('r')!.replicas[0]).toEqual([2, 3, 1]);
      await b1!.controller.settled();
      // 3 is not in the ISR yet: nothing moves.
      expect(view.partitionState('r', 0)).toMatchObject({ leader: 1, leaderEpoch: 0, isr: [1, 2] });
      expect(view.topics.get('r')!.reassignments).toEqual({ 0: { target: [2, 3], original: [1, 2] } });

      // 3 catches up and the leader adds it to the ISR: the controller moves leadership off 1
      // (not in the target) to 2, shrinks the ISR to the target, then ends the reassignment.
      await setIsr(b1!, 'r', 0, [1, 2, 3]);
      expect(await view.waitFor(() => view.topics.get('r')!.reassignments === undefined, 10_000)).toBe(true);
      expect(view.topics.get('r')!.replicas[0]).toEqual([2, 3]);
      expect(view.partitionState('r', 0)).toMatchObject({ leader: 2, leaderEpoch: 1, isr: [2, 3] });

      // A target equal to the current list changes nothing.
      const rev = view.revision;
      expect((await writeReassignments(b1!.store, live, 'r', [{ partition: 0, replicas: [2, 3] }])).get(0)).toBeNull();
      expect((await b1!.store.etcd.get(view.keys.topic('r')))!.modRevision).toBeLessThanOrEqual(rev);

      // Partition 1, RF 1: [1] -> [3]; once 3 is in sync it leads and 1 is dropped.
      await writeReassignments(b1!.store, live, 'r', [{ partition: 1, replicas: [3] }]);
      expect(await view.waitFor(() => view.topics.get('r')!.replicas[1]!.length === 2, 5000)).toBe(true);
      await setIsr(b1!, 'r', 1, [1, 3]);
      expect(await view.waitFor(() => view.topics.get('r')!.reassignments === undefined, 10_000)).toBe(true);
      expect(view.topics.get('r')!.replicas[1]).toEqual([3]);
      expect(view.partitionState('r', 1)).toMatchObject({ leader: 3, leaderEpoch: 1, isr: [3] });

      expect(await b1!.store.createTopic(topicRecord('c', [[1, 2]]))).toBe(true);
      expect(await view.waitFor(() => view.partitionState('c', 0)?.leader === 1, 10_000)).toBe(true);
      await writeReassignments(b1!.store, live, 'c', [{ partition: 0, replicas: [3, 2] }]);
      expect(await view.waitFor(() => view.topics.get('c')!.replicas[0]!.length === 3, 5000)).toBe(true);
      // Preferred election (replicas[0] is 3 now) is asked for while 3 is not in sync: refused by the controller.
      expect((await writeElectionRequests(b1!.store, 'c', [0], 'preferred')).get(0)).toBeNull();
      expect(await view.waitFor(() => view.topics.get('c')!.elections === undefined, 10_000)).toBe(true);
      expect(view.partitionState('c', 0)).toMatchObject({ leader: 1, leaderEpoch: 0 });
      // Cancel while 3 is still catching up: back to [1, 2], 3 dropped, leader unchanged.
      expect((await writeReassignments(b1!.store, live, 'c', [{ partition: 0, replicas: null }])).get(0)).toBeNull();
      expect(await view.waitFor(() => view.topics.get('c')!.reassignments === undefined, 10_000)).toBe(true);
      expect(view.topics.get('c')!.replicas[0]).toEqual([1, 2]);
      expect(view.partitionState('c', 0)).toMatchObject({ leader: 1, leaderEpoch: 0, isr: [1, 2] });
      expect((await writeReassignments(b1!.store, live, 'c', [{ partition: 0, replicas: null }])).get(0)).toMatchObject({ errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS });

      // Cancel after the adding replica joined the ISR and was elected leader: leadership goes
      // back into the original list and the ISR shrinks to it.
      await writeReassignments(b1!.store, live, 'c', [{ partition: 0, replicas: [3, 1, 2] }]);
      expect(await view.waitFor(() => view.topics.get('c')!.replicas[0]!.length === 3, 5000)).toBe(true);
      // 3 joins the ISR while 2 falls behind, so the reassignment cannot complete yet.
      await setIsr(b1!, 'c', 0, [1, 3]);
      await writeElectionRequests(b1!.store, 'c', [0], 'preferred');
      expect(await view.waitFor(() => view.partitionState('c', 0)?.leader === 3, 10_000)).toBe(true);
      expect(view.partitionState('c', 0)).toMatchObject({ leaderEpoch: 1, isr: [3, 1] });
      expect(view.topics.get('c')!.reassignments?.['0']).toEqual({ target: [3, 1, 2], original: [1, 2] });
      expect((await writeReassignments(b1!.store, live, 'c', [{ partition: 0, replicas: null }])).get(0)).toBeNull();
      expect(await view.waitFor(() => view.topics.get('c')!.reassignments === undefined, 10_000)).toBe(true);
      expect(view.topics.get('c')!.replicas[0]).toEqual([1, 2]);
      expect(view.partitionState('c', 0)).toMatchObject({ leader: 1, leaderEpoch: 2, isr: [1] });
    } finally {
      for (const b of brokers) await b.stop().catch(() => {});
    }
  });

  it('resumes a reassignment after a controller failover, and runs unclean elections only when asked', async () => {
    const etcd = await startEtcd();
    const brokers = await threeBrokers(etcd.endpoint);
    const [b1, b2, b3] = brokers;
    const live = new Set([1, 2, 3]);
    try {
      expect(await b2!.store.createTopic(topicRecord('f', [[1, 2]]))).toBe(true);
      expect(await b2!.store.createTopic(topicRecord('u', [[3, 2]]))).toBe(true);
      const view = b2!.cache;
      expect(await view.waitFor(() => view.partitionState('f', 0)?.leader === 1 && view.partitionState('u', 0)?.leader === 3, 10_000)).toBe(true);
      await writeReassignments(b2!.store, live, 'f', [{ partition: 0, replicas: [3, 2] }]);
      expect(await view.waitFor(() => view.topics.get('f')!.replicas[0]!.length === 3, 5000)).toBe(true);

      // The controller dies mid-reassignment; while none is elected, 3 joins the ISR.
      const oldEpoch = view.controller!.epoch;
      b1!.crash();
      expect(await view.waitFor(() => (view.controller?.epoch ?? 0) > oldEpoch, 15_000)).toBe(true);
      // The new controller moves leadership off dead 1 (clean election in replica order [3, 2, 1]).
      expect(await view.waitFor(() => view.partitionState('f', 0)?.leader === 2, 15_000)).toBe(true);
      expect(view.topics.get('f')!.reassignments).toEqual({ 0: { target: [3, 2], original: [1, 2] } });
      // 3 catches up: the new controller ends the reassignment, then 3 (preferred) leads.
      await setIsr(b2!, 'f', 0, [2, 3]);
      expect(await view.waitFor(() => view.topics.get('f')?.reassignments === undefined, 15_000)).toBe(true);
      expect(view.topics.get('f')!.replicas[0]).toEqual([3, 2]);
      expect(await view.waitFor(() => view.partitionState('f', 0)?.leader === 3, 15_000)).toBe(true);
      expect(view.partitionState('f', 0)!.isr).toEqual([3, 2]);

      // u-0: ISR [3] only (2 fell behind), then 3 dies: offline, as unclean election is off.
      const u = view.partitionState('u', 0)!;
      await setIsr(b2!, 'u', 0, [3]);
      expect(await view.waitFor(() => view.partitionState('u', 0)?.isr.length === 1, 5000)).toBe(true);
      b3!.crash();
      const survivor = b2!;
      const sv = survivor.cache;
      expect(await sv.waitFor(() => sv.partitionState('u', 0)?.leader === NO_LEADER, 15_000)).toBe(true);
      expect(sv.partitionState('u', 0)).toMatchObject({ isr: [3], leaderEpoch: u.leaderEpoch + 1 });
      // Preferred election cannot help (3 is dead); unclean picks live replica 2.
      await writeElectionRequests(survivor.store, 'u', [0], 'unclean');
      expect(await sv.waitFor(() => sv.partitionState('u', 0)?.leader === 2, 15_000)).toBe(true);
      expect(sv.partitionState('u', 0)).toMatchObject({ isr: [2], leaderEpoch: u.leaderEpoch + 2 });
      expect(await sv.waitFor(() => sv.topics.get('u')!.elections === undefined, 5000)).toBe(true);
    } finally {
      for (const b of brokers) await b.stop().catch(() => {});
    }
  }, 120_000);
});
