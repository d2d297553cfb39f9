/**
 * An in-process broker of a test cluster for the controller tests: its own etcd client,
 * session (lease and registration), metadata cache and controller, on a real etcd. It copies
 * no data; tests play the partition leaders' part themselves.
 */
import { Controller } from '../../src/cluster/controller.js';
import { EtcdClient } from '../../src/cluster/etcd.js';
import { MetadataCache } from '../../src/cluster/metadata-cache.js';
import { BrokerSession } from '../../src/cluster/session.js';
import { ClusterStore } from '../../src/cluster/store.js';
import { ClusterKeys, type TopicRecord } from '../../src/cluster/types.js';

export const quiet = { info() {}, warn() {}, error() {} };

export interface TestBroker {
  id: number;
  etcd: EtcdClient;
  cache: MetadataCache;
  session: BrokerSession;
  controller: Controller;
  store: ClusterStore;
  /** A crash: no renewal, no resignation; the lease runs out. */
  crash: () => void;
  stop: () => Promise<void>;
}

export async function startTestBroker(endpoint: string, id: number, options: { ttlSeconds?: number; autoLeaderRebalance?: boolean } = {}): Promise<TestBroker> {
  const etcd = new EtcdClient({ endpoints: [endpoint] });
  const keys = new ClusterKeys('test');
  const store = new ClusterStore(etcd, keys);
  const cache = new MetadataCache(etcd, keys, quiet);
  await cache.start();
  const session = new BrokerSession({
    etcd,
    store,
    registration: { version: 1, id, host: '127.0.0.1', port: 9000 + id, rack: null, startedAt: Date.now(), software: 'test' },
    ttlSeconds: options.ttlSeconds ?? 2,
    logger: quiet,
  });
  await session.start();
  const controller = new Controller({ brokerId: id, cache, store, lease: () => session.lease, logger: quiet, autoLeaderRebalance: options.autoLeaderRebalance });
  controller.start();
  return {
    id,
    etcd,
    cache,
    session,
    controller,
    store,
    crash: () => {
      (session as unknown as { stopped: boolean }).stopped = true;
      clearTimeout((session as unknown as { timer: NodeJS.Timeout }).timer);
      void controller.stop().catch(() => {});
      (controller as unknown as { active: null }).active = null;
      cache.close();
      etcd.close();
    },
    stop: async () => {
      await controller.stop();
      await session.stop();
      cache.close();
      etcd.close();
    },
  };
}

/** A topic record as brokers write it, with a fixed id. */
export function topicRecord(name: string, replicas: number[][]): TopicRecord {
  return { version: 1, name, id: `id-${name}`, replicas, config: {}, createdAt: Date.now() };
}
