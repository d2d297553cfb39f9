import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Sluice } from '../src/index.js';
import { DEFAULT_MAX_OPEN_SEGMENTS } from '../src/storage/index.js';
import { tmpDir } from './helpers/tmp.js';

const PARTITIONS = 10_000;
const openFds = () => fs.readdirSync('/proc/self/fd').length;
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;

describe('10,000 partitions on one broker', () => {
  it('starts, takes a record on every partition within the open-file bound, gives back idle files, restarts cleanly and fast', { timeout: 600_000 }, async () => {
    const dir = tmpDir('sluice-scale-');
    const baseFds = openFds();
    let s = await Sluice.open({ dir, workerThreads: 1, idleFileTimeoutMs: 200, retentionCheckIntervalMs: 0 });
    await s.createTopic('wide', { partitions: PARTITIONS });
    const producer = s.producer();
    await Promise.all(Array.from({ length: PARTITIONS }, (_, i) => producer.send('wide', { key: `k${i}`, value: `v${i}`, partition: i })));
    // The most recently used segments are open now, never more than sluice.max.open.segments
    // (plus the lock and the group log); after the idle timeout they are closed again.
    expect(openFds() - baseFds).toBeGreaterThan(1000);
    expect(openFds() - baseFds).toBeLessThanOrEqual(DEFAULT_MAX_OPEN_SEGMENTS + 10);
    for (let i = 0; i < 100 && openFds() - baseFds > 200; i++) await new Promise((r) => setTimeout(r, 100));
    expect(openFds() - baseFds).toBeLessThan(200);
    // Resident memory stays bounded (the stated bound: 600 MiB for 10,000 partitions).
    expect(rssMiB()).toBeLessThan(600);
    await producer.close();
    await s.close();

    const started = performance.now();
    s = await Sluice.open({ dir, workerThreads: 1, retentionCheckIntervalMs: 0 });
    const startupMs = performance.now() - started;
    expect(s.recovered).toEqual([]); // a clean shutdown: nothing to recover or rescan
    expect(openFds() - baseFds).toBeLessThan(200); // segments open lazily
    // Every partition still holds its record (spot check spread over the range).
    const c = s.consumer({ autoOffsetReset: 'earliest', valueDeserializer: 'string' });
    const sample = Array.from({ length: 50 }, (_, i) => Math.floor((i * PARTITIONS) / 50));
    c.assign(sample.map((partition) => ({ topic: 'wide', partition })));
    const got = [];
    for (let i = 0; i < 20 && got.length < sample.length; i++) got.push(...(await c.poll({ timeoutMs: 100 })));
    expect(got.map((r) => r.value).sort()).toEqual(sample.map((p) => `v${p}`).sort());
    expect(s.describeTopic('wide').partitions.every((p) => p.logEndOffset === 1)).toBe(true);
    await s.close();
    console.log(`10,000 partitions: clean startup ${startupMs.toFixed(0)} ms, rss ${rssMiB().toFixed(0)} MiB`);
  });
});
