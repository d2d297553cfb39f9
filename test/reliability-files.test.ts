/**
 * Damaged files under a real broker process. A broker writes several topics and partitions
 * over many small segments, is stopped (SIGTERM, or SIGKILL), and the harness damages the
 * files on disk with a seeded PRNG: segments cut inside a batch or at a batch boundary, bit
 * flips, zero-filled and zero-extended tails, deleted and garbage indexes, a missing
 * clean-shutdown marker; in sealed and active segments, several partitions at once. The
 * broker is started again and checked over the wire (Sluice's own codec, as a client sees
 * it) against a model of the promise (README, Guarantees):
 *
 * - it starts, and every batch before the damage is served byte for byte, from its first
 *   offset and from the middle (offset index), and found by time (time index);
 * - damage (a bad batch with valid data after it, or offsets missing below the next
 *   segment's base or the recovery point) is quarantined (storage/quarantine.ts), found at
 *   open or by the first read that meets it: its offsets become a gap (an empty batch stands
 *   for them), everything else is served, the log end offset stays;
 * - a torn tail (the chain simply ends, past anything known to follow it) is cut at the
 *   first invalid byte, as Kafka does: the log end offset is the cut;
 * - a CRC-invalid batch is never served; offsets are dense batch by batch; appends go on at the end;
 * - the broker's log (pino JSON on stderr) names the partition directory and what was
 *   dropped (bytes), what was rebuilt, and each quarantined range (one error line).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildBatch } from '../src/index.js';
import { scanBatches } from '../src/native.js';
import { ApiKey } from '../src/protocol/apis.js';
import { startBroker, type BrokerProcess } from './helpers/broker.js';
import { tmpDir } from './helpers/tmp.js';
import { WireClient } from './helpers/wire-client.js';

const OFFSET_OUT_OF_RANGE = 1;
const TOPICS = [
  { name: 'files-a', partitions: 3 },
  { name: 'files-b', partitions: 2 },
];
const SEGMENT_BYTES = 4096;
const INDEX_INTERVAL_BYTES = 512;
const ROUNDS = 36;
const T0 = 1_700_000_000_000;

/** Deterministic PRNG (mulberry32): every failure replays from its seed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Batch {
  base: number;
  last: number;
  /** The bytes as stored: baseOffset patched, partitionLeaderEpoch 0. */
  bytes: Buffer;
  timestamps: number[];
  /** Where it lies on disk (filled in after the stop). */
  segment: number;
  position: number;
}

interface PartitionModel {
  key: string;
  topic: string;
  partition: number;
  dir: string;
  batches: Batch[];
}

/** What one partition must look like after the restart. */
interface Expectation {
  logEndOffset: number;
  /** Offsets [from, to) quarantined: a gap, one empty batch standing for it, one error line. */
  missing: { from: number; to: number } | null;
  droppedWarning: boolean;
  /** Segments that must be reported as deleted (their base offsets). */
  deletedSegments: number[];
  rebuiltIndexes: number[];
  notes: string[];
}

type Op =
  | 'cut' // inside a batch
  | 'cut-boundary' // at a batch boundary (a sealed segment then leaves a gap)
  | 'flip' // one bit anywhere (but the partitionLeaderEpoch field, which nothing covers)
  | 'flip-early' // one bit before the last index entry (not in the tail a clean open checks)
  | 'zero-tail' // zeros from inside a batch to the end
  | 'zero-extend' // zeros appended
  | 'delete-index'
  | 'delete-timeindex'
  | 'garbage-index'
  | 'garbage-timeindex'
  | 'remove-marker';

interface Damage {
  partition: string;
  where: 'sealed' | 'active';
  ops: Op[];
}

const name20 = (n: number) => String(n).padStart(20, '0');

function createBody(name: string, partitions: number) {
  return {
    topics: [
      {
        name,
        numPartitions: partitions,
        replicationFactor: 1,
        assignments: [],
        configs: [
          { name: 'segment.bytes', value: String(SEGMENT_BYTES) },
          { name: 'index.interval.bytes', value: String(INDEX_INTERVAL_BYTES) },
          { name: 'retention.ms', value: '-1' },
        ],
      },
    ],
    timeoutMs: 5000,
    validateOnly: false,
  };
}

function fetchBody(topic: string, partition: number, offset: number, partitionMaxBytes: number) {
  return {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, logStartOffset: -1, partitionMaxBytes }] }],
    forgottenTopicsData: [],
    rackId: '',
  };
}

async function fetchOne(c: WireClient, m: PartitionModel, offset: number, maxBytes = 1) {
  const r = await c.request(ApiKey.Fetch, 11, fetchBody(m.topic, m.partition, offset, maxBytes));
  return r.responses[0]!.partitions[0]!;
}

async function listOffset(c: WireClient, m: PartitionModel, timestamp: number) {
  const r = await c.request(ApiKey.ListOffsets, 5, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: m.topic, partitions: [{ partitionIndex: m.partition, currentLeaderEpoch: -1, timestamp }] }],
  });
  return r.topics[0]!.partitions[0]!;
}

/** Whole batches of a fetched chain. */
function splitBatches(records: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos + 12 <= records.length; ) {
    const size = records.readInt32BE(pos + 8) + 12;
    if (pos + size > records.length) break; // a partial batch at the end is allowed by Kafka
    out.push(records.subarray(pos, pos + size));
    pos += size;
  }
  return out;
}

/** Starts a broker, creates the topics, produces ROUNDS rounds of batches to every partition. */
async function writeData(dir: string, seed: number): Promise<{ broker: BrokerProcess; models: PartitionModel[] }> {
  const broker = await startBroker({ dir, args: ['--retention-check-interval-ms', '0', '--log-format', 'json'] });
  const c = await WireClient.connect(broker.port);
  const models: PartitionModel[] = [];
  for (const t of TOPICS) {
    const r = await c.request(ApiKey.CreateTopics, 5, createBody(t.name, t.partitions));
    expect(r.topics[0]!.errorCode).toBe(0);
    for (let p = 0; p < t.partitions; p++) {
      models.push({ key: `${t.name}-${p}`, topic: t.name, partition: p, dir: path.join(dir, `${t.name}-${p}`), batches: [] });
    }
  }
  const random = rng(seed);
  let clock = T0;
  for (let round = 0; round < ROUNDS; round++) {
    const pending = models.map((m) => {
      const count = 1 + Math.floor(random() * 4);
      const timestamps: number[] = [];
      const records = [];
      for (let i = 0; i < count; i++) {
        clock += 10;
        timestamps.push(clock);
        const value = Buffer.alloc(40 + Math.floor(random() * 260));
        for (let j = 0; j < value.length; j++) value[j] = Math.floor(random() * 256);
        records.push({ key: `${m.key}-${round}-${i}`, value, timestamp: clock });
      }
      return { m, batch: buildBatch(records, { now: clock }), timestamps };
    });
    const byTopic = new Map<string, { index: number; records: Buffer }[]>();
    for (const { m, batch } of pending) {
      const list = byTopic.get(m.topic) ?? [];
      list.push({ index: m.partition, records: batch });
      byTopic.set(m.topic, list);
    }
    const res = await c.request(ApiKey.Produce, 7, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topicData: [...byTopic].map(([name, partitionData]) => ({ name, partitionData })),
    });
    for (const { m, batch, timestamps } of pending) {
      const pr = res.responses.find((t) => t.name === m.topic)!.partitionResponses.find((p) => p.index === m.partition)!;
      expect(pr.errorCode).toBe(0);
      const bytes = Buffer.from(batch);
      bytes.writeBigInt64BE(BigInt(pr.baseOffset), 0);
      bytes.writeInt32BE(0, 12);
      const last = pr.baseOffset + timestamps.length - 1;
      const prev = m.batches.at(-1);
      expect(pr.baseOffset).toBe(prev === undefined ? 0 : prev.last + 1);
      m.batches.push({ base: Number(pr.baseOffset), last, bytes, timestamps, segment: -1, position: -1 });
    }
  }
  c.close();
  return { broker, models };
}

interface SegmentFile {
  base: number;
  file: string;
  size: number;
  batches: Batch[];
  /** Where the tail a clean open checks starts: the last on-disk offset index entry, or 0. */
  lastIndexPosition: number;
}

/** Maps every batch to its file and position, as the stopped broker left them. */
function layout(m: PartitionModel): SegmentFile[] {
  const byBase = new Map(m.batches.map((b) => [b.base, b]));
  const segments: SegmentFile[] = [];
  for (const name of fs.readdirSync(m.dir).filter((n) => n.endsWith('.log')).sort()) {
    const file = path.join(m.dir, name);
    const data = fs.readFileSync(file);
    const base = Number(name.slice(0, 20));
    const seg: SegmentFile = { base, file, size: data.length, batches: [], lastIndexPosition: 0 };
    for (let pos = 0; pos < data.length; ) {
      const b = byBase.get(Number(data.readBigInt64BE(pos)))!;
      expect(b, `${file} at ${pos}`).toBeDefined();
      expect(data.subarray(pos, pos + b.bytes.length).equals(b.bytes), `${file} at ${pos} holds the batch as produced`).toBe(true);
      b.segment = base;
      b.position = pos;
      seg.batches.push(b);
      pos += b.bytes.length;
    }
    const index = path.join(m.dir, `${name20(base)}.index`);
    const idx = fs.existsSync(index) ? fs.readFileSync(index) : Buffer.alloc(0);
    if (idx.length >= 8) seg.lastIndexPosition = idx.readInt32BE(idx.length - 4);
    segments.push(seg);
  }
  expect(segments.flatMap((s) => s.batches).length).toBe(m.batches.length);
  return segments;
}

function readCheckpoint(dir: string): { recoveryPoint: number } | null {
  try {
    const m = /recoveryPoint (\d+)/.exec(fs.readFileSync(path.join(dir, 'partition.checkpoint'), 'utf8'));
    return m ? { recoveryPoint: Number(m[1]) } : null;
  } catch {
    return null;
  }
}

const batchEnd = (b: Batch) => b.position + b.bytes.length;

/** Applies the damage and returns what the restarted broker must show for the partition. */
function damage(m: PartitionModel, d: Damage, clean: boolean, random: () => number): Expectation {
  const segments = layout(m);
  expect(segments.length, `${m.key} has sealed segments to damage`).toBeGreaterThanOrEqual(3);
  const target = d.where === 'active' ? segments.at(-1)! : segments[1 + Math.floor(random() * (segments.length - 2))]!;
  const at = segments.indexOf(target);
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]!;
  const lastOffset = m.batches.at(-1)!.last;
  const e: Expectation = { logEndOffset: lastOffset + 1, missing: null, droppedWarning: false, deletedSegments: [], rebuiltIndexes: [], notes: [] };
  let unclean = !clean;
  let indexDamaged = false;
  /** The first invalid byte, when the data itself is damaged: { batch index in segment, or length }. */
  let invalidFrom: { batch: number; note: string } | null = null;
  const logFile = target.file;
  const stem = path.join(m.dir, name20(target.base));
  for (const op of d.ops) {
    switch (op) {
      case 'cut': {
        const k = Math.floor(random() * target.batches.length);
        const b = target.batches[k]!;
        const cut = b.position + 1 + Math.floor(random() * (b.bytes.length - 1));
        fs.truncateSync(logFile, cut);
        invalidFrom = { batch: k, note: `cut at byte ${cut} of ${path.basename(logFile)}` };
        break;
      }
      case 'cut-boundary': {
        const k = 1 + Math.floor(random() * (target.batches.length - 1));
        fs.truncateSync(logFile, target.batches[k]!.position);
        invalidFrom = { batch: k, note: `cut at the batch boundary ${target.batches[k]!.position}` };
        break;
      }
      case 'flip':
      case 'flip-early': {
        const limit = op === 'flip-early' && target.lastIndexPosition > 0 ? target.lastIndexPosition : target.size;
        let x: number;
        let k: number;
        do {
          x = Math.floor(random() * limit);
          k = target.batches.findIndex((b) => x >= b.position && x < batchEnd(b));
        } while (x - target.batches[k]!.position >= 12 && x - target.batches[k]!.position < 16);
        const fd = fs.openSync(logFile, 'r+');
        const one = Buffer.alloc(1);
        fs.readSync(fd, one, 0, 1, x);
        one[0] ^= 1 << Math.floor(random() * 8);
        fs.writeSync(fd, one, 0, 1, x);
        fs.closeSync(fd);
        invalidFrom = { batch: k, note: `bit flip at byte ${x} (byte ${x - target.batches[k]!.position} of the batch at offset ${target.batches[k]!.base})` };
        break;
      }
      case 'zero-tail': {
        const k = Math.floor(random() * target.batches.length);
        const b = target.batches[k]!;
        const z = b.position + Math.floor(random() * b.bytes.length);
        const fd = fs.openSync(logFile, 'r+');
        fs.writeSync(fd, Buffer.alloc(target.size - z), 0, target.size - z, z);
        fs.closeSync(fd);
        invalidFrom = { batch: k, note: `zeros from byte ${z}` };
        break;
      }
      case 'zero-extend': {
        fs.appendFileSync(logFile, Buffer.alloc(100 + Math.floor(random() * 3000)));
        invalidFrom = { batch: target.batches.length, note: 'zeros appended' };
        break;
      }
      case 'delete-index':
        fs.rmSync(`${stem}.index`);
        indexDamaged = true;
        break;
      case 'delete-timeindex':
        fs.rmSync(`${stem}.timeindex`, { force: true });
        indexDamaged = true;
        break;
      case 'garbage-index':
      case 'garbage-timeindex': {
        const garbage = Buffer.alloc(1 + Math.floor(random() * 200));
        for (let i = 0; i < garbage.length; i++) garbage[i] = Math.floor(random() * 256);
        fs.writeFileSync(op === 'garbage-index' ? `${stem}.index` : `${stem}.timeindex`, garbage);
        indexDamaged = true;
        break;
      }
      case 'remove-marker':
        fs.rmSync(path.join(m.dir, '.clean-shutdown'));
        unclean = true;
        break;
    }
  }
  // Which segments the open rescans whole: after an unclean shutdown those from the one
  // holding the recovery point; and any whose indexes fail their checks.
  let fullFrom = segments.length;
  if (unclean) {
    const rp = readCheckpoint(m.dir)?.recoveryPoint ?? 0;
    fullFrom = 0;
    for (let i = 0; i < segments.length; i++) if (segments[i]!.base <= rp) fullFrom = i;
  }
  const rescanned = at >= fullFrom || indexDamaged;
  if (indexDamaged) e.rebuiltIndexes.push(target.base);
  if (invalidFrom !== null) {
    const k = invalidFrom.batch;
    e.notes.push(invalidFrom.note);
    const flipped = d.ops.some((o) => o.startsWith('flip'));
    const inTail = k < target.batches.length && target.batches[k]!.position >= target.lastIndexPosition;
    // What is known to follow the segment's data: the next segment's base offset, or the
    // recovery point in the checkpoint (the log end offset itself after a clean stop).
    const knownEnd = at < segments.length - 1 ? segments[at + 1]!.base : (readCheckpoint(m.dir)?.recoveryPoint ?? 0);
    const from = k < target.batches.length ? target.batches[k]!.base : target.batches.at(-1)!.last + 1;
    // A flip with valid batches after it in the segment costs its own batch; anything else
    // (cuts, zeros, a flip in the last batch) costs every offset up to the known end.
    const ownBatch = flipped && k < target.batches.length - 1;
    const to = ownBatch ? target.batches[k]!.last + 1 : knownEnd;
    if (to > from) {
      e.missing = { from, to };
      if (d.where === 'active' && !ownBatch) e.logEndOffset = to;
      e.notes.push(`offsets [${from}, ${to}) quarantined${flipped && !rescanned && !inTail ? ' when read' : ''}`);
    } else {
      // Nothing valid follows and nothing is known past it: a torn tail, cut (Kafka's rule).
      if (d.where === 'active') e.logEndOffset = from;
      e.droppedWarning = !d.ops.includes('cut-boundary');
      e.notes.push(`tail cut at offset ${from}`);
    }
  }
  if (e.rebuiltIndexes.length > 0 && e.droppedWarning) e.rebuiltIndexes = []; // reported, but not asserted when data was cut too
  return e;
}

/** Pino JSON lines of the broker's stderr. */
function logLines(broker: BrokerProcess): { level: number; msg: string; dir?: string; [k: string]: unknown }[] {
  return broker
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string });
}

async function waitForLog(broker: BrokerProcess, test: (l: ReturnType<typeof logLines>[number]) => boolean, what: string) {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (logLines(broker).some(test)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no log line ${what}; the broker logged:\n${broker.output()}`);
}

/** Everything a client can check about one partition. */
async function verify(c: WireClient, broker: BrokerProcess, m: PartitionModel, e: Expectation) {
  const ctx = `${m.key}: ${e.notes.join('; ')}`;
  const latest = await listOffset(c, m, -1);
  expect(latest.errorCode, ctx).toBe(0);
  expect(Number(latest.offset), ctx).toBe(e.logEndOffset);
  expect(Number((await listOffset(c, m, -2)).offset), ctx).toBe(0);
  const isMissing = (b: Batch) => e.missing !== null && b.base >= e.missing.from && b.base < e.missing.to;
  const served = m.batches.filter((b) => b.last < e.logEndOffset && !isMissing(b));
  /** The empty batch standing for the quarantined offsets. */
  const isGap = (batch: Buffer) =>
    e.missing !== null &&
    Number(batch.readBigInt64BE(0)) === e.missing.from &&
    batch.readInt32BE(23) === e.missing.to - e.missing.from - 1 &&
    batch.readInt32BE(57) === 0 &&
    batch.length === 61;

  // Offset lookups: every batch from its first offset and from its middle, one batch each;
  // an offset in the gap gets the empty batch that stands for it.
  for (const b of m.batches.filter((x) => x.last < e.logEndOffset)) {
    for (const offset of new Set([b.base, b.base + Math.floor((b.last - b.base) / 2), b.last])) {
      const r = await fetchOne(c, m, offset);
      expect(r.errorCode, `${ctx}: fetch at ${offset}`).toBe(0);
      const first = splitBatches(r.records!)[0]!;
      if (isMissing(b)) expect(isGap(first), `${ctx}: fetch at ${offset} (quarantined) serves the empty batch for the gap`).toBe(true);
      else expect(first.equals(b.bytes), `${ctx}: fetch at ${offset} serves the batch at ${b.base} exactly`).toBe(true);
    }
  }

  // A consumer's pass from the start: only CRC-valid, expected batches, offsets dense batch
  // by batch, the gap as one empty batch.
  const expected = new Map(served.map((b) => [b.base, b]));
  let offset = 0;
  let seen = 0;
  while (offset < e.logEndOffset) {
    const r = await fetchOne(c, m, offset, 16 * 1024);
    expect(r.errorCode, `${ctx}: pass at ${offset}`).toBe(0);
    const chain = r.records!;
    const batches = splitBatches(chain);
    expect(batches.length, `${ctx}: data at ${offset}`).toBeGreaterThan(0);
    for (const batch of batches) {
      expect(scanBatches(batch, 0, batch.length), `${ctx}: served batch passes its CRC`).toBe(batch.length);
      const base = Number(batch.readBigInt64BE(0));
      expect(base, `${ctx}: dense offsets`).toBe(offset);
      if (isGap(batch)) {
        offset = e.missing!.to;
        continue;
      }
      expect(batch.equals(expected.get(base)!.bytes), `${ctx}: batch at ${base} as produced`).toBe(true);
      offset = expected.get(base)!.last + 1;
      seen++;
    }
  }
  expect(seen, ctx).toBe(served.length);

  // Nothing at or after the end.
  const atEnd = await fetchOne(c, m, e.logEndOffset);
  expect(atEnd.errorCode, ctx).toBe(0);
  expect(atEnd.records?.length ?? 0).toBe(0);
  expect((await fetchOne(c, m, e.logEndOffset + 1)).errorCode, ctx).toBe(OFFSET_OUT_OF_RANGE);

  // Time lookups (time index): a record's own timestamp, and just before it, find it.
  const timed = served;
  for (const b of [timed[0]!, ...timed.filter((_, i) => i % 5 === 2), timed.at(-1)!]) {
    const i = b.timestamps.length - 1;
    for (const t of [b.timestamps[i]!, b.timestamps[i]! - 3]) {
      const r = await listOffset(c, m, t);
      expect(r.errorCode, `${ctx}: time ${t}`).toBe(0);
      expect(Number(r.offset), `${ctx}: offset for time ${t}`).toBe(b.base + i);
    }
  }
  // Records cut off are not found by time either (no stale index entry survives).
  const dropped = m.batches.find((b) => b.base === e.logEndOffset);
  if (dropped !== undefined) expect(Number((await listOffset(c, m, dropped.timestamps[0]!)).offset), ctx).toBe(-1);

  // The log: what was dropped, rebuilt and refused, naming the partition directory.
  const mine = (l: { dir?: unknown }) => l.dir === m.dir;
  if (e.droppedWarning) {
    await waitForLog(broker, (l) => mine(l) && l.level === 40 && l.msg.startsWith('recovery dropped invalid data'), `about what ${m.key} dropped`);
    const line = logLines(broker).find((l) => mine(l) && l.msg.startsWith('recovery dropped invalid data'))!;
    expect(line.droppedBytes as number, ctx).toBeGreaterThan(0);
    expect(line.deletedSegments, ctx).toEqual(e.deletedSegments);
  }
  for (const base of e.rebuiltIndexes) {
    await waitForLog(
      broker,
      (l) => mine(l) && l.level === 40 && l.msg.startsWith('recovery rebuilt the indexes') && (l.rebuiltIndexes as { baseOffset: number }[]).some((r) => r.baseOffset === base),
      `about ${m.key} rebuilding the indexes of segment ${base}`,
    );
  }
  if (e.missing !== null) {
    await waitForLog(broker, (l) => mine(l) && l.level === 50 && l.msg.startsWith('quarantined a damaged range') && l.firstOffset === e.missing!.from, `about the range ${m.key} quarantined`);
    expect(logLines(broker).filter((l) => mine(l) && l.level === 50).length, ctx).toBe(1);
    expect(logLines(broker).some((l) => mine(l) && l.msg.startsWith('corrupt batch found')), ctx).toBe(false);
  }
  if (!e.droppedWarning && e.rebuiltIndexes.length === 0 && e.missing === null) {
    expect(logLines(broker).filter((l) => mine(l) && l.level >= 40), `${ctx}: no warnings`).toEqual([]);
  }

  // Appends go on at the end, dense.
  const res = await c.request(ApiKey.Produce, 7, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 5000,
    topicData: [{ name: m.topic, partitionData: [{ index: m.partition, records: buildBatch([{ value: 'after' }]) }] }],
  });
  expect(res.responses[0]!.partitionResponses[0]!.errorCode, ctx).toBe(0);
  expect(Number(res.responses[0]!.partitionResponses[0]!.baseOffset), ctx).toBe(e.logEndOffset);
}

async function scenario(seed: number, stop: 'clean' | 'kill', damages: Damage[]) {
  const dir = tmpDir('sluice-files-');
  const { broker, models } = await writeData(dir, seed);
  if (stop === 'clean') expect(await broker.stop()).toBe(0);
  else await broker.kill();
  const random = rng(seed * 7919);
  const expectations = new Map<string, Expectation>();
  for (const m of models) {
    const d = damages.find((x) => x.partition === m.key);
    expectations.set(m.key, d === undefined ? damage(m, { partition: m.key, where: 'active', ops: [] }, stop === 'clean', random) : damage(m, d, stop === 'clean', random));
  }
  if (process.env.SLUICE_TEST_DEBUG) for (const [k, e] of expectations) console.log(stop, k, e.logEndOffset, e.missing, e.deletedSegments, e.rebuiltIndexes, e.notes.join("; "));
  const again = await startBroker({ dir, args: ['--retention-check-interval-ms', '0', '--log-format', 'json'] });
  const c = await WireClient.connect(again.port);
  try {
    for (const m of models) await verify(c, again, m, expectations.get(m.key)!);
  } finally {
    c.close();
  }
  // Once more, cleanly: what recovery left is a log that opens without complaint.
  expect(await again.stop()).toBe(0);
  const third = await startBroker({ dir, args: ['--retention-check-interval-ms', '0', '--log-format', 'json'] });
  const c3 = await WireClient.connect(third.port);
  for (const m of models) {
    const e = expectations.get(m.key)!;
    expect(Number((await listOffset(c3, m, -1)).offset), m.key).toBe(e.logEndOffset + 1);
  }
  c3.close();
  await third.stop();
}

describe('a broker restarted on damaged files', () => {
  it('after a clean stop: cuts, flips and zeros in sealed and active segments, bad indexes, a missing marker', async () => {
    await scenario(11, 'clean', [
      { partition: 'files-a-0', where: 'sealed', ops: ['cut'] },
      { partition: 'files-a-1', where: 'sealed', ops: ['flip-early'] },
      { partition: 'files-a-2', where: 'active', ops: ['zero-tail'] },
      { partition: 'files-b-0', where: 'sealed', ops: ['garbage-index', 'delete-timeindex'] },
      { partition: 'files-b-1', where: 'active', ops: ['remove-marker', 'flip'] },
    ]);
  });

  it('after SIGKILL: the unflushed tail is rescanned whole, older segments by their tails', async () => {
    await scenario(23, 'kill', [
      { partition: 'files-a-0', where: 'active', ops: ['cut'] },
      { partition: 'files-a-1', where: 'active', ops: ['flip'] },
      { partition: 'files-a-2', where: 'sealed', ops: ['zero-extend'] },
      { partition: 'files-b-0', where: 'sealed', ops: ['delete-index'] },
      { partition: 'files-b-1', where: 'sealed', ops: ['garbage-timeindex', 'flip-early'] },
    ]);
  });

  it('after a clean stop: a sealed segment cut at a batch boundary, zeros in a sealed segment, bit rot', async () => {
    await scenario(37, 'clean', [
      { partition: 'files-a-0', where: 'sealed', ops: ['cut-boundary'] },
      { partition: 'files-a-1', where: 'sealed', ops: ['zero-tail'] },
      { partition: 'files-a-2', where: 'active', ops: ['zero-extend'] },
      { partition: 'files-b-0', where: 'active', ops: ['flip-early'] },
    ]);
  });

  it('after SIGKILL: sealed cuts, zeros and bit rot, a garbage index on the active segment', async () => {
    await scenario(41, 'kill', [
      { partition: 'files-a-0', where: 'sealed', ops: ['zero-tail'] },
      { partition: 'files-a-1', where: 'sealed', ops: ['flip-early'] },
      { partition: 'files-a-2', where: 'sealed', ops: ['cut'] },
      { partition: 'files-b-0', where: 'active', ops: ['garbage-index'] },
    ]);
  });
});
