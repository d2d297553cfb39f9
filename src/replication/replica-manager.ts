/**
 * A broker's replicas (Kafka's ReplicaManager and Partition, leader side). On every change of
 * the metadata cache it makes this broker leader or follower of each partition the cluster
 * assigns it (Kafka's LeaderAndIsr handling):
 *
 *   leader    keeps each follower's log end offset and last caught-up time (from their Fetch
 *             requests), the high watermark = min log end offset over the ISR, the acks=all
 *             requests waiting for it, and the ISR: a follower that reaches the high watermark
 *             (and the current epoch) joins it, one not caught up for replica.lag.time.max.ms
 *             leaves it. ISR changes are compare-and-set writes on the partition state in etcd,
 *             guarded by this broker's registration: a broker that lost its lease or its
 *             leadership cannot change the ISR, so its acks=all writes fail instead of splitting.
 *   follower  waits for its queued appends, then hands the partition to the fetcher of its
 *             leader's broker (replica-fetcher.ts), which truncates by leader epoch and copies.
 *   neither   a broker that is no longer a replica (reassigned away) empties its copy.
 *
 * A partition whose ISR is this broker alone keeps high watermark = log end offset, with no
 * per-append work: the lone-broker fast path. Not thread-safe: one event loop.
 */
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';
import type { Partition } from '../broker/partition.js';
import type { Sluice } from '../broker/sluice.js';
import type { MetadataCache } from '../cluster/metadata-cache.js';
import type { ClusterStore } from '../cluster/store.js';
import { NO_LEADER, type VersionedPartitionState } from '../cluster/types.js';
import { ReplicaFetcher, type FetcherLogger } from './replica-fetcher.js';
import type { DamagePolicy } from '../storage/quarantine.js';
import { LAST_OFFSET_DELTA_OFFSET, LENGTH_OFFSET, LOG_OVERHEAD, RECORDS_COUNT_OFFSET, RECORDS_OFFSET } from '../record/layout.js';

/** A replica re-fetches a damaged range from its leader: the log is cut at the damage. */
const truncateDamage: DamagePolicy = () => 'truncate';

export interface ReplicationSettings {
  /** replica.lag.time.max.ms: a follower not caught up for this long leaves the ISR (default 30000). */
  replicaLagTimeMaxMs?: number;
  /** replica.fetch.wait.max.ms: how long a follower's fetch waits on the leader (default 500). */
  replicaFetchWaitMaxMs?: number;
  /** replica.fetch.max.bytes: bytes per partition per follower fetch (default 1 MiB). */
  replicaFetchMaxBytes?: number;
  /** replica.fetch.response.max.bytes (default 10 MiB). */
  replicaFetchResponseMaxBytes?: number;
  /** replica.fetch.backoff.ms: wait after a failed fetch (default 1000). */
  replicaFetchBackoffMs?: number;
}

export interface ReplicaManagerOptions extends ReplicationSettings {
  nodeId: number;
  sluice: Sluice;
  cache: MetadataCache;
  store: ClusterStore;
  logger: FetcherLogger;
  /** Told when this broker starts or stops leading a partition (producer state, group loading). */
  onRoleChange?: (partition: Partition, role: 'leader' | 'follower' | 'none') => void;
}

interface FollowerState {
  /** The follower's log end offset: the offset of its last fetch (-1 before its first). */
  leo: number;
  lastCaughtUpMs: number;
  lastFetchMs: number;
  /** The leader's log end offset at the follower's previous fetch. */
  lastFetchLeaderLeo: number;
}

interface AckWaiter {
  offset: number;
  minIsr: number;
  done: (errorCode: number) => void;
  timer: NodeJS.Timeout;
}

/** What this broker knows while it leads a partition. */
class LeaderState {
  readonly followers = new Map<number, FollowerState>();
  waiters: AckWaiter[] = [];
  isr: number[];
  modRevision: number;
  /** An ISR write is in flight: no second one until it lands. */
  altering = false;
  /**
   * The ISR being written while the write is in flight. The high watermark counts the union
   * of both (Kafka's "maximal ISR"): a follower about to join must hold what is acknowledged
   * from then on, or a record acknowledged by the old ISR could be missing on a member of the
   * new one (and on a leader elected from it).
   */
  pendingIsr: number[] | null = null;

  constructor(
    readonly topic: string,
    readonly index: number,
    readonly partition: Partition,
    readonly leaderEpoch: number,
    /** Offset where this leader epoch starts: a follower must pass it to join the ISR. */
    readonly epochStartOffset: number,
    state: VersionedPartitionState,
  ) {
    this.isr = state.isr;
    this.modRevision = state.modRevision;
  }
}

/** Per-partition counts for metrics. */
export interface ReplicationStats {
  isrShrinks: number;
  isrExpands: number;
  bytesIn: number;
  bytesOut: number;
}

export class ReplicaManager {
  private readonly leaders = new Map<string, LeaderState>();
  /** Partition -> the broker it follows and the epoch, for the ones this broker follows. */
  private readonly following = new Map<string, { leader: number; epoch: number }>();
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  private readonly timer: NodeJS.Timeout;
  private readonly lagMaxMs: number;
  private reconciling: Promise<void> = Promise.resolve();
  private stopped = false;
  readonly stats: ReplicationStats = { isrShrinks: 0, isrExpands: 0, bytesIn: 0, bytesOut: 0 };

  constructor(private readonly options: ReplicaManagerOptions) {
    this.lagMaxMs = options.replicaLagTimeMaxMs ?? 30_000;
    this.timer = setInterval(() => this.checkIsr(), Math.max(100, Math.min(1000, this.lagMaxMs / 4)));
    this.timer.unref();
  }

  /** Re-derives every role from the cache (after the local topics match it). */
  reconcile(): Promise<void> {
    const run = this.reconciling.then(() => this.reconcileNow());
    this.reconciling = run.catch((err: unknown) => this.options.logger.error({ err: (err as Error).message }, 'applying partition roles failed'));
    return this.reconciling;
  }

  /** Whether this broker leads the partition with more than itself in the ISR (acks=all waits then). */
  leaderState(topic: string, index: number): LeaderState | undefined {
    return this.leaders.get(key(topic, index));
  }

  /** NOT_ENOUGH_REPLICAS when the ISR is smaller than min.insync.replicas (checked before an acks=all append). */
  checkMinIsr(topic: string, index: number, minIsr: number): void {
    const ls = this.leaders.get(key(topic, index));
    const size = ls?.isr.length ?? 1;
    if (size < minIsr) {
      throw new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, `${topic}-${index} has ${size} in-sync replica(s) [${ls?.isr.join(', ') ?? ''}], fewer than min.insync.replicas=${minIsr}`);
    }
  }

  /**
   * Resolves with NONE once the high watermark passes `offset` (every ISR member has it),
   * NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR is then smaller than `minIsr`,
   * NOT_LEADER_OR_FOLLOWER when leadership moves first, REQUEST_TIMED_OUT after `timeoutMs`.
   */
  awaitReplication(topic: string, index: number, offset: number, minIsr: number, timeoutMs: number): Promise<number> {
    const ls = this.leaders.get(key(topic, index));
    if (ls === undefined) return Promise.resolve(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (ls.partition.highWatermark >= offset) return Promise.resolve(ls.isr.length < minIsr ? ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND : ErrorCode.NONE);
    return new Promise((resolve) => {
      const w: AckWaiter = {
        offset,
        minIsr,
        done: (code) => {
          clearTimeout(w.timer);
          resolve(code);
        },
        timer: setTimeout(() => {
          ls.waiters = ls.waiters.filter((x) => x !== w);
          resolve(ErrorCode.REQUEST_TIMED_OUT);
        }, Math.max(0, timeoutMs)),
      };
      ls.waiters.push(w);
    });
  }

  /**
   * A follower's Fetch reached this leader at `fetchOffset`: its log end offset. Updates its
   * caught-up time, lets it join the ISR, and moves the high watermark. Returns false when
   * this broker does not lead the partition or the fetcher is no replica of it.
   */
  onFollowerFetch(topic: string, index: number, replicaId: number, fetchOffset: number): boolean {
    const ls = this.leaders.get(key(topic, index));
    if (ls === undefined) return false;
    const replicas = this.options.cache.topics.get(topic)?.replicas[index] ?? [];
    if (!replicas.includes(replicaId) || replicaId === this.options.nodeId) return false;
    const now = Date.now();
    const leo = ls.partition.logEndOffset;
    let f = ls.followers.get(replicaId);
    if (f === undefined) {
      f = { leo: -1, lastCaughtUpMs: 0, lastFetchMs: 0, lastFetchLeaderLeo: -1 };
      ls.followers.set(replicaId, f);
    }
    // Kafka's rule: caught up now when it asks from the leader's end; caught up as of its
    // previous fetch when it asks from where the leader ended then.
    if (fetchOffset >= leo) f.lastCaughtUpMs = now;
    else if (fetchOffset >= f.lastFetchLeaderLeo && f.lastFetchLeaderLeo >= 0) f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, f.lastFetchMs);
    f.leo = fetchOffset;
    f.lastFetchMs = now;
    f.lastFetchLeaderLeo = leo;
    // A broker in controlled shutdown is on its way out: it does not rejoin.
    const leaving = this.options.cache.brokers.get(replicaId)?.shuttingDown === true;
    if (!leaving && !ls.isr.includes(replicaId) && fetchOffset >= ls.partition.highWatermark && fetchOffset >= ls.epochStartOffset) {
      this.alterIsr(ls, [...ls.isr, replicaId], 'caught up');
    }
    this.advanceHighWatermark(ls);
    return true;
  }

  /** The follower states of a led partition, for metrics and tools. */
  followerLag(topic: string, index: number): { replica: number; lagRecords: number; lagMs: number }[] {
    const ls = this.leaders.get(key(topic, index));
    if (!ls) return [];
    const now = Date.now();
    return [...ls.followers].map(([replica, f]) => ({ replica, lagRecords: Math.max(0, ls.partition.logEndOffset - Math.max(f.leo, 0)), lagMs: Math.max(0, now - f.lastCaughtUpMs) }));
  }

  /** Partitions this broker leads and follows (for metrics). */
  counts(): { leading: number; following: number } {
    return { leading: this.leaders.size, following: this.following.size };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.reconciling;
    for (const ls of this.leaders.values()) this.failWaiters(ls, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    this.leaders.clear();
    await Promise.all([...this.fetchers.values()].map((f) => f.stop()));
    this.fetchers.clear();
  }

  private async reconcileNow(): Promise<void> {
    if (this.stopped) return;
    const { cache, sluice, nodeId } = this.options;
    const seen = new Set<string>();
    for (const topic of cache.topics.values()) {
      if (!sluice.hasTopic(topic.name)) continue;
      const count = Math.min(topic.replicas.length, sluice.partitionCount(topic.name));
      for (let p = 0; p < count; p++) {
        const k = key(topic.name, p);
        seen.add(k);
        const state = cache.partitionState(topic.name, p);
        const replicas = topic.replicas[p]!;
        const partition = sluice.partition(topic.name, p);
        if (state && state.leader === nodeId) {
          await this.lead(k, topic.name, p, partition, state);
        } else if (state && state.leader !== NO_LEADER && replicas.includes(nodeId)) {
          await this.follow(k, topic.name, p, partition, state.leader, state.leaderEpoch);
        } else {
          this.resign(k);
          this.unfollow(k);
          // A partition this broker no longer holds (reassigned away): its copy goes.
          if (!replicas.includes(nodeId) && partition.logEndOffset > partition.logStartOffset) {
            await partition.drainAppends();
            this.options.logger.info({ partition: `${topic.name}-${p}`, replicas }, 'no longer a replica: deleting the local copy');
            // Empty from offset 0: if it is assigned here again it copies the leader's log from
            // the leader's log start (an out-of-range fetch moves it there), never a partial one.
            partition.startAt(0);
            this.options.onRoleChange?.(partition, 'none');
          }
        }
      }
    }
    for (const k of [...this.leaders.keys()]) if (!seen.has(k)) this.resign(k);
    for (const k of [...this.following.keys()]) if (!seen.has(k)) this.unfollow(k);
  }

  private async lead(k: string, topic: string, index: number, partition: Partition, state: VersionedPartitionState): Promise<void> {
    const current = this.leaders.get(k);
    if (current && current.leaderEpoch === state.leaderEpoch && current.partition === partition) {
      // The controller (or this leader's own write) changed the ISR: adopt the newer one.
      if (state.modRevision > current.modRevision) {
        current.isr = state.isr;
        current.modRevision = state.modRevision;
        this.applyHighWatermarkMode(current);
        this.advanceHighWatermark(current);
        this.failShrunkWaiters(current);
      }
      return;
    }
    if (current) this.resign(k);
    this.unfollow(k);
    await partition.drainAppends();
    if (this.stopped) return;
    const epochs = partition.enableLeaderEpochs();
    // The first batch of the new epoch starts here (KIP-101): followers truncate to it.
    epochs.assign(state.leaderEpoch, partition.logEndOffset);
    const ls = new LeaderState(topic, index, partition, state.leaderEpoch, epochs.startOffsetOf(state.leaderEpoch), state);
    const now = Date.now();
    for (const r of this.options.cache.topics.get(topic)?.replicas[index] ?? []) {
      if (r === this.options.nodeId) continue;
      // ISR members count as caught up now: they get replica.lag.time.max.ms to show up.
      ls.followers.set(r, { leo: -1, lastCaughtUpMs: state.isr.includes(r) ? now : 0, lastFetchMs: 0, lastFetchLeaderLeo: -1 });
    }
    this.leaders.set(k, ls);
    this.applyHighWatermarkMode(ls);
    this.options.onRoleChange?.(partition, 'leader');
  }

  private async follow(k: string, topic: string, index: number, partition: Partition, leader: number, epoch: number): Promise<void> {
    const now = this.following.get(k);
    if (now && now.leader === leader && now.epoch === epoch) return;
    const wasLeader = this.leaders.has(k);
    this.resign(k);
    this.unfollow(k);
    await partition.drainAppends();
    if (this.stopped) return; // stop() ran meanwhile: no new fetcher may outlive it
    partition.enableLeaderEpochs();
    if (!partition.replicated) partition.setHighWatermark(partition.highWatermark);
    // A follower can fetch damaged data again: damage it finds is cut off, not quarantined,
    // and ranges quarantined before (by recovery at start) are fetched again from the leader.
    partition.log.setDamagePolicy(truncateDamage);
    this.refetchQuarantined(topic, index, partition, leader);
    this.following.set(k, { leader, epoch });
    this.fetcherFor(leader).add(topic, index, partition, epoch);
    if (wasLeader || !now) this.options.onRoleChange?.(partition, 'follower');
  }

  /** Truncates a follower's log to the first quarantined range that is still a gap, so the fetcher copies it again. */
  private refetchQuarantined(topic: string, index: number, partition: Partition, leader: number): void {
    const log = partition.log;
    for (const q of log.quarantined) {
      if (q.nextOffset <= q.firstOffset || q.firstOffset < log.logStartOffset || q.firstOffset >= log.logEndOffset) continue;
      if (holds(log.read(q.firstOffset, 64 * 1024).records, q.firstOffset)) continue; // fetched again already
      const base = q.firstOffset;
      this.options.logger.warn({ partition: `${topic}-${index}`, leader, quarantined: `${q.firstOffset}..${q.nextOffset - 1}`, truncateTo: base }, 'this replica has a quarantined (damaged) range: truncating to it and fetching it again from the leader');
      partition.truncateTo(base);
      return;
    }
  }

  private resign(k: string): void {
    const ls = this.leaders.get(k);
    if (!ls) return;
    this.leaders.delete(k);
    this.failWaiters(ls, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    // Stop serving past what followers are known to hold: the high watermark stays where it is.
    if (!ls.partition.replicated) ls.partition.setHighWatermark(ls.partition.highWatermark);
  }

  private unfollow(k: string): void {
    const f = this.following.get(k);
    if (!f) return;
    this.following.delete(k);
    const [topic, index] = splitKey(k);
    this.fetchers.get(f.leader)?.remove(topic, index);
  }

  private fetcherFor(broker: number): ReplicaFetcher {
    if (this.stopped) throw new Error('the replica manager is stopped');
    let f = this.fetchers.get(broker);
    if (!f) {
      const o = this.options;
      f = new ReplicaFetcher({
        source: broker,
        nodeId: o.nodeId,
        address: () => {
          const b = o.cache.brokers.get(broker);
          return b ? { host: b.host, port: b.port } : null;
        },
        logger: o.logger,
        waitMaxMs: o.replicaFetchWaitMaxMs ?? 500,
        partitionMaxBytes: o.replicaFetchMaxBytes ?? 1024 * 1024,
        responseMaxBytes: o.replicaFetchResponseMaxBytes ?? 10 * 1024 * 1024,
        backoffMs: o.replicaFetchBackoffMs ?? 1000,
        stats: this.stats,
      });
      this.fetchers.set(broker, f);
    }
    return f;
  }

  /** ISR of this broker alone: high watermark = log end offset, no bookkeeping per append. */
  private applyHighWatermarkMode(ls: LeaderState): void {
    const me = this.options.nodeId;
    const alone = ls.isr.length === 1 && ls.isr[0] === me && (ls.pendingIsr === null || (ls.pendingIsr.length === 1 && ls.pendingIsr[0] === me));
    if (alone && ls.partition.replicated) ls.partition.setHighWatermark(null);
    else if (!alone && !ls.partition.replicated) ls.partition.setHighWatermark(ls.partition.logEndOffset);
    if (alone) this.completeWaiters(ls);
  }

  private advanceHighWatermark(ls: LeaderState): void {
    const p = ls.partition;
    if (!p.replicated) return this.completeWaiters(ls);
    let hw = p.logEndOffset;
    const members = ls.pendingIsr === null ? ls.isr : [...new Set([...ls.isr, ...ls.pendingIsr])];
    for (const r of members) {
      if (r === this.options.nodeId) continue;
      const f = ls.followers.get(r);
      hw = Math.min(hw, f ? f.leo : -1);
    }
    if (hw > p.highWatermark) p.setHighWatermark(hw);
    this.completeWaiters(ls);
  }

  private completeWaiters(ls: LeaderState): void {
    if (ls.waiters.length === 0) return;
    const hw = ls.partition.highWatermark;
    const still: AckWaiter[] = [];
    for (const w of ls.waiters) {
      if (hw >= w.offset) w.done(ls.isr.length < w.minIsr ? ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND : ErrorCode.NONE);
      else still.push(w);
    }
    ls.waiters = still;
  }

  /** acks=all writes waiting while the ISR fell below their min.insync.replicas fail now, as Kafka's. */
  private failShrunkWaiters(ls: LeaderState): void {
    const still: AckWaiter[] = [];
    for (const w of ls.waiters) {
      if (ls.isr.length < w.minIsr) w.done(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
      else still.push(w);
    }
    ls.waiters = still;
  }

  private failWaiters(ls: LeaderState, code: number): void {
    for (const w of ls.waiters.splice(0)) w.done(code);
  }

  /** Drops followers not caught up for replica.lag.time.max.ms from the ISR of each led partition. */
  private checkIsr(): void {
    const now = Date.now();
    for (const ls of this.leaders.values()) {
      if (ls.altering) continue;
      const leo = ls.partition.logEndOffset;
      const out = ls.isr.filter((r) => {
        if (r === this.options.nodeId) return false;
        const f = ls.followers.get(r);
        if (!f) return true;
        if (f.leo >= leo) {
          f.lastCaughtUpMs = now; // nothing to catch up on
          return false;
        }
        return now - f.lastCaughtUpMs > this.lagMaxMs;
      });
      if (out.length > 0) this.alterIsr(ls, ls.isr.filter((r) => !out.includes(r)), `not caught up for ${this.lagMaxMs} ms`, out);
    }
  }

  /**
   * Writes a new ISR by compare-and-set on the state this leader last saw, guarded by its
   * registration (a broker whose lease expired cannot write). A lost race is dropped: the
   * watch brings the winner's state, and the next fetch or check tries again.
   */
  private alterIsr(ls: LeaderState, isr: number[], why: string, removed: number[] = []): void {
    if (ls.altering || this.stopped) return;
    const { cache, store, nodeId, logger } = this.options;
    const state = cache.partitionState(ls.topic, ls.index);
    if (!state || state.leader !== nodeId || state.leaderEpoch !== ls.leaderEpoch) return;
    if (state.modRevision > ls.modRevision) {
      // Someone (the controller) wrote a newer state: take its ISR first and decide again later.
      ls.isr = state.isr;
      ls.modRevision = state.modRevision;
      this.applyHighWatermarkMode(ls);
      this.advanceHighWatermark(ls);
      this.failShrunkWaiters(ls);
      return;
    }
    if (state.modRevision !== ls.modRevision) return;
    ls.altering = true;
    ls.pendingIsr = isr;
    // A follower joining a leader that was alone: the high watermark stops following the log
    // end at once, so nothing is acknowledged that the joining follower lacks.
    this.applyHighWatermarkMode(ls);
    const next = { version: 1 as const, leader: nodeId, leaderEpoch: ls.leaderEpoch, isr, partitionEpoch: state.partitionEpoch + 1, controllerEpoch: state.controllerEpoch };
    const guard = [{ key: cache.keys.broker(nodeId), target: 'create' as const, result: 'greater' as const, createRevision: 0 }];
    store
      .writePartitionState(ls.topic, ls.index, next, state.modRevision, guard)
      .then((rev) => {
        if (rev === null || this.leaders.get(key(ls.topic, ls.index)) !== ls) return;
        // A newer state (the controller's) may have been adopted while this write was in
        // flight: this one is older then, and applying it would leave the leader on a stale ISR.
        if (rev < ls.modRevision) return;
        const grew = isr.length > state.isr.length;
        ls.isr = isr;
        ls.modRevision = rev;
        if (grew) this.stats.isrExpands++;
        else this.stats.isrShrinks++;
        logger.info({ partition: `${ls.topic}-${ls.index}`, leaderEpoch: ls.leaderEpoch, isr, was: state.isr, why, ...(removed.length ? { removed } : {}) }, grew ? 'ISR expanded' : 'ISR shrank');
        this.applyHighWatermarkMode(ls);
        this.advanceHighWatermark(ls);
        this.failShrunkWaiters(ls);
      })
      .catch((err: unknown) => logger.warn({ partition: `${ls.topic}-${ls.index}`, err: (err as Error).message }, 'changing the ISR failed; retrying'))
      .finally(() => {
        ls.altering = false;
        ls.pendingIsr = null;
        if (this.leaders.get(key(ls.topic, ls.index)) !== ls) return;
        this.applyHighWatermarkMode(ls);
        this.advanceHighWatermark(ls);
      });
  }
}

/** Whether a chain of batches holds a record at `offset` (quarantine's placeholder batches hold none). */
function holds(batches: Buffer, offset: number): boolean {
  for (let pos = 0; pos + RECORDS_OFFSET <= batches.length; pos += batches.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD) {
    const base = Number(batches.readBigInt64BE(pos));
    if (base <= offset && offset <= base + batches.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET)) return batches.readInt32BE(pos + RECORDS_COUNT_OFFSET) > 0;
  }
  return false;
}

function key(topic: string, index: number): string {
  return `${topic}\u0000${index}`;
}

function splitKey(k: string): [string, number] {
  const i = k.lastIndexOf('\u0000');
  return [k.slice(0, i), Number(k.slice(i + 1))];
}
