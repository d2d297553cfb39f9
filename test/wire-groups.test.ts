import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { decodeAssignment } from '../src/group/index.js';
import { ApiKey } from '../src/protocol/apis.js';
import { PYTHON, python, requireTool, run } from './helpers/clients.js';
import { startBroker } from './helpers/broker.js';
import { tmpDir } from './helpers/tmp.js';
import { WireClient } from './helpers/wire-client.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const groupArgs = ['--group-min-session-timeout-ms', '1000'];

async function produce(bootstrap: string, topic: string, partitions: number, count: number, prefix = 'r') {
  const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
  await admin.disconnect();
  const p = kafka.producer();
  await p.connect();
  await p.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ value: `${prefix}${i}`, partition: i % partitions })) });
  await p.disconnect();
}

async function describeGroup(port: number, group: string) {
  const c = await WireClient.connect(port);
  const r = await c.request(ApiKey.DescribeGroups, 5, { groups: [group], includeAuthorizedOperations: false });
  c.close();
  const g = r.groups[0]!;
  return {
    state: g.groupState,
    members: g.members.map((m) => ({
      clientId: m.clientId,
      partitions: m.memberAssignment.length === 0 ? [] : decodeAssignment(Buffer.from(m.memberAssignment)).assignedPartitions.flatMap((t) => t.partitions),
    })),
  };
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('consumer groups over the wire', () => {
  it('kafkajs: 3 members split 6 partitions; when one leaves the others take over and nothing is lost or doubled', async () => {
    const broker = await startBroker({ args: groupArgs });
    await produce(broker.bootstrap, 'g6', 6, 600, 'a');
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const seen = new Map<string, string[]>();
    const assignments = new Map<Consumer, number[]>();
    const members: Consumer[] = [];
    for (let m = 0; m < 3; m++) {
      const c = kafka.consumer({ groupId: 'kjs', sessionTimeout: 6000, heartbeatInterval: 300, rebalanceTimeout: 10_000, maxWaitTimeInMs: 300 });
      c.on(c.events.GROUP_JOIN, (e) => assignments.set(c, (e.payload.memberAssignment.g6 ?? []).slice().sort()));
      await c.connect();
      await c.subscribe({ topic: 'g6', fromBeginning: true });
      void c.run({
        eachMessage: async ({ partition, message }) => {
          const k = `${partition}:${message.offset}`;
          seen.set(k, [...(seen.get(k) ?? []), `m${m}`]);
        },
      });
      members.push(c);
    }
    await until('600 records and a 3-way split', async () => {
      if (seen.size < 600) return false;
      const g = await describeGroup(broker.port, 'kjs');
      return g.state === 'Stable' && g.members.length === 3 && g.members.every((m) => m.partitions.length === 2);
    });
    const split = await describeGroup(broker.port, 'kjs');
    expect(split.members.flatMap((m) => m.partitions).sort()).toEqual([0, 1, 2, 3, 4, 5]);

    await members[2]!.disconnect();
    const p = kafka.producer();
    await p.connect();
    await p.send({ topic: 'g6', messages: Array.from({ length: 600 }, (_, i) => ({ value: `b${i}`, partition: i % 6 })) });
    await p.disconnect();
    await until('1200 records and a 2-way split', async () => {
      if (seen.size < 1200) return false;
      const g = await describeGroup(broker.port, 'kjs');
      return g.state === 'Stable' && g.members.length === 2 && g.members.every((m) => m.partitions.length === 3);
    });
    expect(seen.size).toBe(1200);
    const doubled = [...seen].filter(([, by]) => by.length > 1);
    expect(doubled, 'records handed to two members').toEqual([]);
    for (const c of members.slice(0, 2)) await c.disconnect();
  });

  it('confluent-kafka-python: a SIGKILLed member is replaced after its session timeout, resuming from its commit', async () => {
    const broker = await startBroker({ args: groupArgs });
    await produce(broker.bootstrap, 'ck', 2, 200);
    const script = path.join(tmpDir('sluice-py-'), 'member.py');
    fs.writeFileSync(
      script,
      `
import sys, json, time
from confluent_kafka import Consumer, TopicPartition
name, commit_after = sys.argv[2], int(sys.argv[3])
c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': 'pyg', 'auto.offset.reset': 'earliest', 'enable.auto.commit': False,
              'session.timeout.ms': 2000, 'heartbeat.interval.ms': 200, 'partition.assignment.strategy': 'range'})
c.subscribe(['ck'])
first, count = {}, 0
while True:
    m = c.poll(0.2)
    if m is None or m.error(): continue
    first.setdefault(m.partition(), m.offset())
    count += 1
    print(json.dumps({'name': name, 'p': m.partition(), 'o': m.offset(), 'first': first.get(m.partition())}), flush=True)
    if count == commit_after:
        c.commit(message=m, asynchronous=False)
        print(json.dumps({'name': name, 'committed': m.offset() + 1, 'p': m.partition()}), flush=True)
`,
    );
    const start = (name: string, commitAfter: number) => {
      const proc = spawn(PYTHON, [script, broker.bootstrap, name, String(commitAfter)], { stdio: ['ignore', 'pipe', 'pipe'] });
      const lines: Record<string, number>[] = [];
      let buf = '';
      proc.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const parts = buf.split('\n');
        buf = parts.pop()!;
        for (const l of parts) if (l.trim()) lines.push(JSON.parse(l));
      });
      return { proc, lines };
    };
    // A alone consumes both partitions, commits after 30 records, then keeps reading; killed.
    const a = start('a', 30);
    await until('A to commit', () => a.lines.some((l) => 'committed' in l));
    const committed = a.lines.find((l) => 'committed' in l)!;
    a.proc.kill('SIGKILL');
    await new Promise((r) => a.proc.once('exit', r));
    const b = start('b', 1_000_000);
    try {
      await until("B to read A's committed partition", () => b.lines.some((l) => l.p === committed.p));
      const firstOnThatPartition = b.lines.find((l) => l.p === committed.p)!;
      expect(firstOnThatPartition.o).toBe(committed.committed); // resumes exactly at the commit
    } finally {
      b.proc.kill('SIGKILL');
    }
  });

  it('kcat -G joins a group with a Python consumer and they share the partitions', async () => {
    requireTool('kcat', 'apt-get install kcat');
    const broker = await startBroker({ args: groupArgs });
    await produce(broker.bootstrap, 'shared', 2, 20);
    const py = spawn(PYTHON, ['-c', `
import sys
from kafka import KafkaConsumer
c = KafkaConsumer('shared', bootstrap_servers='${broker.bootstrap}', group_id='mixed', auto_offset_reset='earliest', session_timeout_ms=6000, heartbeat_interval_ms=300, client_id='python-member')
while True: c.poll(200)
`], { stdio: 'ignore' });
    await until('the python member', async () => (await describeGroup(broker.port, 'mixed')).members.length === 1);
    const kcat = spawn('kcat', ['-b', broker.bootstrap, '-G', 'mixed', 'shared', '-q', '-X', 'client.id=kcat-member'], { stdio: 'ignore' });
    try {
      await until('two members sharing two partitions', async () => {
        const g = await describeGroup(broker.port, 'mixed');
        return g.state === 'Stable' && g.members.length === 2 && g.members.every((m) => m.partitions.length === 1);
      });
      const g = await describeGroup(broker.port, 'mixed');
      expect(g.members.map((m) => m.clientId).sort()).toEqual(['kcat-member', 'python-member']);
      expect(g.members.flatMap((m) => m.partitions).sort()).toEqual([0, 1]);
    } finally {
      kcat.kill('SIGKILL');
      py.kill('SIGKILL');
    }
  });

  it('keeps committed offsets across a broker restart and a SIGKILL; consumers resume where they were', async () => {
    const broker = await startBroker({ args: groupArgs });
    await produce(broker.bootstrap, 'r', 1, 100);
    const commitScript = `
import sys, json
from kafka import KafkaConsumer, TopicPartition
c = KafkaConsumer(bootstrap_servers=sys.argv[1], group_id='resume', auto_offset_reset='earliest', enable_auto_commit=False, consumer_timeout_ms=5000)
tp = TopicPartition('r', 0)
c.assign([tp])
import itertools
read = [m.offset for m in itertools.islice(c, int(sys.argv[2]))]
c.commit()
print(json.dumps({'read': len(read), 'committed': c.committed(tp)}))
`;
    const first = await python<{ read: number; committed: number }>(commitScript, [broker.bootstrap, '40']);
    expect(first).toEqual({ read: 40, committed: 40 });
    await broker.stop();
    const again = await startBroker({ dir: broker.dir, args: groupArgs });
    const second = await python<{ read: number; committed: number }>(commitScript, [again.bootstrap, '25']);
    expect(second).toEqual({ read: 25, committed: 65 }); // resumed at 40
    await again.kill();
    const third = await startBroker({ dir: broker.dir, args: groupArgs });
    const c = await WireClient.connect(third.port);
    const fetched = await c.request(ApiKey.OffsetFetch, 7, { groupId: 'resume', topics: [{ name: 'r', partitionIndexes: [0] }], requireStable: false });
    expect(fetched.topics[0]!.partitions[0]!.committedOffset).toBe(65);
    const listed = await c.request(ApiKey.ListGroups, 4, { statesFilter: [] });
    expect(listed.groups.map((g) => g.groupId)).toContain('resume');
    c.close();
    const out = await run('kcat', ['-b', third.bootstrap, '-G', 'resume', 'r', '-e', '-q', '-f', '%o\n']).catch(() => '');
    if (out) expect(Number(out.trim().split('\n')[0])).toBe(65);
  });
});
