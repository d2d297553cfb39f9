/**
 * The writes Sluice makes to its cluster's metadata in etcd. Each one is a transaction whose
 * compare says what the writer believes (a key is absent, a key is at the revision it read),
 * so two brokers racing never both win: the loser re-reads and never acts on stale state.
 * Reads come from the MetadataCache.
 */
import type { Compare, EtcdClient } from './etcd.js';
import {
  ClusterKeys,
  type BrokerRegistration,
  type ControllerRecord,
  type PartitionState,
  type ProducerIdBlockRecord,
  type TopicRecord,
} from './types.js';

/** A write lost its compare-and-set or was refused; `message` says what to do. */
export class ClusterStateError extends Error {
  readonly code = 'ERR_SLUICE_CLUSTER_STATE';
  constructor(message: string) {
    super(message);
    this.name = 'ClusterStateError';
  }
}

export class ClusterStore {
  constructor(
    readonly etcd: EtcdClient,
    readonly keys: ClusterKeys,
  ) {}

  /** The cluster's id: `candidate` if this is the first broker ever, else the one stored. */
  async ensureClusterId(candidate: string): Promise<string> {
    const key = this.keys.clusterId;
    const r = await this.etcd.txn([{ key, target: 'create', result: 'equal', createRevision: 0 }], [{ put: { key, value: candidate } }], [{ range: { key } }]);
    return r.succeeded ? candidate : (r.ranges[0]?.[0]?.value ?? candidate);
  }

  /**
   * Registers a broker under its lease. Refused when another live process holds the same
   * broker id (its registration is bound to another lease).
   */
  async registerBroker(registration: BrokerRegistration, lease: string): Promise<void> {
    const key = this.keys.broker(registration.id);
    const value = JSON.stringify(registration);
    const r = await this.etcd.txn([{ key, target: 'create', result: 'equal', createRevision: 0 }], [{ put: { key, value, lease } }], [{ range: { key } }]);
    if (r.succeeded) return;
    const held = r.ranges[0]?.[0];
    if (held && held.lease === lease) {
      await this.etcd.put(key, value, lease);
      return;
    }
    let other = '';
    try {
      const o = JSON.parse(held?.value ?? '{}') as BrokerRegistration;
      other = ` (registered by ${o.host}:${o.port}, started ${new Date(o.startedAt).toISOString()})`;
    } catch {
      // an unreadable registration still blocks the id
    }
    throw new ClusterStateError(
      `broker id ${registration.id} is already taken in cluster '${this.keys.cluster}'${other}: ` +
        `give this broker another --node-id, or stop the other one (its registration goes when its lease expires)`,
    );
  }

  /**
   * Tries to become controller: succeeds only when no controller is registered and the
   * controller epoch is still what this broker read, so two candidates never both win.
   * Returns the new controller epoch, or null when another broker won.
   */
  async campaign(brokerId: number, lease: string): Promise<number | null> {
    const current = await this.etcd.get(this.keys.controllerEpoch);
    const epoch = Number(current?.value ?? 0) + 1;
    const record: ControllerRecord = { version: 1, brokerId, epoch };
    const r = await this.etcd.txn(
      [
        { key: this.keys.controller, target: 'create', result: 'equal', createRevision: 0 },
        current
          ? { key: this.keys.controllerEpoch, target: 'mod', result: 'equal', modRevision: current.modRevision }
          : { key: this.keys.controllerEpoch, target: 'create', result: 'equal', createRevision: 0 },
      ],
      [{ put: { key: this.keys.controller, value: JSON.stringify(record), lease } }, { put: { key: this.keys.controllerEpoch, value: String(epoch) } }],
    );
    return r.succeeded ? epoch : null;
  }

  /** Gives up the controller role at once (a clean shutdown), if this broker holds it. */
  async resign(record: ControllerRecord): Promise<void> {
    await this.etcd.txn([{ key: this.keys.controller, target: 'value', result: 'equal', value: JSON.stringify(record) }], [{ delete: { key: this.keys.controller } }]);
  }

  /** Writes a new topic's record; false when a topic of that name exists already. */
  async createTopic(topic: TopicRecord): Promise<boolean> {
    const key = this.keys.topic(topic.name);
    const r = await this.etcd.txn([{ key, target: 'create', result: 'equal', createRevision: 0 }], [{ put: { key, value: JSON.stringify(topic) } }]);
    return r.succeeded;
  }

  /** Replaces a topic's record (new partitions, config), if it is still at `modRevision` (and `guard` holds). */
  async updateTopic(topic: TopicRecord, modRevision: number, guard: Compare[] = []): Promise<boolean> {
    const key = this.keys.topic(topic.name);
    const r = await this.etcd.txn([{ key, target: 'mod', result: 'equal', modRevision }, ...guard], [{ put: { key, value: JSON.stringify(topic) } }]);
    return r.succeeded;
  }

  /** Removes a topic and all its partition states in one transaction; false when it is gone already. */
  async deleteTopic(name: string): Promise<boolean> {
    const key = this.keys.topic(name);
    const r = await this.etcd.txn(
      [{ key, target: 'create', result: 'greater', createRevision: 0 }],
      [{ delete: { key } }, { delete: { key: this.keys.partitionsOf(name), prefix: true } }],
    );
    return r.succeeded;
  }

  /**
   * Writes a partition's state if it is still at `modRevision` (0: if it has none yet), as
   * ZooKeeper-era Kafka did with the znode version. Returns the new mod revision, or null
   * when someone else changed it first: re-read, never act on the stale state. `guard` adds
   * conditions, such as "the controller key still holds my record" (a deposed controller's
   * writes fail).
   */
  async writePartitionState(
    topic: string,
    partition: number,
    state: PartitionState,
    modRevision: number,
    guard: Compare[] = [],
  ): Promise<number | null> {
    const key = this.keys.partition(topic, partition);
    const compare: Compare =
      modRevision === 0 ? { key, target: 'create', result: 'equal', createRevision: 0 } : { key, target: 'mod', result: 'equal', modRevision };
    const r = await this.etcd.txn([compare, ...guard], [{ put: { key, value: JSON.stringify(state) } }]);
    return r.succeeded ? r.revision : null;
  }

  /**
   * Takes the next block of `size` producer ids for a broker: [start, start + size). Two
   * brokers never get overlapping blocks (compare-and-set on the block record, retried).
   */
  async allocateProducerIdBlock(size: number): Promise<{ start: number; end: number }> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const kv = await this.etcd.get(this.keys.producerIds);
      const start = kv ? (JSON.parse(kv.value) as ProducerIdBlockRecord).nextBlockStart : 0;
      const next: ProducerIdBlockRecord = { version: 1, nextBlockStart: start + size };
      if (!Number.isSafeInteger(next.nextBlockStart)) throw new ClusterStateError('the cluster has run out of producer ids');
      const r = await this.etcd.txn(
        [kv ? { key: this.keys.producerIds, target: 'mod', result: 'equal', modRevision: kv.modRevision } : { key: this.keys.producerIds, target: 'create', result: 'equal', createRevision: 0 }],
        [{ put: { key: this.keys.producerIds, value: JSON.stringify(next) } }],
      );
      if (r.succeeded) return { start, end: start + size };
    }
    throw new ClusterStateError('could not take a producer id block after 100 tries: too many brokers are taking blocks at once');
  }
}
