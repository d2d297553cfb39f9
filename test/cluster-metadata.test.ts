/**
 * The cluster's metadata layer against a real etcd: the client, the store's compare-and-set
 * writes, broker sessions, the watch-fed cache and the controller's elections. Brokers here
 * are in-process (each with its own etcd client, session, cache and controller); the broker
 * processes' own tests build on these pieces.
 */
import { describe, expect, it } from 'vitest';
import { assignReplicas } from '../src/cluster/assignment.js';
import { EtcdClient, EtcdError } from '../src/cluster/etcd.js';
import { ClusterStateError, ClusterStore } from '../src/cluster/store.js';
import { ClusterKeys, NO_LEADER } from '../src/cluster/types.js';
import { freePort, startEtcd } from './helpers/etcd.js';
import { startTestBroker, topicRecord } from './helpers/controller-broker.js';


describe('replica assignment', () => {
  it('spreads leaders round-robin and followers at a growing shift', () => {
    const brokers = [1, 2, 3].map((id) => ({ id }));
    const a = assignReplicas(brokers, 6, 2, { start: 0 });
    expect(a.map((r) => r[0])).toEqual([1, 2, 3, 1, 2, 3]);
    for (const r of a) expect(new Set(r).size).toBe(2);
    // After a full turn the followers shift, so broker 1's partitions do not all follow on 2.
    expect(new Set(a.filter((r) => r[0] === 1).map((r) => r[1])).size).toBe(2);
    expect(assignReplicas(brokers, 3, 1, { start: 1 })).toEqual([[2], [3], [1]]);
  });

  it('puts the replicas of a partition on different racks', () => {
    const brokers = [
      { id: 1, rack: 'a' },
      { id: 2, rack: 'a' },
      { id: 3, rack: 'b' },
      { id: 4, rack: 'b' },
      { id: 5, rack: 'c' },
      { id: 6, rack: 'c' },
    ];
    const rackOf = new Map(brokers.map((b) => [b.id, b.rack]));
    const a = assignReplicas(brokers, 12, 3, { start: 2 });
    for (const r of a) expect(new Set(r.map((id) => rackOf.get(id))).size).toBe(3);
    const leaders = new Map<number, number>();
    for (const r of a) leaders.set(r[0]!, (leaders.get(r[0]!) ?? 0) + 1);
    expect([...leaders.values()]).toEqual([2, 2, 2, 2, 2, 2]);
  });

  it('refuses what cannot be placed, saying why', () => {
    expect(() => assignReplicas([{ id: 1 }], 1, 2)).toThrow('replication factor 2 is larger than the 1 live broker');
    expect(() => assignReplicas([], 1, 1)).toThrow('no broker is alive');
    expect(() => assignReplicas([{ id: 1, rack: 'a' }, { id: 2 }], 1, 1)).toThrow('brokers 2 have no rack');
  });
});

describe('etcd client and store', () => {
  it('does compare-and-set, prefixes, leases and watches against a real etcd', async () => {
    const etcd = await startEtcd();
    const client = new EtcdClient({ endpoints: [etcd.endpoint] });
    try {
      const seen: string[] = [];
      const start = (await client.getPrefix('/t/')).revision;
      const stop = client.watchPrefix('/t/', start + 1, (events) => seen.push(...events.map((e) => `${e.type} ${e.kv.key}=${e.kv.value}`)), () => {});
      await client.put('/t/a', '1');
      await client.put('/t/b', 'ü');
      await client.put('/u', 'outside');
      const a = await client.get('/t/a');
      expect(a!.value).toBe('1');
      const lost = await client.txn([{ key: '/t/a', target: 'mod', result: 'equal', modRevision: a!.modRevision - 1 }], [{ put: { key: '/t/a', value: '2' } }]);
      expect(lost.succeeded).toBe(false);
      const won = await client.txn([{ key: '/t/a', target: 'mod', result: 'equal', modRevision: a!.modRevision }], [{ put: { key: '/t/a', value: '2' } }]);
      expect(won.succeeded).toBe(true);
      expect((await client.getPrefix('/t/')).kvs.map((k) => `${k.key}=${k.value}`)).toEqual(['/t/a=2', '/t/b=ü']);
      const lease = await client.grantLease(1);
      await client.put('/t/leased', 'x', lease.id);
      expect(await client.keepAlive(lease.id)).toBeGreaterThan(0);
      await client.delete('/t/b');
      // Without renewal the leased key goes.
      await waitUntil(async () => (await client.get('/t/leased')) === null, 10_000);
      expect(await client.keepAlive(lease.id)).toBe(0);
      await waitUntil(async () => seen.length >= 6, 5000);
      expect(seen).toEqual(['put /t/a=1', 'put /t/b=ü', 'put /t/a=2', 'put /t/leased=x', 'delete /t/b=', 'delete /t/leased=']);
      stop();
    } finally {
      client.close();
    }
  });

  it('says clearly when etcd cannot be reached', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const client = new EtcdClient({ endpoints: [`http://127.0.0.1:${p1}`, `127.0.0.1:${p2}`], requestTimeoutMs: 1000 });
    const err = await client.get('/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdError);
    expect((err as EtcdError).unavailable).toBe(true);
    expect((err as Error).message).toBe(`etcd cannot be reached (kv/range): http://127.0.0.1:${p1}: ECONNREFUSED; http://127.0.0.1:${p2}: ECONNREFUSED`);
    expect(() => new EtcdClient({ endpoints: ['https://x:1'] })).toThrow('only http:// is supported');
  });

  it('gives each broker id to one live broker, and never the same producer ids twice', async () => {
    const etcd = await startEtcd();
    const a = new EtcdClient({ endpoints: [etcd.endpoint] });
    const b = new EtcdClient({ endpoints: [etcd.endpoint] });
    try {
      const keys = new ClusterKeys('c1');
      const sa = new ClusterStore(a, keys);
      const sb = new ClusterStore(b, keys);
      const reg = { version: 1 as const, id: 1, host: '127.0.0.1', port: 9092, rack: null, startedAt: Date.now(), software: 'test' };
      const la = await a.grantLease(5);
      await sa.registerBroker(reg, la.id);
      await sa.registerBroker(reg, la.id); // the same session may register again
      const lb = await b.grantLease(5);
      await expect(sb.registerBroker({ ...reg, port: 9093 }, lb.id)).rejects.toThrow(ClusterStateError);
      await expect(sb.registerBroker({ ...reg, port: 9093 }, lb.id)).rejects.toThrow("broker id 1 is already taken in cluster 'c1' (registered by 127.0.0.1:9092");
      const blocks = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? sa : sb).allocateProducerIdBlock(1000)));
      const starts = blocks.map((x) => x.start).sort((x, y) => x - y);
      expect(starts).toEqual(Array.from({ length: 20 }, (_, i) => i * 1000));
    } finally {
      a.close();
      b.close();
    }
  });
});


describe('controller', () => {
  it('elects one controller, initialises partitions, moves leaders off a dead broker and back, and fails over', async () => {
    const etcd = await startEtcd();
    // Broker 1 starts first and so becomes the controller; the others race it and lose.
    const brokers = [await startTestBroker(etcd.endpoint, 1)];
    await waitUntil(async () => brokers[0]!.controller.isActive, 10_000);
    brokers.push(...(await Promise.all([2, 3].map((id) => startTestBroker(etcd.endpoint, id)))));
    const [b1] = brokers;
    try {
      const view = b1!.cache;
      await Promise.all(brokers.map((b) => b.cache.waitFor(() => b.cache.controller !== null && b.cache.brokers.size === 3, 10_000)));
      expect(brokers.filter((b) => b.controller.isActive).length).toBe(1);
      expect(b1!.controller.isActive).toBe(true);

      // A topic with RF 1 on every broker and one with RF 3.
      expect(await b1!.store.createTopic(topicRecord('one', [[1], [2], [3]]))).toBe(true);
      expect(await b1!.store.createTopic(topicRecord('one', [[1]]))).toBe(false);
      expect(await b1!.store.createTopic(topicRecord('three', [[1, 2, 3], [2, 3, 1], [3, 1, 2]]))).toBe(true);
      const allLed = () => ['one', 'three'].every((t) => [0, 1, 2].every((p) => (view.partitionState(t, p)?.leader ?? NO_LEADER) !== NO_LEADER));
      expect(await view.waitFor(allLed, 10_000)).toBe(true);
      expect(view.partitionState('one', 1)).toMatchObject({ leader: 2, leaderEpoch: 0, isr: [2] });
      expect(view.partitionState('three', 2)).toMatchObject({ leader: 3, leaderEpoch: 0, isr: [3, 1, 2] });

      // Broker 3 crashes: its RF 1 partition goes offline, its RF 3 leadership moves on.
      const victim = brokers.find((b) => b.id === 3)!;
      victim.crash();
      expect(await view.waitFor(() => view.partitionState('three', 2)?.leader === 1, 15_000)).toBe(true);
      expect(view.partitionState('three', 2)).toMatchObject({ leaderEpoch: 1, isr: [1, 2] });
      expect(await view.waitFor(() => view.partitionState('one', 2)?.leader === NO_LEADER, 5000)).toBe(true);
      expect(view.partitionState('one', 2)).toMatchObject({ leaderEpoch: 1, isr: [3] });
      expect(view.partitionState('three', 0)).toMatchObject({ leader: 1, isr: [1, 2] });

      // It comes back: it leads its RF 1 partition again, and (preferred leader) its RF 3 one once in the ISR.
      const back = await startTestBroker(etcd.endpoint, 3);
      brokers[2] = back;
      expect(await view.waitFor(() => view.partitionState('one', 2)?.leader === 3, 10_000)).toBe(true);
      expect(view.partitionState('one', 2)!.leaderEpoch).toBe(2);

      // The controller crashes: another takes over within the lease TTL, with a higher epoch.
      const ctl = brokers.find((b) => b.controller.isActive)!;
      const watcher = brokers.find((b) => b !== ctl)!.cache;
      const oldEpoch = watcher.controller!.epoch;
      ctl.crash();
      expect(await watcher.waitFor(() => (watcher.controller?.epoch ?? 0) > oldEpoch, 15_000)).toBe(true);
      const others = brokers.filter((b) => b !== ctl);
      await Promise.all(others.map((b) => b.cache.waitFor(() => (b.cache.controller?.epoch ?? 0) > oldEpoch, 5000)));
      // The winner knows it won once its campaign's answer is in, which may come after the
      // watch told everyone of the new record.
      await waitUntil(async () => others.filter((b) => b.controller.isActive).length === 1, 5000);
      expect(others.filter((b) => b.controller.isActive).length).toBe(1);
      expect(watcher.controller!.brokerId).not.toBe(ctl.id);
    } finally {
      for (const b of brokers) await b.stop().catch(() => {});
    }
  });
});


async function waitUntil(test: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}
