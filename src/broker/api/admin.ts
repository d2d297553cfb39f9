/**
 * Topic administration over the wire: CreateTopics, DeleteTopics, CreatePartitions and
 * DeleteRecords. A lone broker can hold one replica: replication factors other than 1 (or -1,
 * the default) are refused with INVALID_REPLICATION_FACTOR, and manual replica assignments
 * must name this broker.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerContext } from './context.js';
import { errorCodeOf, errorMessageOf } from './errors.js';
import { describeTopicConfigs } from './configs.js';
import { createTopicStepwise, growStepwise, withPartitionBudget } from './limits.js';
import { topicIdLookup } from './topics.js';
import { createPartitionsInCluster, createTopicsInCluster } from './cluster-admin.js';
import { isInternalTopic } from '../topic-name.js';

export interface CreatableTopic {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  assignments: { partitionIndex: number; brokerIds: number[] }[];
  configs: { name: string; value: string | null }[];
}

export async function handleCreateTopics(ctx: BrokerContext, req: { topics: CreatableTopic[]; timeoutMs: number; validateOnly: boolean }, zeroUuid: string) {
  if (ctx.cluster) return createTopicsInCluster(ctx, req, zeroUuid);
  const seen = new Set<string>();
  const topics = [];
  const budget = { used: 0 };
  for (const t of req.topics) {
    const result = { name: t.name, topicId: zeroUuid, errorCode: ErrorCode.NONE as number, errorMessage: null as string | null, numPartitions: -1, replicationFactor: -1, configs: null as unknown[] | null };
    try {
      if (seen.has(t.name)) throw Object.assign(new Error(`topic '${t.name}' appears twice in the request`), { errorCode: ErrorCode.INVALID_REQUEST });
      seen.add(t.name);
      if (t.replicationFactor !== -1 && t.replicationFactor !== 1 && t.assignments.length === 0) {
        throw Object.assign(new Error(`replication factor ${t.replicationFactor} is larger than the 1 broker available`), { errorCode: ErrorCode.INVALID_REPLICATION_FACTOR });
      }
      for (const a of t.assignments) {
        if (a.brokerIds.length !== 1 || a.brokerIds[0] !== ctx.nodeId) {
          throw Object.assign(new Error(`partition ${a.partitionIndex} is assigned to brokers [${a.brokerIds.join(', ')}]; this cluster has only broker ${ctx.nodeId}`), { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT });
        }
      }
      const partitions = t.assignments.length > 0 ? t.assignments.length : t.numPartitions === -1 ? undefined : t.numPartitions;
      const config: Record<string, string> = {};
      for (const c of t.configs) if (c.value !== null) config[c.name] = c.value;
      const count = partitions ?? ctx.sluice.partitionCountDefault;
      await ctx.sluice.createTopic(t.name, { partitions, config, validateOnly: true });
      await withPartitionBudget(ctx, count, budget, () => (req.validateOnly ? Promise.resolve() : createTopicStepwise(ctx, t.name, count, config)));
      result.numPartitions = count;
      if (!req.validateOnly) ctx.logDirSpace?.written();
      result.replicationFactor = 1;
      if (!req.validateOnly) result.topicId = ctx.sluice.topicId(t.name);
      result.configs = req.validateOnly ? [] : describeTopicConfigs(ctx, t.name, null, false, false).map((c) => ({ name: c.name, value: c.value, readOnly: c.readOnly, configSource: c.configSource, isSensitive: false }));
    } catch (err) {
      ctx.logDirSpace?.failed(err);
      result.errorCode = (err as { errorCode?: number }).errorCode ?? errorCodeOf(err);
      result.errorMessage = errorMessageOf(err);
    }
    topics.push(result);
  }
  return { throttleTimeMs: 0, topics };
}

export async function handleDeleteTopics(ctx: BrokerContext, req: { topics: { name: string | null; topicId: string }[]; topicNames: string[]; timeoutMs: number }, version: number, zeroUuid: string) {
  const wanted = version >= 6 ? req.topics : req.topicNames.map((name) => ({ name, topicId: zeroUuid }));
  const responses = [];
  // In a cluster, topics are deleted in etcd (every broker then deletes its logs).
  const cluster = ctx.cluster;
  const byId = cluster ? (id: string) => [...cluster.cache.topics.values()].find((x) => x.id === id)?.name : topicIdLookup(ctx);
  const idOf = (name: string) => (cluster ? cluster.topic(name)?.id : ctx.sluice.hasTopic(name) ? ctx.sluice.topicId(name) : undefined);
  for (const t of wanted) {
    const name = t.name ?? byId(t.topicId) ?? null;
    const r = { name, topicId: t.topicId, errorCode: ErrorCode.NONE as number, errorMessage: null as string | null };
    try {
      if (name === null) {
        r.errorCode = ErrorCode.UNKNOWN_TOPIC_ID;
        r.errorMessage = `no topic has id ${t.topicId}`;
      } else {
        r.topicId = idOf(name) ?? t.topicId;
        if (cluster) await cluster.deleteTopic(name, Math.max(1000, req.timeoutMs));
        else await ctx.sluice.deleteTopic(name);
      }
    } catch (err) {
      r.errorCode = errorCodeOf(err);
      r.errorMessage = errorMessageOf(err);
    }
    responses.push(r);
  }
  return { throttleTimeMs: 0, responses };
}

export async function handleCreatePartitions(
  ctx: BrokerContext,
  req: { topics: { name: string; count: number; assignments: { brokerIds: number[] }[] | null }[]; timeoutMs: number; validateOnly: boolean },
) {
  if (ctx.cluster) return createPartitionsInCluster(ctx, req);
  const results = [];
  const budget = { used: 0 };
  for (const t of req.topics) {
    const r = { name: t.name, errorCode: ErrorCode.NONE as number, errorMessage: null as string | null };
    try {
      for (const a of t.assignments ?? []) {
        if (a.brokerIds.length !== 1 || a.brokerIds[0] !== ctx.nodeId) {
          throw Object.assign(new Error(`assignment [${a.brokerIds.join(', ')}] names brokers this cluster does not have (only ${ctx.nodeId})`), { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT });
        }
      }
      await ctx.sluice.createPartitions(t.name, t.count, true); // validates: count above the current one, known topic
      const added = t.count - ctx.sluice.partitionCount(t.name);
      await withPartitionBudget(ctx, added, budget, () => (req.validateOnly ? Promise.resolve() : growStepwise(ctx, t.name, t.count)));
    } catch (err) {
      r.errorCode = (err as { errorCode?: number }).errorCode ?? errorCodeOf(err);
      r.errorMessage = errorMessageOf(err);
    }
    results.push(r);
  }
  return { throttleTimeMs: 0, results };
}

export function handleDeleteRecords(ctx: BrokerContext, req: { topics: { name: string; partitions: { partitionIndex: number; offset: number }[] }[]; timeoutMs: number }) {
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        try {
          // As Kafka: records of an internal topic are the broker's to remove.
          if (isInternalTopic(t.name)) return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION };
          const part = ctx.sluice.partition(t.name, p.partitionIndex);
          // -1 means "up to the high watermark".
          const offset = p.offset === -1 ? part.highWatermark : p.offset;
          return { partitionIndex: p.partitionIndex, lowWatermark: part.log.deleteRecordsBefore(offset), errorCode: ErrorCode.NONE };
        } catch (err) {
          return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: errorCodeOf(err) };
        }
      }),
    })),
  };
}
