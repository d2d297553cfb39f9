/**
 * One partition of a topic on this broker: its Log, its high watermark, the readers waiting
 * for data (long polls), and the order of appends. With a single replica the high watermark
 * is the log end offset. Not thread-safe: everything runs on the broker's event loop.
 */
import { setLogAppendTime } from '../record/header.js';
import { LENGTH_OFFSET, LOG_OVERHEAD } from '../record/layout.js';
import type { AppendOptions, Log, LogAppendInfo, LogReadResult } from '../storage/index.js';

interface Waiter {
  offset: number;
  resolve: (ready: boolean) => void;
  timer: NodeJS.Timeout | null;
}

export class Partition {
  private waiters: Waiter[] = [];
  /** The last append in the chain; the next one starts after it. */
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    readonly topic: string,
    readonly index: number,
    readonly log: Log,
    /** message.timestamp.type=LogAppendTime: stamp batches with the broker clock. */
    private logAppendTime: boolean,
  ) {}

  get highWatermark(): number {
    return this.log.logEndOffset;
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
   * Resolves true as soon as the partition holds data at or past `offset` (the high watermark
   * passes it), false after `timeoutMs`, on `signal` abort, or when `cancelWaits` runs.
   */
  waitForData(offset: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.highWatermark > offset || this.closed) return Promise.resolve(this.highWatermark > offset);
    if (timeoutMs <= 0 || signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const w: Waiter = { offset, resolve, timer: null };
      const drop = () => {
        if (w.timer) clearTimeout(w.timer);
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
      };
      w.timer = setTimeout(drop, timeoutMs);
      signal?.addEventListener('abort', drop, { once: true });
      this.waiters.push(w);
    });
  }

  /** Resolves every waiter with false now (a consumer closing, the partition going away). */
  cancelWaits(): void {
    for (const w of this.waiters.splice(0)) {
      if (w.timer) clearTimeout(w.timer);
      w.resolve(false);
    }
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const hw = this.highWatermark;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (hw > w.offset) {
        if (w.timer) clearTimeout(w.timer);
        w.resolve(true);
      } else {
        still.push(w);
      }
    }
    this.waiters = still;
  }

  /** Stops taking appends and waits for the queued ones (before a shared sync and close). */
  async quiesce(): Promise<void> {
    this.closed = true;
    this.cancelWaits();
    await this.tail;
  }

  /** Waits for queued appends, then closes the log cleanly. */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelWaits();
    await this.tail;
    await this.log.close();
  }
}

/** Sets LogAppendTime on every batch of a chain (the CRC is recomputed per batch). */
function stampLogAppendTime(batches: Buffer, now: number): void {
  for (let pos = 0; pos + LOG_OVERHEAD <= batches.length; pos += batches.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD) {
    setLogAppendTime(batches, pos, now);
  }
}
