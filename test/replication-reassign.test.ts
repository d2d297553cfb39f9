/**
 * Reassignment of a replicated partition under load, with real brokers, a real etcd and real
 * clients: an idempotent acks=all producer (confluent-kafka) writes numbered records while the
 * partition moves from brokers [1, 2] to [3, 2] through AlterPartitionReassignments (kafkajs).
 * The new replica copies the partition before it joins the ISR, the old one is dropped and its
 * copy deleted, and nothing acknowledged is lost, duplicated or reordered.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { PYTHON, requireTool, run } from './helpers/clients.js';
import { startEtcd } from './helpers/etcd.js';
import { describe, eventually, kafka, partitionBytes, startThree } from './helpers/replicas.js';
import { tmpDir } from './helpers/tmp.js';

const PRODUCER = path.resolve(import.meta.dirname, 'helpers', 'crash-producer.py');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('moves a partition to another broker under an acks=all load with nothing lost', async () => {
  requireTool('kcat', 'apt-get install kcat');
  const etcd = await startEtcd();
  cleanups.push(() => etcd.kill());
  const nodes = await startThree(etcd.endpoint);
  const bootstrap = nodes.map((n) => n.bootstrap);
  const admin = kafka(bootstrap).admin();
  cleanups.push(() => admin.disconnect());
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'moving', replicaAssignment: [{ partition: 0, replicas: [1, 2] }], configEntries: [{ name: 'min.insync.replicas', value: '1' }] }], waitForLeaders: true });
  await eventually(() => describe(nodes[0]!, 'moving'), (v) => v[0]?.isr.length === 2, 15_000, 'in sync on [1, 2]');

  const stopFile = path.join(tmpDir('sluice-reassign-'), 'stop');
  const producer = spawn(PYTHON, [PRODUCER, '--bootstrap', bootstrap.join(','), '--topic', 'moving', '--rate', '400', '--stop-file', stopFile], { stdio: ['pipe', 'pipe', 'pipe'] });
  cleanups.push(() => {
    if (producer.exitCode === null) producer.kill('SIGKILL');
  });
  let out = '';
  producer.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  producer.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => producer.on('exit', () => r()));
  await eventually(() => out.split('\n').filter((l) => l.startsWith('ack ')).length, (n) => n > 200, 30_000, 'producer running');

  await admin.alterPartitionReassignments({ topics: [{ topic: 'moving', partitionAssignment: [{ partition: 0, replicas: [3, 2] }] }] });
  const moved = await eventually(() => describe(nodes[1]!, 'moving'), (v) => v[0]!.replicas.join() === '3,2' && v[0]!.isr.join() === '2,3', 60_000, 'reassigned to [3, 2]');
  expect(moved[0]!.leader === 3 || moved[0]!.leader === 2).toBe(true);
  const listed = await admin.listPartitionReassignments({});
  expect(listed.topics.filter((t) => t.topic === 'moving')).toEqual([]);
  await new Promise((r) => setTimeout(r, 1000));
  fs.writeFileSync(stopFile, '');
  await exited;
  expect(out).toMatch(/^done /m);

  const acks = out
    .split('\n')
    .map((l) => /^ack 0 (\d+) (\d+)$/.exec(l))
    .filter((m) => m !== null)
    .map((m) => ({ offset: Number(m![1]), n: Number(m![2]) }));
  const log = (await run('kcat', ['-C', '-b', bootstrap.join(','), '-t', 'moving', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o %s\\n'], '', 60_000))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(' ').map(Number) as [number, number]);
  const at = new Map(log);
  log.forEach(([o], i) => expect(o).toBe(i));
  for (let i = 1; i < log.length; i++) expect(log[i]![1]).toBeGreaterThan(log[i - 1]![1]);
  for (const a of acks) expect(at.get(a.offset)).toBe(a.n);
  expect(acks.length).toBeGreaterThan(400);

  // The new replica holds the leader's bytes; the old one's copy is gone.
  const leaderDir = nodes[moved[0]!.leader - 1]!.dir;
  await eventually(() => partitionBytes(nodes[2]!.dir, 'moving', 0).equals(partitionBytes(leaderDir, 'moving', 0)) && partitionBytes(nodes[1]!.dir, 'moving', 0).equals(partitionBytes(leaderDir, 'moving', 0)), (eq) => eq, 20_000, 'replicas equal');
  await eventually(() => partitionBytes(nodes[0]!.dir, 'moving', 0).length, (n) => n === 0, 20_000, "the old replica's copy deleted");
}, 180_000);
