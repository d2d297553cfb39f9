/**
 * The broker's record of what clients changed and what it refused, at info (Kafka logs these
 * through its request and controller loggers): topics created and deleted, partitions added,
 * topic configs changed, records deleted, each with the topic, the client id and what changed;
 * and requests refused for the client's own fault (invalid records, an unknown topic, a policy
 * violation, ...). Refusals are rate-limited per broker, so a client that retries a bad
 * request in a loop cannot flood the log. Auto-creation is logged where it happens (topics.ts).
 */
import { ErrorCode, errorName } from '../../protocol/error-codes.js';
import type { BrokerContext } from './context.js';
import { RESOURCE_BROKER, RESOURCE_TOPIC } from './configs.js';

type Body = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Error codes that say the request itself was wrong: worth telling the operator who sent it. */
const REFUSED = new Set<number>([
  ErrorCode.CORRUPT_MESSAGE,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.MESSAGE_TOO_LARGE,
  ErrorCode.INVALID_TOPIC_EXCEPTION,
  ErrorCode.RECORD_LIST_TOO_LARGE,
  ErrorCode.INVALID_REQUIRED_ACKS,
  ErrorCode.INVALID_TIMESTAMP,
  ErrorCode.TOPIC_ALREADY_EXISTS,
  ErrorCode.INVALID_PARTITIONS,
  ErrorCode.INVALID_REPLICATION_FACTOR,
  ErrorCode.INVALID_REPLICA_ASSIGNMENT,
  ErrorCode.INVALID_CONFIG,
  ErrorCode.INVALID_REQUEST,
  ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
  ErrorCode.POLICY_VIOLATION,
  ErrorCode.INVALID_RECORD,
  ErrorCode.UNKNOWN_TOPIC_ID,
]);

/** At most this many refusal lines per window; the rest are counted and reported with the next line. */
const REFUSALS_PER_WINDOW = 20;
const WINDOW_MS = 10_000;

class RefusalLimiter {
  private windowStart = 0;
  private logged = 0;
  private suppressed = 0;

  /** Null when this refusal is not to be logged, else how many were left out before it. */
  admit(now: number): number | null {
    if (now - this.windowStart >= WINDOW_MS) {
      this.windowStart = now;
      this.logged = 0;
    }
    if (this.logged >= REFUSALS_PER_WINDOW) {
      this.suppressed++;
      return null;
    }
    this.logged++;
    const left = this.suppressed;
    this.suppressed = 0;
    return left;
  }
}

const limiters = new WeakMap<BrokerContext, RefusalLimiter>();

const CONFIG_OPS = ['set', 'delete', 'append', 'subtract'];

/** Logs what a handled request changed or why it was refused. Cheap for requests with nothing to log. */
export function logRequest(ctx: BrokerContext, apiKey: number, clientId: string | null, req: Body, answer: Body): void {
  if (!ctx.logger) return;
  try {
    logChanges(ctx, apiKey, clientId, req, answer);
  } catch (err) {
    // A log line must never cost the client its answer.
    ctx.logger.warn({ err, apiKey }, 'request log line failed');
  }
}

function logChanges(ctx: BrokerContext, apiKey: number, clientId: string | null, req: Body, answer: Body): void {
  const logger = ctx.logger!;
  const client = clientId ?? '';
  switch (apiKey) {
    case 0: // Produce: only refusals
      for (const t of answer.responses ?? []) {
        for (const p of t.partitionResponses ?? []) if (p.errorCode !== 0 && REFUSED.has(p.errorCode)) refused(ctx, 'Produce', client, t.name, p.errorCode, p.errorMessage, { partition: p.index });
      }
      return;
    case 19: // CreateTopics
      for (const t of answer.topics ?? []) {
        if (t.errorCode !== 0) {
          refused(ctx, 'CreateTopics', client, t.name, t.errorCode, t.errorMessage);
        } else if (!req.validateOnly) {
          const asked = (req.topics ?? []).find((x: Body) => x.name === t.name);
          const config = Object.fromEntries((asked?.configs ?? []).map((c: Body) => [c.name, c.value]));
          logger.info({ topic: t.name, clientId: client, partitions: t.numPartitions, replicationFactor: t.replicationFactor, config }, 'topic created');
        }
      }
      return;
    case 20: // DeleteTopics
      for (const t of answer.responses ?? []) {
        if (t.errorCode !== 0) refused(ctx, 'DeleteTopics', client, t.name ?? t.topicId, t.errorCode, t.errorMessage);
        else logger.info({ topic: t.name, topicId: t.topicId, clientId: client }, 'topic deleted');
      }
      return;
    case 21: // DeleteRecords
      for (const t of answer.topics ?? []) {
        for (const p of t.partitions ?? []) {
          if (p.errorCode !== 0) refused(ctx, 'DeleteRecords', client, t.name, p.errorCode, null, { partition: p.partitionIndex });
          else logger.info({ topic: t.name, partition: p.partitionIndex, clientId: client, logStartOffset: p.lowWatermark }, 'records deleted');
        }
      }
      return;
    case 33: // AlterConfigs
    case 44: // IncrementalAlterConfigs
      for (const r of answer.responses ?? []) {
        const api = apiKey === 33 ? 'AlterConfigs' : 'IncrementalAlterConfigs';
        const what = r.resourceType === RESOURCE_TOPIC ? 'topic' : r.resourceType === RESOURCE_BROKER ? 'broker' : `resource type ${r.resourceType}`;
        if (r.errorCode !== 0) {
          refused(ctx, api, client, r.resourceName, r.errorCode, r.errorMessage, { resource: what });
        } else if (!req.validateOnly && r.resourceType === RESOURCE_TOPIC) {
          const asked = (req.resources ?? []).find((x: Body) => x.resourceType === r.resourceType && x.resourceName === r.resourceName);
          const changes = (asked?.configs ?? []).map((c: Body) => {
            const op = apiKey === 44 ? CONFIG_OPS[c.configOperation] ?? String(c.configOperation) : c.value === null ? 'delete' : 'set';
            return op === 'delete' ? `${c.name} deleted` : `${c.name} ${op} ${c.value}`;
          });
          logger.info({ topic: r.resourceName, clientId: client, changes }, `topic config changed: ${changes.join(', ')}`);
        }
      }
      return;
    case 37: // CreatePartitions
      for (const t of answer.results ?? []) {
        if (t.errorCode !== 0) {
          refused(ctx, 'CreatePartitions', client, t.name, t.errorCode, t.errorMessage);
        } else if (!req.validateOnly) {
          const asked = (req.topics ?? []).find((x: Body) => x.name === t.name);
          logger.info({ topic: t.name, clientId: client, partitions: asked?.count }, 'partitions added');
        }
      }
      return;
  }
}

function refused(ctx: BrokerContext, api: string, clientId: string, topic: string | null, errorCode: number, errorMessage: string | null | undefined, extra: object = {}): void {
  if (!REFUSED.has(errorCode)) return;
  let limiter = limiters.get(ctx);
  if (!limiter) limiters.set(ctx, (limiter = new RefusalLimiter()));
  const suppressed = limiter.admit(Date.now());
  if (suppressed === null) return;
  ctx.logger?.info(
    { api, topic, clientId, error: errorName(errorCode), ...(errorMessage ? { reason: errorMessage } : {}), ...extra, ...(suppressed > 0 ? { notLogged: suppressed } : {}) },
    `${api} refused: ${errorName(errorCode)}${suppressed > 0 ? ` (${suppressed} earlier refusal(s) not logged: at most ${REFUSALS_PER_WINDOW} per ${WINDOW_MS / 1000} s)` : ''}`,
  );
}
