/**
 * Damaged files, storage layer: what the broker-level harness (reliability-files) relies on,
 * one piece at a time. Bit rot where no open looks is quarantined by the first read that meets
 * it (never served, never a hang, the rest served with a gap; refused when it cannot be
 * repaired), a sealed segment cut at a batch boundary leaves a gap and keeps what follows it,
 * a garbage time index that passes its own check is still rebuilt, and the lines recovery
 * logs in a worker reach the broker's logger.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Sluice } from '../src/broker/sluice.js';
import { CLEAN_SHUTDOWN_FILE, CorruptSegmentError, Log } from '../src/storage/index.js';
import { decodeAll, numberedBatch } from './helpers/batches.js';
import { tmpDir } from './helpers/tmp.js';

const config = { background: false, segmentBytes: 2000, indexIntervalBytes: 300, segmentMs: Infinity, retentionMs: -1 } as const;

function recorder() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  return {
    lines,
    logger: {
      info: (obj: object, msg: string) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
      warn: (obj: object, msg: string) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
    },
  };
}

/** A cleanly closed log of 40 batches of 3 records; where each batch lies. */
async function closedLog() {
  const dir = tmpDir();
  const log = Log.open(dir, config);
  const batches: { base: number; file: string; position: number; size: number }[] = [];
  for (let b = 0; b < 40; b++) {
    const data = numberedBatch(b * 3, 3, { timestamp: 1_000_000 + b * 10 });
    const info = log.append(data);
    const base = log.segmentBaseOffsets.at(-1)!;
    const file = path.join(dir, `${String(base).padStart(20, '0')}.log`);
    batches.push({ base: info.firstOffset, file, position: fs.statSync(file).size - data.length, size: data.length });
  }
  await log.close();
  return { dir, batches };
}

/** A batch of the second segment that lies before that segment's last index entry. */
function earlyBatchOfSealed(dir: string, batches: Awaited<ReturnType<typeof closedLog>>['batches']) {
  const files = [...new Set(batches.map((b) => b.file))];
  const file = files[1]!;
  const index = fs.readFileSync(file.replace(/\.log$/, '.index'));
  const lastIndexed = index.readInt32BE(index.length - 4);
  const inFile = batches.filter((b) => b.file === file && b.position < lastIndexed);
  expect(inFile.length).toBeGreaterThan(1);
  return { victim: inFile[1]!, file };
}

function flip(file: string, at: number, bit = 0): void {
  const fd = fs.openSync(file, 'r+');
  const one = Buffer.alloc(1);
  fs.readSync(fd, one, 0, 1, at);
  one[0] ^= 1 << bit;
  fs.writeSync(fd, one, 0, 1, at);
  fs.closeSync(fd);
}

describe('bit rot where a clean open does not look', () => {
  it('is never served: the first read quarantines it, logs it once, and serves the rest with a gap', async () => {
    const { dir, batches } = await closedLog();
    const { victim } = earlyBatchOfSealed(dir, batches);
    flip(victim.file, victim.position + 40); // inside the records, under the CRC
    const rec = recorder();
    const log = Log.open(dir, { ...config, logger: rec.logger });
    expect(log.logEndOffset).toBe(120);
    expect(log.recovery.truncatedBytes).toBe(0);
    // Reads at and in the damaged batch get the batches after it (an empty batch stands for its offsets).
    for (const offset of [victim.base, victim.base + 2]) {
      const r = log.read(offset, 1 << 20);
      expect(decodeAll(r.records)[0]!.offset).toBe(victim.base + 3);
    }
    const lines = rec.lines.filter((l) => l.level === 'warn');
    expect(lines.length).toBe(1);
    expect(lines[0]!.msg).toMatch(/^quarantined a damaged range/);
    expect(lines[0]!.obj).toMatchObject({ dir, firstOffset: victim.base, lastOffset: victim.base + 2, position: victim.position });
    const before = log.read(victim.base - 3, 1 << 20);
    expect(decodeAll(before.records).map((r) => r.offset).slice(0, 4)).toEqual([victim.base - 3, victim.base - 2, victim.base - 1, victim.base + 3]);
    let offset = 0;
    let n = 0;
    while (offset < log.logEndOffset) {
      const r = log.read(offset, 1 << 20);
      n += decodeAll(r.records).filter((x) => x.offset >= offset).length; // decodeAll checks CRCs
      offset = r.nextOffset;
    }
    expect(n).toBe(117);
    await log.close();
  });

  it('a flipped baseOffset (outside the CRC) costs that batch only', async () => {
    const { dir, batches } = await closedLog();
    const { victim } = earlyBatchOfSealed(dir, batches);
    flip(victim.file, victim.position + 7); // lowest byte of baseOffset: offsets shift by one
    const log = Log.open(dir, config);
    expect(decodeAll(log.read(victim.base, 1 << 20).records)[0]!.offset).toBe(victim.base + 3);
    expect(decodeAll(log.read(victim.base - 3, 1 << 20).records).map((r) => r.offset)).not.toContain(victim.base);
    expect(log.quarantined.map((q) => [q.firstOffset, q.nextOffset])).toEqual([[victim.base, victim.base + 3]]);
    await log.close();
  });

  it('an invalid length field never makes a read or a time lookup loop: the batch is found again by searching', async () => {
    const { dir, batches } = await closedLog();
    const { victim } = earlyBatchOfSealed(dir, batches);
    const fd = fs.openSync(victim.file, 'r+');
    const length = Buffer.alloc(4);
    length.writeInt32BE(-12); // a step of zero bytes: an endless walk before the guard
    fs.writeSync(fd, length, 0, 4, victim.position + 8);
    fs.closeSync(fd);
    const log = Log.open(dir, config);
    expect(decodeAll(log.read(victim.base + 3, 1 << 20).records)[0]!.offset).toBe(victim.base + 3);
    expect(decodeAll(log.read(victim.base, 1 << 20).records)[0]!.offset).toBe(victim.base + 3);
    expect(log.offsetForTimestamp(1_000_000 + ((victim.base + 3) / 3) * 10)?.offset).toBe(victim.base + 3);
    expect(log.offsetForTimestamp(1_000_000)).toEqual({ offset: 0, timestamp: 1_000_000 });
    await log.close();
  });

  it('a read that cannot repair the damage refuses it with CorruptSegmentError, logged once', async () => {
    const { dir, batches } = await closedLog();
    const { victim } = earlyBatchOfSealed(dir, batches);
    flip(victim.file, victim.position + 40);
    const rec = recorder();
    // A policy that neither quarantines nor cuts here: a replica that leaves it to its fetcher.
    const log = Log.open(dir, { ...config, logger: rec.logger, damagePolicy: () => { throw new Error('leave it to the replica fetcher'); } });
    for (let i = 0; i < 3; i++) expect(() => log.read(victim.base, 1 << 20)).toThrow(CorruptSegmentError);
    expect(rec.lines.filter((l) => l.msg.startsWith('corrupt batch found')).length).toBe(1);
    expect(log.read(victim.base - 3, 1 << 20).nextOffset).toBe(victim.base);
    await log.close();
  });

  it('checks each byte once per run: bytes checked are known good afterwards (the limit of the promise)', async () => {
    const { dir, batches } = await closedLog();
    const log = Log.open(dir, config);
    const first = Buffer.from(log.read(0, 1 << 20).records);
    // Rot that arrives after the bytes were checked is not looked for again (the hot path
    // stays free of CRC work): the reader gets the changed bytes and its own CRC check fails.
    flip(batches[1]!.file, batches[1]!.position + 40);
    const second = log.read(0, 1 << 20);
    expect(second.records.length).toBe(first.length);
    expect(second.records.equals(first)).toBe(false);
    await log.close();
  });
});

describe('recovery of damaged sealed segments', () => {
  it('keeps every later segment when a sealed one is cut at a batch boundary: the missing offsets are a gap, and it says so', async () => {
    const { dir, batches } = await closedLog();
    const files = [...new Set(batches.map((b) => b.file))];
    const inSecond = batches.filter((b) => b.file === files[1]);
    const nextBase = batches.find((b) => b.file === files[2])!.base;
    fs.truncateSync(files[1]!, inSecond[2]!.position);
    const rec = recorder();
    const log = Log.open(dir, { ...config, logger: rec.logger });
    expect(log.logEndOffset).toBe(120);
    expect(log.segmentCount).toBe(files.length);
    expect(log.recovery.deletedSegments).toEqual([]);
    expect(log.quarantined).toMatchObject([{ firstOffset: inSecond[2]!.base, nextOffset: nextBase, file: null, knownBy: 'next-segment' }]);
    const warn = rec.lines.find((l) => l.msg.startsWith('quarantined a damaged range'))!;
    expect(warn.obj).toMatchObject({ dir, firstOffset: inSecond[2]!.base, lastOffset: nextBase - 1 });
    const gap = log.read(inSecond[2]!.base, 1 << 20); // the empty batch standing for the gap
    expect(decodeAll(gap.records)).toEqual([]);
    expect(gap.nextOffset).toBe(nextBase);
    expect(decodeAll(log.read(gap.nextOffset, 1 << 20).records)[0]!.offset).toBe(nextBase);
    log.append(numberedBatch(log.logEndOffset, 3));
    expect(log.logEndOffset).toBe(123);
    await log.close();
  });

  it('rebuilds a garbage time index that passes its own ordering check', async () => {
    const { dir, batches } = await closedLog();
    const file = [...new Set(batches.map((b) => b.file))][1]!;
    const garbage = Buffer.alloc(12);
    garbage.writeBigInt64BE(99_999_999n, 0);
    garbage.writeInt32BE(5000, 8); // a relative offset far past the segment
    fs.writeFileSync(file.replace(/\.log$/, '.timeindex'), garbage);
    const rec = recorder();
    const log = Log.open(dir, { ...config, logger: rec.logger });
    expect(log.recovery.rebuiltIndexes.map((r) => r.baseOffset)).toContain(Number(path.basename(file).slice(0, 20)));
    expect(rec.lines.some((l) => l.level === 'warn' && l.msg.startsWith('recovery rebuilt the indexes'))).toBe(true);
    const first = batches.find((b) => b.file === file)!;
    expect(log.offsetForTimestamp(1_000_000 + (first.base / 3) * 10)).toEqual({ offset: first.base, timestamp: 1_000_000 + (first.base / 3) * 10 });
    expect(log.maxTimestampAndOffset().timestamp).toBe(1_000_000 + 39 * 10 + 2);
    await log.close();
  });

  it('the lines recovery logs on a worker thread reach the broker logger, naming the partition directory', async () => {
    const dir = tmpDir();
    const s = await Sluice.open({ dir, workerThreads: 1, retentionCheckIntervalMs: 0, cleanerBackoffMs: 0 });
    await s.createTopic('t', { partitions: 2, config: { 'segment.bytes': 2000 } });
    for (let b = 0; b < 30; b++) s.partition('t', 1).append(numberedBatch(b * 3, 3));
    await s.close();
    const partDir = path.join(dir, 't-1');
    fs.rmSync(path.join(partDir, CLEAN_SHUTDOWN_FILE));
    const active = fs.readdirSync(partDir).filter((n) => n.endsWith('.log')).sort().at(-1)!;
    fs.truncateSync(path.join(partDir, active), fs.statSync(path.join(partDir, active)).size - 5);
    const rec = recorder();
    const again = await Sluice.open({ dir, workerThreads: 1, retentionCheckIntervalMs: 0, cleanerBackoffMs: 0, logger: rec.logger });
    expect(again.recovered.map((r) => r.dir)).toEqual([partDir]);
    // Below the recovery point the clean close left: damage, not a torn tail. The offsets stay.
    const warn = rec.lines.find((l) => l.msg.startsWith('quarantined a damaged range'));
    expect(warn?.obj.dir).toBe(partDir);
    expect(warn?.obj).toMatchObject({ firstOffset: 87, lastOffset: 89 });
    expect(again.partition('t', 1).logEndOffset).toBe(90);
    await again.close();
  });
});
