/**
 * transactional.id.expiration.ms on a real broker: an id with no transaction open is forgotten
 * once it has been idle that long (its tombstone is in `__transaction_state`, so a restart does
 * not bring it back), while an id with an ongoing transaction is kept; the next InitProducerId
 * of a forgotten id starts afresh with a new producer id.
 */
import { describe, expect, it } from 'vitest';
import { startBroker } from './helpers/broker.js';
import { eventually } from './helpers/replicas.js';
import { WireClient } from './helpers/wire-client.js';
import { ErrorCode } from '../src/protocol/error-codes.js';

const init = (c: WireClient, id: string) => c.request(22, 4, { transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
const describeTxn = async (c: WireClient, id: string) => (await c.request(65, 0, { transactionalIds: [id] })).transactionStates[0];

describe('transactional.id.expiration.ms', () => {
  it('forgets an idle transactional id, keeps one with a transaction open, and a restart does not bring it back', async () => {
    let broker = await startBroker({ args: ['--transactional-id-expiration-ms', '1500', '--transaction-abort-interval-ms', '200'] });
    let c = await WireClient.connect(broker.port);
    try {
      await c.request(19, 4, { topics: [{ name: 'exp', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
      const idle = await init(c, 'idle-app');
      expect(idle.errorCode).toBe(ErrorCode.NONE);
      const busy = await init(c, 'busy-app');
      const added = await c.request(24, 3, {
        v3AndBelowTransactionalId: 'busy-app',
        v3AndBelowProducerId: busy.producerId,
        v3AndBelowProducerEpoch: busy.producerEpoch,
        v3AndBelowTopics: [{ name: 'exp', partitions: [0] }],
      });
      expect(added.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode).toBe(ErrorCode.NONE);
      expect((await describeTxn(c, 'idle-app')).transactionState).toBe('Empty');

      await eventually(() => describeTxn(c, 'idle-app'), (d) => d.errorCode === ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, 20_000, 'idle-app expired');
      const listed = (await c.request(66, 0, { stateFilters: [], producerIdFilters: [] })).transactionStates.map((t: { transactionalId: string }) => t.transactionalId);
      expect(listed).toEqual(['busy-app']);
      expect((await describeTxn(c, 'busy-app')).transactionState).toBe('Ongoing');
      expect(broker.output()).toMatch(/transactional id expired/);

      const again = await init(c, 'idle-app');
      expect(again.errorCode).toBe(ErrorCode.NONE);
      expect(again.producerId).not.toBe(idle.producerId);
      expect(again.producerEpoch).toBe(0);

      // After a restart (expiration far away now) the log gives the new id back, not the old one.
      c.close();
      await broker.stop();
      broker = await startBroker({ dir: broker.dir });
      c = await WireClient.connect(broker.port);
      const d = await describeTxn(c, 'idle-app');
      expect(d.errorCode).toBe(ErrorCode.NONE);
      expect(d.producerId).toBe(again.producerId);
    } finally {
      c.close();
      await broker.stop();
    }
  }, 120_000);
});
