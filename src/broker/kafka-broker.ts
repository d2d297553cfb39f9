/**
 * A Sluice broker on the network: the embedded Sluice, the Kafka protocol handlers and the
 * TCP server, started and stopped together. This is what `sluice serve` and `npm start` run.
 */
import http from 'node:http';
import { KafkaServer, SERVER_DEFAULTS, type ServerOptions } from '../server/index.js';
import { BrokerMetrics } from '../observability/metrics.js';
import { apiName, createDispatcher } from './api/dispatcher.js';
import type { BrokerContext, BrokerSettings } from './api/context.js';
import type { RequestLimits } from './api/limits.js';
import { ProducerStateManager } from './api/producer-state.js';
import { LogDirSpace } from './log-dir-space.js';
import { Sluice, type SluiceOptions } from './sluice.js';
import { ClusterNode } from '../cluster/node.js';
import type { ReplicationSettings } from '../replication/replica-manager.js';
import { BrokerChannel } from '../cluster/broker-channel.js';
import { TRANSACTION_STATE_TOPIC } from '../txn/transaction-log-record.js';
import { OFFSETS_TOPIC } from '../group/index.js';
import { ErrorCode, errorName, KafkaError } from '../protocol/error-codes.js';
import { registerClusterMetrics } from '../observability/cluster-metrics.js';
import { registerReplicationMetrics } from '../observability/replication-metrics.js';
import type { SessionLogger } from '../cluster/session.js';
import type { StorageLogger } from '../storage/index.js';
import { SOFTWARE_VERSION } from '../version.js';
import { startConsole, type ConsoleOptions, type RunningConsole } from '../console/index.js';
import { openTransactionCoordinator, type TransactionSettings } from '../txn/broker.js';
import type { TransactionCoordinator } from '../txn/coordinator.js';

/** The broker's logger for the cluster code, which also logs errors (pino has `error`). */
function clusterLogger(logger: BrokerOptions['logger']): SessionLogger {
  if (!logger) return { info() {}, warn() {}, error() {} };
  const l = logger as StorageLogger & { error?: (obj: object, msg: string) => void };
  return { info: (o, m) => l.info(o, m), warn: (o, m) => l.warn(o, m), error: (o, m) => (l.error ? l.error(o, m) : l.warn(o, m)) };
}

export interface BrokerOptions extends SluiceOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 9092; 0 picks a free one). */
  port?: number;
  /** Host and port clients are told to connect to (default: host and the bound port). */
  advertisedHost?: string;
  advertisedPort?: number;
  /** acks=-1 waits for an fsync (default true). */
  acksAllFsync?: boolean;
  /** Longest a Fetch long poll may wait, ms (default 30000). */
  maxFetchWaitMs?: number;
  /** TCP limits: max request size, connections, idle timeout, in-flight requests. */
  server?: Omit<ServerOptions, 'host' | 'port' | 'logger'>;
  /** Prometheus endpoint (default 127.0.0.1:9644); false turns it off. */
  metrics?: { host?: string; port?: number } | false;
  /** What one request may create or allocate (src/broker/api/limits.ts). */
  limits?: Partial<RequestLimits>;
  /** Join a cluster coordinated through etcd (absent: run alone). */
  cluster?: ClusterSettings;
  /** The web console (src/console); absent or false: off. `sluice serve` turns it on at 9645. */
  console?: ConsoleOptions | false;
  /** The transaction coordinator's settings (transaction.max.timeout.ms, ...). */
  transactions?: TransactionSettings;
}

export interface ClusterSettings {
  /** etcd client URLs. */
  etcd: string[];
  /** Cluster name, the etcd prefix (default 'sluice'). */
  name?: string;
  /** This broker's id (node.id), unique in the cluster. */
  nodeId: number;
  /** broker.rack, for rack-aware replica assignment. */
  rack?: string | null;
  /** broker.session.timeout.ms (default 9000): how long a silent broker keeps its registration. */
  sessionTimeoutMs?: number;
  /** unclean.leader.election.enable for topics that do not set it (default false). */
  uncleanLeaderElection?: boolean;
  /** auto.leader.rebalance.enable (default true). */
  autoLeaderRebalance?: boolean;
  /** replica.lag.time.max.ms and the follower fetch settings. */
  replication?: ReplicationSettings;
  /** default.replication.factor (default 1). */
  defaultReplicationFactor?: number;
  /** offsets.topic.replication.factor (default 3, capped by the live brokers). */
  offsetsTopicReplicationFactor?: number;
  /** How long a stopping broker waits for its leaderships to move (default 15000). */
  controlledShutdownTimeoutMs?: number;
}

export class KafkaBroker {
  private constructor(
    readonly sluice: Sluice,
    readonly server: KafkaServer,
    readonly address: { host: string; port: number },
    /** Where /metrics is served, or null when off. */
    readonly metricsAddress: { host: string; port: number } | null,
    private readonly metricsServer: http.Server | null,
    /** This broker's place in its cluster, or null when it runs alone. */
    readonly cluster: ClusterNode | null,
    /** What /ready reports: null while serving, else why not. */
    private readonly readiness: { notReady: string | null },
    /** The web console, or null when off. */
    private readonly webConsole: RunningConsole | null = null,
    /** The transaction coordinator. */
    readonly transactions: TransactionCoordinator | null = null,
    private readonly brokerChannel: BrokerChannel | null = null,
  ) {}

  /** Where the web console is served, or null when off. */
  get consoleAddress(): { host: string; port: number } | null {
    return this.webConsole?.address ?? null;
  }

  static async start(options: BrokerOptions): Promise<KafkaBroker> {
    const maxConnections = options.server?.maxConnections ?? SERVER_DEFAULTS.maxConnections;
    // In a cluster, topics come from etcd: the engine never creates one on its own.
    const sluice = await Sluice.open({
      autoCreateTopics: true,
      ...options,
      ...(options.cluster ? { autoCreateTopics: false, nodeId: options.cluster.nodeId } : {}),
      openFileNeeds: [...(options.openFileNeeds ?? []), { setting: 'max.connections', flag: '--max-connections', count: maxConnections }],
    });
    let cluster: ClusterNode | null = null;
    let transactions: TransactionCoordinator | undefined;
    let brokerChannel: BrokerChannel | undefined;
    try {
      const settings: BrokerSettings = {
        advertisedHost: options.advertisedHost ?? options.host ?? '127.0.0.1',
        advertisedPort: options.advertisedPort ?? options.port ?? 9092,
        // In a cluster, replication is the durability (as in Kafka); the fsync stays a setting.
        acksAllFsync: options.acksAllFsync ?? !options.cluster,
        autoCreateTopics: options.autoCreateTopics ?? true,
        maxFetchWaitMs: options.maxFetchWaitMs ?? 30_000,
        limits: options.limits,
      };
      const ctx: BrokerContext = {
        sluice,
        settings,
        nodeId: sluice.meta.nodeId,
        clusterId: sluice.meta.clusterId,
        producers: new ProducerStateManager(sluice.dir),
        logger: options.logger,
        logDirSpace: new LogDirSpace(sluice.dir, options.logger),
      };
      if (options.cluster) {
        cluster = ClusterNode.create(
          {
            etcd: options.cluster.etcd,
            cluster: options.cluster.name,
            nodeId: options.cluster.nodeId,
            rack: options.cluster.rack,
            advertisedHost: settings.advertisedHost,
            sessionTimeoutMs: options.cluster.sessionTimeoutMs,
            uncleanLeaderElection: options.cluster.uncleanLeaderElection,
            autoLeaderRebalance: options.cluster.autoLeaderRebalance,
            replication: options.cluster.replication,
            defaultReplicationFactor: options.cluster.defaultReplicationFactor,
            offsetsTopicReplicationFactor: options.cluster.offsetsTopicReplicationFactor,
            controlledShutdownTimeoutMs: options.cluster.controlledShutdownTimeoutMs,
            software: SOFTWARE_VERSION,
            logger: clusterLogger(options.logger),
          },
          sluice,
        );
        // Set before the socket opens: a client that comes early is told to retry, never
        // answered as if this broker were alone.
        ctx.cluster = cluster;
        ctx.replicas = cluster.replicas;
        const replicas = cluster.replicas;
        const node = cluster;
        sluice.groups.offsetStore.replication = {
          leaderEpoch: (p) => node.partitionState(OFFSETS_TOPIC, p)?.leaderEpoch,
          replicated: async (p, endOffset) => {
            const code = await replicas.awaitReplication(OFFSETS_TOPIC, p, endOffset, 1, 5000);
            if (code !== ErrorCode.NONE) throw new KafkaError(code === ErrorCode.NOT_LEADER_OR_FOLLOWER ? ErrorCode.NOT_COORDINATOR : ErrorCode.COORDINATOR_NOT_AVAILABLE, `offsets partition ${p}: the write was not replicated (${errorName(code)})`);
          },
        };
        brokerChannel = ctx.brokerChannel = new BrokerChannel({ nodeId: options.cluster.nodeId, address: (id) => node.brokers().find((b) => b.id === id) });
        cluster.onRoleChange((partition, role) => {
          // A new leader rebuilds producer state from its log (a follower copied batches without it),
          // and a new coordinator reads its groups from its offsets partition, or its
          // transactional ids from its transaction state partition.
          if (role === 'leader' || role === 'none') ctx.producers.drop(partition);
          if (partition.topic === OFFSETS_TOPIC) sluice.groups.loadPartition(partition.index, role === 'leader');
          if (partition.topic === TRANSACTION_STATE_TOPIC) {
            const epoch = node.partitionState(TRANSACTION_STATE_TOPIC, partition.index)?.leaderEpoch;
            if (role === 'leader' && epoch !== undefined) ctx.transactions?.loadPartition(partition.index, epoch);
            else ctx.transactions?.unloadPartition(partition.index);
          }
        });
      }
      // After the cluster node: the coordinator's partitions are served once it joins.
      transactions = ctx.transactions = await openTransactionCoordinator(ctx, options.transactions, options.durability);
      sluice.useTransactionCoordinator(transactions);
      const server = new KafkaServer(createDispatcher(ctx), {
        ...options.server,
        host: options.host ?? '127.0.0.1',
        port: options.port ?? 9092,
        logger: options.logger,
      });
      const address = await server.listen().catch((err: NodeJS.ErrnoException) => {
        const where = `${options.host ?? '127.0.0.1'}:${options.port ?? 9092}`;
        const fix = err.code === 'EADDRINUSE' ? ' (another process has it: choose another --port, or stop that process)' : ' (check --host and --port)';
        throw new Error(`cannot listen for Kafka clients on ${where}: ${err.message}${fix}`);
      });
      if (options.advertisedPort === undefined) settings.advertisedPort = address.port;
      // The metrics endpoint comes up before the broker joins its cluster, which can take long
      // (etcd unreachable: it retries): /health answers at once, /ready says why it waits.
      const readiness: { notReady: string | null } = { notReady: cluster ? 'joining the cluster' : null };
      let metricsAddress: { host: string; port: number } | null = null;
      let metricsServer: http.Server | null = null;
      if (options.metrics !== false) {
        const metrics = new BrokerMetrics(sluice, server, apiName, ctx.logDirSpace);
        ctx.metrics = metrics;
        if (cluster) {
          registerClusterMetrics(metrics.registry, cluster);
          registerReplicationMetrics(metrics.registry, cluster.replicas, cluster.cache);
        }
        const host = options.metrics?.host ?? '127.0.0.1';
        const notReady = () => (readiness.notReady !== null && cluster?.joinError ? `${readiness.notReady}: ${cluster.joinError}` : readiness.notReady);
        const bound = await metrics.listen(host, options.metrics?.port ?? 9644, notReady).catch(async (err: unknown) => {
          await server.close();
          throw new Error(`cannot serve metrics on ${host}:${options.metrics ? options.metrics.port : 9644}: ${(err as Error).message} (choose another --metrics-port, or 0 to turn metrics off)`);
        });
        metricsServer = bound.server;
        metricsAddress = { host, port: bound.port };
      }
      if (cluster) {
        try {
          await cluster.start(settings.advertisedPort);
        } catch (err) {
          await server.close();
          await cluster.stop().catch(() => {});
          await new Promise<void>((r) => (metricsServer ? metricsServer.close(() => r()) : r()));
          throw err;
        }
        ctx.clusterId = cluster.clusterId;
        readiness.notReady = null;
      }
      let webConsole: RunningConsole | null = null;
      if (options.console) {
        webConsole = await startConsole(options.console, { sluice, cluster, nodeId: ctx.nodeId, clusterId: () => ctx.clusterId, advertised: () => ({ host: settings.advertisedHost, port: settings.advertisedPort }) }).catch(async (err: unknown) => {
          await cluster?.stop().catch(() => {});
          await server.close();
          await new Promise<void>((r) => (metricsServer ? metricsServer.close(() => r()) : r()));
          throw err;
        });
      }
      return new KafkaBroker(sluice, server, address, metricsAddress, metricsServer, cluster, readiness, webConsole, ctx.transactions ?? null, ctx.brokerChannel ?? null);
    } catch (err) {
      brokerChannel?.close();
      await transactions?.close().catch(() => {});
      await sluice.close();
      throw err;
    }
  }

  /**
   * In a cluster, the controlled shutdown: leaderships move to other in-sync replicas while
   * this broker still answers, so clients are told where to go instead of finding it gone.
   */
  async prepareShutdown(): Promise<void> {
    this.readiness.notReady = 'shutting down';
    await this.cluster?.controlledShutdown().catch(() => {});
  }

  /** Stops accepting, finishes in-flight requests, then closes Sluice cleanly. */
  async close(): Promise<void> {
    this.readiness.notReady = 'shutting down';
    // Leave the cluster first: the controller role and this broker's partitions move on at once.
    await this.cluster?.stop().catch(() => {});
    await this.webConsole?.close();
    await this.server.close();
    await new Promise<void>((r) => (this.metricsServer ? this.metricsServer.close(() => r()) : r()));
    this.brokerChannel?.close();
    await this.transactions?.close().catch(() => {});
    await this.sluice.close();
  }
}
