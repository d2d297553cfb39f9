import { describe, expect, it } from 'vitest';
import { StickyPartitioner, murmur2, partitionForKey } from '../src/client/partitioner.js';

// Hashes computed by Kafka's Java client (Utils.murmur2), as published with kafkajs'
// Java-compatible partitioner tests and a Dart port of Kafka's own test.
const JAVA: Record<string, number> = {
  '': 275646681,
  '0': 971027396,
  '1': -1993445489,
  '128': -326012175,
  '2187': -1508407203,
  '16384': -325739742,
  '78125': -1654490814,
  '279936': 1462227128,
  '823543': -2014198330,
  '2097152': 607668903,
  '4782969': -1182699775,
  '10000000': -1830336757,
  '19487171': -1603849305,
  '35831808': -857013643,
  '62748517': -1167431028,
  '105413504': -381294639,
  '170859375': -1658323481,
  '100:48069': 1009543857,
};

describe('murmur2 partitioner', () => {
  it("matches the Java client's hash for known keys", () => {
    for (const [key, hash] of Object.entries(JAVA)) expect(murmur2(Buffer.from(key)), key).toBe(hash);
  });

  it('places keys as (hash & 0x7fffffff) % partitions', () => {
    for (const [key, hash] of Object.entries(JAVA)) {
      for (const n of [1, 3, 8, 64]) expect(partitionForKey(Buffer.from(key), n)).toBe((hash & 0x7fffffff) % n);
    }
    expect(partitionForKey(Buffer.from('0'), 64)).toBe(971027396 % 64);
  });

  it('keeps keyless records on one partition until its batch is sent', () => {
    const s = new StickyPartitioner();
    const first = s.partition('t', 8);
    for (let i = 0; i < 100; i++) expect(s.partition('t', 8)).toBe(first);
    s.next('t', first, 8);
    expect(s.partition('t', 8)).not.toBe(first);
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) {
      const p = s.partition('t', 8);
      seen.add(p);
      s.next('t', p, 8);
    }
    expect(seen.size).toBe(8);
    expect(s.partition('single', 1)).toBe(0);
  });
});
