/**
 * What every request handler shares: the embedded broker, this node's identity as clients
 * should see it (advertised host and port), and the broker-level settings of the protocol
 * face. Not thread-safe: one event loop.
 */
import type { BrokerChannel } from '../../cluster/broker-channel.js';
import type { Sluice } from '../sluice.js';
import type { ProducerStateManager } from './producer-state.js';
import type { StorageLogger } from '../../storage/index.js';
import type { BrokerMetrics } from '../../observability/metrics.js';
import type { RequestLimits } from './limits.js';
import type { ClusterNode } from '../../cluster/node.js';
import type { LogDirSpace } from '../log-dir-space.js';
import type { ReplicaManager } from '../../replication/replica-manager.js';
import type { TransactionCoordinator } from '../../txn/coordinator.js';

export interface BrokerSettings {
  /** Host and port written into Metadata and FindCoordinator answers. */
  advertisedHost: string;
  advertisedPort: number;
  /** acks=-1 is acknowledged only after an fsync covering it (default true): acks=all on a lone broker. */
  acksAllFsync: boolean;
  /** auto.create.topics.enable for Metadata and Produce requests (default true). */
  autoCreateTopics: boolean;
  /** Longest a Fetch may wait (clamps max.wait.ms), ms. */
  maxFetchWaitMs: number;
  /** What one request may create or allocate (limits.ts); DEFAULT_LIMITS where not given. */
  limits?: Partial<RequestLimits>;
}

export interface BrokerContext {
  sluice: Sluice;
  settings: BrokerSettings;
  nodeId: number;
  clusterId: string;
  producers: ProducerStateManager;
  /** The broker's log (pino), for failures worth an operator's attention. */
  logger?: StorageLogger & { debug?(obj: object, msg: string): void };
  /** Request counts, errors and latency (absent when metrics are off). */
  metrics?: BrokerMetrics;
  /** This broker's place in a cluster (etcd); absent when it runs alone. */
  cluster?: ClusterNode;
  /** This broker's replicas in a cluster: followers' fetches, the ISR, acks=all waits. */
  replicas?: ReplicaManager;
  /** Requests to the other brokers of the cluster (transaction markers, KIP-890 verification). */
  brokerChannel?: BrokerChannel;
  /** Full-disk incidents of the log dir: told once, counted, and their end told. */
  logDirSpace?: LogDirSpace;
  /** The transaction coordinator (absent: transactional requests are refused). */
  transactions?: TransactionCoordinator;
}

/** Kafka's "not provided" authorized-operations value. */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
