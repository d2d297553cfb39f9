/**
 * One follower fetcher per source broker (Kafka's ReplicaFetcherThread): it copies every
 * partition this broker follows whose leader is that broker, with one Fetch request for all
 * of them, carrying this broker's id as replicaId.
 *
 * A partition joins in the truncating state. Before it fetches anything it asks the leader,
 * with OffsetForLeaderEpoch, where the leader's log ends for this replica's latest leader
 * epoch (KIP-101 / KIP-279), and truncates its own log there: no divergent suffix survives a
 * leader change. Then it fetches from its log end offset and appends what comes byte for
 * byte (same offsets, same leader epochs), and takes the high watermark and log start offset
 * from the answers. A batch that fails its check on the way in is not written; the partition
 * fetches it again.
 *
 * Not thread-safe: one event loop; the loop runs while it has partitions.
 */
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import type { Partition } from '../broker/partition.js';
import { Connection } from '../wire-client/connection.js';
import { UNDEFINED_EPOCH } from './leader-epoch-cache.js';

export interface FetcherLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ReplicaFetcherOptions {
  source: number;
  nodeId: number;
  /** Where the source broker is now (null while it is not registered). */
  address: () => { host: string; port: number } | null;
  logger: FetcherLogger;
  waitMaxMs: number;
  partitionMaxBytes: number;
  responseMaxBytes: number;
  backoffMs: number;
  stats: { bytesIn: number };
}

interface FetchState {
  topic: string;
  index: number;
  partition: Partition;
  leaderEpoch: number;
  truncating: boolean;
  /** No fetch before this time (after an error for this partition). */
  delayedUntil: number;
}

/** Fetch v12: topic names, replicaId, currentLeaderEpoch, flexible. */
const FETCH_VERSION = 12;
const OFFSET_FOR_LEADER_EPOCH_VERSION = 4;

export class ReplicaFetcher {
  private readonly parts = new Map<string, FetchState>();
  private conn: Connection | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private wakeUp: (() => void) | null = null;

  constructor(private readonly options: ReplicaFetcherOptions) {}

  add(topic: string, index: number, partition: Partition, leaderEpoch: number): void {
    this.parts.set(`${topic}\u0000${index}`, { topic, index, partition, leaderEpoch, truncating: true, delayedUntil: 0 });
    this.options.logger.info({ partition: `${topic}-${index}`, leader: this.options.source, leaderEpoch, logEndOffset: partition.logEndOffset }, 'following: truncating by leader epoch, then fetching');
    this.kick();
  }

  remove(topic: string, index: number): void {
    this.parts.delete(`${topic}\u0000${index}`);
  }

  get size(): number {
    return this.parts.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.parts.clear();
    this.wakeUp?.();
    this.conn?.close();
    await this.running;
  }

  private kick(): void {
    this.wakeUp?.();
    if (this.running || this.stopped) return;
    this.running = this.loop().finally(() => {
      this.running = null;
      if (this.parts.size > 0 && !this.stopped) this.kick();
    });
  }

  private async loop(): Promise<void> {
    try {
      await this.fetchWhileFollowing();
    } finally {
      // The loop ends when nothing is followed from this broker any more, or at stop.
      this.conn?.close();
      this.conn = null;
    }
  }

  private async fetchWhileFollowing(): Promise<void> {
    while (!this.stopped && this.parts.size > 0) {
      try {
        const conn = await this.connection();
        if (conn === null) {
          await this.sleep(this.options.backoffMs);
          continue;
        }
        if ([...this.parts.values()].some((s) => s.truncating)) await this.truncate(conn);
        const ready = [...this.parts.values()].filter((s) => !s.truncating && s.delayedUntil <= Date.now());
        if (ready.length === 0) {
          await this.sleep(Math.min(this.options.backoffMs, 100));
          continue;
        }
        await this.fetch(conn, ready);
      } catch (err) {
        if (this.stopped) return;
        this.options.logger.warn({ leader: this.options.source, err: (err as Error).message }, 'replica fetch failed; retrying');
        this.conn?.close();
        this.conn = null;
        await this.sleep(this.options.backoffMs);
      }
    }
  }

  private async connection(): Promise<Connection | null> {
    if (this.conn?.isOpen) return this.conn;
    this.conn = null;
    const address = this.options.address();
    if (address === null) return null;
    const conn = await Connection.open({ ...address, clientId: `sluice-replica-fetcher-${this.options.nodeId}`, requestTimeoutMs: 30_000 });
    // Stopped while connecting: stop() found no connection to close, so this one goes now
    // (an open socket would keep a stopping broker's process alive).
    if (this.stopped) {
      conn.close();
      return null;
    }
    this.conn = conn;
    return conn;
  }

  /** OffsetForLeaderEpoch for every truncating partition, then truncation to the divergence point. */
  private async truncate(conn: Connection): Promise<void> {
    const states = [...this.parts.values()].filter((s) => s.truncating);
    const byTopic = groupByTopic(states);
    const asked = states.map((s) => ({ s, epoch: s.partition.leaderEpochs?.latestEpoch ?? UNDEFINED_EPOCH }));
    const epochOf = new Map(asked.map((a) => [a.s, a.epoch]));
    const res = await conn.request(
      23,
      {
        replicaId: this.options.nodeId,
        topics: [...byTopic].map(([topic, ss]) => ({ topic, partitions: ss.map((s) => ({ partition: s.index, currentLeaderEpoch: s.leaderEpoch, leaderEpoch: epochOf.get(s)! })) })),
      },
      { version: OFFSET_FOR_LEADER_EPOCH_VERSION },
    );
    for (const t of res.topics) {
      for (const p of t.partitions) {
        const s = this.parts.get(`${t.topic}\u0000${p.partition}`);
        if (!s || !s.truncating || !states.includes(s)) continue;
        if (p.errorCode !== ErrorCode.NONE) {
          this.delay(s, p.errorCode, 'asking the leader where the logs diverge');
          continue;
        }
        await s.partition.drainAppends();
        const part = s.partition;
        const before = part.logEndOffset;
        const mine = epochOf.get(s)!;
        let to: number;
        if (mine === UNDEFINED_EPOCH || p.leaderEpoch === UNDEFINED_EPOCH || p.endOffset < 0) {
          // Nothing shared to compare by epoch: keep what the leader has below our end only
          // when we had no epochs at all (an empty log); otherwise start over from the leader.
          to = before === part.logStartOffset ? before : part.logStartOffset;
        } else if (p.leaderEpoch === mine) {
          to = Math.min(p.endOffset, before);
        } else {
          // The leader does not know our latest epoch: cut at the end of the epoch it does know.
          const ours = part.leaderEpochs!.endOffsetFor(p.leaderEpoch, before);
          to = Math.min(p.endOffset, ours.endOffset < 0 ? part.logStartOffset : ours.endOffset, before);
        }
        if (to < before) {
          part.truncateTo(to);
          this.options.logger.warn(
            { partition: `${s.topic}-${s.index}`, leader: this.options.source, leaderEpoch: s.leaderEpoch, from: before, to: part.logEndOffset, ourEpoch: mine, leaderAnswer: { epoch: p.leaderEpoch, endOffset: p.endOffset } },
            'truncated the divergent end of the log to match the leader',
          );
        }
        s.truncating = false;
      }
    }
  }

  private async fetch(conn: Connection, ready: FetchState[]): Promise<void> {
    const byTopic = groupByTopic(ready);
    const offsets = new Map(ready.map((s) => [s, s.partition.logEndOffset]));
    const res = await conn.request(
      1,
      {
        replicaId: this.options.nodeId,
        maxWaitMs: this.options.waitMaxMs,
        minBytes: 1,
        maxBytes: this.options.responseMaxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...byTopic].map(([topic, ss]) => ({
          topic,
          topicId: '00000000-0000-0000-0000-000000000000',
          partitions: ss.map((s) => ({
            partition: s.index,
            currentLeaderEpoch: s.leaderEpoch,
            fetchOffset: offsets.get(s)!,
            lastFetchedEpoch: s.partition.leaderEpochs?.latestEpoch ?? -1,
            logStartOffset: s.partition.logStartOffset,
            partitionMaxBytes: this.options.partitionMaxBytes,
          })),
        })),
        forgottenTopicsData: [],
        rackId: '',
      },
      { version: FETCH_VERSION, extraTimeoutMs: this.options.waitMaxMs },
    );
    if (res.errorCode !== ErrorCode.NONE) throw new Error(`the leader refused the fetch: ${errorName(res.errorCode)}`);
    for (const t of res.responses) {
      for (const p of t.partitions) {
        const s = this.parts.get(`${t.topic}\u0000${p.partitionIndex}`);
        // Removed, or re-added for a new epoch (then truncating again), while the fetch ran.
        if (!s || s.truncating || offsets.get(s) === undefined) continue;
        this.apply(s, p, offsets.get(s)!);
      }
    }
  }

  private apply(
    s: FetchState,
    p: { errorCode: number; highWatermark: number; logStartOffset: number; records: Buffer | null | Buffer[] },
    fetchedAt: number,
  ): void {
    const part = s.partition;
    if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      if (p.logStartOffset > part.logEndOffset) {
        this.options.logger.warn({ partition: `${s.topic}-${s.index}`, logEndOffset: part.logEndOffset, leaderLogStartOffset: p.logStartOffset }, "this replica's log ends before the leader's starts: starting again at the leader's log start offset");
        part.startAt(p.logStartOffset);
      } else {
        s.truncating = true; // ahead of the leader: find the divergence again
      }
      return;
    }
    if (p.errorCode !== ErrorCode.NONE) return this.delay(s, p.errorCode, 'fetching');
    if (part.logEndOffset !== fetchedAt) return; // the log moved (truncated) while the fetch ran
    const records = Array.isArray(p.records) ? Buffer.concat(p.records) : p.records;
    if (records !== null && records.length > 0) {
      try {
        part.appendReplicated(records);
        this.options.stats.bytesIn += records.length;
      } catch (err) {
        // A batch that fails its check is not written: the next fetch asks for it again.
        this.delay(s, ErrorCode.CORRUPT_MESSAGE, `appending the leader's batches (${(err as Error).message})`);
        return;
      }
    }
    if (p.logStartOffset > part.logStartOffset && p.logStartOffset <= part.logEndOffset) {
      part.log.deleteRecordsBefore(p.logStartOffset);
      part.leaderEpochs?.truncateFromStart(p.logStartOffset);
    }
    part.setHighWatermark(Math.min(p.highWatermark, part.logEndOffset));
  }

  private delay(s: FetchState, code: number, what: string): void {
    s.delayedUntil = Date.now() + this.options.backoffMs;
    this.options.logger.warn({ partition: `${s.topic}-${s.index}`, leader: this.options.source, error: errorName(code) }, `${what} failed; retrying`);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(t);
        this.wakeUp = null;
        resolve();
      };
    });
  }
}

/** The partitions of a request, by topic (a Fetch or OffsetForLeaderEpoch lists them so). */
function groupByTopic(states: FetchState[]): Map<string, FetchState[]> {
  const byTopic = new Map<string, FetchState[]>();
  for (const s of states) {
    const list = byTopic.get(s.topic);
    if (list) list.push(s);
    else byTopic.set(s.topic, [s]);
  }
  return byTopic;
}
