/**
 * Reassignment and leader-election tools against real broker processes and a real etcd:
 * AlterPartitionReassignments / ListPartitionReassignments from kafkajs, ElectLeaders over a
 * raw socket, `sluice reassign`, `sluice leader-election`, `topics --describe
 * --under-replicated-partitions / --unavailable-partitions` and the replication gauges.
 *
 * No data is copied between brokers here (followers fetching is the replication core's job):
 * the reassigned partitions are empty, so a new replica is caught up from the start, and the
 * test adds it to the ISR itself by compare-and-set on the partition state in etcd, as the
 * partition's leader does once a follower has caught up. RF 2 topics are written to etcd
 * directly for the same reason (CreateTopics refuses RF > 1 until brokers replicate).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { EtcdClient } from '../src/cluster/etcd.js';
import { ClusterKeys, type PartitionState, type TopicRecord } from '../src/cluster/types.js';
import { ApiKey } from '../src/protocol/apis.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { startBroker, type BrokerProcess } from './helpers/broker.js';
import { CLI, closedPort, eventually, sluice } from './helpers/cli.js';
import { freePort, startEtcd } from './helpers/etcd.js';
import { tmpDir } from './helpers/tmp.js';
import { WireClient } from './helpers/wire-client.js';

const TTL_MS = 2000;

async function startNode(etcd: string, id: number): Promise<BrokerProcess> {
  return startBroker({
    args: ['--node-id', String(id), '--etcd', etcd, '--broker-session-timeout-ms', String(TTL_MS), '--auto-leader-rebalance', 'false', '--log-format', 'json', '--metrics-port', String(await freePort())],
  });
}

const closers: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
});

function metricsPortOf(b: BrokerProcess): number {
  return Number(/metrics at http:\/\/[\d.]+:(\d+)/.exec(b.output())![1]);
}

async function gauge(b: BrokerProcess, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPortOf(b)}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  if (!m) throw new Error(`no ${name} in the scrape`);
  return Number(m[1]);
}

/** The partition state in etcd, with its revision. */
async function stateOf(etcd: EtcdClient, keys: ClusterKeys, topic: string, p: number): Promise<(PartitionState & { modRevision: number }) | null> {
  const kv = await etcd.get(keys.partition(topic, p));
  return kv ? { ...(JSON.parse(kv.value) as PartitionState), modRevision: kv.modRevision } : null;
}

/** What a leader does when a follower has caught up (or fallen behind): CAS the ISR. */
async function setIsr(etcd: EtcdClient, keys: ClusterKeys, topic: string, p: number, isr: number[]): Promise<void> {
  for (;;) {
    const s = (await stateOf(etcd, keys, topic, p))!;
    const { modRevision, ...state } = s;
    const r = await etcd.txn(
      [{ key: keys.partition(topic, p), target: 'mod', result: 'equal', modRevision }],
      [{ put: { key: keys.partition(topic, p), value: JSON.stringify({ ...state, isr, partitionEpoch: state.partitionEpoch + 1 }) } }],
    );
    if (r.succeeded) return;
  }
}

/**
 * Once `replica` has caught up, the leader adds it to the ISR. Brokers that replicate do it
 * themselves; where none does (before replication), the test writes it as the leader would.
 */
async function letIn(etcd: EtcdClient, keys: ClusterKeys, topic: string, p: number, replica: number): Promise<void> {
  await new Promise((r) => setTimeout(r, 500));
  const s = (await stateOf(etcd, keys, topic, p))!;
  if (!s.isr.includes(replica)) await setIsr(etcd, keys, topic, p, [...s.isr, replica]);
}

/**
 * A broker registered under its own lease but never running: alive to the controller, it
 * never fetches, so it never catches up. stop() revokes the lease, as a crash's expiry would.
 */
async function registerSilentBroker(etcd: EtcdClient, keys: ClusterKeys, id: number): Promise<{ stop: () => Promise<void> }> {
  const lease = await etcd.grantLease(60);
  const registration = { version: 1, id, host: '127.0.0.1', port: await closedPort(), rack: null, startedAt: Date.now(), software: 'test' };
  await etcd.put(keys.broker(id), JSON.stringify(registration), lease.id);
  const timer = setInterval(() => void etcd.keepAlive(lease.id).catch(() => {}), 2000);
  let stopped = false;
  return {
    stop: async () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await etcd.revokeLease(lease.id);
    },
  };
}

describe('reassignment tools: bad command lines', () => {
  it('exit 2 naming the flag, the file and what is expected', async () => {
    const usage = async (args: string[], message: string) => {
      const r = await sluice(args);
      expect(r.stderr).toContain(message);
      expect(r.code).toBe(2);
    };
    const missing = path.join(tmpDir('sluice-reassign-'), 'missing.json');
    await usage(['reassign', '--execute', '--reassignment-json-file', missing], `cannot read --reassignment-json-file ${missing}: ENOENT`);
    const notJson = path.join(tmpDir('sluice-reassign-'), 'bad.json');
    fs.writeFileSync(notJson, '{"version":1,');
    await usage(['reassign', '--verify', '--reassignment-json-file', notJson], `--reassignment-json-file ${notJson} is not JSON`);
    await usage(['reassign', '--execute', '--reassignment-json-file', writeJson({ version: 1, partitions: [{ topic: 't', partition: 0, replicas: [1], log_dirs: ['/data'] }] })], 't-0 has "log_dirs" other than "any": each Sluice broker has one log directory');
    await usage(['reassign', '--execute', '--reassignment-json-file', writeJson({ version: 1, partitions: [{ topic: 't', partition: 0 }] })], 't-0 needs "replicas", a list of broker ids; expected {"version":1,"partitions":[{"topic":"events","partition":0,"replicas":[2,3]}]}');
    await usage(['reassign', '--generate', '--topics-to-move-json-file', writeJson({ version: 1, topics: [{ topic: 't' }] })], '--broker-list is required with --generate');
    await usage(['reassign', '--generate', '--topics-to-move-json-file', writeJson({ version: 1, topics: [] }), '--broker-list', '1'], 'no "topics" list');
    await usage(['reassign', '--generate', '--topics-to-move-json-file', writeJson({ version: 1, topics: [{ topic: 't' }] }), '--broker-list', '1,x'], "invalid value '1,x' for --broker-list");
    await usage(['reassign', '--execute', '--verify'], 'only one of --generate, --execute, --verify, --cancel, --list may be given');
    await usage(['leader-election', '--election-type', 'maybe', '--all-topic-partitions'], "invalid value 'maybe' for --election-type: preferred or unclean");
    await usage(['leader-election', '--election-type', 'preferred'], 'say which partitions: --topic with --partition, --all-topic-partitions, or --path-to-json-file');
    await usage(['leader-election', '--election-type', 'preferred', '--topic', 't'], '--partition is required with --topic');
    await usage(['leader-election', '--election-type', 'preferred', '--topic', 't', '--partition', '0', '--all-topic-partitions'], 'give only one of --topic/--partition, --all-topic-partitions');
    await usage(['leader-election', '--election-type', 'unclean', '--path-to-json-file', writeJson({ partitions: [{ topic: 't' }] })], 'entry 0 needs "topic" and "partition"');
    const help = await sluice(['reassign', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: sluice reassign (--generate | --execute | --verify | --cancel)');
  });
});

describe('reassignment tools on a lone broker', () => {
  it('answer that they need a cluster', async () => {
    const b = await startBroker();
    closers.push(() => b.stop());
    const c = await WireClient.connect(b.port);
    closers.push(() => void c.socket.destroy());
    const alter = await c.request(ApiKey.AlterPartitionReassignments, 0, { timeoutMs: 1000, topics: [{ name: 't', partitions: [{ partitionIndex: 0, replicas: [1] }] }] });
    expect(alter.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(alter.errorMessage).toContain('reassigning partitions needs a Sluice cluster');
    expect(alter.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    const list = await c.request(ApiKey.ListPartitionReassignments, 0, { timeoutMs: 1000, topics: null });
    expect(list.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    const elect = await c.request(ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: [{ topic: 't', partitions: [0] }], timeoutMs: 1000 });
    expect(elect.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(elect.replicaElectionResults[0]!.partitionResult[0]!.errorMessage).toContain('electing leaders needs a Sluice cluster');
    const cli = await sluice(['reassign', '--list', '--bootstrap-server', b.bootstrap]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('needs a Sluice cluster: this broker runs alone');
  });
});

describe('reassignment tools in a cluster', () => {
  it('reassign, verify, cancel, elect, and report under-replicated and unavailable partitions', async () => {
    const etcdProc = await startEtcd();
    const etcd = new EtcdClient({ endpoints: [etcdProc.endpoint] });
    closers.push(() => etcd.close());
    const keys = new ClusterKeys('sluice');
    const nodes = [await startNode(etcdProc.endpoint, 1)];
    nodes.push(...(await Promise.all([2, 3].map((id) => startNode(etcdProc.endpoint, id)))));
    for (const n of nodes) closers.push(() => n.stop());
    const bootstrap = nodes.map((n) => n.bootstrap);
    const bs = ['--bootstrap-server', bootstrap.join(',')];
    const kafka = new Kafka({ brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
    const admin = kafka.admin();
    await admin.connect();
    closers.push(() => admin.disconnect());
    await eventually(async () => (await admin.describeCluster()).brokers.length === 3);

    // Three empty RF 1 partitions, one per broker.
    expect(await admin.createTopics({ topics: [{ topic: 'moving', numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true })).toBe(true);
    const leaders = async (topic: string) => {
      const m = await admin.fetchTopicMetadata({ topics: [topic] });
      return m.topics[0]!.partitions.sort((a, b) => a.partitionId - b.partitionId);
    };
    const before = await leaders('moving');
    // Broker 4 is registered (alive to the controller) but never fetches: a replica that
    // cannot catch up, so the reassignments that name it stay in progress.
    const silent = await registerSilentBroker(etcd, keys, 4);
    closers.push(() => silent.stop());
    await eventually(async () => (await admin.describeCluster()).brokers.length === 4);
    const owner0 = before[0]!.leader;
    const other0 = [1, 2, 3].find((b) => b !== owner0)!;

    // kafkajs: move partition 0 to [other0, 4]. The new replicas join the list at once.
    await admin.alterPartitionReassignments({ topics: [{ topic: 'moving', partitionAssignment: [{ partition: 0, replicas: [other0, 4] }] }] });
    const listed = await admin.listPartitionReassignments({ topics: [{ topic: 'moving', partitions: [0, 1, 2] }] });
    // (kafkajs answers with `name` and `partition`, whatever its typings say.)
    expect(listed.topics as unknown).toEqual([{ name: 'moving', partitions: [{ partition: 0, replicas: [other0, 4, owner0], addingReplicas: [other0, 4], removingReplicas: [owner0] }] }]);
    expect((await leaders('moving'))[0]).toMatchObject({ leader: owner0, replicas: [other0, 4, owner0] });
    expect(await gauge(nodes[1]!, 'sluice_cluster_reassigning_partitions')).toBe(1);
    // The replicas being added are not counted as missing; kafka-topics' view of Metadata is literal.
    expect(await gauge(nodes[1]!, 'sluice_cluster_under_replicated_partitions')).toBe(0);
    const urp = await sluice(['topics', '--describe', '--under-replicated-partitions', ...bs]);
    expect(urp.code).toBe(0);
    expect(urp.stdout).toMatch(new RegExp(`^\\tTopic: moving\\tPartition: 0\\tLeader: ${owner0}\\tReplicas: ${other0},4,${owner0}\\tIsr: ${owner0}(,${other0})?\\n$`));
    // Errors name the partition and the reason.
    await expect(admin.alterPartitionReassignments({ topics: [{ topic: 'moving', partitionAssignment: [{ partition: 1, replicas: [7] }] }] })).rejects.toThrow();
    const bad = await sluice(['reassign', '--execute', '--additional', '--reassignment-json-file', writeJson({ version: 1, partitions: [{ topic: 'moving', partition: 1, replicas: [7] }] }), ...bs]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Error starting the reassignment of moving-1: INVALID_REPLICA_ASSIGNMENT: the new replica list of moving-1 names broker 7, not alive in the cluster (live brokers: 1, 2, 3, 4)');

    // A new target replaces the one in progress: [other0] alone. Once other0 is in sync, the
    // controller moves leadership onto it and drops the old replica and broker 4.
    await admin.alterPartitionReassignments({ topics: [{ topic: 'moving', partitionAssignment: [{ partition: 0, replicas: [other0] }] }] });
    await letIn(etcd, keys, 'moving', 0, other0);
    await eventually(async () => (await leaders('moving'))[0]!.replicas.length === 1);
    expect((await leaders('moving'))[0]).toMatchObject({ leader: other0, replicas: [other0], isr: [other0] });
    expect((await admin.listPartitionReassignments({})).topics).toEqual([]);
    expect((await sluice(['reassign', '--list', ...bs])).stdout).toBe('No partition reassignments found.\n');
    expect(await gauge(nodes[0]!, 'sluice_cluster_reassigning_partitions')).toBe(0);
    // Its new leader serves it.
    const producer = kafka.producer();
    await producer.connect();
    closers.push(() => producer.disconnect());
    await producer.send({ topic: 'moving', messages: [{ partition: 0, value: 'after the move' }] });
    const offsets = await admin.fetchTopicOffsets('moving');
    expect(offsets.find((o) => o.partition === 0)!.high).toBe('1');

    // sluice reassign: --generate proposes, --execute starts, --verify follows, --cancel undoes.
    const toMove = writeJson({ version: 1, topics: [{ topic: 'moving' }] });
    const gen = await sluice(['reassign', '--generate', '--topics-to-move-json-file', toMove, '--broker-list', '2,3', ...bs]);
    expect(gen.code).toBe(0);
    const [, currentJson, proposedJson] = /^Current partition replica assignment\n(.*)\n\nProposed partition reassignment configuration\n(.*)\n$/.exec(gen.stdout)!;
    expect(JSON.parse(currentJson!).partitions.map((p: { replicas: number[] }) => p.replicas)).toEqual((await leaders('moving')).map((p) => p.replicas));
    const proposed = JSON.parse(proposedJson!) as { version: number; partitions: { topic: string; partition: number; replicas: number[]; log_dirs: string[] }[] };
    expect(proposed.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    for (const p of proposed.partitions) expect([2, 3]).toContain(p.replicas[0]);

    const now = await leaders('moving');
    const p1 = now[1]!;
    const target1 = [1, 2, 3].find((b) => b !== p1.leader)!;
    const p2 = now[2]!;
    const target2 = [1, 2, 3].find((b) => b !== p2.leader)!;
    const plan = writeJson({ version: 1, partitions: [{ topic: 'moving', partition: 1, replicas: [target1, 4], log_dirs: ['any', 'any'] }, { topic: 'moving', partition: 2, replicas: [target2, 4] }] });
    const exec = await sluice(['reassign', '--execute', '--reassignment-json-file', plan, ...bs]);
    expect(exec.code).toBe(0);
    expect(exec.stdout).toContain(`Current partition replica assignment\n\n{"version":1,"partitions":[{"topic":"moving","partition":1,"replicas":[${p1.leader}],"log_dirs":["any"]},{"topic":"moving","partition":2,"replicas":[${p2.leader}],"log_dirs":["any"]}]}\n\nSave this to use as the --reassignment-json-file option during rollback\n`);
    expect(exec.stdout).toContain('Successfully started partition reassignments for moving-1,moving-2\n');
    const listedCli = await sluice(['reassign', '--list', ...bs]);
    expect(listedCli.stdout).toBe(
      `Current partition reassignments:\nmoving-1: replicas: ${target1},4,${p1.leader}. adding: ${target1},4. removing: ${p1.leader}.\nmoving-2: replicas: ${target2},4,${p2.leader}. adding: ${target2},4. removing: ${p2.leader}.\n`,
    );
    const described = await sluice(['topics', '--describe', '--topic', 'moving', ...bs]);
    expect(described.stdout).toMatch(new RegExp(`Partition: 1\\tLeader: ${p1.leader}\\tReplicas: ${target1},4,${p1.leader}\\tIsr: [\\d,]+\\t.*\\tAdding Replicas: ${target1},4\\tRemoving Replicas: ${p1.leader}\\n`));
    expect(described.stdout).toMatch(/Partition: 0\tLeader: \d\tReplicas: \d\tIsr: \d\tLogStartOffset: 0\tLogEndOffset: 1\tSize: [^\t]+\n/);
    const busy = await sluice(['reassign', '--execute', '--reassignment-json-file', plan, ...bs]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain('cannot execute because there is an existing partition reassignment: wait for it (--verify, --list), or add --additional');
    let verify = await sluice(['reassign', '--verify', '--reassignment-json-file', plan, ...bs]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toBe('Status of partition reassignment:\nReassignment of partition moving-1 is still in progress.\nReassignment of partition moving-2 is still in progress.\n');
    // moving-2 is cancelled: back to its one replica at once (it is in sync).
    const cancelled = await sluice(['reassign', '--cancel', '--reassignment-json-file', writeJson({ version: 1, partitions: [{ topic: 'moving', partition: 2, replicas: [target2, 4] }] }), ...bs]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toBe('Successfully cancelled partition reassignment for moving-2\n');
    await eventually(async () => (await leaders('moving'))[2]!.replicas.length === 1);
    expect((await leaders('moving'))[2]).toMatchObject({ leader: p2.leader, replicas: [p2.leader], isr: [p2.leader] });
    // moving-1 gets a target without broker 4 (--additional: one is running) and completes.
    const plan1 = writeJson({ version: 1, partitions: [{ topic: 'moving', partition: 1, replicas: [target1] }] });
    expect((await sluice(['reassign', '--execute', '--additional', '--reassignment-json-file', plan1, ...bs])).code).toBe(0);
    await letIn(etcd, keys, 'moving', 1, target1);
    await eventually(async () => (await sluice(['reassign', '--verify', '--reassignment-json-file', plan1, ...bs])).code === 0);
    expect((await leaders('moving'))[1]).toMatchObject({ leader: target1, replicas: [target1], isr: [target1] });
    verify = await sluice(['reassign', '--verify', '--reassignment-json-file', plan, ...bs]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toBe(
      'Status of partition reassignment:\n' +
        `There is no active reassignment of partition moving-1, but replica set is [${target1}] rather than [${target1},4].\n` +
        `There is no active reassignment of partition moving-2, but replica set is [${p2.leader}] rather than [${target2},4].\n`,
    );
    const usage = await sluice(['reassign', '--execute', ...bs]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--reassignment-json-file is required with --execute');

    // An RF 2 topic on the silent broker 4 and broker 2, written to etcd as CreateTopics does,
    // with min.insync.replicas 2. The test plays broker 4's part where it leads.
    const rf2: TopicRecord = { version: 1, name: 'two', id: '5b8f8f0e-3c1a-4c55-9a43-9a1c3b9b7a01', replicas: [[4, 2]], config: { 'min.insync.replicas': '2' }, createdAt: Date.now() };
    await etcd.txn([{ key: keys.topic('two'), target: 'create', result: 'equal', createRevision: 0 }], [{ put: { key: keys.topic('two'), value: JSON.stringify(rf2) } }]);
    await eventually(async () => (await stateOf(etcd, keys, 'two', 0))?.leader === 4);
    expect(await stateOf(etcd, keys, 'two', 0)).toMatchObject({ isr: [4, 2] });
    expect(await gauge(nodes[0]!, 'sluice_cluster_under_min_isr_partitions')).toBe(0);
    expect(await gauge(nodes[0]!, 'sluice_cluster_under_replicated_partitions')).toBe(0);

    // ElectLeaders preferred over a raw socket, v2, from a broker that is not the controller.
    const c = await WireClient.connect(nodes[2]!.port);
    closers.push(() => void c.socket.destroy());
    const notNeeded = await c.request(ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: [{ topic: 'two', partitions: [0] }, { topic: 'nope', partitions: [0] }], timeoutMs: 10_000 });
    expect(notNeeded.errorCode).toBe(ErrorCode.NONE);
    expect(notNeeded.replicaElectionResults).toEqual([
      { topic: 'two', partitionResult: [{ partitionId: 0, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: 'broker 4, the preferred replica of two-0, leads it already' }] },
      { topic: 'nope', partitionResult: [{ partitionId: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'partition nope-0 does not exist' }] },
    ]);
    // Bad requests get an answer per partition, naming the problem; nothing is written.
    const topicRev = (await etcd.get(keys.topic('moving')))!.modRevision;
    const badAlter = await c.request(ApiKey.AlterPartitionReassignments, 0, {
      timeoutMs: 5000,
      topics: [
        { name: 'nope', partitions: [{ partitionIndex: 0, replicas: [1] }] },
        { name: 'moving', partitions: [{ partitionIndex: -1, replicas: [1] }, { partitionIndex: 0, replicas: [] }, { partitionIndex: 1, replicas: [2, 2] }, { partitionIndex: 2, replicas: null }] },
        { name: 'two', partitions: [{ partitionIndex: 0, replicas: [1] }, { partitionIndex: 0, replicas: [2] }] },
      ],
    });
    expect(badAlter.errorCode).toBe(ErrorCode.NONE);
    expect(badAlter.responses.map((t) => t.partitions.map((p) => `${t.name}-${p.partitionIndex} ${p.errorCode} ${p.errorMessage}`))).toEqual([
      [`nope-0 ${ErrorCode.UNKNOWN_TOPIC_OR_PARTITION} topic 'nope' does not exist`],
      [
        `moving--1 ${ErrorCode.UNKNOWN_TOPIC_OR_PARTITION} partition moving--1 does not exist (topic 'moving' has 3 partitions)`,
        `moving-0 ${ErrorCode.INVALID_REPLICA_ASSIGNMENT} the new replica list of moving-0 is empty: name at least one broker`,
        `moving-1 ${ErrorCode.INVALID_REPLICA_ASSIGNMENT} the new replica list of moving-1, [2, 2], names a broker more than once`,
        `moving-2 ${ErrorCode.NO_REASSIGNMENT_IN_PROGRESS} no reassignment of moving-2 is in progress`,
      ],
      [`two-0 ${ErrorCode.INVALID_REQUEST} partition two-0 appears twice in the request`, `two-0 ${ErrorCode.INVALID_REQUEST} partition two-0 appears twice in the request`],
    ]);
    expect((await etcd.get(keys.topic('moving')))!.modRevision).toBe(topicRev);
    const badType = await c.request(ApiKey.ElectLeaders, 1, { electionType: 7, topicPartitions: [{ topic: 'two', partitions: [0] }], timeoutMs: 1000 });
    expect(badType.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(badType.replicaElectionResults[0]!.partitionResult[0]!.errorMessage).toBe('unknown election type 7: 0 (preferred) or 1 (unclean)');

    // Broker 4 goes (its lease ends): the controller elects 2, the only live in-sync replica.
    // When 4 is back it is not in sync; without auto.leader.rebalance.enable, 2 keeps leading.
    await silent.stop();
    await eventually(async () => (await stateOf(etcd, keys, 'two', 0))?.leader === 2);
    expect(await stateOf(etcd, keys, 'two', 0)).toMatchObject({ isr: [2] });
    const silentAgain = await registerSilentBroker(etcd, keys, 4);
    closers.push(() => silentAgain.stop());
    await eventually(async () => (await gauge(nodes[0]!, 'sluice_cluster_under_replicated_partitions')) === 1);
    expect(await gauge(nodes[0]!, 'sluice_cluster_under_min_isr_partitions')).toBe(1);
    const refused = await sluice(['leader-election', '--election-type', 'preferred', '--topic', 'two', '--partition', '0', ...bs]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Error completing leader election (PREFERRED) for partition two-0: PREFERRED_LEADER_NOT_AVAILABLE: broker 4, the preferred replica of two-0, is not in its ISR [2]');
    // Two more partitions on [4, 2], led by 4 (played by the test). pref-0 is reassigned to
    // [2, 4]: the same replicas, so it completes at once, and 2 becomes its preferred replica.
    const on42 = (name: string, id: string): TopicRecord => ({ version: 1, name, id, replicas: [[4, 2]], config: {}, createdAt: Date.now() });
    for (const [name, id] of [['pref', '0f0e8c1a-1c2b-4d3e-8f4a-5b6c7d8e9f01'], ['lost', '0f0e8c1a-1c2b-4d3e-8f4a-5b6c7d8e9f02']] as const) {
      await etcd.txn([{ key: keys.topic(name), target: 'create', result: 'equal', createRevision: 0 }], [{ put: { key: keys.topic(name), value: JSON.stringify(on42(name, id)) } }]);
      await eventually(async () => (await stateOf(etcd, keys, name, 0))?.leader === 4);
    }
    await admin.alterPartitionReassignments({ topics: [{ topic: 'pref', partitionAssignment: [{ partition: 0, replicas: [2, 4] }] }] });
    await eventually(async () => (await leaders('pref'))[0]!.replicas[0] === 2 && (await admin.listPartitionReassignments({})).topics.length === 0);
    expect(await stateOf(etcd, keys, 'pref', 0)).toMatchObject({ leader: 4, isr: [4, 2] });
    const elected = await sluice(['leader-election', '--election-type', 'PREFERRED', '--path-to-json-file', writeJson({ partitions: [{ topic: 'pref', partition: 0 }] }), ...bs]);
    expect(elected.stderr).toBe('');
    expect(elected.stdout).toBe('Successfully completed leader election (PREFERRED) for partitions pref-0\n');
    expect(elected.code).toBe(0);
    expect(await stateOf(etcd, keys, 'pref', 0)).toMatchObject({ leader: 2, isr: [2, 4] });
    const again = await sluice(['leader-election', '--election-type', 'preferred', '--topic', 'pref', '--partition', '0', ...bs]);
    expect(again.stdout).toBe('Valid replica already elected for partitions pref-0\n');
    expect(again.code).toBe(0);

    // lost-0: 2 falls out of sync (leader 4 shrinks the ISR), then 4 dies: lost-0 is
    // offline, as unclean election is off.
    await setIsr(etcd, keys, 'lost', 0, [4]);
    await silentAgain.stop();
    await eventually(async () => (await stateOf(etcd, keys, 'lost', 0))?.leader === -1);
    const unavailable = await eventually(async () => {
      const r = await sluice(['topics', '--describe', '--unavailable-partitions', ...bs]);
      return r.stdout.includes('lost') ? r : null;
    });
    expect(unavailable.stdout).toBe('\tTopic: lost\tPartition: 0\tLeader: none\tReplicas: 4,2\tIsr: 4\tOffline: 4\n');
    expect(await gauge(nodes[0]!, 'sluice_cluster_offline_partitions')).toBe(1);
    const all = await sluice(['leader-election', '--election-type', 'preferred', '--all-topic-partitions', ...bs]);
    expect(all.code).toBe(1);
    expect(all.stderr).toContain('Error completing leader election (PREFERRED) for partition lost-0: PREFERRED_LEADER_NOT_AVAILABLE: broker 4, the preferred replica of lost-0, is not alive\n');
    expect(all.stderr).toContain('Error completing leader election (PREFERRED) for partition two-0: PREFERRED_LEADER_NOT_AVAILABLE: broker 4, the preferred replica of two-0, is not alive\n');
    expect(all.stderr).toContain('2 replica(s) could not be elected\n');
    // Unclean: the live replica 2 leads, with what it has.
    const unclean = await sluice(['leader-election', '--election-type', 'unclean', '--topic', 'lost', '--partition', '0', ...bs]);
    expect(unclean.stdout).toBe('Successfully completed leader election (UNCLEAN) for partitions lost-0\n');
    expect(unclean.code).toBe(0);
    expect(await stateOf(etcd, keys, 'lost', 0)).toMatchObject({ leader: 2, isr: [2] });
    expect(nodes[0]!.output()).toContain('unclean leader election: the new leader was not in sync');
  }, 180_000);
});

describe("README's reassignment example", () => {
  it('is examples/reassign.sh, word for word, and runs as written', async () => {
    const root = path.resolve(import.meta.dirname, '..');
    const script = fs.readFileSync(path.join(root, 'examples', 'reassign.sh'), 'utf8');
    expect(fs.readFileSync(path.join(root, 'README.md'), 'utf8')).toContain('```sh\n' + script + '```\n');

    const etcdProc = await startEtcd();
    const etcd = new EtcdClient({ endpoints: [etcdProc.endpoint] });
    closers.push(() => etcd.close());
    const keys = new ClusterKeys('sluice');
    const nodes = [await startNode(etcdProc.endpoint, 1)];
    nodes.push(...(await Promise.all([2, 3].map((id) => startNode(etcdProc.endpoint, id)))));
    for (const n of nodes) closers.push(() => n.stop());
    const bootstrap = nodes.map((n) => n.bootstrap).join(',');
    await eventually(async () => (await sluice(['cluster', '--describe', '--bootstrap-server', bootstrap])).stdout.includes('Brokers: 3'));
    // events-0 on broker 1, so the example moves it off its leader.
    const admin = new Kafka({ brokers: nodes.map((n) => n.bootstrap), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    closers.push(() => admin.disconnect());
    expect(await admin.createTopics({ topics: [{ topic: 'events', replicaAssignment: [{ partition: 0, replicas: [1] }] }], waitForLeaders: true })).toBe(true);
    await eventually(async () => (await stateOf(etcd, keys, 'events', 0))?.leader === 1);
    const owner = 1;

    // `npx sluice` is the built CLI here (npx itself would rebuild the package first).
    const dir = tmpDir('sluice-example-');
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'npx'), `#!/bin/sh\n[ "$1" = sluice ] || exit 127\nshift\nexec "${process.execPath}" "${CLI}" "$@"\n`, { mode: 0o755 });
    const proc = spawn('sh', [path.join(root, 'examples', 'reassign.sh')], { cwd: dir, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, SLUICE_BOOTSTRAP_SERVER: bootstrap } });
    closers.push(() => void proc.kill('SIGKILL'));
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => proc.on('close', r));
    let code: number | null | undefined;
    void exited.then((c) => (code = c));
    await eventually(async () => out.includes('Reassignment of partition events-0 is still in progress.') || code !== undefined);
    expect(fs.readFileSync(path.join(dir, 'rollback.txt'), 'utf8')).toContain(`{"version":1,"partitions":[{"topic":"events","partition":0,"replicas":[${owner}],"log_dirs":["any"]}]}`);
    // The partition is empty, so 2 and 3 are caught up at once: where no follower copies data
    // and asks to join yet, the test lets them in as the leader would.
    if (code === undefined && !(await stateOf(etcd, keys, 'events', 0))!.isr.includes(3)) await setIsr(etcd, keys, 'events', 0, [owner, 2, 3]);
    expect(await exited).toBe(0);
    expect(out).toContain('Reassignment of partition events-0 is completed.\n');
    expect(out).toContain('No partition needed a preferred election.\n');
    const final = (await stateOf(etcd, keys, 'events', 0))!;
    expect(final.leader).toBe(2);
    expect([...final.isr].sort()).toEqual([2, 3]);
  }, 120_000);
});

function writeJson(doc: unknown): string {
  const file = path.join(tmpDir('sluice-reassign-'), 'plan.json');
  fs.writeFileSync(file, JSON.stringify(doc));
  return file;
}
