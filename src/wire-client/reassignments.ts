/**
 * Reassignments and leader elections over the wire: AlterPartitionReassignments,
 * ListPartitionReassignments and ElectLeaders, sent to the controller as Kafka's admin client
 * does (a Sluice cluster serves them from any broker). Partition errors come back per
 * partition; a top-level error throws a KafkaError naming it.
 */
import { ApiKey } from '../protocol/apis.js';
import type { Cluster } from './cluster.js';
import { check } from './errors.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** One partition's answer: errorCode 0 when it went through. */
export interface PartitionResult extends TopicPartition {
  errorCode: number;
  errorMessage: string | null;
}

export interface OngoingReassignment extends TopicPartition {
  replicas: number[];
  adding: number[];
  removing: number[];
}

/** Starts reassignments (replicas) or cancels them (replicas null). */
export async function alterPartitionReassignments(cluster: Cluster, changes: readonly (TopicPartition & { replicas: number[] | null })[], timeoutMs = 30_000): Promise<PartitionResult[]> {
  const byTopic = new Map<string, { partitionIndex: number; replicas: number[] | null }[]>();
  for (const c of changes) {
    if (!byTopic.has(c.topic)) byTopic.set(c.topic, []);
    byTopic.get(c.topic)!.push({ partitionIndex: c.partition, replicas: c.replicas });
  }
  const conn = await cluster.controller();
  const res = await conn.request(ApiKey.AlterPartitionReassignments, { timeoutMs, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) });
  check(res.errorCode, 'reassigning partitions', res.errorMessage);
  return res.responses.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, errorCode: p.errorCode, errorMessage: p.errorMessage })));
}

/** The reassignments in progress (of the given partitions, or all). */
export async function listPartitionReassignments(cluster: Cluster, partitions: readonly TopicPartition[] | null = null, timeoutMs = 30_000): Promise<OngoingReassignment[]> {
  let topics: { name: string; partitionIndexes: number[] }[] | null = null;
  if (partitions !== null) {
    const byTopic = new Map<string, number[]>();
    for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    topics = [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
  }
  const conn = await cluster.controller();
  const res = await conn.request(ApiKey.ListPartitionReassignments, { timeoutMs, topics });
  check(res.errorCode, 'listing partition reassignments', res.errorMessage);
  return res.topics.flatMap((t) =>
    t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas, adding: p.addingReplicas, removing: p.removingReplicas })),
  );
}

/** Kafka's ElectionType. */
export const ElectionType = { preferred: 0, unclean: 1 } as const;

/** Elects leaders of the given partitions (null: every partition of the cluster). */
export async function electLeaders(cluster: Cluster, type: keyof typeof ElectionType, partitions: readonly TopicPartition[] | null, timeoutMs = 30_000): Promise<PartitionResult[]> {
  let topicPartitions: { topic: string; partitions: number[] }[] | null = null;
  if (partitions !== null) {
    const byTopic = new Map<string, number[]>();
    for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    topicPartitions = [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps }));
  }
  const conn = await cluster.controller();
  if (type === 'unclean' && conn.versions.versionFor(ApiKey.ElectLeaders) < 1) {
    throw new Error(`broker ${conn.address} speaks only ElectLeaders v0, which has no unclean elections`);
  }
  const res = await conn.request(ApiKey.ElectLeaders, { electionType: ElectionType[type], topicPartitions, timeoutMs });
  check(res.errorCode, `electing ${type} leaders`);
  return res.replicaElectionResults.flatMap((t) => t.partitionResult.map((p) => ({ topic: t.topic, partition: p.partitionId, errorCode: p.errorCode, errorMessage: p.errorMessage })));
}
