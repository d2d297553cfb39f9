/**
 * What the embedded clients (src/client) need from the broker they run in. The producer and
 * consumer depend on this interface, not on the `Sluice` facade that hands them out, so the
 * facade and the clients do not import each other (shared/DESIGN.md, "Where new code goes").
 * `Sluice` is the one implementation.
 */
import type { GroupCoordinator } from '../group/index.js';
import type { TrafficCounters } from '../observability/traffic.js';
import type { WorkerPool } from '../workers/index.js';
import type { Partition } from './partition.js';
import type { TopicConfig } from './topic-config.js';

import type { TransactionCoordinator } from '../txn/coordinator.js';

export interface ClientHost {
  /** The worker pool that compresses and decompresses big batches. */
  readonly pool: WorkerPool;
  /** The group coordinator the consumer's group member talks to. */
  readonly groups: GroupCoordinator;
  /** Records and bytes in and out per topic. */
  readonly traffic: TrafficCounters;
  hasTopic(name: string): boolean;
  /** Creates the topic with broker defaults unless it exists (auto-creation), or throws UnknownTopicError. */
  ensureTopic(name: string): Promise<void>;
  partitionCount(topic: string): number;
  /** The partition, or UnknownTopicError. */
  partition(topic: string, index: number): Partition;
  /** The config in force for a topic. */
  topicConfig(name: string): TopicConfig;
  /** Throws SluiceClosedError once the broker is closed. */
  ensureOpen(): void;
  /** The transaction coordinator transactional producers use. */
  transactionCoordinator(): Promise<TransactionCoordinator>;
  /** Called by a client when it closes. */
  untrack(client: { close(): Promise<void> }): void;
}
