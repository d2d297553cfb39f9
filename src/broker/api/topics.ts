/** Topic lookups shared by the handlers: auto-creation and name/id resolution. */
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerContext } from './context.js';
import { errorCodeOf } from './errors.js';
import { autoCreateAllowed, limitsOf, yieldToEventLoop } from './limits.js';

/**
 * True when the topic exists, creating it first when auto-creation is on (and the name is
 * valid). Used by Metadata and Produce.
 */
export async function ensureTopicForRequest(ctx: BrokerContext, name: string, allow = true, budget?: AutoCreateBudget): Promise<boolean> {
  return (await ensureTopicError(ctx, name, allow, budget)) === ErrorCode.NONE;
}

/** Partitions one request may still auto-create (see autoCreateBudget). */
export interface AutoCreateBudget {
  left: number;
  /** The asking client, for the log line of a topic it auto-creates. */
  clientId?: string | null;
}

/** A fresh per-request auto-creation budget: maxPartitionsPerRequest partitions. */
export function autoCreateBudget(ctx: BrokerContext, clientId: string | null = null): AutoCreateBudget {
  return { left: limitsOf(ctx).maxPartitionsPerRequest, clientId };
}

/**
 * ensureTopicForRequest as an error code: NONE when the topic exists (now),
 * KAFKA_STORAGE_ERROR when creating it failed on the disk (a full disk: the producer should
 * hear that, not that the topic is unknown), else UNKNOWN_TOPIC_OR_PARTITION.
 */
export async function ensureTopicError(ctx: BrokerContext, name: string, allow = true, budget?: AutoCreateBudget): Promise<number> {
  if (ctx.cluster) return ensureClusterTopicError(ctx, name, allow, budget);
  if (ctx.sluice.hasTopic(name)) return ErrorCode.NONE;
  if (!allow || !ctx.settings.autoCreateTopics || !isLegalTopicName(name)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  // Auto-creation counts against the broker's partition limits like CreateTopics does: one
  // Metadata request naming 100,000 new topics must not create them all.
  if (budget !== undefined) {
    if (budget.left < ctx.sluice.partitionCountDefault) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    budget.left -= ctx.sluice.partitionCountDefault;
  }
  if (!autoCreateAllowed(ctx)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  try {
    // Opening partitions is synchronous: let other clients in between two creations.
    await yieldToEventLoop();
    if (ctx.sluice.hasTopic(name)) return ErrorCode.NONE;
    await ctx.sluice.ensureTopic(name);
    ctx.logger?.info({ topic: name, clientId: budget?.clientId ?? null, partitions: ctx.sluice.partitionCountDefault }, 'topic auto-created');
    return ErrorCode.NONE;
  } catch (err) {
    ctx.logDirSpace?.failed(err);
    return errorCodeOf(err) === ErrorCode.KAFKA_STORAGE_ERROR ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  }
}

/**
 * ensureTopicError in a cluster: the topic exists when etcd has it and this broker mirrors it;
 * auto-creation writes it to etcd (num.partitions, replication factor 1), and the answer is
 * LEADER_NOT_AVAILABLE, as Kafka's, until its leaders are elected.
 */
async function ensureClusterTopicError(ctx: BrokerContext, name: string, allow: boolean, budget?: AutoCreateBudget): Promise<number> {
  const cluster = ctx.cluster!;
  if (cluster.topic(name)) {
    if (ctx.sluice.hasTopic(name)) return ErrorCode.NONE;
    return (await cluster.cache.waitFor(() => ctx.sluice.hasTopic(name), 1000)) ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE;
  }
  if (!allow || !ctx.settings.autoCreateTopics || !isLegalTopicName(name)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  try {
    await cluster.createTopic(name, { partitions: ctx.sluice.partitionCountDefault, replicationFactor: cluster.defaultReplicationFactor(), config: {}, timeoutMs: 5000 });
    ctx.logger?.info({ topic: name, clientId: budget?.clientId ?? null, partitions: ctx.sluice.partitionCountDefault }, 'topic auto-created in the cluster');
    return ErrorCode.NONE;
  } catch (err) {
    const code = errorCodeOf(err);
    return code === ErrorCode.TOPIC_ALREADY_EXISTS ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE;
  }
}

/**
 * The error code for asking about a topic that is not there (invalid name or unknown). Decided
 * by the name alone, without Sluice.createTopic's validation: that throws (an Error with a
 * stack per name) and compares the name with every topic, and a request may name 100,000.
 */
export async function missingTopicError(ctx: BrokerContext, name: string, collides: (name: string) => boolean = collisionLookup(ctx)): Promise<number> {
  if (ctx.sluice.hasTopic(name)) return ErrorCode.NONE; // created meanwhile
  return isLegalTopicName(name) && !collides(name) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.INVALID_TOPIC_EXCEPTION;
}

/**
 * For one request: does a name collide with an existing topic ('.' and '_' being the same in
 * metric names, which Kafka refuses)? Builds the set of normalised names once, on first use.
 */
export function collisionLookup(ctx: BrokerContext): (name: string) => boolean {
  let normalised: Set<string> | null = null;
  return (name) => {
    normalised ??= new Set(ctx.sluice.listTopics().map((t) => t.replace(/\./g, '_')));
    return !ctx.sluice.hasTopic(name) && normalised.has(name.replace(/\./g, '_'));
  };
}

const LEGAL_TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** Kafka's topic name rules (topic-name.ts), without throwing. */
export function isLegalTopicName(name: string): boolean {
  return LEGAL_TOPIC_NAME.test(name) && name !== '.' && name !== '..';
}

/** Topic name of a topic id (Fetch v13+, DeleteTopics v6+), or undefined. */
export function topicNameById(ctx: BrokerContext, id: string): string | undefined {
  return ctx.sluice.topicById(id);
}

/**
 * Topic names by id for one request: Sluice.topicById scans every topic, so a request naming
 * 100,000 topic ids would cost 100,000 scans; this builds the index once, on first use.
 */
export function topicIdLookup(ctx: BrokerContext): (id: string) => string | undefined {
  let index: Map<string, string> | null = null;
  return (id) => {
    if (index === null) {
      index = new Map();
      for (const name of ctx.sluice.listTopics()) {
        try {
          index.set(ctx.sluice.topicId(name), name);
        } catch {
          // deleted meanwhile
        }
      }
    }
    return index.get(id);
  };
}
