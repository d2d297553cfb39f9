/**
 * Metadata (api key 3): this broker as the only broker, controller and leader of every
 * partition (replicas and ISR = [this node]). A null topic list (v1+) or an empty one (v0)
 * means all topics; a named topic that does not exist is created when auto-creation is on
 * and the request allows it (v4+), else UNKNOWN_TOPIC_OR_PARTITION / INVALID_TOPIC_EXCEPTION.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { AUTHORIZED_OPERATIONS_OMITTED, type BrokerContext } from './context.js';
import { OFFSETS_TOPIC } from '../../group/index.js';
import { TRANSACTION_STATE_TOPIC } from '../../txn/transaction-log-record.js';
import { brokersOf, controllerIdOf, partitionLeadership } from './leadership.js';
import { authorizedOperations, CLUSTER_OPERATIONS, TOPIC_OPERATIONS } from './authorized-operations.js';
import { autoCreateBudget, collisionLookup, ensureTopicForRequest, missingTopicError, topicIdLookup } from './topics.js';

export interface MetadataRequest {
  topics: { topicId: string; name: string | null }[] | null;
  allowAutoTopicCreation: boolean;
  includeClusterAuthorizedOperations: boolean;
  includeTopicAuthorizedOperations: boolean;
}

export async function handleMetadata(ctx: BrokerContext, req: MetadataRequest, version: number, zeroUuid: string, clientId: string | null = null) {
  const s = ctx.sluice;
  const all = req.topics === null || (version === 0 && req.topics.length === 0);
  let names: (string | null)[];
  let requested: { topicId: string; name: string | null }[] = [];
  // In a cluster, the internal topics are listed once the cluster has them (FindCoordinator creates them).
  if (all) names = s.listTopics({ internal: !ctx.cluster || ctx.cluster.topic(OFFSETS_TOPIC) !== undefined, transactionState: ctx.cluster?.topic(TRANSACTION_STATE_TOPIC) !== undefined });
  else {
    // Each topic once, as Kafka answers (a request naming one topic 100,000 times gets one entry).
    const seen = new Set<string>();
    requested = req.topics!.filter((t) => {
      const key = t.name ?? `id:${t.topicId}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    const byId = topicIdLookup(ctx);
    names = requested.map((t) => t.name ?? (t.topicId ? byId(t.topicId) ?? null : null));
  }
  const autoCreate = autoCreateBudget(ctx, clientId);
  const collides = collisionLookup(ctx);
  const topics = await Promise.all(
    names.map(async (name, i) => {
      const requestedId = all ? zeroUuid : requested[i]!.topicId;
      if (name === null) {
        return { errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId: requestedId, isInternal: false, partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED };
      }
      const allow = version < 4 ? true : req.allowAutoTopicCreation;
      const exists = all || (await ensureTopicForRequest(ctx, name, allow, autoCreate));
      if (!exists) {
        return { errorCode: await missingTopicError(ctx, name, collides), name, topicId: zeroUuid, isInternal: false, partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED };
      }
      const d = s.describeTopic(name);
      return {
        errorCode: ErrorCode.NONE,
        name,
        topicId: d.id,
        isInternal: d.internal,
        partitions: d.partitions.map((p) => ({ partitionIndex: p.partition, ...partitionLeadership(ctx, name, p.partition) })),
        topicAuthorizedOperations: authorizedOperations(req.includeTopicAuthorizedOperations, TOPIC_OPERATIONS),
      };
    }),
  );
  return {
    throttleTimeMs: 0,
    brokers: brokersOf(ctx),
    clusterId: ctx.clusterId,
    controllerId: controllerIdOf(ctx),
    topics,
    clusterAuthorizedOperations: authorizedOperations(req.includeClusterAuthorizedOperations, CLUSTER_OPERATIONS),
  };
}
