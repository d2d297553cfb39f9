/**
 * Scale curves and the durable run:
 *
 * - logSizeCurve: one partition log (Log API, ready batches of 1000 x 100 B, CRC checked)
 *   grown to each size in turn; the append rate of each stretch, and the latency of reads
 *   at random offsets across the whole log at each size (fetch latency by offset).
 * - partitionsCurve: an embedded Sluice topic of 1 to 10,000 partitions (creation timed),
 *   records sent to every partition in turn, explicit partition per send.
 * - recordSizeCurve: embedded produce of 10 B to 100 KB records, 1 partition, no compression.
 * - durableBench: 1 KB records appended through the Log API with flush.ms (fsync every
 *   interval), timed until the last byte is fsynced: MB/s of acknowledged, flushed data.
 */
import fs from 'node:fs';
import { Log } from '../src/storage/index.js';
import { Sluice, type ProducerRecord } from '../src/index.js';
import { scanBatches } from '../src/native.js';
import { buildBatch } from '../src/record/index.js';
import { makeRecords, makeValues } from './storage.js';
import { benchDir, now, percentiles, throughput, type Percentiles, type Throughput } from './util.js';

export interface CurvePoint {
  /** The x value: GB of log, partitions, or record bytes. */
  x: number;
  recordsPerSec: number;
  mbPerSec: number;
  latency?: Percentiles;
  note?: string;
}

export interface Curve {
  name: string;
  x: string;
  points: CurvePoint[];
}

const yieldToLoop = () => new Promise((r) => setImmediate(r));

/** Append rate per stretch and random-read latency at each size in `gbPoints`. */
export async function logSizeCurve(gbPoints: number[], readsPerPoint = 2000): Promise<{ append: Curve; reads: Curve }> {
  const records = makeRecords(8000, 5);
  const ready = Array.from({ length: 8 }, (_, g) => buildBatch(records.slice(g * 1000, (g + 1) * 1000)));
  const dir = benchDir();
  const log = Log.open(dir, { background: false, segmentMs: Infinity, retentionMs: -1 });
  const append: Curve = { name: 'append rate against log size (Log API, 1000 x 100 B batches)', x: 'log size (GB)', points: [] };
  const reads: Curve = { name: 'read latency at random offsets against log size', x: 'log size (GB)', points: [] };
  try {
    let bytes = 0;
    let i = 0;
    for (const gb of gbPoints) {
      const target = gb * 1e9;
      const startBytes = bytes;
      const startRecords = log.logEndOffset;
      const t0 = now();
      while (bytes < target) {
        const b = ready[i++ & 7]!;
        log.append(b);
        bytes += b.length;
        if ((i & 255) === 0) await yieldToLoop();
      }
      const s = (now() - t0) / 1000;
      append.points.push({ x: gb, recordsPerSec: (log.logEndOffset - startRecords) / s, mbPerSec: (bytes - startBytes) / s / 1e6, note: `${log.segmentCount} segments` });
      // Random reads across the whole log: one fetch of up to 64 KB at a random offset, CRC checked.
      let x = 12345 + gb * 1000;
      const lat = new Float64Array(readsPerPoint);
      const end = log.logEndOffset;
      const r0 = now();
      for (let k = 0; k < readsPerPoint; k++) {
        x = (x * 1103515245 + 12345) % 2 ** 31;
        const offset = Math.floor((x / 2 ** 31) * end);
        const s0 = now();
        const r = log.read(offset, 65536);
        if (scanBatches(r.records, 0, r.records.length) !== r.records.length) throw new Error(`bad read at ${offset}`);
        lat[k] = now() - s0;
      }
      const rs = (now() - r0) / 1000;
      reads.points.push({ x: gb, recordsPerSec: readsPerPoint / rs, mbPerSec: 0, latency: percentiles(Array.from(lat)), note: 'reads/s in recordsPerSec' });
    }
  } finally {
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { append, reads };
}

/** Produce to topics of each partition count; every partition gets records. */
export async function partitionsCurve(counts: number[], records: number): Promise<Curve> {
  const curve: Curve = { name: 'embedded produce against partitions (100 B, none, acks=1)', x: 'partitions', points: [] };
  const values = makeValues(1000, 100, 11);
  for (const n of counts) {
    const dir = benchDir();
    const s = await Sluice.open({ dir, retentionCheckIntervalMs: 0 });
    try {
      const c0 = now();
      await s.createTopic('scale', { partitions: n, config: { 'retention.ms': -1 } });
      const createMs = now() - c0;
      const perSend = Math.max(10, Math.min(1000, Math.floor(records / n)));
      const sends = Math.max(n, Math.ceil(records / perSend));
      const producer = s.producer({ acks: 1 });
      let next = 0;
      const lat = new Float64Array(sends);
      const t0 = now();
      const worker = async () => {
        while (next < sends) {
          const i = next++;
          const partition = i % n;
          const batch: ProducerRecord[] = new Array(perSend);
          for (let k = 0; k < perSend; k++) batch[k] = { value: values[(i + k) % 1000], partition };
          const s0 = now();
          await producer.send('scale', batch);
          lat[i] = now() - s0;
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      await producer.flush();
      const secs = (now() - t0) / 1000;
      await producer.close();
      const total = sends * perSend;
      curve.points.push({
        x: n,
        recordsPerSec: total / secs,
        mbPerSec: (total * 100) / secs / 1e6,
        latency: percentiles(Array.from(lat)),
        note: `createTopic ${(createMs / 1000).toFixed(1)} s; ${perSend} records per send, ${sends} sends`,
      });
    } finally {
      const c0 = now();
      await s.close();
      curve.points[curve.points.length - 1]!.note += `; close ${((now() - c0) / 1000).toFixed(1)} s`;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return curve;
}

/** Embedded produce of `totalBytes` (at most `maxRecords` records) for each record size. */
export async function recordSizeCurve(sizes: number[], totalBytes: number, maxRecords: number): Promise<Curve> {
  const curve: Curve = { name: 'embedded produce against record size (1 partition, none, acks=1)', x: 'record size (bytes)', points: [] };
  for (const size of sizes) {
    const dir = benchDir();
    const s = await Sluice.open({ dir, retentionCheckIntervalMs: 0 });
    try {
      await s.createTopic('sizes', { partitions: 1, config: { 'retention.ms': -1, 'max.message.bytes': String(4 * 2 ** 20) } });
      const perSend = Math.max(1, Math.min(1000, Math.floor(2 ** 20 / size)));
      const values = makeValues(perSend * 4, size, 13);
      const sends = Array.from({ length: 4 }, (_, g) => values.slice(g * perSend, (g + 1) * perSend).map((value) => ({ value })));
      const records = Math.min(maxRecords, Math.max(perSend * 8, Math.floor(totalBytes / size)));
      const total = Math.ceil(records / perSend);
      const producer = s.producer({ acks: 1 });
      let next = 0;
      const lat = new Float64Array(total);
      const t0 = now();
      const worker = async () => {
        while (next < total) {
          const i = next++;
          const s0 = now();
          await producer.send('sizes', sends[i & 3]!);
          lat[i] = now() - s0;
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      await producer.flush();
      const secs = (now() - t0) / 1000;
      await producer.close();
      const count = total * perSend;
      curve.points.push({ x: size, recordsPerSec: count / secs, mbPerSec: (count * size) / secs / 1e6, latency: percentiles(Array.from(lat)), note: `${perSend} records per send` });
    } finally {
      await s.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return curve;
}

/**
 * 1 KB records in batches of 512 (about 530 KB) appended through the Log API with
 * flush.ms = `flushMs` (the Log's own timer fsyncs in the background), `mib` MiB in all;
 * the clock stops when the last byte is fsynced. Page-cache durability: an append is
 * acknowledged from the page cache and flushed within flush.ms.
 */
export async function durableBench(mib: number, flushMs = 1000): Promise<Throughput> {
  const values = makeValues(4096, 1024, 17);
  const ready = Array.from({ length: 8 }, (_, g) => buildBatch(values.slice(g * 512, (g + 1) * 512).map((value) => ({ value }))));
  const dir = benchDir();
  const log = Log.open(dir, { segmentMs: Infinity, retentionMs: -1, retentionCheckIntervalMs: 0, flushMs, durability: 'pagecache' });
  try {
    const target = mib * 2 ** 20;
    let bytes = 0;
    let i = 0;
    const lat: number[] = [];
    const t0 = now();
    while (bytes < target) {
      const b = ready[i++ & 7]!;
      const s0 = now();
      log.append(b);
      lat.push(now() - s0);
      bytes += b.length;
      // Let the flush timer and the fsync completions run.
      await yieldToLoop();
    }
    const appended = (now() - t0) / 1000;
    await log.flush();
    const seconds = (now() - t0) / 1000;
    if (log.recoveryPoint !== log.logEndOffset) throw new Error(`flushed to ${log.recoveryPoint} of ${log.logEndOffset}`);
    const t = throughput(`durable append, 1 KB records, flush.ms=${flushMs} (Log API)`, log.logEndOffset, bytes, seconds, percentiles(lat));
    t.note = `${mib} MiB; clock stops at the last fsync (appends done at ${appended.toFixed(2)} s); latency = one append of 512 records`;
    t.params = { recordBytes: 1024, flushMs, mode: 'durable' };
    return t;
  } finally {
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
