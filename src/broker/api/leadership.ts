/**
 * Which partitions this broker serves. Alone, it leads every partition it has. In a cluster
 * (ctx.cluster), it serves Produce, Fetch and ListOffsets only for the partitions it leads,
 * at the leader epoch the client names, and answers the others as a Kafka broker does:
 * NOT_LEADER_OR_FOLLOWER (the client refreshes its metadata), FENCED_LEADER_EPOCH for an
 * older epoch, UNKNOWN_LEADER_EPOCH for a newer one.
 */
import { ErrorCode, KafkaError, errorName } from '../../protocol/error-codes.js';
import type { Partition } from '../partition.js';
import type { BrokerContext } from './context.js';

export class NotServedError extends KafkaError {
  constructor(errorCode: number, topic: string, partition: number, nodeId: number, leader: number) {
    super(errorCode, `broker ${nodeId} does not serve ${topic}-${partition} (${errorName(errorCode)}; its leader is ${leader})`);
    this.name = 'NotServedError';
  }
}

/** The partition when this broker serves it at `currentLeaderEpoch` (-1: any), else NotServedError. */
export function servedPartition(ctx: BrokerContext, topic: string, partition: number, currentLeaderEpoch = -1): Partition {
  const cluster = ctx.cluster;
  if (cluster) {
    const code = cluster.leadershipError(topic, partition, currentLeaderEpoch);
    if (code !== ErrorCode.NONE) throw new NotServedError(code, topic, partition, ctx.nodeId, cluster.partitionState(topic, partition)?.leader ?? -1);
  }
  return ctx.sluice.partition(topic, partition);
}

/** The leader epoch to report for a partition (0 on a lone broker, which has one epoch ever). */
export function leaderEpochOf(ctx: BrokerContext, topic: string, partition: number): number {
  return ctx.cluster?.partitionState(topic, partition)?.leaderEpoch ?? 0;
}

/** The brokers a Metadata or DescribeCluster answer lists: the live ones, or this one alone. */
export function brokersOf(ctx: BrokerContext): { nodeId: number; host: string; port: number; rack: string | null }[] {
  if (!ctx.cluster) return [{ nodeId: ctx.nodeId, host: ctx.settings.advertisedHost, port: ctx.settings.advertisedPort, rack: null }];
  return ctx.cluster.brokers().map((b) => ({ nodeId: b.id, host: b.host, port: b.port, rack: b.rack }));
}

/** The controller's id (-1 while the cluster has none). */
export function controllerIdOf(ctx: BrokerContext): number {
  return ctx.cluster ? ctx.cluster.controllerId() : ctx.nodeId;
}

/** Leader, leader epoch, replicas, ISR and offline replicas of a partition, as Metadata lists them. */
export function partitionLeadership(ctx: BrokerContext, topic: string, partition: number): { errorCode: number; leaderId: number; leaderEpoch: number; replicaNodes: number[]; isrNodes: number[]; offlineReplicas: number[] } {
  const cluster = ctx.cluster;
  if (!cluster) return { errorCode: ErrorCode.NONE, leaderId: ctx.nodeId, leaderEpoch: 0, replicaNodes: [ctx.nodeId], isrNodes: [ctx.nodeId], offlineReplicas: [] };
  const replicas = cluster.topic(topic)?.replicas[partition] ?? [];
  const state = cluster.partitionState(topic, partition);
  const live = new Set(cluster.brokers().map((b) => b.id));
  const leader = state?.leader ?? -1;
  return {
    errorCode: leader === -1 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
    leaderId: leader,
    leaderEpoch: state?.leaderEpoch ?? -1,
    replicaNodes: replicas,
    isrNodes: state?.isr ?? [],
    offlineReplicas: replicas.filter((r) => !live.has(r)),
  };
}
