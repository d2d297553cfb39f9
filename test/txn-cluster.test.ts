/**
 * Transactions in a cluster of two real brokers and a real etcd: every broker names the same
 * coordinator for a transactional id (the leader of the `__consumer_offsets` partition it
 * hashes to), the other refuses its requests with NOT_COORDINATOR, and a confluent-kafka
 * transaction over partitions the coordinator leads commits, with its markers in the log.
 */
import { describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, type BrokerProcess } from './helpers/broker.js';
import { python } from './helpers/clients.js';
import { freePort, startEtcd } from './helpers/etcd.js';
import { storedSequence } from './helpers/txn-log.js';
import { WireClient } from './helpers/wire-client.js';
import { ErrorCode } from '../src/protocol/error-codes.js';

async function startNode(etcd: string, id: number): Promise<BrokerProcess> {
  return startBroker({ args: ['--node-id', String(id), '--etcd', etcd, '--broker-session-timeout-ms', '2000', '--log-format', 'json', '--metrics-port', String(await freePort())] });
}

async function findCoordinator(port: number, key: string): Promise<{ errorCode: number; nodeId: number }> {
  const c = await WireClient.connect(port);
  try {
    for (let i = 0; i < 100; i++) {
      const r = await c.request(10, 3, { key, keyType: 1 });
      if (r.errorCode === ErrorCode.NONE) return r;
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error(`no coordinator for '${key}'`);
  } finally {
    c.close();
  }
}

const TXN = `
import json, sys
from confluent_kafka import Producer
b, topic, parts = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3].split(',')]
p = Producer({'bootstrap.servers': b, 'transactional.id': 'cluster-app', 'linger.ms': 5})
p.init_transactions(30)
p.begin_transaction()
for q in parts: p.produce(topic, value=f'v{q}'.encode(), partition=q)
p.commit_transaction(30)
print(json.dumps({'ok': True}))
`;

describe('transactions in a cluster', () => {
  it('one coordinator per transactional id; a transaction over its partitions commits', async () => {
    const etcd = await startEtcd();
    const nodes = [await startNode(etcd.endpoint, 1)];
    nodes.push(await startNode(etcd.endpoint, 2));
    const bootstrap = nodes.map((n) => n.bootstrap).join(',');
    const kafka = new Kafka({ brokers: nodes.map((n) => n.bootstrap), logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const a = await findCoordinator(nodes[0]!.port, 'cluster-app');
      const b = await findCoordinator(nodes[1]!.port, 'cluster-app');
      expect(a.nodeId).toBe(b.nodeId);
      const coordinator = nodes[a.nodeId - 1]!;
      const other = nodes[2 - a.nodeId]!;

      const c = await WireClient.connect(other.port);
      const refused = await c.request(22, 4, { transactionalId: 'cluster-app', transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
      c.close();
      expect(refused.errorCode).toBe(ErrorCode.NOT_COORDINATOR);

      await admin.createTopics({ topics: [{ topic: 'ct', numPartitions: 4, replicationFactor: 1 }], waitForLeaders: true });
      const meta = await admin.fetchTopicMetadata({ topics: ['ct'] });
      const mine = meta.topics[0]!.partitions.filter((p) => p.leader === a.nodeId).map((p) => p.partitionId).sort();
      expect(mine.length).toBeGreaterThan(0);
      await python(TXN, [bootstrap, 'ct', mine.join(',')]);
      for (const p of mine) expect(storedSequence(coordinator.dir, 'ct', p)).toEqual([`v${p}`, '<commit>']);
    } finally {
      await admin.disconnect();
      for (const n of nodes) await n.stop();
    }
  }, 120_000);
});
