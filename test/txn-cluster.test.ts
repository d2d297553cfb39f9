/**
 * Transactions in a cluster of three real brokers and a real etcd, with replication factor 3:
 * - every broker names the same coordinator for a transactional id, the leader of its
 *   `__transaction_state` partition (a replicated internal topic); the others refuse its
 *   requests with NOT_COORDINATOR;
 * - a kafkajs transaction over partitions led by all three brokers, with offsets of a group,
 *   commits and aborts: the coordinator's markers reach partitions led elsewhere
 *   (WriteTxnMarkers), read_committed and read_uncommitted consumers see what they should, and
 *   every replica holds the same bytes;
 * - the coordinator's broker (leader of some of the transaction's partitions too) is SIGKILLed
 *   with a transaction open: a confluent-kafka producer finishes it through the new
 *   coordinator, which took the transaction's state over from its replica;
 * - the exactly-once pipeline (helpers/eos-app.ts) with the coordinator's broker and the
 *   partition leaders SIGKILLed and restarted: every input is committed exactly once.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BrokerProcess } from './helpers/broker.js';
import { PYTHON, python } from './helpers/clients.js';
import { sluice } from './helpers/cli.js';
import { APP, committedValues, runAppOnce, SETUP } from './helpers/eos-app.js';
import { startEtcd, type EtcdProcess } from './helpers/etcd.js';
import { describe as describeTopic, eventually, kafka, partitionBytes, startNode, startThree } from './helpers/replicas.js';
import { tmpDir } from './helpers/tmp.js';
import { storedSequence } from './helpers/txn-log.js';
import { WireClient } from './helpers/wire-client.js';
import { ErrorCode } from '../src/protocol/error-codes.js';

const TXN_STATE = '__transaction_state';

let etcd: EtcdProcess;
let nodes: BrokerProcess[];
const bootstrap = () => nodes.map((n) => n.bootstrap).join(',');

async function findCoordinator(port: number, key: string): Promise<number> {
  const c = await WireClient.connect(port);
  try {
    for (let i = 0; i < 150; i++) {
      const r = await c.request(10, 3, { key, keyType: 1 });
      if (r.errorCode === ErrorCode.NONE) return r.nodeId as number;
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error(`no coordinator for '${key}'`);
  } finally {
    c.close();
  }
}

/** Restarts broker `id` on its data directory and port, and waits until every partition of `topics` has all three replicas in sync. */
async function restart(id: number, topics: string[]): Promise<void> {
  const old = nodes[id - 1]!;
  nodes[id - 1] = await startNode(etcd.endpoint, id, old.dir, [], old.port);
  for (const t of topics) {
    await eventually(() => describeTopic(nodes.find((_, i) => i + 1 !== id)!, t), (ps) => ps.length > 0 && ps.every((p) => p.isr.length === 3 && p.leader > 0), 60_000, `${t} fully in sync after broker ${id} restarted`);
  }
}

/** A fresh etcd and brokers 1-3 for one test (the helpers SIGKILL them after each test). */
async function startCluster(): Promise<void> {
  etcd = await startEtcd();
  nodes = await startThree(etcd.endpoint);
}

describe('transactions in a cluster', () => {
  it('a transaction over partitions of every broker, with group offsets, commits and aborts on every replica', async () => {
    await startCluster();
    const k = kafka(nodes.map((n) => n.bootstrap));
    const admin = k.admin();
    await admin.connect();
    const producer = k.producer({ transactionalId: 'cluster-app', maxInFlightRequests: 1, idempotent: true });
    try {
      await admin.createTopics({ topics: [{ topic: 'ct', numPartitions: 6, replicationFactor: 3 }, { topic: 'ct-in', numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true });
      const leaders = new Set((await describeTopic(nodes[0]!, 'ct')).map((p) => p.leader));
      expect(leaders.size).toBe(3);

      await producer.connect();
      const coordinator = await findCoordinator(nodes[0]!.port, 'cluster-app');
      for (const n of nodes) expect(await findCoordinator(n.port, 'cluster-app')).toBe(coordinator);
      // The state topic is a replicated internal topic, and only its leader coordinates.
      const state = await describeTopic(nodes[0]!, TXN_STATE);
      expect(state.length).toBe(50);
      expect(state.every((p) => p.replicas.length === 3)).toBe(true);
      const other = nodes.find((_, i) => i + 1 !== coordinator)!;
      const c = await WireClient.connect(other.port);
      const refused = await c.request(22, 4, { transactionalId: 'cluster-app', transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
      c.close();
      expect(refused.errorCode).toBe(ErrorCode.NOT_COORDINATOR);

      const parts = [0, 1, 2, 3, 4, 5];
      const run = async (label: string, commit: boolean, offset?: number) => {
        const tx = await producer.transaction();
        await tx.send({ topic: 'ct', messages: parts.map((p) => ({ partition: p, value: `${label}-${p}` })) });
        if (offset !== undefined) await tx.sendOffsets({ consumerGroupId: 'ctg', topics: [{ topic: 'ct-in', partitions: [{ partition: 0, offset: String(offset) }] }] });
        if (commit) await tx.commit();
        else await tx.abort();
      };
      await run('a', true, 5);
      await run('b', false, 7);
      await run('c', true);

      // The tools find the id on its coordinator, whichever broker they start from.
      const listed = await sluice(['transactions', '--list', '--bootstrap-server', other.bootstrap]);
      expect(listed.stdout).toMatch(new RegExp(`cluster-app\\s+${coordinator}\\s+\\d+\\s+CompleteCommit`));
      const described = await sluice(['transactions', '--describe', '--transactional-id', 'cluster-app', '--bootstrap-server', other.bootstrap]);
      expect(described.stdout).toMatch(new RegExp(`^${coordinator}\\s+cluster-app\\s`, 'm'));

      // Offsets of a committed transaction are visible; those of the aborted one are not.
      const offsets = await admin.fetchOffsets({ groupId: 'ctg', topics: ['ct-in'] });
      expect(offsets[0]!.partitions[0]!.offset).toBe('5');

      const read = async (readUncommitted: boolean) => {
        const consumer = k.consumer({ groupId: `ct-read-${readUncommitted}`, readUncommitted, maxWaitTimeInMs: 200 });
        const seen = new Map<number, string[]>();
        let count = 0;
        const want = readUncommitted ? 18 : 12;
        await consumer.connect();
        await consumer.subscribe({ topic: 'ct', fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`read ${count} of ${want} records`)), 60_000);
          void consumer.run({
            eachMessage: async ({ partition, message }) => {
              seen.set(partition, [...(seen.get(partition) ?? []), message.value!.toString()]);
              if (++count === want) {
                clearTimeout(timer);
                resolve();
              }
            },
          });
        });
        await consumer.disconnect();
        return seen;
      };
      const committed = await read(false);
      for (const p of parts) expect(committed.get(p)).toEqual([`a-${p}`, `c-${p}`]);
      const all = await read(true);
      for (const p of parts) expect(all.get(p)).toEqual([`a-${p}`, `b-${p}`, `c-${p}`]);

      // Every replica of every partition holds the data and the markers, byte for byte alike.
      for (const p of parts) {
        await eventually(() => nodes.map((n) => partitionBytes(n.dir, 'ct', p).toString('hex')), (b) => b[0]!.length > 0 && b.every((x) => x === b[0]), 20_000, `ct-${p} equal on every replica`);
        for (const n of nodes) expect(storedSequence(n.dir, 'ct', p)).toEqual([`a-${p}`, '<commit>', `b-${p}`, '<abort>', `c-${p}`, '<commit>']);
      }
    } finally {
      await producer.disconnect().catch(() => {});
      await admin.disconnect();
    }
  }, 240_000);

  it("the coordinator's broker is SIGKILLed with a transaction open: the new coordinator takes it over and it commits", async () => {
    await startCluster();
    const k = kafka(nodes.map((n) => n.bootstrap));
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'cf', numPartitions: 6, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }], waitForLeaders: true });
    await admin.disconnect();
    const script = path.join(tmpDir('sluice-txn-failover-'), 'app.py');
    fs.writeFileSync(
      script,
      `
import sys
from confluent_kafka import Producer
p = Producer({'bootstrap.servers': sys.argv[1], 'transactional.id': 'failover-app', 'linger.ms': 5, 'reconnect.backoff.max.ms': 500})
p.init_transactions(30)
p.begin_transaction()
for q in range(6): p.produce('cf', value=f'before-{q}'.encode(), partition=q)
assert p.flush(30) == 0
print('ready', flush=True)
sys.stdin.readline()
for q in range(6): p.produce('cf', value=f'after-{q}'.encode(), partition=q)
p.commit_transaction(90)
print('committed', flush=True)
`,
    );
    const app = spawn(PYTHON, [script, bootstrap()], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    app.stdout.on('data', (d) => (out += d));
    app.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => app.on('exit', (code) => r(code)));
    try {
      await eventually(() => out, (o) => o.includes('ready'), 60_000, 'the producer has its transaction open');
      const coordinator = await findCoordinator(nodes[0]!.port, 'failover-app');
      const view = await describeTopic(nodes[0]!, 'cf');
      // DescribeProducers on a leader shows where the open transaction starts (kafka-transactions.sh finds hanging ones so).
      const c = await WireClient.connect(nodes[view[0]!.leader - 1]!.port);
      const producers = await c.request(61, 0, { topics: [{ name: 'cf', partitionIndexes: [0] }] });
      c.close();
      expect(producers.topics[0].partitions[0].activeProducers).toMatchObject([{ producerEpoch: 0, currentTxnStartOffset: 0 }]);
      const led = view.filter((p) => p.leader === coordinator).length;
      expect(led).toBeGreaterThan(0); // its partitions fail over too
      await nodes[coordinator - 1]!.kill();
      const survivor = nodes.find((_, i) => i + 1 !== coordinator)!;
      // Once the broker's lease runs out, another broker leads the id's state partition.
      await eventually(() => findCoordinator(survivor.port, 'failover-app'), (n) => n !== coordinator, 30_000, 'a new coordinator');
      app.stdin.write('go\n');
      expect(await exited, out).toBe(0);
      expect(out).toContain('committed');
      await restart(coordinator, ['cf', TXN_STATE]);
      for (let p = 0; p < 6; p++) {
        await eventually(() => nodes.map((n) => partitionBytes(n.dir, 'cf', p).toString('hex')), (b) => b.every((x) => x === b[0]), 30_000, `cf-${p} equal on every replica`);
        // Exactly the two records and one commit marker: the open transaction was neither lost nor split.
        expect(storedSequence(nodes[0]!.dir, 'cf', p).filter((v) => !v.startsWith('<'))).toEqual([`before-${p}`, `after-${p}`]);
        expect(storedSequence(nodes[0]!.dir, 'cf', p).at(-1)).toBe('<commit>');
      }
    } finally {
      app.kill('SIGKILL');
    }
  }, 300_000);

  it('exactly once through SIGKILLs of the coordinator and of the partition leaders', async () => {
    const INPUTS = 1200;
    await startCluster();
    await python(SETUP, [bootstrap(), String(INPUTS), '3']);
    const script = path.join(tmpDir('sluice-eos-cluster-'), 'app.py');
    fs.writeFileSync(script, APP);
    let stop = false;
    let runs = 0;
    const apps = (async () => {
      while (!stop) {
        await runAppOnce(script, bootstrap());
        runs++;
      }
    })();
    const victims: string[] = [];
    const committedAtKill: number[] = [];
    try {
      for (let k = 0; k < 4; k++) {
        await new Promise((r) => setTimeout(r, 3000));
        // In turn: the transaction coordinator's broker, then the leader of the output partition.
        const coordinator = await findCoordinator(nodes.find((n) => n.proc.exitCode === null)!.port, 'eos-app');
        const outLeader = (await describeTopic(nodes[0]!, 'eos-out'))[0]!.leader;
        const victim = k % 2 === 0 ? coordinator : outLeader;
        victims.push(`${k % 2 === 0 ? 'coordinator' : 'eos-out leader'} ${victim}`);
        committedAtKill.push(committedValues(nodes[victim - 1]!.dir, 'eos-out').committed.length);
        await nodes[victim - 1]!.kill();
        await new Promise((r) => setTimeout(r, 1500));
        await restart(victim, ['eos-in', 'eos-out']);
      }
    } finally {
      stop = true;
      await apps;
    }
    let final = await runAppOnce(script, bootstrap());
    for (let i = 0; i < 3 && final.code !== 0; i++) final = await runAppOnce(script, bootstrap());
    expect(final.code, final.output).toBe(0);
    const expected = Array.from({ length: INPUTS }, (_, i) => `out-${i}`);
    // Every replica ends with the same log, and it commits every input exactly once, in order.
    await eventually(() => nodes.map((n) => partitionBytes(n.dir, 'eos-out', 0).toString('hex')), (b) => b.every((x) => x === b[0]), 30_000, 'eos-out equal on every replica');
    for (const n of nodes) expect(committedValues(n.dir, 'eos-out').committed).toEqual(expected);
    const { aborted } = committedValues(nodes[0]!.dir, 'eos-out');
    expect(committedAtKill[0]).toBeLessThan(INPUTS);
    console.log(`exactly-once in a cluster: ${INPUTS} inputs, kills of ${victims.join(', ')}; committed at each kill ${committedAtKill.join(', ')}; ${runs} app runs, ${INPUTS} committed outputs, ${aborted} aborted outputs`);
  }, 600_000);
});
