/**
 * What a client knows of a cluster: the brokers (from Metadata), where each partition's
 * leader is, and one connection per broker, opened on first use. Requests about a partition
 * go to its leader; group requests go to the group's coordinator (FindCoordinator) over a
 * connection of their own, so a JoinGroup that waits for a rebalance never holds up fetches.
 * Works the same with one broker or many. Not thread-safe; one event loop owns it.
 */
import { ApiKey } from '../protocol/apis.js';
import { ErrorCode, isRetriable } from '../protocol/error-codes.js';
import { Connection, type ConnectionOptions } from './connection.js';
import { brokerError } from './errors.js';

export interface BrokerAddress {
  host: string;
  port: number;
}

export interface BrokerInfo extends BrokerAddress {
  nodeId: number;
  rack: string | null;
}

export interface PartitionInfo {
  partition: number;
  errorCode: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offline: number[];
}

export interface TopicInfo {
  name: string;
  topicId: string;
  errorCode: number;
  isInternal: boolean;
  /** Sorted by partition. */
  partitions: PartitionInfo[];
}

export interface ClusterMetadata {
  clusterId: string | null;
  controllerId: number;
  brokers: Map<number, BrokerInfo>;
  topics: Map<string, TopicInfo>;
}

export type ClusterOptions = Omit<ConnectionOptions, 'host' | 'port'> & {
  /** `host:port[,host:port...]` or a list of them. */
  bootstrap: string | readonly string[];
};

/** Parses `host:port[,host:port]`; throws RangeError naming the bad entry. */
export function parseBootstrap(servers: string | readonly string[]): BrokerAddress[] {
  const list = (typeof servers === 'string' ? servers.split(',') : servers).map((s) => s.trim()).filter((s) => s !== '');
  if (list.length === 0) throw new RangeError('no bootstrap server given (expected host:port)');
  return list.map((s) => {
    const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(s);
    const port = m ? Number(m[2]) : NaN;
    if (!m || m[1] === '' || port < 1 || port > 65535) throw new RangeError(`'${s}' is not host:port (e.g. 127.0.0.1:9092)`);
    return { host: m[1]!, port };
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Cluster {
  private readonly connections = new Map<string, Promise<Connection>>();
  private readonly coordinators = new Map<string, Promise<Connection>>();
  private known: ClusterMetadata | null = null;

  private constructor(
    private readonly options: ClusterOptions,
    private readonly bootstrapConnection: Connection,
  ) {
    this.connections.set(bootstrapConnection.address, Promise.resolve(bootstrapConnection));
  }

  /** Connects to the first bootstrap server that answers. */
  static async connect(options: ClusterOptions): Promise<Cluster> {
    let first: unknown;
    for (const address of parseBootstrap(options.bootstrap)) {
      try {
        return new Cluster(options, await Connection.open({ ...options, ...address }));
      } catch (err) {
        first ??= err;
      }
    }
    throw first;
  }

  /** The connection to the bootstrap broker (any broker can answer metadata and admin reads). */
  get bootstrap(): Connection {
    return this.bootstrapConnection;
  }

  /** The metadata last fetched, if any. */
  get cached(): ClusterMetadata | null {
    return this.known;
  }

  /** Metadata for `topics` (null: every topic). Unknown topics come back with their error code. */
  async metadata(topics: readonly string[] | null, allowAutoTopicCreation = false): Promise<ClusterMetadata> {
    const conn = await this.anyConnection();
    const v = conn.versions.versionFor(ApiKey.Metadata);
    const list = topics === null ? (v === 0 ? [] : null) : topics.map((name) => ({ name }));
    const res = await conn.request(ApiKey.Metadata, { topics: list, allowAutoTopicCreation });
    const md: ClusterMetadata = {
      clusterId: res.clusterId,
      controllerId: res.controllerId,
      brokers: new Map(res.brokers.map((b) => [b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack }])),
      // Asked for some topics: what is known of the others stays.
      topics: topics === null ? new Map() : new Map(this.known?.topics),
    };
    for (const t of res.topics) {
      const name = t.name ?? '';
      md.topics.set(name, {
        name,
        topicId: t.topicId,
        errorCode: t.errorCode,
        isInternal: t.isInternal,
        partitions: t.partitions
          .map((p) => ({
            partition: p.partitionIndex,
            errorCode: p.errorCode,
            leader: p.leaderId,
            leaderEpoch: p.leaderEpoch,
            replicas: p.replicaNodes,
            isr: p.isrNodes,
            offline: p.offlineReplicas,
          }))
          .sort((a, b) => a.partition - b.partition),
      });
    }
    this.known = md;
    return md;
  }

  /**
   * Metadata of one topic that must exist: throws UNKNOWN_TOPIC_OR_PARTITION (or the topic's
   * error) naming it. Retries while leaders are being elected.
   */
  async topic(name: string, allowAutoTopicCreation = false): Promise<TopicInfo> {
    for (let attempt = 0; ; attempt++) {
      const t = (await this.metadata([name], allowAutoTopicCreation)).topics.get(name);
      const code = t === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : t.errorCode;
      const leaderless = t !== undefined && t.partitions.some((p) => p.leader < 0);
      if (code === ErrorCode.NONE && !leaderless) return t!;
      const transient = code === ErrorCode.LEADER_NOT_AVAILABLE || leaderless || (allowAutoTopicCreation && code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      if (!transient || attempt >= 20) {
        const what = code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? `topic '${name}' does not exist` : code === ErrorCode.NONE ? `topic '${name}' has partitions without a leader` : `topic '${name}'`;
        throw brokerError(code === ErrorCode.NONE ? ErrorCode.LEADER_NOT_AVAILABLE : code, what);
      }
      await sleep(100);
    }
  }

  /** The connection to broker `nodeId` (from the last metadata). */
  async broker(nodeId: number): Promise<Connection> {
    let b = this.known?.brokers.get(nodeId);
    if (b === undefined) b = (await this.metadata([])).brokers.get(nodeId);
    if (b === undefined) throw brokerError(ErrorCode.BROKER_NOT_AVAILABLE, `broker ${nodeId} is not in the cluster metadata`);
    return this.open(this.connections, b);
  }

  /** The leader of a partition (from the last metadata, fetched if the topic is not known). */
  async leaderOf(topic: string, partition: number): Promise<number> {
    let t = this.known?.topics.get(topic);
    if (t === undefined || t.errorCode !== 0) t = await this.topic(topic);
    const p = t.partitions.find((x) => x.partition === partition);
    if (p === undefined) throw brokerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${topic}' has no partition ${partition}`);
    return p.leader;
  }

  /** `items` grouped by the leader of the partition each one is for (`tp` says which). */
  async byLeader<T>(items: Iterable<T>, tp: (item: T) => { topic: string; partition: number }): Promise<Map<number, T[]>> {
    const out = new Map<number, T[]>();
    for (const item of items) {
      const { topic, partition } = tp(item);
      const leader = await this.leaderOf(topic, partition);
      let list = out.get(leader);
      if (list === undefined) out.set(leader, (list = []));
      list.push(item);
    }
    return out;
  }

  /** The controller (where CreateTopics, DeleteTopics, CreatePartitions go). */
  async controller(): Promise<Connection> {
    const md = this.known ?? (await this.metadata([]));
    return md.controllerId >= 0 && md.brokers.has(md.controllerId) ? this.broker(md.controllerId) : this.anyConnection();
  }

  /** Every broker of the cluster, connected. */
  async allBrokers(): Promise<Connection[]> {
    const md = await this.metadata([]);
    return Promise.all([...md.brokers.keys()].map((id) => this.broker(id)));
  }

  /**
   * A connection to the coordinator of `groupId` (keyType 1: of a transactional id), kept
   * apart from data connections.
   */
  async coordinator(groupId: string, keyType: 0 | 1 = 0): Promise<Connection> {
    for (let attempt = 0; ; attempt++) {
      const conn = await this.anyConnection();
      const v = conn.versions.versionFor(ApiKey.FindCoordinator);
      const res = await conn.request(ApiKey.FindCoordinator, v >= 4 ? { keyType, coordinatorKeys: [groupId] } : { key: groupId, keyType });
      const c = v >= 4 ? res.coordinators[0] : res;
      if (c === undefined) throw brokerError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `no coordinator for group '${groupId}'`);
      if (c.errorCode === ErrorCode.NONE) return this.open(this.coordinators, { host: c.host, port: c.port });
      if (!isRetriable(c.errorCode) || attempt >= 20) throw brokerError(c.errorCode, `finding the coordinator of group '${groupId}'`, c.errorMessage);
      await sleep(200);
    }
  }

  /** Forgets a coordinator connection (after NOT_COORDINATOR): the next call looks it up again. */
  dropCoordinators(): void {
    for (const p of this.coordinators.values()) void p.then((c) => c.close(), () => {});
    this.coordinators.clear();
  }

  close(): void {
    for (const map of [this.connections, this.coordinators]) {
      for (const p of map.values()) void p.then((c) => c.close(), () => {});
      map.clear();
    }
    this.bootstrapConnection.close();
  }

  private async anyConnection(): Promise<Connection> {
    if (this.bootstrapConnection.isOpen) return this.bootstrapConnection;
    for (const p of this.connections.values()) {
      const c = await p.catch(() => null);
      if (c?.isOpen) return c;
    }
    const first = parseBootstrap(this.options.bootstrap)[0]!;
    return this.open(this.connections, first);
  }

  private open(pool: Map<string, Promise<Connection>>, to: BrokerAddress): Promise<Connection> {
    const key = `${to.host}:${to.port}`;
    const existing = pool.get(key);
    if (existing !== undefined) {
      return existing.then(
        (c) => (c.isOpen ? c : this.reopen(pool, key, to)),
        () => this.reopen(pool, key, to),
      );
    }
    return this.reopen(pool, key, to);
  }

  private reopen(pool: Map<string, Promise<Connection>>, key: string, to: BrokerAddress): Promise<Connection> {
    const p = Connection.open({ ...this.options, host: to.host, port: to.port });
    pool.set(key, p);
    p.catch(() => pool.delete(key));
    return p;
  }
}
