/**
 * Which broker coordinates a group or a transactional id. Alone, this broker coordinates
 * every one. In a cluster, as in Kafka, the coordinator of a group is the leader of its
 * `__consumer_offsets` partition, and the coordinator of a transactional id the leader of its
 * `__transaction_state` partition (Java's abs(key.hashCode()) % the topic's partition count).
 * Both are cluster topics whose partitions the controller spreads and replicates over the
 * brokers, created on first use as Kafka does; requests that reach another broker get
 * NOT_COORDINATOR, so clients ask FindCoordinator again.
 */
import { OFFSETS_TOPIC } from '../../group/index.js';
import { offsetsPartitionFor } from '../../group/offset-record.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { TRANSACTION_STATE_TOPIC, transactionStatePartitionFor } from '../../txn/transaction-log-record.js';
import type { BrokerContext } from './context.js';

export interface CoordinatorAnswer {
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
}

/** FindCoordinator's key types. */
export const GROUP_KEY = 0;
export const TRANSACTION_KEY = 1;

interface CoordinatorTopic {
  name: string;
  /** What the key is, in messages: 'group' or 'transactional id'. */
  what: string;
  partitionFor(key: string, partitions: number): number;
  /** How the topic is created: partitions, replicas, and its config for `replicationFactor` replicas. */
  partitions(ctx: BrokerContext): number;
  replicationFactor(ctx: BrokerContext): number;
  config(ctx: BrokerContext, replicationFactor: number): Record<string, string>;
}

const TOPICS: Record<number, CoordinatorTopic> = {
  [GROUP_KEY]: {
    name: OFFSETS_TOPIC,
    what: 'group',
    partitionFor: offsetsPartitionFor,
    partitions: (ctx) => ctx.sluice.groups.offsetsPartitionCount,
    replicationFactor: (ctx) => ctx.cluster!.defaultReplicationFactor(true),
    config: () => ({ 'cleanup.policy': 'compact' }),
  },
  [TRANSACTION_KEY]: {
    name: TRANSACTION_STATE_TOPIC,
    what: 'transactional id',
    partitionFor: transactionStatePartitionFor,
    partitions: (ctx) => ctx.transactions?.stateLog.partitionCount ?? 50,
    // transaction.state.log.replication.factor, capped at the brokers alive (as the offsets topic's).
    replicationFactor: (ctx) => Math.max(1, Math.min(ctx.transactions?.stateLogReplication.factor ?? 3, ctx.cluster!.brokers().length)),
    // transaction.state.log.min.isr, never more than there are replicas.
    config: (ctx, rf) => ({ 'cleanup.policy': 'compact', 'min.insync.replicas': String(Math.min(ctx.transactions?.stateLogReplication.minIsr ?? 2, rf)) }),
  },
};

/** FindCoordinator's answer in a cluster for a group (key type 0) or a transactional id (1), creating the topic on first use. */
export async function clusterCoordinator(ctx: BrokerContext, key: string, keyType: number): Promise<CoordinatorAnswer> {
  const cluster = ctx.cluster!;
  const spec = TOPICS[keyType]!;
  const none = (errorCode: number, errorMessage: string): CoordinatorAnswer => ({ errorCode, errorMessage, nodeId: -1, host: '', port: -1 });
  let topic = cluster.topic(spec.name);
  if (!topic) {
    const partitions = spec.partitions(ctx);
    const replicationFactor = spec.replicationFactor(ctx);
    try {
      await cluster.createTopic(spec.name, { partitions, replicationFactor, config: spec.config(ctx, replicationFactor), timeoutMs: 10_000 });
      ctx.logger?.info({ topic: spec.name, partitions, replicationFactor }, `created ${spec.name} in the cluster`);
    } catch (err) {
      if ((err as { errorCode?: number }).errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
        return none(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${spec.name} could not be created: ${(err as Error).message}`);
      }
    }
    topic = cluster.topic(spec.name);
    if (!topic) return none(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${spec.name} is being created`);
  }
  const partition = spec.partitionFor(key, topic.replicas.length);
  const leader = cluster.partitionState(spec.name, partition)?.leader ?? -1;
  const broker = cluster.brokers().find((b) => b.id === leader);
  if (!broker) return none(ErrorCode.COORDINATOR_NOT_AVAILABLE, `partition ${partition} of ${spec.name}, which holds ${spec.what} '${key}', has no leader`);
  return { errorCode: ErrorCode.NONE, errorMessage: null, nodeId: broker.id, host: broker.host, port: broker.port };
}

/** The broker that leads the coordinator partition of `key` (-1: none, or the topic does not exist yet). */
export function coordinatorNode(ctx: BrokerContext, key: string, keyType: number): number {
  const cluster = ctx.cluster;
  if (!cluster) return ctx.nodeId;
  const spec = TOPICS[keyType]!;
  const topic = cluster.topic(spec.name);
  if (!topic) return -1;
  return cluster.partitionState(spec.name, spec.partitionFor(key, topic.replicas.length))?.leader ?? -1;
}

/**
 * NONE when this broker coordinates the group; NOT_COORDINATOR when another broker does (or
 * COORDINATOR_NOT_AVAILABLE while nobody does). Always NONE on a lone broker.
 */
export function coordinatorError(ctx: BrokerContext, groupId: string): number {
  return placementError(ctx, groupId, GROUP_KEY);
}

/**
 * As coordinatorError, for a transactional id; COORDINATOR_LOAD_IN_PROGRESS while this broker
 * has just become its coordinator and has not read its state yet.
 */
export function transactionCoordinatorError(ctx: BrokerContext, transactionalId: string): number {
  const code = placementError(ctx, transactionalId, TRANSACTION_KEY);
  if (code === ErrorCode.NONE && ctx.transactions !== undefined && !ctx.transactions.coordinates(transactionalId)) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
  return code;
}

function placementError(ctx: BrokerContext, key: string, keyType: number): number {
  if (!ctx.cluster) return ErrorCode.NONE;
  if (!ctx.cluster.topic(TOPICS[keyType]!.name)) return ErrorCode.NOT_COORDINATOR;
  const leader = coordinatorNode(ctx, key, keyType);
  if (leader === ctx.nodeId) return ErrorCode.NONE;
  return leader < 0 ? ErrorCode.COORDINATOR_NOT_AVAILABLE : ErrorCode.NOT_COORDINATOR;
}
