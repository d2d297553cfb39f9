/**
 * The controller: one broker of the cluster at a time, elected through etcd (a record bound
 * to its lease, created only when absent, with a controller epoch that only grows). Every
 * broker runs a Controller; the one that wins the campaign becomes active and, on every
 * change of the metadata cache, reconciles the partition states with the live brokers, as
 * ZooKeeper-era Kafka's PartitionStateMachine did:
 *
 *   new partition (no state)      -> leader = first live replica, ISR = live replicas
 *   leader gone, live ISR member  -> clean election: first live ISR member in replica order,
 *                                    ISR = live ISR members, leader epoch + 1
 *   leader gone, no live ISR      -> offline (leader -1, ISR kept so its last member can come
 *                                    back and lead), unless unclean.leader.election.enable
 *                                    picks any live replica (data may be lost)
 *   leader alive, dead ISR member -> ISR shrinks to the live members
 *   preferred replica back in ISR -> it leads again (auto.leader.rebalance.enable)
 *   partition state of no topic   -> removed (a deleted topic's leftovers)
 *   reassignment in progress      -> its next step (src/cluster/reassignment.ts)
 *   election asked (ElectLeaders) -> preferred or unclean election of that partition, even
 *                                    when the settings would not run it on their own
 *
 * Every write is a compare-and-set on the partition's revision, guarded by "the controller
 * key still holds my record": a deposed controller's writes fail. A failed write is dropped;
 * the change that beat it reaches the cache and reconciles again. Not thread-safe.
 */
import type { MetadataCache, MetadataChange } from './metadata-cache.js';
import type { ClusterStore } from './store.js';
import { nextReassignmentStep } from './reassignment.js';
import { NO_LEADER, type ControllerRecord, type ElectionType, type PartitionState, type TopicRecord, type VersionedPartitionState } from './types.js';

export interface ControllerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ControllerOptions {
  brokerId: number;
  cache: MetadataCache;
  store: ClusterStore;
  /** The lease the controller record is bound to (the broker's session lease). */
  lease: () => string;
  logger: ControllerLogger;
  /** unclean.leader.election.enable for topics that do not set it (default false). */
  uncleanLeaderElection?: boolean;
  /** auto.leader.rebalance.enable (default true). */
  autoLeaderRebalance?: boolean;
}

export class Controller {
  /** The record this broker wrote when it won, while it is the active controller. */
  private active: ControllerRecord | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  /** Nothing happens before start(): the broker's session (the lease) must exist first. */
  private started = false;
  private readonly offOnChange: () => void;
  private readonly offline = new Set<string>();

  constructor(private readonly options: ControllerOptions) {
    this.offOnChange = options.cache.onChange((changes) => this.onChange(changes));
  }

  /** Campaigns at once if no controller is registered. */
  start(): void {
    this.started = true;
    this.kick();
  }

  get isActive(): boolean {
    return this.active !== null && this.options.cache.controller?.epoch === this.active.epoch;
  }

  get epoch(): number {
    return this.active?.epoch ?? 0;
  }

  /** Stops acting; on a clean shutdown the controller record is removed so another broker takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.offOnChange();
    await this.running?.catch(() => {});
    if (this.active) await this.options.store.resign(this.active).catch(() => {});
    this.active = null;
  }

  /** Resolves when the reconcile loop is idle (tests and shutdown). */
  async settled(): Promise<void> {
    while (this.running) await this.running.catch(() => {});
  }

  private onChange(changes: MetadataChange[]): void {
    for (const c of changes) {
      if (c.kind === 'controller' && this.active && c.controller?.epoch !== this.active.epoch) {
        this.options.logger.info({ broker: this.options.brokerId, epoch: this.active.epoch, now: c.controller }, 'no longer the controller');
        this.active = null;
      }
    }
    this.kick();
  }

  /** Runs one campaign-or-reconcile pass now, or once more after the one running. */
  private kick(): void {
    if (this.stopped || !this.started) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.pass();
        } catch (err) {
          this.options.logger.warn({ err: (err as Error).message }, 'controller pass failed; retrying on the next change');
          this.retryLater();
        }
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = null));
  }

  private retryTimer: NodeJS.Timeout | null = null;
  private retryLater(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.kick();
    }, 1000);
    this.retryTimer.unref();
  }

  private async pass(): Promise<void> {
    const { cache, store, brokerId, logger } = this.options;
    if (!this.active && cache.controller === null) {
      const epoch = await store.campaign(brokerId, this.options.lease());
      if (epoch !== null) {
        this.active = { version: 1, brokerId, epoch };
        logger.info({ broker: brokerId, epoch }, 'became the controller');
        // The cache hears of the new record through the watch; reconcile now anyway.
      }
    }
    if (this.active) await this.reconcile();
  }

  private async reconcile(): Promise<void> {
    const { cache } = this.options;
    const registered = new Set(cache.liveBrokerIds());
    // A broker in controlled shutdown is alive but leads nothing and leaves every ISR.
    const live = new Set([...registered].filter((id) => cache.brokers.get(id)?.shuttingDown !== true));
    for (const topic of cache.topics.values()) {
      if (topic.reassignments || topic.elections) await this.topicRequests(topic, live);
      for (let p = 0; p < topic.replicas.length; p++) {
        if (this.stopped || !this.active) return;
        await this.reconcilePartition(topic, p, live, registered);
      }
    }
    // States left by deleted topics.
    for (const [name, byIndex] of cache.partitions) {
      if (cache.topics.has(name)) continue;
      for (const [p, state] of byIndex) await this.write(name, p, null, state.modRevision);
    }
  }

  private async reconcilePartition(topic: TopicRecord, p: number, live: Set<number>, registered: Set<number> = live): Promise<void> {
    const replicas = topic.replicas[p]!;
    const state = this.options.cache.partitionState(topic.name, p);
    const tp = `${topic.name}-${p}`;
    const liveReplicas = replicas.filter((r) => live.has(r));
    if (!state) {
      if (liveReplicas.length === 0) return this.noteOffline(tp, replicas);
      return void (await this.write(topic.name, p, { leader: liveReplicas[0]!, leaderEpoch: 0, isr: liveReplicas, partitionEpoch: 0 }, 0));
    }
    const liveIsr = replicas.filter((r) => state.isr.includes(r) && live.has(r));
    if (state.leader !== NO_LEADER && registered.has(state.leader) && !live.has(state.leader)) {
      // Controlled shutdown of the leader: hand leadership to an in-sync replica, or keep it
      // (the partition would go offline otherwise) until the broker is gone.
      if (liveIsr.length === 0) return;
      return void (await this.write(topic.name, p, next(state, { leader: liveIsr[0]!, leaderEpoch: state.leaderEpoch + 1, isr: liveIsr }), state.modRevision, 'controlled shutdown'));
    }
    if (state.leader === NO_LEADER || !live.has(state.leader)) {
      if (liveIsr.length > 0) {
        return void (await this.write(topic.name, p, next(state, { leader: liveIsr[0]!, leaderEpoch: state.leaderEpoch + 1, isr: liveIsr }), state.modRevision, 'clean election'));
      }
      if (liveReplicas.length > 0 && this.unclean(topic)) {
        this.options.logger.warn({ partition: tp, isr: state.isr, leader: liveReplicas[0] }, 'unclean leader election: the new leader was not in sync, acknowledged records may be lost');
        return void (await this.write(topic.name, p, next(state, { leader: liveReplicas[0]!, leaderEpoch: state.leaderEpoch + 1, isr: [liveReplicas[0]!] }), state.modRevision, 'unclean election'));
      }
      if (state.leader !== NO_LEADER) {
        // Keep the ISR: its last member is the one that may lead again without loss.
        await this.write(topic.name, p, next(state, { leader: NO_LEADER, leaderEpoch: state.leaderEpoch + 1, isr: state.isr }), state.modRevision, 'offline');
      }
      return this.noteOffline(tp, state.isr);
    }
    this.offline.delete(tp);
    const preferred = replicas[0]!;
    if ((this.options.autoLeaderRebalance ?? true) && preferred !== state.leader && liveIsr.includes(preferred)) {
      return void (await this.write(topic.name, p, next(state, { leader: preferred, leaderEpoch: state.leaderEpoch + 1, isr: liveIsr }), state.modRevision, 'preferred leader election'));
    }
    if (liveIsr.length < state.isr.length && liveIsr.includes(state.leader)) {
      await this.write(topic.name, p, next(state, { leader: state.leader, leaderEpoch: state.leaderEpoch, isr: liveIsr }), state.modRevision, 'dead replicas leave the ISR');
    }
  }

  /**
   * Runs the reassignments and asked-for elections of a topic: partition-state steps first,
   * then one topic write that finishes reassignments and clears the elections handled. The
   * ordinary reconcile of the same pass works from the state read before: its writes lose
   * their compare-and-set if these changed it, and the next pass starts afresh.
   */
  private async topicRequests(topic: TopicRecord, live: Set<number>): Promise<void> {
    let next = topic;
    for (const key of Object.keys(topic.reassignments ?? {})) {
      const p = Number(key);
      const step = nextReassignmentStep(next, p, this.options.cache.partitionState(topic.name, p), live);
      if (!step) continue;
      if (step.kind === 'wait') {
        this.noteWaiting(`${topic.name}-${p}`, step.why);
        continue;
      }
      this.waiting.delete(`${topic.name}-${p}`);
      if (step.kind === 'state') {
        await this.write(topic.name, p, step.state, this.options.cache.partitionState(topic.name, p)!.modRevision, step.why);
      } else {
        this.options.logger.info({ partition: `${topic.name}-${p}`, replicas: step.topic.replicas[p] }, step.why);
        next = step.topic;
      }
    }
    if (topic.elections) {
      const elections = { ...topic.elections };
      for (const [key, type] of Object.entries(topic.elections)) {
        const p = Number(key);
        // A lost compare-and-set keeps the request for the next pass.
        if (!(p >= 0 && p < topic.replicas.length) || (await this.elect(topic, p, live, type))) delete elections[key];
      }
      next = { ...next, elections };
      if (Object.keys(elections).length === 0) delete next.elections;
    }
    if (next !== topic) await this.writeTopic(topic, next);
  }

  /**
   * An election asked for with ElectLeaders. Preferred: replicas[0] leads if it is alive and
   * in sync. Unclean: a partition without a live leader gets one, from the live ISR if it has
   * any, else any live replica (what it lacks is lost). Anything else needs no election.
   * False only when the write lost its compare-and-set.
   */
  private async elect(topic: TopicRecord, p: number, live: Set<number>, type: ElectionType): Promise<boolean> {
    const replicas = topic.replicas[p]!;
    const state = this.options.cache.partitionState(topic.name, p);
    if (!state) return true;
    const tp = `${topic.name}-${p}`;
    const liveIsr = replicas.filter((r) => state.isr.includes(r) && live.has(r));
    if (type === 'preferred') {
      const preferred = replicas[0]!;
      if (preferred === state.leader || !liveIsr.includes(preferred)) return true;
      return this.write(topic.name, p, next(state, { leader: preferred, leaderEpoch: state.leaderEpoch + 1, isr: liveIsr }), state.modRevision, 'preferred leader election (ElectLeaders)');
    }
    if (type !== 'unclean' || (state.leader !== NO_LEADER && live.has(state.leader))) return true;
    if (liveIsr.length > 0) {
      return this.write(topic.name, p, next(state, { leader: liveIsr[0]!, leaderEpoch: state.leaderEpoch + 1, isr: liveIsr }), state.modRevision, 'clean election');
    }
    const leader = replicas.find((r) => live.has(r));
    if (leader === undefined) return true;
    this.options.logger.warn({ partition: tp, isr: state.isr, leader }, 'unclean leader election: the new leader was not in sync, acknowledged records may be lost');
    return this.write(topic.name, p, next(state, { leader, leaderEpoch: state.leaderEpoch + 1, isr: [leader] }), state.modRevision, 'unclean election (ElectLeaders)');
  }

  private readonly waiting = new Map<string, string>();
  private noteWaiting(tp: string, why: string): void {
    if (this.waiting.get(tp) === why) return;
    this.waiting.set(tp, why);
    this.options.logger.info({ partition: tp, why }, 'reassignment waiting');
  }

  /** Replaces a topic record the cache holds as `seen`, guarded by this controller's record. */
  private async writeTopic(seen: TopicRecord, next: TopicRecord): Promise<boolean> {
    const active = this.active;
    if (!active) return false;
    const { store, cache } = this.options;
    const kv = await store.etcd.get(cache.keys.topic(seen.name));
    // The cache is behind etcd: the newer record arrives by the watch and another pass runs.
    if (!kv || !sameJson(kv.value, seen)) return false;
    return store.updateTopic(next, kv.modRevision, [this.guard(active)]);
  }

  private guard(active: ControllerRecord) {
    return { key: this.options.cache.keys.controller, target: 'value' as const, result: 'equal' as const, value: JSON.stringify(active) };
  }

  private unclean(topic: TopicRecord): boolean {
    const v = topic.config['unclean.leader.election.enable'];
    return v === undefined ? (this.options.uncleanLeaderElection ?? false) : v === 'true';
  }

  private noteOffline(tp: string, replicas: number[]): void {
    if (this.offline.has(tp)) return;
    this.offline.add(tp);
    this.options.logger.warn({ partition: tp, replicas }, 'partition is offline: none of its in-sync replicas is alive');
  }

  /**
   * Compare-and-set of one partition state (null deletes it), guarded by this controller's
   * record. False when it lost: the change that beat it reaches the cache and another pass runs.
   */
  private async write(topic: string, p: number, change: Omit<PartitionState, 'version' | 'controllerEpoch'> | null, modRevision: number, why = 'new partition'): Promise<boolean> {
    const active = this.active;
    if (!active) return false;
    const { store, cache, logger } = this.options;
    const guard = [this.guard(active)];
    if (change === null) {
      const r = await store.etcd.txn([{ key: cache.keys.partition(topic, p), target: 'mod', result: 'equal', modRevision }, ...guard], [{ delete: { key: cache.keys.partition(topic, p) } }]);
      return r.succeeded;
    }
    const state: PartitionState = { version: 1, ...change, controllerEpoch: active.epoch };
    const old = cache.partitionState(topic, p);
    const rev = await store.writePartitionState(topic, p, state, modRevision, guard);
    if (rev === null) return false; // someone moved it first: the watch brings the change and another pass
    logger.info(
      { partition: `${topic}-${p}`, why, leader: state.leader, leaderEpoch: state.leaderEpoch, isr: state.isr, was: old ? { leader: old.leader, leaderEpoch: old.leaderEpoch, isr: old.isr } : null },
      'partition state changed',
    );
    return true;
  }
}

function next(state: VersionedPartitionState, change: { leader: number; leaderEpoch: number; isr: number[] }): Omit<PartitionState, 'version' | 'controllerEpoch'> {
  return { ...change, partitionEpoch: state.partitionEpoch + 1 };
}

/** Whether an etcd value holds `record` (parsed, so spacing in a hand-written value does not matter). */
function sameJson(value: string, record: unknown): boolean {
  try {
    return JSON.stringify(JSON.parse(value)) === JSON.stringify(record);
  } catch {
    return false;
  }
}
