/**
 * Fetch (api key 1). Each partition answers with whole batches starting at the one that holds
 * fetchOffset, as zero-copy views of the segment (the server writes them with writev). Sizes
 * follow KIP-74: only the first batch of the first partition with data may pass maxBytes or
 * its partitionMaxBytes; every other batch goes out only while both budgets hold it. Fetch
 * v0-3 get the batches converted to message format 0/1 (legacy-format.ts).
 * Long polling: with fewer than minBytes available the request waits up to maxWaitMs and
 * wakes as soon as a produce brings data.
 * Isolation: read_uncommitted reads up to the high watermark; read_committed (isolationLevel 1)
 * only up to the last stable offset (no undecided transaction below it), and gets the aborted
 * transactions overlapping the batches returned so the client drops their records. Its long
 * poll wakes when the last stable offset moves. With no transactions both read the same.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { CorruptSegmentError, OffsetOutOfRangeError, type StorageLogger } from '../../storage/index.js';
import { LENGTH_OFFSET, LOG_OVERHEAD, RECORDS_COUNT_OFFSET, RECORDS_OFFSET } from '../../record/layout.js';
import { waitForAny, type Partition, type ReadBound } from '../partition.js';
import type { BrokerContext } from './context.js';
import { errorCodeOf } from './errors.js';
import { servedPartition } from './leadership.js';
import { topicIdLookup } from './topics.js';
import { limitsOf } from './limits.js';
import { downConvertFetch } from './legacy-format.js';

export interface FetchRequest {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  isolationLevel: number;
  /** A follower's broker id (v0-14; replicaState.replicaId from v15), -1 for a consumer. */
  replicaId?: number;
  replicaState?: { replicaId: number; replicaEpoch: number } | null;
  sessionId: number;
  sessionEpoch: number;
  topics: { topic: string; topicId: string; partitions: { partition: number; fetchOffset: number; partitionMaxBytes: number; currentLeaderEpoch: number; logStartOffset: number }[] }[];
}

export interface FetchPartitionData {
  partitionIndex: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  abortedTransactions: { producerId: number; firstOffset: number }[] | null;
  preferredReadReplica: number;
  records: Buffer | null;
}

export interface FetchResponse {
  throttleTimeMs: number;
  errorCode: number;
  sessionId: number;
  responses: { topic: string; topicId: string; partitions: FetchPartitionData[] }[];
}

interface Slot {
  topicIndex: number;
  partition: Partition | null;
  request: FetchRequest['topics'][number]['partitions'][number];
  error: number;
}

export async function handleFetch(ctx: BrokerContext, req: FetchRequest, version: number, signal: AbortSignal): Promise<FetchResponse> {
  // Sessions (KIP-227) are not kept: a full fetch every time, session id 0.
  const slots: Slot[] = [];
  const byId = topicIdLookup(ctx);
  // A follower copying the leader's log (Kafka's replica fetch): it reads up to the log end
  // offset, not the high watermark, and each of its fetches tells the leader how far it got.
  const replicaId = version >= 15 ? (req.replicaState?.replicaId ?? -1) : (req.replicaId ?? -1);
  const replicas = replicaId >= 0 ? ctx.replicas : undefined;
  const topics = req.topics.map((t, topicIndex) => {
    const name = version >= 13 ? byId(t.topicId) : t.topic;
    for (const p of t.partitions) {
      let partition: Partition | null = null;
      let error: number = ErrorCode.NONE;
      if (name === undefined || !ctx.sluice.hasTopic(name)) {
        error = version >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      } else {
        try {
          partition = servedPartition(ctx, name, p.partition, p.currentLeaderEpoch);
          if (replicaId >= 0 && !replicas?.onFollowerFetch(name, p.partition, replicaId, p.fetchOffset)) {
            error = ErrorCode.NOT_LEADER_OR_FOLLOWER;
            partition = null;
          }
        } catch (err) {
          error = errorCodeOf(err);
        }
      }
      slots.push({ topicIndex, partition, request: p, error });
    }
    return { topic: name ?? t.topic, topicId: t.topicId };
  });

  const deadline = Date.now() + Math.min(Math.max(req.maxWaitMs, 0), ctx.settings.maxFetchWaitMs);
  // fetch.max.bytes: a client cannot ask for a 2 GiB answer.
  const maxBytes = Math.min(req.maxBytes, limitsOf(ctx).maxFetchBytes);
  // One waiter per distinct partition (at the lowest offset asked): a request may name the same
  // partition thousands of times, and every waiter is a timer and a listener.
  const waitFor = new Map<Partition, number>();
  for (const s of slots) {
    if (s.partition !== null) waitFor.set(s.partition, Math.min(waitFor.get(s.partition) ?? Infinity, s.request.fetchOffset));
  }
  // A follower reads to the log end offset; a read_committed consumer to the last stable
  // offset; any other consumer to the high watermark.
  const bound: ReadBound = replicaId >= 0 ? 'leo' : req.isolationLevel === READ_COMMITTED ? 'lso' : 'hw';
  const byLogEnd = bound === 'leo';
  let result = gather(slots, maxBytes, ctx.logger, bound);
  while (result.bytes < Math.max(req.minBytes, 1) && !result.anyError && !signal.aborted) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    // Wait for data past what is there now: when the partition already holds data past the
    // fetch offset (too few bytes for minBytes), waiting at the fetch offset would resolve at
    // once and spin this loop on microtasks, freezing the event loop until the deadline.
    const waits = [...waitFor].map(([partition, offset]) => [partition, Math.max(offset, partition.boundOf(bound))] as const);
    const { done, wake } = waitForAny(waits, remaining, bound);
    signal.addEventListener('abort', wake, { once: true });
    await done;
    signal.removeEventListener('abort', wake);
    forgetDeleted(ctx, slots);
    result = gather(slots, maxBytes, ctx.logger, bound);
  }

  // v0-3 readers expect message format 0/1: the v2 batches are converted (legacy-format.ts).
  const legacyCounts = version < 4 ? await downConvertFetch(ctx, result.data, slots.map((s) => s.request), maxBytes, version) : null;
  const responses = topics.map((t) => ({ ...t, partitions: [] as FetchPartitionData[] }));
  slots.forEach((s, i) => {
    const d = result.data[i]!;
    responses[s.topicIndex]!.partitions.push(d);
    if (byLogEnd) {
      if (d.records !== null) replicas!.stats.bytesOut += d.records.length;
    } else if (d.records !== null && d.records.length > 0) ctx.sluice.traffic.out(responses[s.topicIndex]!.topic, legacyCounts?.[i] ?? recordsIn(d.records), d.records.length);
  });
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses };
}

/** isolationLevel of Fetch and ListOffsets: 0 read_uncommitted, 1 read_committed. */
export const READ_COMMITTED = 1;

function gather(slots: Slot[], maxBytes: number, logger: StorageLogger | undefined, bound: ReadBound): { data: FetchPartitionData[]; bytes: number; anyError: boolean } {
  const readCommitted = bound === 'lso';
  let bytes = 0;
  let anyError = false;
  const data = slots.map((s) => {
    const p = s.partition;
    if (p === null || s.error !== ErrorCode.NONE) {
      anyError = true;
      return empty(s.request.partition, s.error, -1, -1);
    }
    const hw = p.highWatermark;
    const lso = p.lastStableOffset;
    try {
      const budget = Math.max(0, Math.min(s.request.partitionMaxBytes, maxBytes - bytes));
      // KIP-74: the first batch of the first partition with data goes out whatever the
      // limits; after it, whole batches only while they fit both budgets.
      const minOne = bytes === 0;
      if (budget === 0 && !minOne) return empty(s.request.partition, ErrorCode.NONE, hw, p.logStartOffset, lso, readCommitted);
      const r = p.read(s.request.fetchOffset, Math.max(budget, 1), p.boundOf(bound));
      // The log returns at least one batch; past the first partition, one too large is left for the next fetch.
      if (!minOne && r.records.length > budget) return empty(s.request.partition, ErrorCode.NONE, hw, r.logStartOffset, lso, readCommitted);
      bytes += r.records.length;
      return {
        partitionIndex: s.request.partition,
        errorCode: ErrorCode.NONE,
        highWatermark: hw,
        lastStableOffset: lso,
        logStartOffset: r.logStartOffset,
        abortedTransactions: readCommitted ? (r.records.length > 0 ? p.txns.abortedTransactions(s.request.fetchOffset, r.nextOffset) : []) : null,
        preferredReadReplica: -1,
        records: r.records,
      };
    } catch (err) {
      anyError = true;
      const code = err instanceof OffsetOutOfRangeError ? ErrorCode.OFFSET_OUT_OF_RANGE : errorCodeOf(err);
      // Anything but an out-of-range offset is worth a line in the broker's log (a corrupt
      // batch the log could not quarantine was logged once by the log itself).
      if (code !== ErrorCode.OFFSET_OUT_OF_RANGE && !(err instanceof CorruptSegmentError)) logger?.warn({ err, topic: p.topic, partition: p.index, fetchOffset: s.request.fetchOffset }, 'fetch failed');
      return empty(s.request.partition, code, hw, p.logStartOffset, lso, readCommitted);
    }
  });
  return { data, bytes, anyError };
}

/**
 * A partition whose topic was deleted while the fetch waited (the topic no longer holds it, and
 * its log is closed or about to be) answers UNKNOWN_TOPIC_OR_PARTITION, as Kafka does, rather
 * than failing its read with LogClosedError: a deletion is news for the client, not a broker
 * fault worth a warning with a stack trace.
 */
function forgetDeleted(ctx: BrokerContext, slots: Slot[]): void {
  for (const s of slots) {
    const p = s.partition;
    if (p === null) continue;
    let current: Partition | undefined;
    try {
      current = ctx.sluice.hasTopic(p.topic) ? ctx.sluice.partition(p.topic, p.index) : undefined;
    } catch {
      current = undefined; // the topic has fewer partitions now, or the engine is closed
    }
    if (current === p) continue; // still served (closed only if the broker is shutting down)
    s.partition = null;
    s.error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  }
}

/** Records in a chain of whole batches (from their headers). */
function recordsIn(view: Buffer): number {
  let n = 0;
  for (let pos = 0; pos + RECORDS_OFFSET <= view.length; pos += view.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD) {
    n += view.readInt32BE(pos + RECORDS_COUNT_OFFSET);
  }
  return n;
}

function empty(partitionIndex: number, errorCode: number, hw: number, logStartOffset: number, lso = hw, readCommitted = false): FetchPartitionData {
  return {
    partitionIndex,
    errorCode,
    highWatermark: hw,
    lastStableOffset: lso,
    logStartOffset,
    abortedTransactions: readCommitted ? [] : null,
    preferredReadReplica: -1,
    records: Buffer.alloc(0),
  };
}
