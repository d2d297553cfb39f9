import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/index.js';
import { openSluice } from './helpers/sluice.js';

describe('compacted topics', () => {
  it('keeps the newest record per key, removes deleted keys, refuses keyless records', async () => {
    const s = await openSluice({ workerThreads: 1, cleanerBackoffMs: 0 });
    await s.createTopic('state', { config: { 'cleanup.policy': 'compact', 'segment.bytes': 400, 'delete.retention.ms': 0 } });
    const p = s.producer({ compression: 'lz4' });
    for (let round = 0; round < 20; round++) {
      await p.send('state', Array.from({ length: 10 }, (_, k) => ({ key: `k${k}`, value: `round ${round}` })));
    }
    await p.send('state', { key: 'k3', value: null }); // a tombstone
    await p.send('state', { key: 'last', value: 'x' }); // rolls past the tombstone's segment
    const err = await p.send('state', { value: 'no key' }).catch((e) => e);
    expect(err.errorCode).toBe(ErrorCode.INVALID_RECORD);
    const before = s.describeTopic('state').partitions[0]!;
    expect(before.segments).toBeGreaterThan(3);
    const r = await s.runCompaction(true);
    expect(r.partitions).toBe(1);
    expect(r.recordsRemoved).toBeGreaterThan(150);
    const c = s.consumer({ autoOffsetReset: 'earliest', keyDeserializer: 'string', valueDeserializer: 'string' });
    c.assign([{ topic: 'state', partition: 0 }]);
    const got = [];
    for (let i = 0; i < 20; i++) got.push(...(await c.poll({ timeoutMs: 50 })));
    const latest = new Map(got.map((x) => [x.key as string, x.value]));
    for (let k = 0; k < 10; k++) if (k !== 3) expect(latest.get(`k${k}`)).toBe('round 19');
    // k3's values are gone; only its tombstone may remain (it stays while it sits in the active segment).
    expect(latest.get('k3') ?? null).toBeNull();
    expect(got.filter((x) => x.key === 'k3' && x.value !== null)).toEqual([]);
    expect(latest.get('last')).toBe('x');
    const offsets = got.map((x) => x.offset);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b)); // offsets kept, in order, with gaps
    expect(s.describeTopic('state').partitions[0]!.logEndOffset).toBe(before.logEndOffset);
  });
});
