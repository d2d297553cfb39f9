/**
 * A broker's place in a cluster: its etcd client, session (lease + registration), metadata
 * cache, controller, and the local mirror of the cluster's topics. Brokers keep a local log
 * for every partition of every topic in etcd (same topic id, same partition count; the
 * partitions this broker does not host stay empty), so the handlers keep one code path and
 * ask this node only who leads what. Leadership changes are logged at info as Kafka's
 * become-leader / become-follower. Not thread-safe: one event loop.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode } from '../protocol/error-codes.js';
import type { Sluice } from '../broker/sluice.js';
import { assignReplicas } from './assignment.js';
import { Controller } from './controller.js';
import { EtcdClient, EtcdError } from './etcd.js';
import { MetadataCache, type MetadataChange } from './metadata-cache.js';
import { writeElectionRequests, writeReassignments, type PartitionOutcome } from './reassignment.js';
import type { ElectionType } from './types.js';
import { BrokerSession, type SessionLogger } from './session.js';
import { ClusterStateError, ClusterStore } from './store.js';
import { ReplicaManager, type ReplicationSettings } from '../replication/replica-manager.js';
import type { Partition } from '../broker/partition.js';
import { ClusterKeys, NO_LEADER, type BrokerRegistration, type TopicRecord, type VersionedPartitionState } from './types.js';

export interface ClusterNodeOptions {
  /** etcd client URLs. */
  etcd: string[];
  /** Cluster name: the etcd prefix `/<cluster>/` (default 'sluice'). */
  cluster?: string;
  nodeId: number;
  rack?: string | null;
  /** Where clients reach this broker (the port may be set by start(), once bound). */
  advertisedHost: string;
  advertisedPort?: number;
  /** broker.session.timeout.ms: a broker that stops renewing its lease is gone after this (default 9000). */
  sessionTimeoutMs?: number;
  uncleanLeaderElection?: boolean;
  autoLeaderRebalance?: boolean;
  software: string;
  logger: SessionLogger;
  /** replica.lag.time.max.ms and the follower fetch settings. */
  replication?: ReplicationSettings;
  /** default.replication.factor: for auto-created topics and CreateTopics without one (default 1). */
  defaultReplicationFactor?: number;
  /** offsets.topic.replication.factor (default 3, and at most the live brokers when the topic is made). */
  offsetsTopicReplicationFactor?: number;
  /** controlled.shutdown.max.wait (ms): how long a stopping broker waits for its leaderships to move (default 15000). */
  controlledShutdownTimeoutMs?: number;
}

/** A request that needs the cluster's metadata store could not be served; names why. */
export class ClusterUnavailableError extends Error {
  readonly errorCode: number;
  constructor(message: string, errorCode: number = ErrorCode.REQUEST_TIMED_OUT) {
    super(message);
    this.name = 'ClusterUnavailableError';
    this.errorCode = errorCode;
  }
}

export class ClusterNode {
  readonly keys: ClusterKeys;
  private readonly etcd: EtcdClient;
  private readonly store: ClusterStore;
  readonly cache: MetadataCache;
  private session!: BrokerSession;
  readonly controller: Controller;
  /** This broker's replicas: leader and follower roles, the ISR, the high watermarks. */
  readonly replicas: ReplicaManager;
  private readonly roleListeners: ((partition: Partition, role: 'leader' | 'follower' | 'none') => void)[] = [];
  /** The cluster's id, the same on every broker (kept in etcd). */
  clusterId: string;
  /** Leader epochs this broker last logged as leader or follower, by "topic\0partition". */
  private readonly roles = new Map<string, string>();
  private syncing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly options: ClusterNodeOptions,
    private readonly sluice: Sluice,
  ) {
    this.keys = new ClusterKeys(options.cluster ?? 'sluice');
    this.etcd = new EtcdClient({ endpoints: options.etcd });
    this.store = new ClusterStore(this.etcd, this.keys);
    this.cache = new MetadataCache(this.etcd, this.keys, options.logger);
    this.clusterId = sluice.meta.clusterId;
    this.controller = new Controller({
      brokerId: options.nodeId,
      cache: this.cache,
      store: this.store,
      lease: () => this.session?.lease ?? '',
      logger: options.logger,
      uncleanLeaderElection: options.uncleanLeaderElection,
      autoLeaderRebalance: options.autoLeaderRebalance,
    });
    this.replicas = new ReplicaManager({
      ...options.replication,
      nodeId: options.nodeId,
      sluice,
      cache: this.cache,
      store: this.store,
      logger: options.logger,
      onRoleChange: (partition, role) => {
        for (const l of this.roleListeners) l(partition, role);
      },
    });
  }

  /** Called when this broker starts or stops leading or following a partition. */
  onRoleChange(listener: (partition: Partition, role: 'leader' | 'follower' | 'none') => void): void {
    this.roleListeners.push(listener);
  }

  /**
   * A node that has not joined yet: until start() it knows no broker, topic or leader, so a
   * client that reaches this broker early is told to retry, never served as if alone.
   */
  static create(options: ClusterNodeOptions, sluice: Sluice): ClusterNode {
    return new ClusterNode(options, sluice);
  }

  /**
   * Joins the cluster: reads its metadata (retrying with backoff while etcd cannot be
   * reached), mirrors its topics locally, registers this broker (at `advertisedPort`, when
   * given here) and starts the controller.
   */
  async start(advertisedPort = this.options.advertisedPort): Promise<void> {
    const options = this.options;
    const node = this;
    if (advertisedPort === undefined) throw new Error('ClusterNode.start needs the advertised port');
    for (let delay = 500; ; delay = Math.min(delay * 2, 10_000)) {
      try {
        node.clusterId = await node.store.ensureClusterId(node.clusterId);
        await node.cache.start();
        node.joinError = null;
        break;
      } catch (err) {
        if (!(err instanceof EtcdError) || !err.unavailable) throw err;
        node.joinError = err.message;
        options.logger.error({ endpoints: node.etcd.endpoints, retryInMs: delay }, `etcd cannot be reached, retrying in ${delay} ms: ${err.message}`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    // A member of this very cluster: same name and same cluster id. An etcd that lost its data
    // (a new cluster id) must not make brokers delete what they hold.
    const member = readMember(this.sluice.dir);
    node.member = member?.cluster === node.keys.cluster && member.clusterId === node.clusterId;
    if (member && !node.member) {
      options.logger.warn({ was: member, now: { cluster: node.keys.cluster, clusterId: node.clusterId } }, 'this data directory was part of another cluster (or etcd lost its data): its topics unknown to this cluster are kept, not served');
    }
    node.cache.onChange((changes) => node.onChange(changes));
    await node.syncTopics();
    await node.replicas.reconcile();
    const registration: BrokerRegistration = {
      version: 1,
      id: options.nodeId,
      host: options.advertisedHost,
      port: advertisedPort,
      rack: options.rack ?? null,
      startedAt: Date.now(),
      software: options.software,
    };
    const ttlSeconds = Math.max(1, Math.ceil((options.sessionTimeoutMs ?? 9000) / 1000));
    this.session = new BrokerSession({ etcd: this.etcd, store: this.store, registration, ttlSeconds, logger: options.logger });
    await node.session.start();
    node.controller.start();
    options.logger.info({ broker: options.nodeId, cluster: node.keys.cluster, clusterId: node.clusterId, etcd: node.etcd.endpoints, rack: options.rack ?? null }, 'joined the cluster');
  }

  /** default.replication.factor, capped by the live brokers so a small cluster can still auto-create. */
  defaultReplicationFactor(internal = false): number {
    const wanted = internal ? (this.options.offsetsTopicReplicationFactor ?? 3) : (this.options.defaultReplicationFactor ?? 1);
    return internal ? Math.max(1, Math.min(wanted, this.brokers().length)) : wanted;
  }

  /** Why the last attempt to reach etcd while joining failed (for /ready), or null. */
  joinError: string | null = null;

  get nodeId(): number {
    return this.options.nodeId;
  }

  /** Live brokers, by id. */
  brokers(): BrokerRegistration[] {
    return [...this.cache.brokers.values()].sort((a, b) => a.id - b.id);
  }

  controllerId(): number {
    return this.cache.controller?.brokerId ?? -1;
  }

  partitionState(topic: string, partition: number): VersionedPartitionState | undefined {
    return this.cache.partitionState(topic, partition);
  }

  topic(name: string): TopicRecord | undefined {
    return this.cache.topics.get(name);
  }

  /**
   * NONE when this broker leads the partition at `currentLeaderEpoch` (-1: any), else the
   * error a Kafka leader gives: NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH for an older
   * epoch, UNKNOWN_LEADER_EPOCH for a newer one, UNKNOWN_TOPIC_OR_PARTITION for none.
   */
  leadershipError(topic: string, partition: number, currentLeaderEpoch = -1): number {
    const state = this.cache.partitionState(topic, partition);
    if (!state) return this.cache.topics.has(topic) ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (currentLeaderEpoch >= 0 && currentLeaderEpoch < state.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
    if (currentLeaderEpoch > state.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
    if (state.leader !== this.options.nodeId) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    return ErrorCode.NONE;
  }

  /**
   * Creates a topic in the cluster: assigns replicas over the live brokers (rack-aware), writes
   * the topic record, and waits until the controller has elected its leaders and this broker
   * mirrors it. Throws TopicExists (errorCode 36) when it exists.
   */
  async createTopic(
    name: string,
    options: { partitions: number; replicationFactor: number; config: Record<string, string>; assignments?: number[][]; validateOnly?: boolean; timeoutMs?: number },
  ): Promise<TopicRecord> {
    const live = this.brokers().map((b) => ({ id: b.id, rack: b.rack }));
    let replicas: number[][];
    if (options.assignments && options.assignments.length > 0) {
      const known = new Set(live.map((b) => b.id));
      for (const [p, r] of options.assignments.entries()) {
        const unknown = r.filter((id) => !known.has(id));
        if (unknown.length > 0 || new Set(r).size !== r.length || r.length === 0) {
          throw Object.assign(new Error(`partition ${p} is assigned to [${r.join(', ')}]; live brokers are [${[...known].join(', ')}] and a replica list names each once`), { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT });
        }
      }
      replicas = options.assignments;
    } else {
      try {
        replicas = assignReplicas(live, options.partitions, options.replicationFactor);
      } catch (err) {
        throw Object.assign(err as Error, { errorCode: ErrorCode.INVALID_REPLICATION_FACTOR });
      }
    }
    const record: TopicRecord = { version: 1, name, id: crypto.randomUUID(), replicas, config: options.config, createdAt: Date.now() };
    if (options.validateOnly) return record;
    let created: boolean;
    try {
      created = await this.store.createTopic(record);
    } catch (err) {
      throw this.unavailable(err, `creating topic '${name}'`);
    }
    if (!created) throw Object.assign(new Error(`topic '${name}' already exists`), { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS });
    await this.awaitTopic(name, record.id, options.timeoutMs ?? 30_000);
    return record;
  }

  async deleteTopic(name: string, timeoutMs = 30_000): Promise<void> {
    let deleted: boolean;
    try {
      deleted = await this.store.deleteTopic(name);
    } catch (err) {
      throw this.unavailable(err, `deleting topic '${name}'`);
    }
    if (!deleted) throw Object.assign(new Error(`topic '${name}' does not exist`), { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
    await this.cache.waitFor(() => !this.cache.topics.has(name), timeoutMs);
    await this.syncing;
  }

  /** Grows a topic to `total` partitions, assigning the new ones over the live brokers. */
  async createPartitions(name: string, total: number, validateOnly = false, timeoutMs = 30_000): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const kv = await this.etcd.get(this.keys.topic(name)).catch((err: unknown) => {
        throw this.unavailable(err, `growing topic '${name}'`);
      });
      if (!kv) throw Object.assign(new Error(`topic '${name}' does not exist`), { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
      const topic = JSON.parse(kv.value) as TopicRecord;
      if (!Number.isInteger(total) || total <= topic.replicas.length) {
        throw Object.assign(new Error(`topic '${name}' has ${topic.replicas.length} partitions; the new count must be larger, not ${total}`), { errorCode: ErrorCode.INVALID_PARTITIONS });
      }
      const rf = topic.replicas[0]?.length ?? 1;
      const added = assignReplicas(this.brokers().map((b) => ({ id: b.id, rack: b.rack })), total - topic.replicas.length, rf, { firstPartition: topic.replicas.length });
      if (validateOnly) return;
      if (await this.store.updateTopic({ ...topic, replicas: [...topic.replicas, ...added] }, kv.modRevision)) {
        await this.awaitTopic(name, topic.id, timeoutMs);
        return;
      }
    }
    throw new ClusterUnavailableError(`topic '${name}' kept changing while it was being grown; try again`);
  }

  /** Replaces a topic's config overrides in the cluster. */
  async setTopicConfig(name: string, config: Record<string, string>): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const kv = await this.etcd.get(this.keys.topic(name)).catch((err: unknown) => {
        throw this.unavailable(err, `changing the config of '${name}'`);
      });
      if (!kv) throw Object.assign(new Error(`topic '${name}' does not exist`), { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
      const topic = JSON.parse(kv.value) as TopicRecord;
      if (await this.store.updateTopic({ ...topic, config }, kv.modRevision)) {
        await this.cache.waitForRevision(kv.modRevision + 1, 10_000);
        await this.syncing;
        return;
      }
    }
    throw new ClusterUnavailableError(`topic '${name}' kept changing while its config was being set; try again`);
  }

  /**
   * Starts (replicas) or cancels (null) reassignments of a topic's partitions (reassignment.ts);
   * the controller carries them out. Resolves once this broker's cache shows the change.
   */
  async alterPartitionReassignments(topic: string, changes: { partition: number; replicas: number[] | null }[]): Promise<Map<number, PartitionOutcome>> {
    const live = new Set(this.cache.liveBrokerIds());
    const out = await writeReassignments(this.store, live, topic, changes).catch((err: unknown) => {
      throw this.unavailable(err, `reassigning partitions of '${topic}'`);
    });
    await this.seeLatest();
    return out;
  }

  /** Asks the controller for elections of a topic's partitions; resolves once written (not once run). */
  async requestElections(topic: string, partitions: number[], type: ElectionType): Promise<Map<number, PartitionOutcome>> {
    const out = await writeElectionRequests(this.store, topic, partitions, type).catch((err: unknown) => {
      throw this.unavailable(err, `electing leaders of '${topic}'`);
    });
    await this.seeLatest();
    return out;
  }

  /** The broker's default min.insync.replicas (for topics that do not set it). */
  get defaultMinInsyncReplicas(): number {
    const n = Number(this.sluice.topicDefaults['min.insync.replicas']);
    return Number.isInteger(n) && n > 0 ? n : 1;
  }

  /** Waits (briefly) until the cache reflects what etcd holds now, so this broker reads its own writes. */
  private async seeLatest(): Promise<void> {
    const { revision } = await this.etcd.getPrefix(this.keys.controller);
    await this.cache.waitForRevision(revision, 10_000);
  }

  /**
   * A producer id no other broker of the cluster hands out: ids come from blocks of
   * PRODUCER_ID_BLOCK taken in etcd by compare-and-set (Kafka's producer-id blocks), one
   * block at a time per broker.
   */
  async nextProducerId(): Promise<number> {
    const take = async (): Promise<number> => {
      if (this.producerIds.next >= this.producerIds.end) {
        try {
          const block = await this.store.allocateProducerIdBlock(PRODUCER_ID_BLOCK);
          this.producerIds = { next: block.start, end: block.end };
        } catch (err) {
          throw this.unavailable(err, 'allocating producer ids');
        }
      }
      return this.producerIds.next++;
    };
    const run = this.idQueue.then(take);
    this.idQueue = run.catch(() => 0);
    return run;
  }

  private producerIds = { next: 0, end: 0 };
  private idQueue: Promise<number> = Promise.resolve(0);

  /**
   * Leaves the cluster. First a controlled shutdown: this broker marks its registration as
   * shutting down, the controller moves every leadership it holds to another in-sync replica
   * and takes it out of the ISRs, and it waits (up to controlledShutdownTimeoutMs) until it
   * leads nothing another replica could lead, so clients see only retriable errors. Then it
   * stops the controller (handing the role on), its fetchers, and revokes the lease.
   */
  async stop(): Promise<void> {
    await this.controlledShutdown();
    await this.replicas.stop();
    await this.controller.stop();
    await this.session?.stop();
    this.cache.close();
    this.etcd.close();
  }

  /** Moves this broker's leaderships and ISR memberships away (once; stop() does it too). */
  controlledShutdown(): Promise<void> {
    this.shutdown ??= this.session?.lease
      ? this.moveAway().catch((err: unknown) => this.options.logger.warn({ err: (err as Error).message }, 'controlled shutdown failed; leaving anyway'))
      : Promise.resolve();
    return this.shutdown;
  }

  private shutdown: Promise<void> | null = null;

  private async moveAway(): Promise<void> {
    const me = this.options.nodeId;
    const registration = this.cache.brokers.get(me);
    if (!registration) return;
    const timeoutMs = this.options.controlledShutdownTimeoutMs ?? 15_000;
    await this.etcd.put(this.keys.broker(me), JSON.stringify({ ...registration, shuttingDown: true }), this.session.lease);
    const movable = () => {
      const eligible = new Set(this.brokers().filter((b) => !b.shuttingDown).map((b) => b.id));
      let count = 0;
      for (const t of this.cache.topics.values()) {
        t.replicas.forEach((_, p) => {
          const st = this.cache.partitionState(t.name, p);
          if (!st) return;
          const others = st.isr.filter((r) => r !== me && eligible.has(r));
          if ((st.leader === me || st.isr.includes(me)) && others.length > 0) count++;
        });
      }
      return count;
    };
    const before = movable();
    if (before === 0) return;
    this.options.logger.info({ broker: me, partitions: before }, 'controlled shutdown: moving leadership and ISR membership to the other replicas');
    const done = await this.cache.waitFor(() => movable() === 0, timeoutMs);
    this.options.logger.info({ broker: me, left: movable() }, done ? 'controlled shutdown: nothing left to move' : `controlled shutdown: ${movable()} partition(s) still here after ${timeoutMs} ms; leaving anyway`);
  }

  private unavailable(err: unknown, what: string): Error {
    if (err instanceof EtcdError && err.unavailable) {
      return new ClusterUnavailableError(`${what} needs the cluster's metadata store, and etcd cannot be reached (${err.message}); try again when it is back`);
    }
    if (err instanceof ClusterStateError) return Object.assign(err, { errorCode: ErrorCode.INVALID_REQUEST });
    return err as Error;
  }

  /** Waits until every partition of the topic has a leader and this broker mirrors the topic. */
  private async awaitTopic(name: string, id: string, timeoutMs: number): Promise<void> {
    const ready = () => {
      const t = this.cache.topics.get(name);
      if (!t || t.id !== id) return false;
      return t.replicas.every((_, p) => (this.cache.partitionState(name, p)?.leader ?? NO_LEADER) !== NO_LEADER);
    };
    const ok = await this.cache.waitFor(ready, timeoutMs);
    await this.syncing;
    if (!ok) throw new ClusterUnavailableError(`topic '${name}' was created, but its partitions had no leader within ${timeoutMs} ms: are its brokers alive?`);
  }

  private onChange(changes: MetadataChange[]): void {
    if (changes.some((c) => c.kind === 'topic' || c.kind === 'reload')) {
      const run = this.syncing.then(() => this.syncTopics());
      this.syncing = run.catch((err: unknown) => this.options.logger.error({ err: (err as Error).message }, 'mirroring the cluster topics locally failed'));
    }
    for (const c of changes) {
      if (c.kind === 'partition' && c.state) this.noteRole(c.topic, c.partition, c.state);
    }
    // Roles follow the local topics: after the mirror is in step.
    const roles = this.syncing.then(() => this.replicas.reconcile());
    this.syncing = roles.catch(() => {});
  }

  private noteRole(topic: string, partition: number, state: VersionedPartitionState): void {
    const key = `${topic}\u0000${partition}`;
    const replicas = this.cache.topics.get(topic)?.replicas[partition] ?? [];
    const me = this.options.nodeId;
    const role = state.leader === me ? 'leader' : replicas.includes(me) ? 'follower' : 'none';
    const was = this.roles.get(key);
    const now = `${role}:${state.leaderEpoch}`;
    if (was === now) return;
    this.roles.set(key, now);
    if (role === 'none') return;
    this.options.logger.info(
      { partition: `${topic}-${partition}`, leader: state.leader, leaderEpoch: state.leaderEpoch, isr: state.isr },
      role === 'leader' ? 'became leader' : 'became follower',
    );
  }

  /** Makes the local topics match the cluster's: create, recreate (new id), grow, reconfigure, delete. */
  private async syncTopics(): Promise<void> {
    const s = this.sluice;
    for (const t of this.cache.topics.values()) {
      // The offsets topic is the group coordinator's own log on every broker, not a mirror.
      if (t.name.startsWith('__')) continue;
      if (s.hasTopic(t.name) && s.topicId(t.name) !== t.id) {
        this.options.logger.info({ topic: t.name, localId: s.topicId(t.name), clusterId: t.id }, 'the local topic is an older one of the same name: deleting it');
        await s.deleteTopic(t.name);
      }
      if (!s.hasTopic(t.name)) {
        await s.createTopic(t.name, { partitions: t.replicas.length, config: t.config, topicId: t.id });
        continue;
      }
      if (s.partitionCount(t.name) < t.replicas.length) await s.createPartitions(t.name, t.replicas.length);
      const overrides = s.describeTopic(t.name).overrides;
      if (JSON.stringify(sorted(overrides)) !== JSON.stringify(sorted(t.config))) {
        await s.alterTopicConfig(t.name, { set: t.config, replace: true });
      }
    }
    for (const name of s.listTopics()) {
      if (this.cache.topics.has(name)) continue;
      const id = s.topicId(name);
      // A data directory that has been part of this cluster mirrors only its topics: one
      // missing now was deleted while this broker was away. A directory joining for the first
      // time keeps what it had, unserved, for the operator to decide.
      // An empty cluster deleting everything is more likely an etcd that lost its data.
      if ((this.member && this.cache.topics.size > 0) || this.mirrored.has(id)) {
        this.options.logger.info({ topic: name, id }, 'topic deleted in the cluster: deleting its local logs');
        await s.deleteTopic(name);
      } else if (!this.warnedStray.has(name)) {
        this.warnedStray.add(name);
        this.options.logger.warn({ topic: name, id }, 'local topic unknown to the cluster: it is kept on disk but not served');
      }
    }
    for (const t of this.cache.topics.values()) this.mirrored.add(t.id);
    if (!this.member) {
      fs.writeFileSync(path.join(s.dir, MEMBER_FILE), `cluster=${this.keys.cluster}\ncluster.id=${this.clusterId}\n`);
      this.member = true;
    }
  }

  /** Whether this data directory has been synced with this cluster before (MEMBER_FILE). */
  private member = false;

  private readonly mirrored = new Set<string>();
  private readonly warnedStray = new Set<string>();
}

/** Producer ids a broker takes from etcd at a time. */
const PRODUCER_ID_BLOCK = 1000;

/** Written in the data directory once it mirrors a cluster: `cluster=<name>` and `cluster.id=<id>`. */
const MEMBER_FILE = 'cluster.properties';

function readMember(dir: string): { cluster: string; clusterId: string | null } | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, MEMBER_FILE), 'utf8');
  } catch {
    return null;
  }
  const cluster = /^cluster=(.*)$/m.exec(text)?.[1]?.trim();
  return cluster ? { cluster, clusterId: /^cluster\.id=(.*)$/m.exec(text)?.[1]?.trim() ?? null } : null;
}

function sorted(o: Record<string, string>): [string, string][] {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1));
}
