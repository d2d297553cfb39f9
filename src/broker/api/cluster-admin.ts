/**
 * Topic administration in a cluster: CreateTopics and CreatePartitions write to etcd through
 * the broker's ClusterNode, from whichever broker a client asks (DeleteTopics does too, in
 * admin.ts). The names,
 * configs and partition counts are checked first with the local engine's rules (validateOnly),
 * so a cluster refuses what a lone broker refuses, with the same messages.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { resolveTopicConfig, topicConfigOverrides } from '../topic-config.js';
import type { CreatableTopic } from './admin.js';
import type { BrokerContext } from './context.js';
import { errorCodeOf, errorMessageOf } from './errors.js';

export async function createTopicsInCluster(ctx: BrokerContext, req: { topics: CreatableTopic[]; timeoutMs: number; validateOnly: boolean }, zeroUuid: string) {
  const cluster = ctx.cluster!;
  const seen = new Set<string>();
  const topics = [];
  for (const t of req.topics) {
    const result = { name: t.name, topicId: zeroUuid, errorCode: ErrorCode.NONE as number, errorMessage: null as string | null, numPartitions: -1, replicationFactor: -1, configs: null as unknown[] | null };
    try {
      if (seen.has(t.name)) throw Object.assign(new Error(`topic '${t.name}' appears twice in the request`), { errorCode: ErrorCode.INVALID_REQUEST });
      seen.add(t.name);
      if (cluster.topic(t.name)) throw Object.assign(new Error(`topic '${t.name}' already exists`), { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS });
      const config: Record<string, string> = {};
      for (const c of t.configs) if (c.value !== null) config[c.name] = c.value;
      const assignments = t.assignments.length > 0 ? [...t.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex).map((a) => a.brokerIds) : undefined;
      const partitions = assignments?.length ?? (t.numPartitions === -1 ? ctx.sluice.partitionCountDefault : t.numPartitions);
      const replicationFactor = assignments?.[0]?.length ?? (t.replicationFactor === -1 ? cluster.defaultReplicationFactor() : t.replicationFactor);
      // The engine's own checks of name, count and config, without creating anything.
      await ctx.sluice.createTopic(t.name, { partitions, config, validateOnly: true });
      const overrides = topicConfigOverrides(resolveTopicConfig(config, ctx.sluice.topicDefaults), ctx.sluice.topicDefaults);
      const record = await cluster.createTopic(t.name, { partitions, replicationFactor, config: overrides, assignments, validateOnly: req.validateOnly, timeoutMs: Math.max(1000, req.timeoutMs) });
      result.numPartitions = partitions;
      result.replicationFactor = replicationFactor;
      if (!req.validateOnly) {
        result.topicId = record.id;
      }
      result.configs = [];
    } catch (err) {
      result.errorCode = errorCodeOf(err);
      result.errorMessage = errorMessageOf(err);
    }
    topics.push(result);
  }
  return { throttleTimeMs: 0, topics };
}

export async function createPartitionsInCluster(
  ctx: BrokerContext,
  req: { topics: { name: string; count: number; assignments: { brokerIds: number[] }[] | null }[]; timeoutMs: number; validateOnly: boolean },
) {
  const cluster = ctx.cluster!;
  const results = [];
  for (const t of req.topics) {
    const r = { name: t.name, errorCode: ErrorCode.NONE as number, errorMessage: null as string | null };
    try {
      if (t.assignments && t.assignments.length > 0) {
        throw Object.assign(new Error('manual assignments of new partitions are not supported in a cluster yet: leave them out and the controller assigns them'), { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT });
      }
      await cluster.createPartitions(t.name, t.count, req.validateOnly, Math.max(1000, req.timeoutMs));
    } catch (err) {
      r.errorCode = errorCodeOf(err);
      r.errorMessage = errorMessageOf(err);
    }
    results.push(r);
  }
  return { throttleTimeMs: 0, results };
}
