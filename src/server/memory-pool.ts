/**
 * A server-wide budget for request bytes, Kafka's queued.max.request.bytes. Each request
 * reserves its size as soon as its size prefix is read and gives it back when its response has
 * been written (or dropped): so the bytes of frames being received plus the frames held by
 * handlers stay under the limit across ALL connections, not just per connection. A connection
 * that cannot reserve stops reading until enough is given back; waiters are served first come,
 * first served, so a large request is not starved by a stream of small ones. A request larger
 * than the whole budget is admitted when the pool is empty, so nothing waits forever.
 *
 * Not thread-safe (event loop only).
 */

export interface PoolWaiter {
  readonly bytes: number;
  /** Called once the bytes are reserved for this waiter. Must not throw. */
  readonly grant: () => void;
}

export class RequestMemoryPool {
  private usedBytes = 0;
  private readonly waiters: PoolWaiter[] = [];

  constructor(readonly limit: number) {}

  get used(): number {
    return this.usedBytes;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Reserves at once if possible (and nobody is queued ahead); false otherwise. */
  tryReserve(bytes: number): boolean {
    if (this.waiters.length > 0 || !this.fits(bytes)) return false;
    this.usedBytes += bytes;
    return true;
  }

  /** Queues a reservation; `grant` runs when it is made. */
  wait(waiter: PoolWaiter): void {
    this.waiters.push(waiter);
  }

  /** Removes a queued waiter (its connection closed). */
  cancel(waiter: PoolWaiter): void {
    const i = this.waiters.indexOf(waiter);
    if (i >= 0) this.waiters.splice(i, 1);
    // The head may have been what blocked the others.
    this.grantWaiters();
  }

  release(bytes: number): void {
    if (bytes <= 0) return;
    this.usedBytes -= bytes;
    this.grantWaiters();
  }

  private fits(bytes: number): boolean {
    return this.usedBytes === 0 || this.usedBytes + bytes <= this.limit;
  }

  private grantWaiters(): void {
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) {
      const w = this.waiters.shift()!;
      this.usedBytes += w.bytes;
      w.grant();
    }
  }
}
