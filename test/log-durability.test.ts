import { describe, expect, it } from 'vitest';
import { Log } from '../src/storage/index.js';
import { numberedBatch } from './helpers/batches.js';
import { tmpDir } from './helpers/tmp.js';

describe('durability', () => {
  it("in 'fsync' mode resolves appends only after a flush covers them, sharing fsyncs", async () => {
    const log = Log.open(tmpDir(), { background: false, durability: 'fsync' });
    expect(log.recoveryPoint).toBe(0);
    const acks = [];
    for (let i = 0; i < 50; i++) acks.push(log.appendDurable(numberedBatch(i * 2, 2)));
    expect(log.recoveryPoint).toBe(0); // nothing acknowledged yet
    const infos = await Promise.all(acks);
    expect(infos.map((x) => x.firstOffset)).toEqual([...Array(50).keys()].map((i) => i * 2));
    expect(log.recoveryPoint).toBe(100);
    // 50 concurrent appends: one fsync started by the first, one more covering the rest.
    expect(log.flushCount).toBeLessThanOrEqual(2);
    await log.close();
  });

  it("in 'pagecache' mode acknowledges at once and flushes by flush.messages", async () => {
    const log = Log.open(tmpDir(), { background: false, flushMessages: 10 });
    await log.appendDurable(numberedBatch(0, 4));
    expect(log.flushCount).toBe(0);
    await log.appendDurable(numberedBatch(4, 8)); // 12 unflushed records >= 10
    await log.flush();
    expect(log.recoveryPoint).toBe(12);
    expect(log.flushCount).toBeGreaterThanOrEqual(1);
    await log.close();
  });

  it('flushes by flush.ms in the background', async () => {
    const log = Log.open(tmpDir(), { flushMs: 20 });
    log.append(numberedBatch(0, 3));
    for (let i = 0; i < 200 && log.recoveryPoint < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(log.recoveryPoint).toBe(3);
    await log.close();
  });
});
