/**
 * What survives a stop of the transaction side, on real files: offsets committed inside a
 * transaction stay pending across a reopen and are applied or dropped by the marker (in memory
 * and on replay); a transaction decided (PrepareCommit) but not completed when the broker died
 * gets its markers written by the restarted coordinator.
 */
import { describe, expect, it } from 'vitest';
import { OffsetStore } from '../src/group/offset-store.js';
import { TransactionStateLog } from '../src/txn/transaction-state-log.js';
import type { TransactionLogValue } from '../src/txn/transaction-log-record.js';
import { python } from './helpers/clients.js';
import { startBroker } from './helpers/broker.js';
import { storedSequence } from './helpers/txn-log.js';
import { tmpDir } from './helpers/tmp.js';
import { WireClient } from './helpers/wire-client.js';

const quiet = { info() {}, warn() {} };
const openStore = (dir: string) => OffsetStore.open({ dir, partitions: 3, durability: 'pagecache', time: Date.now, logger: quiet, compactionMinBytes: 1 });
const offset = (n: number) => ({ offset: n, leaderEpoch: -1, metadata: '', commitTimestamp: 1_700_000_000_000, expireTimestamp: -1 });

describe('transactional offsets in __consumer_offsets', () => {
  it('stay pending across a reopen; the commit marker applies them, the abort marker drops them', async () => {
    const dir = tmpDir('sluice-txn-offsets-');
    let store = await openStore(dir);
    await store.write([{ groupId: 'g', topic: 'in', partition: 0, value: offset(3) }]);
    await store.writeTransactional(7, 0, [{ groupId: 'g', topic: 'in', partition: 0, value: offset(10) }]);
    await store.writeTransactional(8, 0, [{ groupId: 'g', topic: 'in', partition: 1, value: offset(20) }]);
    expect(store.get('g', 'in', 0)?.offset).toBe(3);
    expect(store.get('g', 'in', 1)).toBeUndefined();
    expect(store.hasPendingTransactionalOffsets('g')).toBe(true);
    expect(store.hasPendingTransactionalOffset('g', 'in', 0)).toBe(true);
    expect(store.hasPendingTransactionalOffset('g', 'in', 2)).toBe(false);
    // A compaction would keep live entries only: it must wait while offsets are pending.
    expect(store.maybeCompact(store.partitionFor('g'))).toBeNull();
    await store.close();

    store = await openStore(dir);
    expect(store.get('g', 'in', 0)?.offset).toBe(3);
    expect(store.hasPendingTransactionalOffsets('g')).toBe(true);
    await store.writeTxnMarker(store.partitionFor('g'), 7, 0, true, 0);
    await store.writeTxnMarker(store.partitionFor('g'), 8, 0, false, 0);
    expect(store.get('g', 'in', 0)?.offset).toBe(10);
    expect(store.get('g', 'in', 1)).toBeUndefined();
    expect(store.hasPendingTransactionalOffsets('g')).toBe(false);
    await store.close();

    // Replay reads the markers the same way.
    store = await openStore(dir);
    expect(store.get('g', 'in', 0)?.offset).toBe(10);
    expect(store.get('g', 'in', 1)).toBeUndefined();
    expect(store.hasPendingTransactionalOffsets('g')).toBe(false);
    await store.close();
  });
});

const OPEN_TXN = `
import json, sys
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
b = sys.argv[1]
a = AdminClient({'bootstrap.servers': b})
for f in a.create_topics([NewTopic('decided', num_partitions=2, replication_factor=1)]).values(): f.result()
p = Producer({'bootstrap.servers': b, 'transactional.id': 'decider', 'linger.ms': 5})
p.init_transactions(30)
p.begin_transaction()
p.produce('decided', value=b'x0', partition=0)
p.produce('decided', value=b'x1', partition=1)
p.flush(30)
print(json.dumps({'ok': True}))
`;

describe('a transaction decided before a crash', () => {
  it('gets its commit markers from the restarted coordinator', async () => {
    const dir = tmpDir('sluice-txn-decided-');
    let b = await startBroker({ dir });
    await python(OPEN_TXN, [b.bootstrap]);
    await b.kill();
    // Make the log say what a coordinator that died right after writing PrepareCommit leaves.
    let value: TransactionLogValue | null = null;
    const log = TransactionStateLog.open({ dir, durability: 'pagecache', logger: quiet }, (id, v) => {
      if (id === 'decider') value = v;
    });
    expect(value).toMatchObject({ state: 'Ongoing', partitions: [{ topic: 'decided', partitionIds: [0, 1] }] });
    await log.write('decider', { ...value!, state: 'PrepareCommit' });
    await log.close();

    b = await startBroker({ dir });
    // Completed while loading, before the broker listens.
    expect(storedSequence(dir, 'decided', 0)).toEqual(['x0', '<commit>']);
    expect(storedSequence(dir, 'decided', 1)).toEqual(['x1', '<commit>']);
    const c = await WireClient.connect(b.port);
    const d = (await c.request(65, 0, { transactionalIds: ['decider'] })).transactionStates[0]!;
    c.close();
    expect(d).toMatchObject({ transactionState: 'CompleteCommit', producerEpoch: 0, topics: [] });
  });
});
