/**
 * Damage versus a torn tail, storage layer (real files): a damaged batch with valid batches
 * after it is quarantined (side file + record, an empty batch in its place) and only its
 * records go missing, at open after a crash, at a clean open, and when a read first finds it;
 * a torn tail is still cut (Kafka's rule); a policy can choose to truncate instead.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLEAN_SHUTDOWN_FILE, Log } from '../src/storage/index.js';
import { QUARANTINE_DIR, readQuarantine } from '../src/storage/quarantine.js';
import { decodeAll, numberedBatch } from './helpers/batches.js';
import { tmpDir } from './helpers/tmp.js';

const config = { background: false, indexIntervalBytes: 4096, segmentMs: Infinity, retentionMs: -1 } as const;

interface Placed {
  base: number;
  file: string;
  position: number;
  size: number;
}

function recorder() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const push = (level: string) => (obj: object, msg: string) => lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, logger: { info: push('info'), warn: push('warn'), error: push('error') } };
}

/** A log of `batches` batches of 10 records (values v<offset>); where each batch lies. */
async function writeLog(batches: number, segmentBytes: number, close: boolean) {
  const dir = tmpDir();
  const log = Log.open(dir, { ...config, segmentBytes });
  const placed: Placed[] = [];
  for (let b = 0; b < batches; b++) {
    const data = numberedBatch(b * 10, 10, { timestamp: 1_000_000 + b * 100 });
    const info = log.append(data);
    const base = log.segmentBaseOffsets.at(-1)!;
    const file = path.join(dir, `${String(base).padStart(20, '0')}.log`);
    placed.push({ base: info.firstOffset, file, position: fs.statSync(file).size - data.length, size: data.length });
  }
  if (close) await log.close();
  else await log.flush(); // as a SIGKILL after the flush leaves it: no clean-shutdown marker
  return { dir, placed, log };
}

function flip(file: string, at: number): void {
  const fd = fs.openSync(file, 'r+');
  const one = Buffer.alloc(1);
  fs.readSync(fd, one, 0, 1, at);
  one[0] ^= 0x10;
  fs.writeSync(fd, one, 0, 1, at);
  fs.closeSync(fd);
}

/** Every record served from the log start to the end, following nextOffset across gaps. */
function readAll(log: Log): number[] {
  const out: number[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const r = log.read(offset, 1 << 20);
    for (const rec of decodeAll(r.records)) {
      expect(rec.value).toBe(`v${rec.offset}`);
      if (rec.offset >= offset) out.push(rec.offset);
    }
    expect(r.nextOffset).toBeGreaterThan(offset);
    offset = r.nextOffset;
  }
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('a damaged batch with valid batches after it', () => {
  it('after a crash: only its 10 records go, the rest is served, new appends go on at 2000', async () => {
    const { dir, placed } = await writeLog(200, 1 << 30, false);
    const victim = placed[50]!;
    const original = fs.readFileSync(victim.file).subarray(victim.position, victim.position + victim.size);
    flip(victim.file, victim.position + 100); // inside the records, under the CRC
    const rec = recorder();
    const log = Log.open(dir, { ...config, segmentBytes: 1 << 30, logger: rec.logger });
    expect(log.logEndOffset).toBe(2000);
    expect(log.recovery.truncatedBytes).toBe(0);
    expect(readAll(log)).toEqual([...range(0, 500), ...range(510, 2000)]);
    // The quarantine: side file with the damaged bytes, one record, one error line.
    const q = readQuarantine(dir);
    expect(q).toHaveLength(1);
    expect(q[0]).toMatchObject({ firstOffset: 500, nextOffset: 510, position: victim.position, end: victim.position + victim.size, knownBy: 'resync', foundBy: 'open' });
    const side = fs.readFileSync(path.join(dir, q[0]!.file!));
    expect(side.length).toBe(victim.size);
    expect(side.equals(original)).toBe(false);
    expect(side.subarray(0, 100).equals(original.subarray(0, 100))).toBe(true);
    expect(log.quarantined).toEqual(q);
    const errors = rec.lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.obj).toMatchObject({ dir, firstOffset: 500, lastOffset: 509, position: victim.position, end: victim.position + victim.size });
    expect(errors[0]!.msg).toContain(path.basename(victim.file));
    expect(rec.lines.filter((l) => l.msg.startsWith('recovery dropped'))).toEqual([]);
    const info = log.append(numberedBatch(2000, 10));
    expect(info.firstOffset).toBe(2000);
    await log.close();
    // Reopened cleanly: the same log, the quarantine recorded once.
    const again = Log.open(dir, { ...config, segmentBytes: 1 << 30 });
    expect(again.recovery.quarantined).toEqual([]);
    expect(readAll(again)).toEqual([...range(0, 500), ...range(510, 2010)]);
    expect(readQuarantine(dir)).toHaveLength(1);
    await again.close();
  });

  it('a damaged length field: the next batch is found by searching for it', async () => {
    const { dir, placed } = await writeLog(60, 1 << 30, false);
    const victim = placed[20]!;
    flip(victim.file, victim.position + 9); // batchLength
    const log = Log.open(dir, { ...config, segmentBytes: 1 << 30 });
    expect(log.logEndOffset).toBe(600);
    expect(readAll(log)).toEqual([...range(0, 200), ...range(210, 600)]);
    expect(readQuarantine(dir)[0]).toMatchObject({ firstOffset: 200, nextOffset: 210, position: victim.position, end: victim.position + victim.size });
    await log.close();
  });

  it('a zeroed stretch over several batches (a lost page): the gap covers exactly those batches', async () => {
    const { dir, placed } = await writeLog(60, 1 << 30, false);
    const from = placed[20]!.position + 30;
    const to = placed[23]!.position + 10; // batches 20, 21, 22 and the head of 23 (into its length)
    const fd = fs.openSync(placed[0]!.file, 'r+');
    fs.writeSync(fd, Buffer.alloc(to - from), 0, to - from, from);
    fs.closeSync(fd);
    const log = Log.open(dir, { ...config, segmentBytes: 1 << 30 });
    expect(log.logEndOffset).toBe(600);
    expect(readAll(log)).toEqual([...range(0, 200), ...range(240, 600)]);
    expect(readQuarantine(dir)).toMatchObject([{ firstOffset: 200, nextOffset: 240, position: placed[20]!.position, end: placed[24]!.position }]);
    await log.close();
  });

  it('a flipped baseOffset (outside the CRC) costs that batch only', async () => {
    const { dir, placed } = await writeLog(60, 1 << 30, false);
    flip(placed[30]!.file, placed[30]!.position + 7);
    const log = Log.open(dir, { ...config, segmentBytes: 1 << 30 });
    expect(readAll(log)).toEqual([...range(0, 300), ...range(310, 600)]);
    await log.close();
  });

  it('in the middle of an older segment, after a clean stop: the first read that meets it quarantines it', async () => {
    const { dir, placed } = await writeLog(100, 6000, true);
    const files = [...new Set(placed.map((p) => p.file))];
    expect(files.length).toBeGreaterThan(3);
    const inSecond = placed.filter((p) => p.file === files[1]);
    const victim = inSecond[1]!; // before the last index entry: a clean open does not look there
    flip(victim.file, victim.position + 80);
    const rec = recorder();
    const log = Log.open(dir, { ...config, segmentBytes: 6000, logger: rec.logger });
    expect(log.recovery.quarantined).toEqual([]);
    expect(readAll(log)).toEqual([...range(0, victim.base), ...range(victim.base + 10, 1000)]);
    expect(readQuarantine(dir)).toMatchObject([{ firstOffset: victim.base, nextOffset: victim.base + 10, foundBy: 'read' }]);
    expect(rec.lines.filter((l) => l.level === 'error')).toHaveLength(1);
    expect(rec.lines.filter((l) => l.msg.startsWith('corrupt batch found'))).toEqual([]);
    // Reads again: no more lines, the same data; a time lookup works across the gap.
    expect(readAll(log)).toEqual([...range(0, victim.base), ...range(victim.base + 10, 1000)]);
    expect(rec.lines.filter((l) => l.level !== 'info')).toHaveLength(1);
    expect(log.offsetForTimestamp(1_000_000 + (victim.base / 10) * 100)?.offset).toBe(victim.base + 10);
    expect(log.append(numberedBatch(1000, 10)).firstOffset).toBe(1000);
    await log.close();
    const again = Log.open(dir, { ...config, segmentBytes: 6000 });
    expect(readAll(again)).toEqual([...range(0, victim.base), ...range(victim.base + 10, 1010)]);
    await again.close();
  });

  it('in the active segment, found by a read at run time', async () => {
    const { dir, placed } = await writeLog(100, 1 << 30, true);
    const victim = placed[3]!;
    flip(victim.file, victim.position + 80);
    const log = Log.open(dir, { ...config, segmentBytes: 1 << 30 });
    expect(readAll(log)).toEqual([...range(0, 30), ...range(40, 1000)]);
    expect(log.append(numberedBatch(1000, 10)).firstOffset).toBe(1000);
    expect(readAll(log)).toEqual([...range(0, 30), ...range(40, 1010)]);
    await log.close();
  });

  it('at the end of a sealed segment, cut inside its last batch: the gap runs to the next segment', async () => {
    const { dir, placed } = await writeLog(60, 8000, false);
    const files = [...new Set(placed.map((p) => p.file))];
    const inSecond = placed.filter((p) => p.file === files[1]);
    const last = inSecond.at(-1)!;
    fs.truncateSync(last.file, last.position + 30);
    fs.writeFileSync(path.join(dir, CLEAN_SHUTDOWN_FILE), ''); // the tail check finds it
    const log = Log.open(dir, { ...config, segmentBytes: 8000 });
    expect(log.logEndOffset).toBe(600);
    expect(log.recovery.deletedSegments).toEqual([]);
    expect(readAll(log)).toEqual([...range(0, last.base), ...range(last.base + 10, 600)]);
    expect(readQuarantine(dir)).toMatchObject([{ firstOffset: last.base, nextOffset: last.base + 10, knownBy: 'next-segment', end: last.position + 30 }]);
    await log.close();
  });

  it('damage in the last batch below the recovery point keeps the log end offset', async () => {
    const { dir, placed } = await writeLog(30, 1 << 30, true);
    const last = placed.at(-1)!;
    flip(last.file, last.position + 80);
    const log = Log.open(dir, { ...config, segmentBytes: 1 << 30 });
    expect(log.logEndOffset).toBe(300);
    expect(readAll(log)).toEqual(range(0, 290));
    expect(readQuarantine(dir)).toMatchObject([{ firstOffset: 290, nextOffset: 300, knownBy: 'recovery-point' }]);
    expect(log.append(numberedBatch(300, 10)).firstOffset).toBe(300);
    await log.close();
  });
});

describe('offsets known to exist but missing from the file', () => {
  it('after a clean stop, an active segment cut at a batch boundary leaves a gap up to the recovery point', async () => {
    const { dir, placed } = await writeLog(30, 1 << 30, true);
    fs.truncateSync(placed[0]!.file, placed[27]!.position);
    const log = Log.open(dir, { ...config, segmentBytes: 1 << 30 });
    expect(log.logEndOffset).toBe(300);
    expect(log.quarantined).toMatchObject([{ firstOffset: 270, nextOffset: 300, file: null, knownBy: 'recovery-point' }]);
    expect(readAll(log)).toEqual(range(0, 270));
    expect(log.append(numberedBatch(300, 10)).firstOffset).toBe(300);
    await log.close();
  });
});

describe('a torn tail', () => {
  it('is cut as before: no quarantine', async () => {
    const { dir, placed, log: writer } = await writeLog(30, 1 << 30, false);
    writer.append(numberedBatch(300, 10)); // not flushed: past the recovery point
    const file = placed[0]!.file;
    fs.truncateSync(file, fs.statSync(file).size - 20);
    const log = Log.open(dir, { ...config, segmentBytes: 1 << 30 });
    expect(log.logEndOffset).toBe(300);
    expect(log.recovery.truncatedBytes).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(dir, QUARANTINE_DIR))).toBe(false);
    expect(readAll(log)).toEqual(range(0, 300));
    await log.close();
  });

  it('zeros after the last batch are cut', async () => {
    const { dir, placed } = await writeLog(30, 1 << 30, false);
    fs.appendFileSync(placed[0]!.file, Buffer.alloc(5000));
    const log = Log.open(dir, { ...config, segmentBytes: 1 << 30 });
    expect(log.logEndOffset).toBe(300);
    expect(log.recovery.truncatedBytes).toBe(5000);
    expect(readQuarantine(dir)).toEqual([]);
    await log.close();
  });
});

describe('when the quarantine cannot be written', () => {
  it('open fails with StorageIOError naming the offsets and the fix, and the segment is unchanged', async () => {
    const { dir, placed } = await writeLog(30, 1 << 30, false);
    flip(placed[10]!.file, placed[10]!.position + 80);
    fs.writeFileSync(path.join(dir, QUARANTINE_DIR), 'not a directory');
    const before = fs.readFileSync(placed[0]!.file);
    expect(() => Log.open(dir, { ...config, segmentBytes: 1 << 30 })).toThrow(/quarantining the damaged offsets \[100, 109\] of 00000000000000000000\.log \(the segment is unchanged; free disk space/);
    expect(fs.readFileSync(placed[0]!.file).equals(before)).toBe(true);
    fs.rmSync(path.join(dir, QUARANTINE_DIR));
    const log = Log.open(dir, { ...config, segmentBytes: 1 << 30 });
    expect(readAll(log)).toEqual([...range(0, 100), ...range(110, 300)]);
    await log.close();
  });
});

describe('the damage policy', () => {
  it("'truncate' (a replica that re-fetches from its leader) cuts the log at the damage", async () => {
    const { dir, placed } = await writeLog(60, 1 << 30, false);
    flip(placed[20]!.file, placed[20]!.position + 80);
    const seen: number[] = [];
    const log = Log.open(dir, { ...config, segmentBytes: 1 << 30, damagePolicy: (r) => (seen.push(r.firstOffset), 'truncate') });
    expect(seen).toEqual([200]);
    expect(log.logEndOffset).toBe(200);
    expect(readQuarantine(dir)).toEqual([]);
    await log.close();
  });
});
