import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Sluice } from '../src/index.js';
import { runUntilKilled } from './helpers/kill-child.js';
import { tmpDir } from './helpers/tmp.js';

const child = path.join(import.meta.dirname, 'helpers', 'produce-child.mjs');

/** Runs the producing child until `acks` records are acknowledged, SIGKILLs it, returns them. */
async function runAndKill(dir: string, durability: string, acks: number, from: number): Promise<Map<string, string>> {
  const acked = new Map<string, string>();
  await runUntilKilled(child, [dir, durability, String(from)], (line) => {
    const [partition, offset, value] = line.split(' ');
    if (value === undefined) return false;
    acked.set(`${partition}:${offset}`, value);
    return acked.size >= acks;
  });
  return acked;
}

describe('embedded crash safety', () => {
  for (const durability of ['pagecache', 'fsync']) {
    it(`finds every acknowledged send after SIGKILL and reopen (${durability})`, async () => {
      const dir = tmpDir();
      const all = new Map<string, string>();
      for (let round = 0; round < 3; round++) {
        const acked = await runAndKill(dir, durability, 300 + round * 111, round * 100_000);
        for (const [k, v] of acked) all.set(k, v);
        const s = await Sluice.open({ dir, workerThreads: 1 });
        // The killed broker left unclean partitions: they were recovered on the worker pool.
        expect(s.recovered.length).toBeGreaterThan(0);
        expect(s.recovered.every((r) => r.report.cleanShutdown === false)).toBe(true);
        const c = s.consumer({ autoOffsetReset: 'earliest', valueDeserializer: 'string' });
        c.assign([0, 1, 2, 3].map((partition) => ({ topic: 'crash', partition })));
        const found = new Map<string, string>();
        for (let i = 0; i < 100; i++) {
          const records = await c.poll({ timeoutMs: 0, maxRecords: 10_000 });
          if (records.length === 0) break;
          for (const r of records) found.set(`${r.partition}:${r.offset}`, r.value as string);
        }
        for (const [k, v] of all) expect(found.get(k), k).toBe(v);
        // Offsets stay dense per partition: nothing lost in the middle, nothing duplicated.
        for (let p = 0; p < 4; p++) {
          const offsets = [...found.keys()].filter((k) => k.startsWith(`${p}:`)).map((k) => Number(k.split(':')[1])).sort((a, b) => a - b);
          expect(offsets).toEqual([...Array(offsets.length).keys()]);
        }
        await s.close();
      }
    });
  }
});
