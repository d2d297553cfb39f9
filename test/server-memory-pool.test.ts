/**
 * The server-wide request memory pool (Kafka's queued.max.request.bytes): reservations up to
 * the limit, first come first served, an oversized request let in alone, grants on release.
 */
import { describe, expect, it } from 'vitest';
import { RequestMemoryPool, type PoolWaiter } from '../src/server/memory-pool.js';

function waiter(bytes: number, log: number[]): PoolWaiter {
  return { bytes, grant: () => log.push(bytes) };
}

describe('RequestMemoryPool', () => {
  it('reserves up to the limit and grants waiters in order as bytes come back', () => {
    const pool = new RequestMemoryPool(100);
    expect(pool.tryReserve(60)).toBe(true);
    expect(pool.tryReserve(40)).toBe(true);
    expect(pool.tryReserve(1)).toBe(false);
    const granted: number[] = [];
    pool.wait(waiter(50, granted));
    pool.wait(waiter(10, granted));
    // A newcomer may not jump the queue even when it would fit.
    pool.release(40);
    expect(granted).toEqual([]);
    expect(pool.tryReserve(10)).toBe(false);
    pool.release(60);
    expect(granted).toEqual([50, 10]);
    expect(pool.used).toBe(60);
    expect(pool.waiting).toBe(0);
  });

  it('lets a request larger than the limit in when nothing else is held', () => {
    const pool = new RequestMemoryPool(100);
    expect(pool.tryReserve(500)).toBe(true);
    expect(pool.tryReserve(1)).toBe(false);
    const granted: number[] = [];
    pool.wait(waiter(1000, granted));
    pool.release(500);
    expect(granted).toEqual([1000]);
    pool.release(1000);
    expect(pool.used).toBe(0);
  });

  it('cancel() removes a waiter and lets the ones behind it go', () => {
    const pool = new RequestMemoryPool(100);
    pool.tryReserve(80);
    const granted: number[] = [];
    const big = waiter(90, granted);
    pool.wait(big);
    pool.wait(waiter(20, granted));
    pool.cancel(big);
    expect(granted).toEqual([20]);
    expect(pool.used).toBe(100);
  });
});
