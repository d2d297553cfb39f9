/** Topic lookups shared by the handlers: auto-creation and name/id resolution. */
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerContext } from './context.js';
import { errorCodeOf } from './errors.js';
import { autoCreateAllowed } from './limits.js';

/**
 * True when the topic exists, creating it first when auto-creation is on (and the name is
 * valid). Used by Metadata and Produce.
 */
export async function ensureTopicForRequest(ctx: BrokerContext, name: string, allow = true): Promise<boolean> {
  return (await ensureTopicError(ctx, name, allow)) === ErrorCode.NONE;
}

/**
 * ensureTopicForRequest as an error code: NONE when the topic exists (now),
 * KAFKA_STORAGE_ERROR when creating it failed on the disk (a full disk: the producer should
 * hear that, not that the topic is unknown), else UNKNOWN_TOPIC_OR_PARTITION.
 */
export async function ensureTopicError(ctx: BrokerContext, name: string, allow = true): Promise<number> {
  if (ctx.sluice.hasTopic(name)) return ErrorCode.NONE;
  if (!allow || !ctx.settings.autoCreateTopics) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  // Auto-creation counts against the broker's partition limit like CreateTopics does.
  if (!autoCreateAllowed(ctx)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  try {
    await ctx.sluice.ensureTopic(name);
    return ErrorCode.NONE;
  } catch (err) {
    return errorCodeOf(err) === ErrorCode.KAFKA_STORAGE_ERROR ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  }
}

/** The error code for asking about a topic that is not there (invalid name or unknown). */
export async function missingTopicError(ctx: BrokerContext, name: string): Promise<number> {
  try {
    await ctx.sluice.createTopic(name, { validateOnly: true });
    return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  } catch (err) {
    const code = errorCodeOf(err);
    return code === ErrorCode.TOPIC_ALREADY_EXISTS ? ErrorCode.NONE : code === ErrorCode.INVALID_TOPIC_EXCEPTION ? code : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  }
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
