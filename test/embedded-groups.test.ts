import { describe, expect, it } from 'vitest';
import { Sluice, type Consumer, type ConsumerRecord } from '../src/index.js';
import { openSluice } from './helpers/sluice.js';
import { tmpDir } from './helpers/tmp.js';

const groups = { minSessionTimeoutMs: 100, initialRebalanceDelayMs: 0 };
const fast = { heartbeatIntervalMs: 50, sessionTimeoutMs: 2000, rebalanceTimeoutMs: 3000, autoOffsetReset: 'earliest' as const, valueDeserializer: 'string' as const };

/** Polls every consumer in turn until `done()` or the rounds run out; returns what each got. */
async function pollAll(consumers: Consumer[], done: (got: Map<Consumer, ConsumerRecord[]>) => boolean, rounds = 300) {
  const got = new Map<Consumer, ConsumerRecord[]>(consumers.map((c) => [c, []]));
  for (let i = 0; i < rounds && !done(got); i++) {
    await Promise.all(consumers.map(async (c) => got.get(c)!.push(...(await c.poll({ timeoutMs: 20 })))));
  }
  return got;
}

const total = (got: Map<Consumer, ConsumerRecord[]>) => [...got.values()].reduce((n, l) => n + l.length, 0);

describe('consumer groups', () => {
  it('splits partitions among members and hands each record to exactly one member', async () => {
    const s = await openSluice({ groups });
    await s.createTopic('g', { partitions: 6 });
    const p = s.producer();
    await p.send('g', Array.from({ length: 600 }, (_, i) => ({ value: `v${i}`, partition: i % 6 })));
    const members = [0, 1, 2].map(() => s.consumer({ groupId: 'app', ...fast }));
    for (const c of members) c.subscribe(['g']);
    const got = await pollAll(members, (g) => total(g) >= 600 && members.every((c) => c.assignment().length === 2));
    const owners = members.map((c) => c.assignment().map((tp) => tp.partition).sort());
    expect(owners.flat().sort()).toEqual([0, 1, 2, 3, 4, 5]);
    for (const o of owners) expect(o.length).toBe(2);
    // Graceful joins commit on revoke: every record exactly once across the group.
    const all = [...got.values()].flat().map((r) => `${r.partition}:${r.offset}`);
    expect(all.length).toBe(600);
    expect(new Set(all).size).toBe(600);
    for (const c of members) await c.close();
  });

  it('moves the partitions of a member that leaves to the others, losing nothing', async () => {
    const s = await openSluice({ groups });
    await s.createTopic('g', { partitions: 6 });
    const p = s.producer();
    const members = [0, 1, 2].map(() => s.consumer({ groupId: 'app', ...fast }));
    for (const c of members) c.subscribe(['g']);
    await pollAll(members, () => members.every((c) => c.assignment().length === 2));
    await p.send('g', Array.from({ length: 300 }, (_, i) => ({ value: `a${i}`, partition: i % 6 })));
    const first = await pollAll(members, (g) => total(g) >= 300);
    await members[2]!.close();
    await p.send('g', Array.from({ length: 300 }, (_, i) => ({ value: `b${i}`, partition: i % 6 })));
    const rest = members.slice(0, 2);
    const second = await pollAll(rest, (g) => total(g) >= 300 && rest.every((c) => c.assignment().length === 3));
    expect(rest.map((c) => c.assignment().length)).toEqual([3, 3]);
    const values = [...first.values(), ...second.values()].flat().map((r) => r.value as string);
    expect(new Set(values).size).toBe(600);
    expect(values.length).toBe(600);
  });

  it('removes a member that stops heartbeating after its session timeout', async () => {
    const s = await openSluice({ groups });
    await s.createTopic('g', { partitions: 4 });
    const live = s.consumer({ groupId: 'app', ...fast });
    // Heartbeats every 60 s with a 400 ms session: once it stops polling, it is expired.
    const silent = s.consumer({ groupId: 'app', ...fast, heartbeatIntervalMs: 60_000, sessionTimeoutMs: 400 });
    live.subscribe(['g']);
    silent.subscribe(['g']);
    await pollAll([live, silent], () => live.assignment().length === 2 && silent.assignment().length === 2);
    await s.producer().send('g', Array.from({ length: 40 }, (_, i) => ({ value: `v${i}`, partition: i % 4 })));
    const got = await pollAll([live], (g) => total(g) >= 40 && live.assignment().length === 4);
    expect(live.assignment().length).toBe(4);
    expect(total(got)).toBeGreaterThanOrEqual(20);
    const described = s.groups.describeGroups(['app'])[0]!;
    expect(described.members.length).toBe(1);
  });

  it('keeps committed offsets across a restart and resumes from them', async () => {
    const dir = tmpDir();
    const a = await Sluice.open({ dir, workerThreads: 0, groups });
    await a.createTopic('t', { partitions: 2 });
    await a.producer().send('t', Array.from({ length: 100 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })));
    const c = a.consumer({ groupId: 'g1', ...fast, enableAutoCommit: false });
    c.subscribe(['t']);
    const first = await pollAll([c], (g) => total(g) >= 30);
    const seen = first.get(c)!.slice(0, 30);
    await c.commit(
      [0, 1].map((partition) => {
        const mine = seen.filter((r) => r.partition === partition);
        return { topic: 't', partition, offset: mine.length === 0 ? 0 : mine[mine.length - 1]!.offset + 1 };
      }),
    );
    const committed = await c.committed([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
    // Lag: committed offset against the log end offset, per partition.
    const lag = a.groupLag('g1');
    expect(lag.map((l) => [l.partition, l.committedOffset, l.logEndOffset, l.lag])).toEqual(
      committed.map((x) => [x.partition, x.offset, 50, 50 - x.offset!]),
    );
    await a.close();

    const b = await openSluice({ dir, groups });
    const again = b.consumer({ groupId: 'g1', ...fast });
    expect(await again.committed([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }])).toEqual(committed);
    again.subscribe(['t']);
    const rest = (await pollAll([again], (g) => total(g) >= 100 - 30)).get(again)!;
    expect(rest.length).toBe(70);
    const before = new Set(seen.map((r) => r.value));
    expect(rest.some((r) => before.has(r.value))).toBe(false);
    expect(b.groups.listGroups().map((g) => g.groupId)).toContain('g1');
  });

  it('uses the round-robin assignor when members ask for it', async () => {
    const s = await openSluice({ groups });
    await s.createTopic('x', { partitions: 2 });
    await s.createTopic('y', { partitions: 2 });
    const members = [0, 1].map(() => s.consumer({ groupId: 'rr', ...fast, partitionAssignors: ['roundrobin'] }));
    for (const c of members) c.subscribe(['x', 'y']);
    await pollAll(members, () => members.every((c) => c.assignment().length === 2));
    const described = s.groups.describeGroups(['rr'])[0]!;
    expect(described.protocolData).toBe('roundrobin');
    // Round robin over x0 x1 y0 y1: each member gets one partition of each topic.
    for (const c of members) expect(new Set(c.assignment().map((tp) => tp.topic)).size).toBe(2);
  });
});
