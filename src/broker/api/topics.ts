/** Topic lookups shared by the handlers: auto-creation and name/id resolution. */
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerContext } from './context.js';
import { errorCodeOf } from './errors.js';

/**
 * True when the topic exists, creating it first when auto-creation is on (and the name is
 * valid). Used by Metadata and Produce.
 */
export async function ensureTopicForRequest(ctx: BrokerContext, name: string, allow = true): Promise<boolean> {
  if (ctx.sluice.hasTopic(name)) return true;
  if (!allow || !ctx.settings.autoCreateTopics) return false;
  try {
    await ctx.sluice.ensureTopic(name);
    return true;
  } catch {
    return false;
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
