/**
 * What one request may make the broker allocate or create. The wire codec already refuses
 * lengths and counts larger than the frame; these bounds are about what a well-formed request
 * asks for: partitions (each a directory, a file descriptor, mappings, and ~7 ms of
 * synchronous opening on a slow disk), bytes of a Fetch answer, member metadata of a group.
 *
 *   limit                        default    refused with
 *   maxPartitions                20,000     POLICY_VIOLATION (CreateTopics, CreatePartitions);
 *                                           auto-creation beyond it: UNKNOWN_TOPIC_OR_PARTITION
 *   maxPartitionsPerRequest      10,000     POLICY_VIOLATION
 *   partitionOpenStep            16         (not an error: partitions opened between two
 *                                           yields to the event loop, so creating 1000 of
 *                                           them never stalls other clients for seconds)
 *   maxFetchBytes                55 MiB     (clamps maxBytes, like Kafka's fetch.max.bytes)
 *   maxJoinMetadataBytes         1 MiB      INVALID_REQUEST (JoinGroup protocols' metadata,
 *                                           SyncGroup assignments, kept for a member's life)
 *   maxElementsInFlight          100,000    (not an error: requests wait) array elements of
 *                                           all large requests (over 1,000 elements) being
 *                                           handled at once, server-wide;
 *                                           with MAX_REQUEST_ELEMENTS (100,000 per request,
 *                                           protocol/apis.ts) this bounds the decoded form of
 *                                           requests and the answers built from them, which
 *                                           the request memory pool (wire bytes) does not
 *
 * Not thread-safe: the pending-partition counts are per broker context, on one event loop.
 */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import type { BrokerContext } from './context.js';

export interface RequestLimits {
  maxPartitions: number;
  maxPartitionsPerRequest: number;
  partitionOpenStep: number;
  maxFetchBytes: number;
  maxJoinMetadataBytes: number;
  maxElementsInFlight: number;
}

export const DEFAULT_LIMITS: Readonly<RequestLimits> = Object.freeze({
  maxPartitions: 20_000,
  maxPartitionsPerRequest: 10_000,
  partitionOpenStep: 16,
  maxFetchBytes: 55 * 1024 * 1024,
  maxJoinMetadataBytes: 1024 * 1024,
  maxElementsInFlight: 100_000,
});

export function limitsOf(ctx: BrokerContext): RequestLimits {
  const given = ctx.settings.limits;
  if (given === undefined) return DEFAULT_LIMITS;
  const out: RequestLimits = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(given)) if (v !== undefined) (out as unknown as Record<string, number>)[k] = v;
  return out;
}

/** Partitions being created right now (counted against maxPartitions before they exist). */
const pending = new WeakMap<BrokerContext, number>();

/** Partitions of every topic, plus those being created. O(topics). */
export function partitionsHeld(ctx: BrokerContext): number {
  let n = pending.get(ctx) ?? 0;
  for (const t of ctx.sluice.listTopics()) {
    try {
      n += ctx.sluice.partitionCount(t);
    } catch {
      // deleted meanwhile
    }
  }
  return n;
}

function policy(message: string): KafkaError {
  return new KafkaError(ErrorCode.POLICY_VIOLATION, message);
}

/**
 * Reserves `count` new partitions against the limits (throws POLICY_VIOLATION when over), runs
 * `create`, releases the reservation. `requestBudget` tracks what the request asked so far.
 */
export async function withPartitionBudget<T>(ctx: BrokerContext, count: number, requestBudget: { used: number }, create: () => Promise<T>): Promise<T> {
  const limits = limitsOf(ctx);
  if (requestBudget.used + count > limits.maxPartitionsPerRequest) {
    throw policy(`a request may create at most ${limits.maxPartitionsPerRequest} partitions; this one asks for ${requestBudget.used + count}`);
  }
  const held = partitionsHeld(ctx);
  if (held + count > limits.maxPartitions) {
    throw policy(`the broker holds ${held} partitions and allows at most ${limits.maxPartitions}: ${count} more cannot be created`);
  }
  requestBudget.used += count;
  pending.set(ctx, (pending.get(ctx) ?? 0) + count);
  heldCache.delete(ctx); // the auto-creation check recounts, pending partitions included
  try {
    return await create();
  } finally {
    pending.set(ctx, (pending.get(ctx) ?? 0) - count);
  }
}

/** partitionsHeld, recounted at most every 100 ms for the auto-creation check (a Metadata request may name 100,000 topics). */
const heldCache = new WeakMap<BrokerContext, { value: number; at: number }>();

/**
 * True when auto-creating a topic of the default partition count stays within maxPartitions;
 * counts the topic as created (the caller goes on to create it).
 */
export function autoCreateAllowed(ctx: BrokerContext): boolean {
  const now = performance.now();
  let c = heldCache.get(ctx);
  if (c === undefined || now - c.at > 100) {
    c = { value: partitionsHeld(ctx), at: now };
    heldCache.set(ctx, c);
  }
  const count = ctx.sluice.partitionCountDefault;
  if (c.value + count > limitsOf(ctx).maxPartitions) return false;
  c.value += count;
  return true;
}

/** Lets other clients run between chunks of synchronous work. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Creates a topic of `count` partitions a step at a time: the topic with the first step, then
 * grown with a yield to the event loop between steps. Everything is validated first with the
 * full count, so a refusal is all or nothing; a failure mid-way (the topic deleted meanwhile,
 * a full disk) leaves the partitions made so far.
 */
export async function createTopicStepwise(ctx: BrokerContext, name: string, count: number, config: Record<string, string>): Promise<void> {
  const step = Math.max(1, limitsOf(ctx).partitionOpenStep);
  await ctx.sluice.createTopic(name, { partitions: count, config, validateOnly: true });
  await ctx.sluice.createTopic(name, { partitions: Math.min(count, step), config });
  await growStepwise(ctx, name, count);
}

/** Grows a topic to `total` partitions a step at a time (see createTopicStepwise). */
export async function growStepwise(ctx: BrokerContext, name: string, total: number): Promise<void> {
  const step = Math.max(1, limitsOf(ctx).partitionOpenStep);
  for (;;) {
    await yieldToEventLoop();
    const current = ctx.sluice.partitionCount(name); // read after the yield: another request may have grown it
    if (current >= total) return;
    await ctx.sluice.createPartitions(name, Math.min(total, current + step));
  }
}

/**
 * A server-wide budget of decoded array elements in flight (maxElementsInFlight). A request
 * takes its count before its handler runs and gives it back once its answer is encoded;
 * when the budget is spent, requests wait first come, first served (their connection closing
 * cancels the wait). A request larger than the whole budget runs when nothing else holds any.
 */
export class ElementBudget {
  private used = 0;
  private readonly waiters: { n: number; grant: () => void }[] = [];

  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Takes `n` at once when it fits and nobody waits; false otherwise. */
  tryAcquire(n: number): boolean {
    if (this.waiters.length > 0 || !this.fits(n)) return false;
    this.used += n;
    return true;
  }

  /** Waits for `n`; rejects (and gives up its place) when `signal` aborts. */
  acquire(n: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const w = {
        n,
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        this.grantWaiters();
        reject(new Error('connection closed while waiting for the element budget'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(w);
    });
  }

  release(n: number): void {
    this.used -= n;
    this.grantWaiters();
  }

  private fits(n: number): boolean {
    return this.used === 0 || this.used + n <= this.limit;
  }

  private grantWaiters(): void {
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.n)) {
      const w = this.waiters.shift()!;
      this.used += w.n;
      w.grant();
    }
  }
}

/** Requests with at most this many array elements do not take from the element budget. */
export const SMALL_REQUEST_ELEMENTS = 1000;

const budgets = new WeakMap<BrokerContext, ElementBudget>();

/** The broker's element budget. */
export function elementBudget(ctx: BrokerContext): ElementBudget {
  let b = budgets.get(ctx);
  if (b === undefined) {
    b = new ElementBudget(limitsOf(ctx).maxElementsInFlight);
    budgets.set(ctx, b);
  }
  return b;
}
