import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLEAN_SHUTDOWN_FILE, Log, OffsetOutOfRangeError, InvalidBatchError, RecordBatchTooLargeError, LogClosedError, InvalidConfigError } from '../src/storage/index.js';
import { buildBatch, readBatchHeader } from '../src/record/index.js';
import { decodeAll, numberedBatch } from './helpers/batches.js';
import { tmpDir } from './helpers/tmp.js';

const quiet = { background: false } as const;

/** Appends `batches` batches of `size` records each; returns the log. */
function fill(log: Log, batches: number, size: number, extra: Parameters<typeof numberedBatch>[2] = {}): void {
  for (let b = 0; b < batches; b++) log.append(numberedBatch(log.logEndOffset, size, extra));
}

/** Reads the whole log from `from` by following nextOffset. */
function readAll(log: Log, from = log.logStartOffset, maxBytes = 4096) {
  const out = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const r = log.read(offset, maxBytes);
    expect(r.records.length).toBeGreaterThan(0);
    out.push(...decodeAll(r.records).filter((x) => x.offset >= offset));
    offset = r.nextOffset;
  }
  return out;
}

describe('Log append and read', () => {
  it('assigns dense offsets and reads every record back', () => {
    const log = Log.open(tmpDir(), quiet);
    const a = log.append(numberedBatch(0, 5));
    const b = log.append(Buffer.concat([numberedBatch(5, 3), numberedBatch(8, 2)]));
    expect(a).toMatchObject({ firstOffset: 0, lastOffset: 4, batches: 1, records: 5 });
    expect(b).toMatchObject({ firstOffset: 5, lastOffset: 9, batches: 2, records: 5 });
    expect(log.logEndOffset).toBe(10);
    const all = readAll(log);
    expect(all.map((r) => r.offset)).toEqual([...Array(10).keys()]);
    expect(all.map((r) => r.value)).toEqual([...Array(10).keys()].map((n) => `v${n}`));
  });

  it('patches baseOffset in place and keeps the CRC valid', () => {
    const log = Log.open(tmpDir(), quiet);
    log.append(numberedBatch(0, 7));
    const batch = numberedBatch(0, 3, { baseOffset: 999 });
    log.append(batch, { leaderEpoch: 4 });
    const h = readBatchHeader(batch);
    expect(h.baseOffset).toBe(7);
    expect(h.partitionLeaderEpoch).toBe(4);
    const r = log.read(7, 1 << 20);
    expect(decodeAll(r.records).map((x) => x.offset)).toEqual([7, 8, 9]); // decodeAll verifies CRCs
  });

  it('rolls segments by segment.bytes and finds every offset across them', () => {
    const dir = tmpDir();
    const log = Log.open(dir, { ...quiet, segmentBytes: 2000, indexIntervalBytes: 300 });
    fill(log, 60, 4);
    expect(log.segmentCount).toBeGreaterThanOrEqual(5);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
    expect(files[0]).toBe('00000000000000000000.log');
    expect(files.length).toBe(log.segmentCount);
    // Every offset, including each segment's first and last: the batch returned holds it.
    for (let offset = 0; offset < log.logEndOffset; offset++) {
      const r = log.read(offset, 1);
      const h = readBatchHeader(r.records);
      expect(h.baseOffset).toBeLessThanOrEqual(offset);
      expect(h.baseOffset + h.lastOffsetDelta).toBeGreaterThanOrEqual(offset);
      expect(r.records.length).toBe(h.batchLength + 12); // one whole batch even past maxBytes
    }
    expect(readAll(log).map((r) => r.offset)).toEqual([...Array(240).keys()]);
  });

  it('bounds a read by maxBytes in whole batches and by maxOffset', () => {
    const log = Log.open(tmpDir(), quiet);
    fill(log, 10, 10);
    const sizes = [0, 10, 20, 30].map((o) => log.read(o, 1).records.length);
    const three = sizes[0]! + sizes[1]! + sizes[2]!;
    const r = log.read(0, three + sizes[3]! - 1);
    expect(r.records.length).toBe(three);
    expect(r.nextOffset).toBe(30);
    const capped = log.read(0, 1 << 20, 25);
    expect(capped.nextOffset).toBe(30); // the batch holding 20..29 starts below 25
    expect(log.read(30, 1 << 20, 25).records.length).toBe(0);
    expect(log.read(100, 1 << 20).records.length).toBe(0); // at the end: empty, not an error
  });

  it('refuses offsets out of range with the range in the message', () => {
    const log = Log.open(tmpDir(), quiet);
    fill(log, 2, 5);
    expect(() => log.read(11, 100)).toThrow(OffsetOutOfRangeError);
    expect(() => log.read(-1, 100)).toThrow(/\[0, 10\)/);
  });

  it('rejects corrupt, truncated and oversized batches and writes nothing', () => {
    const log = Log.open(tmpDir(), { ...quiet, maxMessageBytes: 2000 });
    const batch = numberedBatch(0, 3);
    const bad = Buffer.from(batch);
    bad[bad.length - 1] ^= 0xff;
    expect(() => log.append(bad)).toThrow(InvalidBatchError);
    expect(() => log.append(batch.subarray(0, batch.length - 1))).toThrow(InvalidBatchError);
    expect(() => log.append(Buffer.alloc(0))).toThrow(InvalidBatchError);
    expect(() => log.append(numberedBatch(0, 40, { valueSize: 100 }))).toThrow(RecordBatchTooLargeError);
    expect(log.logEndOffset).toBe(0);
    expect(log.size).toBe(0);
    log.append(batch);
    expect(log.logEndOffset).toBe(3);
  });

  it('stores a batch larger than segment.bytes in a segment of its own', () => {
    const log = Log.open(tmpDir(), { ...quiet, segmentBytes: 1024, maxMessageBytes: 1 << 20 });
    log.append(numberedBatch(0, 2));
    log.append(numberedBatch(2, 50, { valueSize: 100 }));
    log.append(numberedBatch(52, 2));
    expect(readAll(log).length).toBe(54);
  });

  it('validates config keys and values with Kafka names', () => {
    expect(() => Log.open(tmpDir(), { segmentBytes: 3 })).toThrow(InvalidConfigError);
    expect(() => Log.open(tmpDir(), { segmentBytes: 3 })).toThrow(/segment\.bytes/);
    expect(() => Log.open(tmpDir(), { durability: 'always' as never })).toThrow(/'pagecache' or 'fsync'/);
    expect(() => Log.open(tmpDir(), { segmentbytes: 1 } as never)).toThrow(/unknown log config key/);
  });

  it('throws a clear error after close', async () => {
    const log = Log.open(tmpDir(), quiet);
    await log.close();
    expect(() => log.append(numberedBatch(0, 1))).toThrow(LogClosedError);
    expect(() => log.read(0, 1)).toThrow(/is closed/);
  });
});

describe('Log time lookups', () => {
  it('finds the first offset whose timestamp is at or after a time', () => {
    const log = Log.open(tmpDir(), { ...quiet, segmentBytes: 1500, indexIntervalBytes: 200, retentionMs: -1, segmentMs: Infinity });
    // Records at t = 1000 + 10 * offset, in batches of 5.
    for (let b = 0; b < 40; b++) {
      const recs = [];
      for (let i = 0; i < 5; i++) recs.push({ value: `r${b * 5 + i}`, timestamp: 1000 + 10 * (b * 5 + i) });
      log.append(buildBatch(recs));
    }
    expect(log.segmentCount).toBeGreaterThan(3);
    for (let offset = 0; offset < 200; offset++) {
      const t = 1000 + 10 * offset;
      expect(log.offsetForTimestamp(t)).toEqual({ offset, timestamp: t });
      expect(log.offsetForTimestamp(t - 5)).toEqual({ offset, timestamp: t });
    }
    expect(log.offsetForTimestamp(0)).toEqual({ offset: 0, timestamp: 1000 });
    expect(log.offsetForTimestamp(1000 + 10 * 200)).toBeNull();
  });

  it('handles timestamps out of order within the log', () => {
    const log = Log.open(tmpDir(), { ...quiet, indexIntervalBytes: 1, retentionMs: -1, segmentMs: Infinity });
    log.append(buildBatch([{ value: 'a', timestamp: 500 }]));
    log.append(buildBatch([{ value: 'b', timestamp: 100 }]));
    log.append(buildBatch([{ value: 'c', timestamp: 300 }]));
    expect(log.offsetForTimestamp(200)).toEqual({ offset: 0, timestamp: 500 });
    expect(log.offsetForTimestamp(50)).toEqual({ offset: 0, timestamp: 500 });
    expect(log.offsetForTimestamp(501)).toBeNull();
  });
});

describe('Log reopen', () => {
  it('reopens after a clean close without rescanning the data', async () => {
    const dir = tmpDir();
    const log = Log.open(dir, { ...quiet, segmentBytes: 3000, indexIntervalBytes: 256 });
    fill(log, 50, 3, { timestamp: Date.now() });
    const before = readAll(log);
    await log.close();
    expect(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))).toBe(true);
    const again = Log.open(dir, { ...quiet, segmentBytes: 3000, indexIntervalBytes: 256 });
    expect(again.recovery.cleanShutdown).toBe(true);
    expect(again.recovery.recovered).toEqual([]);
    expect(again.recovery.rebuiltIndexes).toEqual([]);
    expect(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))).toBe(false);
    expect(again.logEndOffset).toBe(150);
    expect(readAll(again)).toEqual(before);
    again.append(numberedBatch(150, 3));
    expect(readAll(again).length).toBe(153);
    await again.close();
  });

  it('checks the active segment tail even after a clean close', async () => {
    const dir = tmpDir();
    const log = Log.open(dir, quiet);
    fill(log, 5, 3);
    await log.close();
    fs.appendFileSync(path.join(dir, '00000000000000000000.log'), Buffer.from('torn garbage tail'));
    const again = Log.open(dir, quiet);
    expect(again.recovery.recovered.length).toBe(1);
    expect(again.recovery.truncatedBytes).toBe(17);
    expect(readAll(again).length).toBe(15);
  });
});
