import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OFFSETS_TOPIC_PARTITIONS, GroupCoordinator, OFFSETS_TOPIC_META_FILE, offsetsLogDir } from '../src/group/index.js';
import { runUntilAcked } from './helpers/kill-child.js';
import { tmpDir } from './helpers/tmp.js';

// The child imports the compiled coordinator: run `npx tsc -p tsconfig.json` first.
const child = path.join(import.meta.dirname, 'helpers', 'group-commit-child.mjs');
const built = path.join(import.meta.dirname, '..', 'dist', 'src', 'group', 'index.js');

/** Runs the committing child until it has acknowledged `acks` commits, then SIGKILLs it. */
const runAndKill = (dir: string, durability: string, acks: number) => runUntilAcked(child, [dir, durability], acks);

describe('committed offsets across SIGKILL', () => {
  for (const durability of ['pagecache', 'fsync']) {
    it(`keeps every acknowledged commit, through compactions, across repeated SIGKILLs (${durability})`, async () => {
      expect(fs.existsSync(built), `${built} is missing: run npx tsc -p tsconfig.json`).toBe(true);
      const dir = tmpDir('sluice-group-crash-');
      let acknowledged = -1;
      for (let round = 0; round < 3; round++) {
        const acked = await runAndKill(dir, durability, 400 + round * 137);
        expect(acked).toBeGreaterThan(acknowledged);
        acknowledged = acked;
        const c = await GroupCoordinator.open({ dir, offsetsRetentionCheckIntervalMs: 0 });
        try {
          const parts = c.fetchOffsets({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 1, 2] }] }).topics[0]!.partitions;
          for (const p of parts) {
            // The last acknowledged commit of this partition, or a later one that landed.
            const lastAcked = acknowledged - ((acknowledged - p.partitionIndex + 3) % 3);
            expect(p.committedOffset).toBeGreaterThanOrEqual(lastAcked);
            expect(p.committedOffset % 3).toBe(p.partitionIndex);
            expect(p.metadata).toBe('x'.repeat(p.committedOffset % 40));
          }
          const expected = [OFFSETS_TOPIC_META_FILE, ...Array.from({ length: DEFAULT_OFFSETS_TOPIC_PARTITIONS }, (_, p) => offsetsLogDir(p))];
          expect(fs.readdirSync(dir).sort()).toEqual(expected.sort());
        } finally {
          await c.close();
        }
      }
    });
  }
});
