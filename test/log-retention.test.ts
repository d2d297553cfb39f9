import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Log, OffsetOutOfRangeError } from '../src/storage/index.js';
import { decodeAll, numberedBatch } from './helpers/batches.js';
import { tmpDir } from './helpers/tmp.js';

const base = { background: false, segmentBytes: 1200, segmentMs: Infinity, retentionMs: -1 } as const;

function fillTimed(log: Log, batches: number, t0: number): void {
  for (let b = 0; b < batches; b++) log.append(numberedBatch(log.logEndOffset, 4, { timestamp: t0 + b * 1000 }));
}

describe('retention', () => {
  it('deletes whole segments older than retention.ms, never the active one', () => {
    const dir = tmpDir();
    let now = 1_000_000;
    const log = Log.open(dir, { ...base, retentionMs: 10_000, time: () => now });
    fillTimed(log, 40, 0); // batch b has timestamps around b * 1000
    const segments = log.segmentCount;
    expect(segments).toBeGreaterThan(4);
    now = 25_000; // everything before t = 15_000 has expired
    const r = log.applyRetention();
    expect(r.deletedSegments).toBeGreaterThan(0);
    expect(log.segmentCount).toBe(segments - r.deletedSegments);
    expect(log.logStartOffset).toBe(log.segmentBaseOffsets[0]);
    // What is left holds every record from the log start offset on.
    const first = log.read(log.logStartOffset, 1 << 20);
    expect(decodeAll(first.records)[0]!.offset).toBe(log.logStartOffset);
    expect(() => log.read(0, 100)).toThrow(OffsetOutOfRangeError);
    now = 10 ** 12; // everything expired: the active segment stays
    log.applyRetention();
    expect(log.segmentCount).toBe(1);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.log')).length).toBe(1);
  });

  it('deletes the oldest segments while the log is larger than retention.bytes', () => {
    const log = Log.open(tmpDir(), { ...base, retentionBytes: 3000 });
    fillTimed(log, 40, Date.now());
    const before = log.size;
    expect(before).toBeGreaterThan(6000);
    const r = log.applyRetention();
    expect(r.deletedBytes).toBeGreaterThan(0);
    expect(log.size).toBe(before - r.deletedBytes);
    expect(log.size).toBeGreaterThanOrEqual(3000 - 1200);
    // One segment more would have gone below the limit only if it fit in the excess.
    expect(log.size - 3000).toBeLessThan(1200);
  });

  it('moves the log start offset with deleteRecordsBefore and keeps it across reopen', async () => {
    const dir = tmpDir();
    const log = Log.open(dir, base);
    fillTimed(log, 30, Date.now());
    const leo = log.logEndOffset;
    expect(log.deleteRecordsBefore(50)).toBe(50);
    expect(() => log.read(49, 100)).toThrow(OffsetOutOfRangeError);
    const r = log.read(50, 100);
    expect(decodeAll(r.records).some((x) => x.offset === 50)).toBe(true);
    expect(log.segmentBaseOffsets[0]).toBeLessThanOrEqual(50);
    expect(log.segmentBaseOffsets[1]).toBeGreaterThan(50);
    expect(() => log.deleteRecordsBefore(leo + 1)).toThrow(OffsetOutOfRangeError);
    expect(log.deleteRecordsBefore(10)).toBe(50); // never moves back
    await log.close();
    const again = Log.open(dir, base);
    expect(again.logStartOffset).toBe(50);
    expect(again.logEndOffset).toBe(leo);
    expect(again.deleteRecordsBefore(leo)).toBe(leo);
    expect(again.segmentCount).toBe(1);
    expect(again.read(leo, 100).records.length).toBe(0);
    await again.close();
  });

  it('leaves views readable after retention deletes their segment', async () => {
    const dir = tmpDir();
    let now = 0;
    const log = Log.open(dir, { ...base, retentionMs: 1, time: () => now });
    fillTimed(log, 20, 0);
    const view = log.read(0, 1 << 20).records;
    const copy = Buffer.from(view);
    now = 10 ** 9;
    log.applyRetention();
    expect(log.logStartOffset).toBeGreaterThan(0);
    expect(fs.existsSync(`${dir}/00000000000000000000.log`)).toBe(false);
    (globalThis as { gc?: () => void }).gc?.();
    expect(view.equals(copy)).toBe(true);
    expect(decodeAll(view)[0]!.offset).toBe(0);
    await log.close();
  });
});

describe('truncateTo', () => {
  it('removes records from a batch boundary on, across segments', async () => {
    const dir = tmpDir();
    const log = Log.open(dir, base);
    fillTimed(log, 30, Date.now());
    log.truncateTo(40);
    expect(log.logEndOffset).toBe(40);
    log.append(numberedBatch(40, 4));
    const all = [];
    for (let o = 0; o < log.logEndOffset; ) {
      const r = log.read(o, 1 << 20);
      all.push(...decodeAll(r.records));
      o = r.nextOffset;
    }
    expect(all.map((x) => x.offset)).toEqual([...Array(44).keys()]);
    expect(() => log.truncateTo(41)).toThrow(/inside a batch/);
    await log.close();
    expect(Log.open(dir, base).logEndOffset).toBe(44);
  });
});
