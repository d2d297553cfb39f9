import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Log } from '../src/storage/index.js';
import { batchesIn, readRecords } from '../src/record/index.js';
import { runUntilAcked } from './helpers/kill-child.js';
import { tmpDir } from './helpers/tmp.js';

const child = path.join(import.meta.dirname, 'helpers', 'append-child.mjs');

/** Runs the appending child until it has acknowledged `acks` appends, then SIGKILLs it. */
const runAndKill = (dir: string, durability: string, acks: number) => runUntilAcked(child, [dir, durability], acks);

describe('crash safety', () => {
  for (const durability of ['pagecache', 'fsync']) {
    it(`keeps every acknowledged append across repeated SIGKILLs (${durability})`, async () => {
      const dir = tmpDir();
      let acknowledged = -1;
      for (let round = 0; round < 4; round++) {
        const acked = await runAndKill(dir, durability, 150 + round * 97);
        expect(acked).toBeGreaterThan(acknowledged);
        acknowledged = acked;
        const log = Log.open(dir, { background: false, segmentMs: Infinity, retentionMs: -1 });
        expect(log.logEndOffset).toBeGreaterThan(acknowledged);
        // Every record from 0 to the end: present once, in order, with a valid CRC.
        let next = 0;
        for (let offset = 0; offset < log.logEndOffset; ) {
          const r = log.read(offset, 1 << 20);
          for (const batch of batchesIn(r.records)) {
            for (const rec of readRecords(batch, { verifyCrc: true })) {
              expect(rec.offset).toBe(next);
              expect(rec.value!.toString()).toBe(`value-${next}`);
              next++;
            }
          }
          offset = r.nextOffset;
        }
        expect(next).toBe(log.logEndOffset);
        await log.close();
      }
    });
  }
});
