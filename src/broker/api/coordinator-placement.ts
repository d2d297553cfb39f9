/**
 * Which broker coordinates a group. Alone, this broker coordinates every group. In a cluster,
 * as in Kafka, the coordinator of a group is the leader of its `__consumer_offsets` partition
 * (Java's abs(groupId.hashCode()) % the topic's partition count): the topic is a cluster
 * topic whose partitions the controller spreads over the brokers (created on first use, as
 * Kafka does), and group requests that reach another broker get NOT_COORDINATOR, so clients
 * ask FindCoordinator again. Each broker keeps the groups it coordinates in its own log of
 * that partition.
 */
import { OFFSETS_TOPIC } from '../../group/index.js';
import { offsetsPartitionFor } from '../../group/offset-record.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerContext } from './context.js';

export interface CoordinatorAnswer {
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
}

/** FindCoordinator's answer for a group in a cluster (creating the offsets topic on first use). */
export async function clusterGroupCoordinator(ctx: BrokerContext, groupId: string): Promise<CoordinatorAnswer> {
  const cluster = ctx.cluster!;
  const none = (errorCode: number, errorMessage: string): CoordinatorAnswer => ({ errorCode, errorMessage, nodeId: -1, host: '', port: -1 });
  let topic = cluster.topic(OFFSETS_TOPIC);
  if (!topic) {
    try {
      await cluster.createTopic(OFFSETS_TOPIC, { partitions: ctx.sluice.groups.offsetsPartitionCount, replicationFactor: cluster.defaultReplicationFactor(true), config: { 'cleanup.policy': 'compact' }, timeoutMs: 10_000 });
      ctx.logger?.info({ topic: OFFSETS_TOPIC, partitions: ctx.sluice.groups.offsetsPartitionCount }, 'created the offsets topic in the cluster');
    } catch (err) {
      if ((err as { errorCode?: number }).errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
        return none(ErrorCode.COORDINATOR_NOT_AVAILABLE, `the offsets topic could not be created: ${(err as Error).message}`);
      }
    }
    topic = cluster.topic(OFFSETS_TOPIC);
    if (!topic) return none(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'the offsets topic is being created');
  }
  const partition = offsetsPartitionFor(groupId, topic.replicas.length);
  const leader = cluster.partitionState(OFFSETS_TOPIC, partition)?.leader ?? -1;
  const broker = cluster.brokers().find((b) => b.id === leader);
  if (!broker) return none(ErrorCode.COORDINATOR_NOT_AVAILABLE, `partition ${partition} of ${OFFSETS_TOPIC}, which holds group '${groupId}', has no leader`);
  return { errorCode: ErrorCode.NONE, errorMessage: null, nodeId: broker.id, host: broker.host, port: broker.port };
}

/**
 * NONE when this broker coordinates the group; NOT_COORDINATOR when another broker does (or
 * COORDINATOR_NOT_AVAILABLE while nobody does). Always NONE on a lone broker.
 */
export function coordinatorError(ctx: BrokerContext, groupId: string): number {
  const cluster = ctx.cluster;
  if (!cluster) return ErrorCode.NONE;
  const topic = cluster.topic(OFFSETS_TOPIC);
  if (!topic) return ErrorCode.NOT_COORDINATOR;
  const leader = cluster.partitionState(OFFSETS_TOPIC, offsetsPartitionFor(groupId, topic.replicas.length))?.leader ?? -1;
  if (leader === ctx.nodeId) return ErrorCode.NONE;
  return leader < 0 ? ErrorCode.COORDINATOR_NOT_AVAILABLE : ErrorCode.NOT_COORDINATOR;
}
