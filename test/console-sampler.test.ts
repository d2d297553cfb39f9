/**
 * The console's chart samples over an embedded Sluice: rates per second from the traffic
 * counters between two samples, and a bounded ring that keeps only the newest points.
 */
import { describe, expect, it } from 'vitest';
import { ConsoleSampler, Ring } from '../src/console/sampler.js';
import { openSluice } from './helpers/sluice.js';

describe('console sampler', () => {
  it('keeps the newest points of a ring, oldest first', () => {
    const r = new Ring<number>(3);
    for (let i = 1; i <= 7; i++) r.push(i);
    expect(r.toArray()).toEqual([5, 6, 7]);
  });

  it('turns traffic counters into rates and bounds its history', async () => {
    const s = await openSluice();
    try {
      await s.createTopic('t', { partitions: 1 });
      const sampler = new ConsoleSampler(s, 1000, 4);
      sampler.sample(10_000); // the counters' start: no point yet
      expect(sampler.throughput('t')).toEqual([]);
      const p = s.producer();
      await p.send('t', Array.from({ length: 20 }, (_, i) => ({ value: `v${i}` })));
      await p.close();
      sampler.sample(12_000);
      const [point] = sampler.throughput('t');
      expect(point).toMatchObject({ t: 12_000, recordsIn: 10, recordsOut: 0 });
      expect(point!.bytesIn).toBeGreaterThan(0);
      for (let i = 1; i <= 6; i++) sampler.sample(12_000 + i * 1000);
      const points = sampler.throughput('t');
      expect(points.map((x) => x.t)).toEqual([15_000, 16_000, 17_000, 18_000]);
      expect(points.every((x) => x.recordsIn === 0)).toBe(true);
    } finally {
      await s.close();
    }
  });
});
