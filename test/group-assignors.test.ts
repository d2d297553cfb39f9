import { describe, expect, it } from 'vitest';
import { decodeAssignment, encodeGroupAssignment, rangeAssignor, roundRobinAssignor, type GroupAssignment } from '../src/group/index.js';

/** memberId -> "t0p1"-style names, for readable expectations. */
function names(a: GroupAssignment): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [member, topics] of a) {
    out[member] = [];
    for (const [topic, parts] of [...topics].sort(([x], [y]) => (x < y ? -1 : 1))) for (const p of parts) out[member]!.push(`${topic}p${p}`);
  }
  return out;
}

describe('range assignor', () => {
  it("Kafka's example: C0, C1 over t0, t1 of 3 partitions", () => {
    const members = [
      { memberId: 'C1', topics: ['t0', 't1'] },
      { memberId: 'C0', topics: ['t0', 't1'] },
    ];
    expect(names(rangeAssignor.assign(members, { t0: 3, t1: 3 }))).toEqual({
      C0: ['t0p0', 't0p1', 't1p0', 't1p1'],
      C1: ['t0p2', 't1p2'],
    });
  });

  it('splits per topic over its own subscribers only', () => {
    const members = [
      { memberId: 'a', topics: ['x'] },
      { memberId: 'b', topics: ['x', 'y'] },
      { memberId: 'c', topics: ['y'] },
    ];
    // x: 5 over [a, b] -> a 0-2, b 3-4; y: 2 over [b, c] -> b 0, c 1
    expect(names(rangeAssignor.assign(members, new Map([['x', 5], ['y', 2]])))).toEqual({
      a: ['xp0', 'xp1', 'xp2'],
      b: ['xp3', 'xp4', 'yp0'],
      c: ['yp1'],
    });
  });

  it('leaves members past the partition count empty and skips unknown topics', () => {
    const members = [
      { memberId: 'm1', topics: ['t', 'gone'] },
      { memberId: 'm2', topics: ['t'] },
      { memberId: 'm3', topics: ['t'] },
    ];
    expect(names(rangeAssignor.assign(members, { t: 2 }))).toEqual({ m1: ['tp0'], m2: ['tp1'], m3: [] });
  });

  it('orders static members first by instance id, then dynamic ones by member id', () => {
    const members = [
      { memberId: 'a-dynamic', topics: ['t'] },
      { memberId: 'z-1', groupInstanceId: 'i2', topics: ['t'] },
      { memberId: 'y-1', groupInstanceId: 'i1', topics: ['t'] },
    ];
    expect(names(rangeAssignor.assign(members, { t: 3 }))).toEqual({ 'y-1': ['tp0'], 'z-1': ['tp1'], 'a-dynamic': ['tp2'] });
  });
});

describe('roundrobin assignor', () => {
  it("Kafka's example with identical subscriptions", () => {
    const members = [
      { memberId: 'C0', topics: ['t0', 't1'] },
      { memberId: 'C1', topics: ['t1', 't0'] },
    ];
    expect(names(roundRobinAssignor.assign(members, { t0: 3, t1: 3 }))).toEqual({
      C0: ['t0p0', 't0p2', 't1p1'],
      C1: ['t0p1', 't1p0', 't1p2'],
    });
  });

  it("Kafka's example with different subscriptions", () => {
    const members = [
      { memberId: 'C2', topics: ['t0', 't1', 't2'] },
      { memberId: 'C0', topics: ['t0'] },
      { memberId: 'C1', topics: ['t0', 't1'] },
    ];
    expect(names(roundRobinAssignor.assign(members, { t0: 1, t1: 2, t2: 3 }))).toEqual({
      C0: ['t0p0'],
      C1: ['t1p0'],
      C2: ['t1p1', 't2p0', 't2p1', 't2p2'],
    });
  });

  it('encodes the result as SyncGroup assignments', () => {
    const a = roundRobinAssignor.assign([{ memberId: 'm', topics: ['b', 'a'] }], { a: 1, b: 2 });
    const [only] = encodeGroupAssignment(a, 0);
    expect(only!.memberId).toBe('m');
    expect(decodeAssignment(only!.assignment).assignedPartitions).toEqual([
      { topic: 'a', partitions: [0] },
      { topic: 'b', partitions: [0, 1] },
    ]);
  });
});
