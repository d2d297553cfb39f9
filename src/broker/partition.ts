/**
 * One partition of a topic on this broker: its Log, its high watermark, the readers waiting
 * for data (long polls), and the order of appends. With a single replica the high watermark
 * is the log end offset. Not thread-safe: everything runs on the broker's event loop.
 */
import { setLogAppendTime } from '../record/header.js';
import { LENGTH_OFFSET, LOG_OVERHEAD, PARTITION_LEADER_EPOCH_OFFSET, RECORDS_OFFSET } from '../record/layout.js';
import type { AppendOptions, Log, LogAppendInfo, LogReadResult } from '../storage/index.js';
import { LeaderEpochCache, type EpochEntry } from '../replication/leader-epoch-cache.js';
import { PartitionTxns } from '../txn/partition-txns.js';

/**
 * How far a reader may read, and so what its long poll waits on: the high watermark (a
 * consumer), the last stable offset (a read_committed consumer) or the log end offset (a
 * follower copying the leader).
 */
export type ReadBound = 'hw' | 'lso' | 'leo';

interface Waiter {
  offset: number;
  bound: ReadBound;
  /** Called once: true when data came, false when the partition closed. */
  notify: (ready: boolean) => void;
}

/**
 * Waits until any of `waits` (a partition and the offset past which data is wanted) has
 * data, `timeoutMs` passes, or `wake()` is called, whichever comes first; `done` resolves
 * true only when data came. One timer for all of them and no AbortController: a long poll
 * answered within a millisecond is the common case, and an AbortController per poll (an
 * EventTarget, and an abort that builds a DOMException with a stack) cost more than the
 * rest of the poll.
 */
export function waitForAny(waits: Iterable<readonly [Partition, number]>, timeoutMs: number, bound: ReadBound = 'hw'): { done: Promise<boolean>; wake: () => void } {
  let finish: (ready: boolean) => void = () => {};
  const done = new Promise<boolean>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | null = null;
    const cancels: (() => void)[] = [];
    finish = (ready) => {
      if (settled) return;
      settled = true;
      if (timer !== null) clearTimeout(timer);
      for (const cancel of cancels) cancel();
      resolve(ready);
    };
    for (const [partition, offset] of waits) {
      const cancel = partition.onData(offset, finish, bound);
      if (cancel === null) return finish(partition.boundOf(bound) > offset);
      cancels.push(cancel);
    }
    if (timeoutMs <= 0) return finish(false);
    timer = setTimeout(() => finish(false), timeoutMs);
  });
  return { done, wake: () => finish(false) };
}

export class Partition {
  private waiters: Waiter[] = [];
  /** The last append in the chain; the next one starts after it. */
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /**
   * The high watermark when replication manages it (a partition of a cluster topic); null on
   * a lone broker, where it is the log end offset.
   */
  private hw: number | null = null;
  /** The partition's leader epochs, once it is part of a cluster (null alone: one epoch ever). */
  leaderEpochs: LeaderEpochCache | null = null;
  /** Ongoing and aborted transactions, from the batches appended (src/txn/partition-txns.ts). */
  readonly txns: PartitionTxns;

  constructor(
    readonly topic: string,
    readonly index: number,
    readonly log: Log,
    /** message.timestamp.type=LogAppendTime: stamp batches with the broker clock. */
    private logAppendTime: boolean,
  ) {
    this.txns = PartitionTxns.open(log);
  }

  get highWatermark(): number {
    return this.hw ?? this.log.logEndOffset;
  }

  /** Whether replication keeps this partition's high watermark (else it is the log end offset). */
  get replicated(): boolean {
    return this.hw !== null;
  }

  /**
   * Hands the high watermark to replication (or back, with null). It never passes the log end
   * offset; readers waiting for data below it wake.
   */
  setHighWatermark(hw: number | null): void {
    this.hw = hw === null ? null : Math.min(hw, this.log.logEndOffset);
    this.wake();
  }

  /** Reads (or builds from the batches) the leader-epoch checkpoint; done once a cluster manages the partition. */
  enableLeaderEpochs(): LeaderEpochCache {
    this.leaderEpochs ??= LeaderEpochCache.open(this.log.dir, () => {
      // (epoch, first offset) of each rise of partitionLeaderEpoch along the batch headers.
      const found: EpochEntry[] = [];
      this.log.forEachBatch(this.log.logStartOffset, (view, pos) => {
        const epoch = view.readInt32BE(pos + PARTITION_LEADER_EPOCH_OFFSET);
        if (epoch > (found.at(-1)?.epoch ?? -1)) found.push({ epoch, startOffset: Number(view.readBigInt64BE(pos)) });
      });
      return found;
    });
    return this.leaderEpochs;
  }

  /** Cuts the log back to `offset` (a follower matching its leader), with its leader epochs and high watermark. */
  truncateTo(offset: number): void {
    if (offset >= this.log.logEndOffset) return;
    if (offset < this.log.logStartOffset) return this.startAt(offset);
    // Only whole batches go: an offset inside a batch cuts from that batch's start (what is
    // cut beyond the divergence is fetched again from the leader).
    const first = this.log.read(offset, 1, this.log.logEndOffset).firstOffset;
    if (first >= 0 && first < offset) offset = first;
    this.log.truncateTo(offset);
    this.leaderEpochs?.truncateFromEnd(offset);
    this.afterTruncation();
  }

  /** Empties the log and starts it again at `offset` (a follower whose log is wholly behind its leader's start). */
  startAt(offset: number): void {
    this.log.truncateFullyAndStartAt(offset);
    this.leaderEpochs?.clear();
    this.afterTruncation();
  }

  private afterTruncation(): void {
    if (this.hw !== null) this.hw = Math.min(this.hw, this.log.logEndOffset);
    this.txns.onTruncated(this.log.logEndOffset);
  }

  /**
   * Appends a leader's batches on a follower, byte for byte: their offsets continue this log,
   * their leader epochs stay as the leader wrote them (and are noted in the checkpoint).
   */
  appendReplicated(batches: Buffer): LogAppendInfo {
    const first = Number(batches.readBigInt64BE(0));
    if (first !== this.log.logEndOffset) {
      throw new RangeError(`${this.topic}-${this.index}: the leader sent batches from offset ${first}, but this replica's log ends at ${this.log.logEndOffset}`);
    }
    const epochs = this.leaderEpochs;
    const info = this.log.append(batches, { validate: true });
    this.txns.onAppend(batches);
    if (epochs !== null) {
      for (let pos = 0; pos + RECORDS_OFFSET <= batches.length; pos += batches.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD) {
        const epoch = batches.readInt32BE(pos + PARTITION_LEADER_EPOCH_OFFSET);
        if (epoch > epochs.latestEpoch) epochs.assign(epoch, Number(batches.readBigInt64BE(pos)));
      }
    }
    this.wake();
    return info;
  }

  /** Resolves when the appends queued so far are done (before a role change truncates). */
  async drainAppends(): Promise<void> {
    await this.tail;
  }

  /**
   * Last stable offset: below it every transaction is decided (committed or aborted), so a
   * read_committed reader may read up to it. min(first offset of an ongoing transaction, high watermark).
   */
  get lastStableOffset(): number {
    return this.txns.lastStableOffset(this.highWatermark);
  }

  /** The offset a reader of this kind may read up to (exclusive). */
  boundOf(bound: ReadBound): number {
    return bound === 'hw' ? this.highWatermark : bound === 'lso' ? this.lastStableOffset : this.log.logEndOffset;
  }

  get logStartOffset(): number {
    return this.log.logStartOffset;
  }

  get logEndOffset(): number {
    return this.log.logEndOffset;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  setLogAppendTime(on: boolean): void {
    this.logAppendTime = on;
  }

  /** Appends whole batches now (synchronously), then wakes readers waiting for them. */
  append(batches: Buffer, options?: AppendOptions): LogAppendInfo {
    let opts = options;
    if (this.logAppendTime) {
      // Check before stamping: the stamp recomputes the CRC and would hide a corrupt batch.
      if (options?.validate ?? true) this.log.validate(batches);
      stampLogAppendTime(batches, Date.now());
      opts = { ...options, validate: false };
    }
    const info = this.log.append(batches, opts);
    if (this.leaderEpochs !== null && opts?.leaderEpoch !== undefined && opts.leaderEpoch > this.leaderEpochs.latestEpoch) {
      this.leaderEpochs.assign(opts.leaderEpoch, info.firstOffset);
    }
    this.txns.onAppend(batches);
    this.wake();
    return info;
  }

  /**
   * Appends the batch `build` resolves to, after every append queued before it, so order
   * within the partition is the order of the calls even though building (compression on
   * the worker pool) runs concurrently. With `durable` it resolves after the fsync that
   * covers it when the log's durability is 'fsync'.
   */
  appendInOrder(
    build: Promise<Buffer>,
    durable: boolean,
    options?: AppendOptions,
    /** Runs synchronously just before the append; returning an info skips the append (a duplicate). */
    before?: (batches: Buffer) => LogAppendInfo | undefined,
  ): Promise<LogAppendInfo> {
    // `build` may fail (bad records found on a worker) while earlier appends still hold the
    // tail: it is awaited only then, so mark it handled now, or Node would end the process
    // on an unhandled rejection. The failure still reaches the caller through `done`.
    build.catch(() => {});
    const done = this.tail.then(async () => {
      const batches = await build;
      const skip = before?.(batches);
      if (skip !== undefined) return skip;
      const info = this.append(batches, options);
      if (durable && this.log.config.durability === 'fsync') await this.log.flush();
      return info;
    });
    this.tail = done.catch(() => {});
    return done;
  }

  read(offset: number, maxBytes: number, maxOffset?: number): LogReadResult {
    return this.log.read(offset, maxBytes, maxOffset ?? this.highWatermark);
  }

  /**
   * Calls `notify(true)` once, as soon as the high watermark passes `offset`, or
   * `notify(false)` when the partition closes first. Returns a function that cancels the
   * wait, or null (calling nothing) when there is data past `offset` already or the
   * partition is closed. See waitForAny for waiting on several with a timeout.
   */
  onData(offset: number, notify: (ready: boolean) => void, bound: ReadBound = 'hw'): (() => void) | null {
    if (this.boundOf(bound) > offset || this.closed) return null;
    const w: Waiter = { offset, notify, bound };
    this.waiters.push(w);
    return () => {
      const i = this.waiters.indexOf(w);
      if (i >= 0) this.waiters.splice(i, 1);
    };
  }

  /** Tells every waiter there is nothing coming (the partition closing or going away). */
  cancelWaits(): void {
    for (const w of this.waiters.splice(0)) w.notify(false);
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const hw = this.highWatermark;
    const leo = this.log.logEndOffset;
    const lso = this.lastStableOffset;
    const ready: Waiter[] = [];
    const still: Waiter[] = [];
    for (const w of this.waiters) ((w.bound === 'hw' ? hw : w.bound === 'lso' ? lso : leo) > w.offset ? ready : still).push(w);
    this.waiters = still;
    for (const w of ready) w.notify(true);
  }

  /** Stops taking appends and waits for the queued ones (before a shared sync and close). */
  async quiesce(): Promise<void> {
    this.closed = true;
    this.cancelWaits();
    await this.tail;
    if (!this.log.isClosed) this.txns.writeSnapshot();
  }

  /** Waits for queued appends, then closes the log cleanly. */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelWaits();
    await this.tail;
    if (!this.log.isClosed) this.txns.writeSnapshot();
    await this.log.close();
  }
}

/** Sets LogAppendTime on every batch of a chain (the CRC is recomputed per batch). */
function stampLogAppendTime(batches: Buffer, now: number): void {
  for (let pos = 0; pos + LOG_OVERHEAD <= batches.length; pos += batches.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD) {
    setLogAppendTime(batches, pos, now);
  }
}
