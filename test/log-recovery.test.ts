import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLEAN_SHUTDOWN_FILE, Log } from '../src/storage/index.js';
import { decodeAll, numberedBatch } from './helpers/batches.js';
import { tmpDir } from './helpers/tmp.js';

const config = { background: false, segmentBytes: 2000, indexIntervalBytes: 300, segmentMs: Infinity, retentionMs: -1 } as const;

/** Deterministic PRNG (mulberry32) so every failure can be replayed from its seed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A log of `batches` batches of 3 records, left as after a crash (no clean marker). */
function makeCrashedLog(batches: number): { dir: string; ends: { file: string; end: number; lastOffset: number }[] } {
  const dir = tmpDir();
  const log = Log.open(dir, config);
  const ends = [];
  for (let b = 0; b < batches; b++) {
    const info = log.append(numberedBatch(b * 3, 3, { timestamp: 1_000_000 + b }));
    const base = log.segmentBaseOffsets.at(-1)!;
    const file = path.join(dir, `${String(base).padStart(20, '0')}.log`);
    ends.push({ file, end: fs.statSync(file).size, lastOffset: info.lastOffset });
  }
  return { dir, ends };
}

/** Everything the log serves, with CRCs verified; asserts offsets are dense from 0 unless gaps are allowed. */
function readEverything(log: Log, gaps = false) {
  const out = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const r = log.read(offset, 1 << 20);
    out.push(...decodeAll(r.records));
    offset = r.nextOffset;
  }
  if (!gaps) expect(out.map((r) => r.offset)).toEqual([...Array(out.length).keys()]);
  expect(out.map((r) => r.value)).toEqual(out.map((r) => `v${r.offset}`));
  return out;
}

function copyDir(from: string): string {
  const to = tmpDir();
  for (const f of fs.readdirSync(from)) fs.copyFileSync(path.join(from, f), path.join(to, f));
  return to;
}

describe('recovery after an unclean shutdown', () => {
  it('keeps every whole batch before a cut at a random position of the active segment', () => {
    const { dir, ends } = makeCrashedLog(40);
    const active = ends.at(-1)!.file;
    const activeEnds = ends.filter((e) => e.file === active);
    const size = fs.statSync(active).size;
    const random = rng(1);
    for (let trial = 0; trial < 25; trial++) {
      const copy = copyDir(dir);
      const cut = Math.floor(random() * size);
      fs.truncateSync(path.join(copy, path.basename(active)), cut);
      const log = Log.open(copy, config);
      const survivors = activeEnds.filter((e) => e.end <= cut);
      const expectedEnd = survivors.length > 0 ? survivors.at(-1)!.lastOffset + 1 : ends[ends.indexOf(activeEnds[0]!) - 1]!.lastOffset + 1;
      expect(log.logEndOffset, `cut at ${cut}`).toBe(expectedEnd);
      expect(log.recovery.cleanShutdown).toBe(false);
      readEverything(log);
      // The log takes appends again right after the cut.
      log.append(numberedBatch(log.logEndOffset, 3));
      expect(readEverything(log).length).toBe(expectedEnd + 3);
    }
  });

  it('loses only the batch hit by a random bit flip (a torn tail only when it is the last, unflushed one)', () => {
    const { dir, ends } = makeCrashedLog(40);
    const active = ends.at(-1)!.file;
    const activeEnds = ends.filter((e) => e.file === active);
    const random = rng(2);
    for (let trial = 0; trial < 25; trial++) {
      const copy = copyDir(dir);
      const file = path.join(copy, path.basename(active));
      const data = fs.readFileSync(file);
      const at = Math.floor(random() * data.length);
      data[at] ^= 1 << Math.floor(random() * 8);
      fs.writeFileSync(file, data);
      const log = Log.open(copy, config);
      const hit = activeEnds.findIndex((e) => e.end > at);
      const start = hit === 0 ? 0 : activeEnds[hit - 1]!.end;
      const firstOffset = hit === 0 ? ends[ends.indexOf(activeEnds[0]!) - 1]!.lastOffset + 1 : activeEnds[hit - 1]!.lastOffset + 1;
      const lastOffset = activeEnds[hit]!.lastOffset;
      const served = readEverything(log, true).map((r) => r.offset);
      if (at - start >= 12 && at - start < 16) {
        // partitionLeaderEpoch: outside the CRC and not checked; nothing is lost.
        expect(log.logEndOffset).toBe(120);
        expect(served.length).toBe(120);
      } else if (hit === activeEnds.length - 1) {
        // The last batch, never flushed: a torn tail, cut as Kafka does.
        expect(log.logEndOffset, `flip at byte ${at}`).toBe(firstOffset);
        expect(log.recovery.truncatedBytes).toBe(data.length - start);
        expect(served).toEqual([...Array(firstOffset).keys()]);
      } else {
        // A flip in a batch's baseOffset is outside the CRC; recovery sees the offsets break.
        expect(log.logEndOffset, `flip at byte ${at}`).toBe(120);
        expect(log.recovery.quarantined.map((q) => [q.firstOffset, q.nextOffset])).toEqual([[firstOffset, lastOffset + 1]]);
        expect(served).toEqual([...Array(120).keys()].filter((o) => o < firstOffset || o > lastOffset));
      }
    }
  });

  it('zero-filled tails are cut', () => {
    const { dir, ends } = makeCrashedLog(20);
    const active = ends.at(-1)!.file;
    fs.appendFileSync(active, Buffer.alloc(10_000));
    const log = Log.open(dir, config);
    expect(log.logEndOffset).toBe(60);
    expect(log.recovery.truncatedBytes).toBe(10_000);
    readEverything(log);
  });

  it('rebuilds deleted and garbage indexes and serves the same data', async () => {
    const { dir } = makeCrashedLog(60);
    const first = Log.open(dir, config);
    const expected = readEverything(first);
    await first.close();
    const indexes = fs.readdirSync(dir).filter((f) => f.endsWith('.index') || f.endsWith('.timeindex'));
    expect(indexes.length).toBeGreaterThanOrEqual(8);
    const random = rng(3);
    indexes.forEach((f, i) => {
      if (i % 3 === 0) fs.rmSync(path.join(dir, f));
      else if (i % 3 === 1) fs.writeFileSync(path.join(dir, f), Buffer.from(Array.from({ length: 37 }, () => Math.floor(random() * 256))));
      else fs.writeFileSync(path.join(dir, f), Buffer.alloc(24, 0xff));
    });
    const log = Log.open(dir, config);
    expect(log.recovery.cleanShutdown).toBe(true);
    expect(log.recovery.rebuiltIndexes.length).toBeGreaterThanOrEqual(indexes.length / 2 - 1);
    expect(readEverything(log)).toEqual(expected);
    for (let t = 0; t < 64; t += 3) {
      const target = 1_000_000 + t;
      const want = expected.find((r) => r.timestamp >= target);
      expect(log.offsetForTimestamp(target)?.offset ?? null).toBe(want?.offset ?? null);
    }
    await log.close();
  });

  it('a sealed segment found short: the missing offsets become a gap up to the next segment, later segments are kept', async () => {
    const { dir, ends } = makeCrashedLog(60);
    const files = [...new Set(ends.map((e) => e.file))];
    expect(files.length).toBeGreaterThan(3);
    const victim = files[1]!;
    const victimEnds = ends.filter((e) => e.file === victim);
    fs.truncateSync(victim, victimEnds[2]!.end + 10);
    fs.writeFileSync(path.join(dir, CLEAN_SHUTDOWN_FILE), ''); // even a "clean" open checks tails
    const log = Log.open(dir, config);
    expect(log.logEndOffset).toBe(180);
    expect(log.recovery.deletedSegments).toEqual([]);
    expect(log.recovery.quarantined.map((q) => [q.firstOffset, q.nextOffset, q.knownBy])).toEqual([[victimEnds[2]!.lastOffset + 1, victimEnds.at(-1)!.lastOffset + 1, 'next-segment']]);
    const served = readEverything(log, true).map((r) => r.offset);
    expect(served).toEqual([...Array(180).keys()].filter((o) => o <= victimEnds[2]!.lastOffset || o > victimEnds.at(-1)!.lastOffset));
    await log.close();
  });
});
