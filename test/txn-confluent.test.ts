/**
 * Transactions with confluent-kafka-python (Debian, librdkafka 2.0.2) against a real broker
 * process: commit/abort markers in the log, fencing of an old instance, the timeout abort,
 * consume-transform-produce with send_offsets_to_transaction, and a broker SIGKILLed in the
 * middle of a transaction. read_committed filtering is the log side's; here the markers are
 * read from the segment files themselves.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { PYTHON, python, run } from './helpers/clients.js';
import { startBroker } from './helpers/broker.js';
import { storedBatches, storedSequence } from './helpers/txn-log.js';
import { tmpDir } from './helpers/tmp.js';
import { WireClient } from './helpers/wire-client.js';
import { sluice } from './helpers/cli.js';

beforeAll(async () => {
  await run(PYTHON, ['-c', 'import confluent_kafka']).catch(() => {
    throw new Error('python3-confluent-kafka is not installed: apt-get install python3-confluent-kafka');
  });
});

const PRELUDE = `
import json, sys, time
from confluent_kafka import Producer, Consumer, TopicPartition, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic
bootstrap = sys.argv[1]
def create(topic, partitions=1):
    a = AdminClient({'bootstrap.servers': bootstrap})
    for f in a.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)]).values(): f.result()
def producer(tid, **extra):
    return Producer({'bootstrap.servers': bootstrap, 'transactional.id': tid, 'linger.ms': 5, **extra})
def read_all(topic, partitions=1, expect=0, group=None):
    c = Consumer({'bootstrap.servers': bootstrap, 'group.id': group or 'reader', 'auto.offset.reset': 'earliest', 'enable.auto.commit': False, 'isolation.level': 'read_uncommitted'})
    c.assign([TopicPartition(topic, p) for p in range(partitions)])
    got, deadline = [], time.time() + 10
    while time.time() < deadline and len(got) < expect:
        m = c.poll(0.2)
        if m is None or m.error(): continue
        got.append(m.value().decode())
    c.close()
    return got
def error_of(e):
    err = e.args[0]
    return {'name': err.name(), 'fatal': err.fatal(), 'abortable': err.txn_requires_abort()}
`;

const COMMIT_ABORT = `${PRELUDE}
create('tx')
p = producer('ca')
p.init_transactions(30)
for name, commit in (('A', True), ('B', False), ('C', True)):
    p.begin_transaction()
    for i in range(3): p.produce('tx', value=f'{name}{i}'.encode())
    # Sent before the abort (an abort drops what is still queued in the client).
    p.flush(30)
    if commit: p.commit_transaction(30)
    else: p.abort_transaction(30)
print(json.dumps({'uncommitted': read_all('tx', expect=9)}))
`;

const FENCING = `${PRELUDE}
create('fence')
p1 = producer('fenced')
p1.init_transactions(30)
p1.begin_transaction()
p1.produce('fence', value=b'old-1')
p1.flush(30)
p2 = producer('fenced')
p2.init_transactions(30)
errors = []
try:
    p1.produce('fence', value=b'old-2')
    p1.flush(10)
    p1.commit_transaction(10)
except KafkaException as e:
    errors.append(error_of(e))
p2.begin_transaction()
p2.produce('fence', value=b'new-1')
p2.commit_transaction(30)
print(json.dumps({'errors': errors}))
`;

const TIMEOUT = `${PRELUDE}
create('slow')
p = producer('slowpoke', **{'transaction.timeout.ms': 2000, 'message.timeout.ms': 2000})
p.init_transactions(30)
p.begin_transaction()
p.produce('slow', value=b'late')
p.flush(30)
time.sleep(4)
errors = []
try:
    p.commit_transaction(10)
except KafkaException as e:
    errors.append(error_of(e))
print(json.dumps({'errors': errors}))
`;

const TRANSFORM = `${PRELUDE}
create('in')
create('out')
plain = Producer({'bootstrap.servers': bootstrap})
for i in range(20): plain.produce('in', value=f'r{i}'.encode())
plain.flush(30)
def run(commit, limit):
    c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'xform', 'auto.offset.reset': 'earliest', 'enable.auto.commit': False})
    c.subscribe(['in'])
    p = producer('xform-app')
    p.init_transactions(30)
    got, deadline = [], time.time() + 20
    while len(got) < limit and time.time() < deadline:
        m = c.poll(0.2)
        if m is None or m.error(): continue
        got.append(m)
    p.begin_transaction()
    for m in got: p.produce('out', value=m.value().upper())
    p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 30)
    if commit: p.commit_transaction(30)
    else:
        p.flush(30)
        p.abort_transaction(30)
    committed = c.committed([TopicPartition('in', 0)], 10)[0].offset
    c.close()
    return {'read': [m.value().decode() for m in got], 'committed': committed}
first = run(True, 8)
second = run(False, 12)
third = run(True, 12)
print(json.dumps({'first': first, 'second': second, 'third': third}))
`;

const OPEN_TXN = `${PRELUDE}
create('crash')
p = producer('crashy', **{'transaction.timeout.ms': 3000, 'message.timeout.ms': 3000})
p.init_transactions(30)
p.begin_transaction()
p.produce('crash', value=b'in-flight')
p.flush(30)
print(json.dumps({'ok': True}))
`;

const NEXT_TXN = `${PRELUDE}
p = producer(sys.argv[2])
p.init_transactions(30)
p.begin_transaction()
p.produce(sys.argv[3], value=b'after')
p.commit_transaction(30)
print(json.dumps({'ok': True}))
`;

async function describeTxn(port: number, id: string) {
  const c = await WireClient.connect(port);
  try {
    const r = await c.request(65, 0, { transactionalIds: [id] });
    return r.transactionStates[0]!;
  } finally {
    c.close();
  }
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('transactions with confluent-kafka (librdkafka 2.0.2)', () => {
  it('commit A, abort B, commit C: markers follow each transaction in the log; read_uncommitted sees all three', async () => {
    const b = await startBroker();
    const r = await python<{ uncommitted: string[] }>(COMMIT_ABORT, [b.bootstrap]);
    expect(r.uncommitted).toEqual(['A0', 'A1', 'A2', 'B0', 'B1', 'B2', 'C0', 'C1', 'C2']);
    expect(storedSequence(b.dir, 'tx', 0)).toEqual(['A0', 'A1', 'A2', '<commit>', 'B0', 'B1', 'B2', '<abort>', 'C0', 'C1', 'C2', '<commit>']);
    const batches = storedBatches(b.dir, 'tx', 0);
    expect(batches.every((x) => x.transactional && x.producerId === batches[0]!.producerId)).toBe(true);
    const d = await describeTxn(b.port, 'ca');
    expect(d).toMatchObject({ errorCode: 0, transactionState: 'CompleteCommit', producerId: batches[0]!.producerId, topics: [] });
    // DescribeProducers (kafka-transactions.sh describe-producers): the producer's id, epoch, last sequence.
    const c = await WireClient.connect(b.port);
    const dp = await c.request(61, 0, { topics: [{ name: 'tx', partitionIndexes: [0, 7] }] });
    c.close();
    expect(dp.topics[0]!.partitions[0]).toMatchObject({ partitionIndex: 0, errorCode: 0, activeProducers: [{ producerId: batches[0]!.producerId, producerEpoch: 0, lastSequence: 8 }] });
    expect(dp.topics[0]!.partitions[1]).toMatchObject({ partitionIndex: 7, errorCode: 3 });
  });

  it('a second instance fences the first: its transaction is aborted and its later writes refused', async () => {
    const b = await startBroker();
    const r = await python<{ errors: { name: string; fatal: boolean }[] }>(FENCING, [b.bootstrap]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.fatal).toBe(true);
    expect(['_FENCED', 'PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH']).toContain(r.errors[0]!.name);
    expect(storedSequence(b.dir, 'fence', 0)).toEqual(['old-1', '<abort>', 'new-1', '<commit>']);
    const batches = storedBatches(b.dir, 'fence', 0);
    // The abort is written under the bumped epoch, the new instance's under the next one.
    expect(batches.map((x) => x.producerEpoch)).toEqual([0, 1, 2, 2]);
  });

  it('a transaction open past transaction.timeout.ms is aborted by the coordinator', async () => {
    const b = await startBroker({ args: ['--transaction-abort-interval-ms', '300'] });
    const r = await python<{ errors: { name: string; fatal: boolean; abortable: boolean }[] }>(TIMEOUT, [b.bootstrap]);
    expect(r.errors).toHaveLength(1);
    expect(storedSequence(b.dir, 'slow', 0)).toEqual(['late', '<abort>']);
    const d = await describeTxn(b.port, 'slowpoke');
    expect(d.transactionState).toBe('CompleteAbort');
    expect(d.producerEpoch).toBe(1);
  });

  it('consume-transform-produce: offsets sent to a transaction are committed with it, and not when it aborts', async () => {
    const b = await startBroker();
    type Run = { read: string[]; committed: number };
    const r = await python<{ first: Run; second: Run; third: Run }>(TRANSFORM, [b.bootstrap]);
    expect(r.first.read).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7']);
    expect(r.first.committed).toBe(8);
    // The aborted run read on from 8; its offsets were dropped with the transaction.
    expect(r.second.read).toEqual(['r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'r16', 'r17', 'r18', 'r19']);
    expect(r.second.committed).toBe(8);
    expect(r.third.read).toEqual(r.second.read);
    expect(r.third.committed).toBe(20);
    const out = storedSequence(b.dir, 'out', 0);
    expect(out).toEqual([...r.first.read.map((v) => v.toUpperCase()), '<commit>', ...r.second.read.map((v) => v.toUpperCase()), '<abort>', ...r.third.read.map((v) => v.toUpperCase()), '<commit>']);
  });

  it('sluice transactions --list / --describe show an ongoing transaction as kafka-transactions.sh does', async () => {
    const b = await startBroker();
    await python(OPEN_TXN, [b.bootstrap]);
    const list = await sluice(['transactions', '--list', '--bootstrap-server', b.bootstrap]);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^TransactionalId\s+Coordinator\s+ProducerId\s+TransactionState$/);
    expect(list.stdout).toMatch(/^crashy\s+0\s+\d+\s+Ongoing$/m);
    const d = await sluice(['transactions', '--describe', '--transactional-id', 'crashy', '--bootstrap-server', b.bootstrap]);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/^0\s+crashy\s+\d+\s+0\s+Ongoing\s+3000\s+\d{13}\s+\d+\s+crash-0$/m);
    const missing = await sluice(['transactions', '--describe', '--transactional-id', 'nobody', '--bootstrap-server', b.bootstrap]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nobody/);
  });

  it('SIGKILL mid-transaction: after restart the coordinator knows the open transaction and aborts it on timeout', async () => {
    const dir = tmpDir('sluice-txn-crash-');
    const args = ['--transaction-abort-interval-ms', '300'];
    let b = await startBroker({ dir, args });
    await python(OPEN_TXN, [b.bootstrap]);
    expect(storedSequence(dir, 'crash', 0)).toEqual(['in-flight']);
    const before = await describeTxn(b.port, 'crashy');
    expect(before.transactionState).toBe('Ongoing');
    await b.kill();
    b = await startBroker({ dir, args });
    await waitFor('the abort marker', () => storedSequence(dir, 'crash', 0).length === 2);
    expect(storedSequence(dir, 'crash', 0)).toEqual(['in-flight', '<abort>']);
    const after = await describeTxn(b.port, 'crashy');
    expect(after).toMatchObject({ transactionState: 'CompleteAbort', producerId: before.producerId, producerEpoch: before.producerEpoch + 1 });
    // The state survives a clean restart too: the next instance gets the next epoch.
    await b.stop();
    b = await startBroker({ dir, args });
    await python(NEXT_TXN, [b.bootstrap, 'crashy', 'crash']);
    expect(storedSequence(dir, 'crash', 0)).toEqual(['in-flight', '<abort>', 'after', '<commit>']);
    expect((await describeTxn(b.port, 'crashy')).producerEpoch).toBe(before.producerEpoch + 2);
  });

  it('SIGKILL mid-transaction: a new instance after restart aborts what the old one left open', async () => {
    const dir = tmpDir('sluice-txn-crash-');
    let b = await startBroker({ dir });
    await python(OPEN_TXN, [b.bootstrap]);
    await b.kill();
    b = await startBroker({ dir });
    await python(NEXT_TXN, [b.bootstrap, 'crashy', 'crash']);
    expect(storedSequence(dir, 'crash', 0)).toEqual(['in-flight', '<abort>', 'after', '<commit>']);
  });
});
