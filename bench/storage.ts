/**
 * Storage throughput: the partition log driven through its TypeScript API with 100-byte
 * records in batches of 1000, against the same run's Buffer.copy of the same bytes (the
 * memcpy ceiling).
 */
import fs from 'node:fs';
import { Log } from '../src/storage/index.js';
import { scanBatches } from '../src/native.js';
import { buildBatch, type RecordInput } from '../src/record/index.js';
import { RECORDS_COUNT_OFFSET, LENGTH_OFFSET, LOG_OVERHEAD } from '../src/record/layout.js';
import { benchDir, medianOf, now, percentiles, throughput, type Throughput } from './util.js';

export interface StorageBenchOptions {
  /** Records per run (default 10 M). */
  records: number;
  /** Runs per measurement; the median is kept. */
  runs: number;
}

const RECORD_BYTES = 100;
const BATCH_RECORDS = 1000;

/** JSON log lines of exactly 100 bytes, varied like real ones (ids, paths, latencies). */
export function makeRecords(count: number, seed: number): RecordInput[] {
  let x = seed * 2654435761;
  const rand = () => ((x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(rand() * 16)]).join('');
  const levels = ['info', 'info', 'info', 'warn', 'debug', 'error'];
  const paths = ['/v1/orders/', '/v1/users/', '/health', '/v2/cart/', '/v1/search?q='];
  const out: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    const line =
      `{"ts":${1_700_000_000_000 + i * 7},"lvl":"${levels[Math.floor(rand() * levels.length)]}",` +
      `"path":"${paths[Math.floor(rand() * paths.length)]}${hex(8)}","status":${rand() < 0.9 ? 200 : 503},` +
      `"ms":${(rand() * 100).toFixed(1)},"req":"${hex(12)}"}`;
    const value = Buffer.alloc(RECORD_BYTES, 0x20);
    value.write(line.slice(0, RECORD_BYTES));
    out.push({ value, timestamp: 1_700_000_000_000 + i });
  }
  return out;
}

/**
 * `count` values of `bytes` bytes: JSON log lines as makeRecords makes them, several to a
 * value (newline separated) when the value is larger than a line, cut to size when smaller;
 * 100-byte values are makeRecords' own.
 */
export function makeValues(count: number, bytes: number, seed: number): Buffer[] {
  if (bytes === RECORD_BYTES) return makeRecords(count, seed).map((r) => r.value as Buffer);
  const lines = makeRecords(Math.max(64, count * Math.ceil(bytes / 90)), seed).map((r) => (r.value as Buffer).toString().trimEnd());
  let next = 0;
  return Array.from({ length: count }, () => {
    const value = Buffer.alloc(bytes, 0x20);
    let pos = 0;
    for (;;) {
      const line = lines[next++ % lines.length]!;
      value.write(line, pos);
      pos += line.length;
      if (bytes - pos < 40) break;
      value[pos++] = 0x0a;
    }
    return value;
  });
}

const logConfig = { background: false, segmentMs: Infinity, retentionMs: -1 } as const;

/** Appends `batches` (reused round robin) until `records` records are in a fresh log. */
async function appendRun(name: string, batches: Buffer[], records: number, validate: boolean): Promise<Throughput> {
  const dir = benchDir();
  const log = Log.open(dir, logConfig);
  const n = Math.ceil(records / BATCH_RECORDS);
  const lat = new Float64Array(n);
  let bytes = 0;
  const t0 = now();
  for (let i = 0; i < n; i++) {
    const b = batches[i % batches.length]!;
    const s = now();
    log.append(b, { validate });
    lat[i] = now() - s;
    bytes += b.length;
  }
  const seconds = (now() - t0) / 1000;
  await closeAndRemove(log, dir);
  return throughput(name, n * BATCH_RECORDS, bytes, seconds, percentiles(Array.from(lat)));
}

/** Outside the timed region: close (which fsyncs) so one run's writeback never slows the next. */
async function closeAndRemove(log: Log, dir: string): Promise<void> {
  await log.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

export async function storageBench(o: StorageBenchOptions): Promise<Throughput[]> {
  const results: Throughput[] = [];
  const records = makeRecords(BATCH_RECORDS * 8, 1);
  const groups = [0, 1, 2, 3, 4, 5, 6, 7].map((g) => records.slice(g * BATCH_RECORDS, (g + 1) * BATCH_RECORDS));
  const ready = groups.map((g) => buildBatch(g));
  const readyBytes = ready[0]!.length;

  // The ceiling: copying the same bytes with Buffer.copy into a reused 256 MiB buffer.
  const memcpy = await medianOf(o.runs, () => {
    const target = Buffer.allocUnsafe(256 * 2 ** 20);
    target.fill(0);
    const n = Math.ceil(o.records / BATCH_RECORDS);
    let pos = 0;
    const t0 = now();
    for (let i = 0; i < n; i++) {
      const b = ready[i % ready.length]!;
      if (pos + b.length > target.length) pos = 0;
      b.copy(target, pos);
      pos += b.length;
    }
    return throughput('memcpy baseline (Buffer.copy)', n * BATCH_RECORDS, n * readyBytes, (now() - t0) / 1000);
  });
  results.push(memcpy);

  results.push(await medianOf(o.runs, () => appendRun('append ready batches (CRC checked)', ready, o.records, true)));
  results.push(await medianOf(o.runs, () => appendRun('append ready batches (trusted)', ready, o.records, false)));

  // Sequential zero-copy read of a whole log, walking every batch header.
  const dir = benchDir();
  const log = Log.open(dir, logConfig);
  for (let i = 0; i < Math.ceil(o.records / BATCH_RECORDS); i++) log.append(ready[i % ready.length]!, { validate: false });
  results.push(
    await medianOf(o.runs, () => {
      let offset = 0;
      let count = 0;
      let bytes = 0;
      const lat: number[] = [];
      const t0 = now();
      while (offset < log.logEndOffset) {
        const s = now();
        const r = log.read(offset, 1 << 20);
        const v = r.records;
        for (let pos = 0; pos < v.length; pos += v.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD) {
          count += v.readInt32BE(pos + RECORDS_COUNT_OFFSET);
        }
        lat.push(now() - s);
        bytes += v.length;
        offset = r.nextOffset;
      }
      if (count !== log.logEndOffset) throw new Error(`read ${count} records of ${log.logEndOffset}`);
      return throughput('sequential zero-copy read (1 MiB reads)', count, bytes, (now() - t0) / 1000, percentiles(lat));
    }),
  );
  // The same read, but touching every byte: each batch's CRC32C checked (what a careful consumer does).
  results.push(
    await medianOf(o.runs, () => {
      let offset = 0;
      let bytes = 0;
      const t0 = now();
      while (offset < log.logEndOffset) {
        const r = log.read(offset, 1 << 20);
        if (scanBatches(r.records, 0, r.records.length) !== r.records.length) throw new Error(`bad batch at ${offset}`);
        bytes += r.records.length;
        offset = r.nextOffset;
      }
      return throughput('sequential read + CRC32C of every batch', log.logEndOffset, bytes, (now() - t0) / 1000);
    }),
  );
  await log.close();
  fs.rmSync(dir, { recursive: true, force: true });

  for (const compression of ['none', 'lz4'] as const) {
    results.push(
      await medianOf(o.runs, async () => {
        const d = benchDir();
        const l = Log.open(d, logConfig);
        const n = Math.ceil(o.records / BATCH_RECORDS);
        const lat = new Float64Array(n);
        let bytes = 0;
        const t0 = now();
        for (let i = 0; i < n; i++) {
          const s = now();
          const batch = buildBatch(groups[i % groups.length]!, { compression });
          l.append(batch, { validate: false });
          lat[i] = now() - s;
          bytes += batch.length;
        }
        const seconds = (now() - t0) / 1000;
        await closeAndRemove(l, d);
        const t = throughput(`build + append from JS objects (${compression})`, n * BATCH_RECORDS, bytes, seconds, percentiles(Array.from(lat)));
        if (compression === 'lz4') t.note = `ratio ${(readyBytes / (bytes / n)).toFixed(2)}x`;
        return t;
      }),
    );
  }
  for (const r of results.slice(1)) r.ratio = { to: 'memcpy', value: r.mbPerSec / memcpy.mbPerSec };
  // Record-rate ratio for compressed paths is against memcpy of the uncompressed bytes.
  for (const r of results) if (r.name.includes('lz4')) r.ratio = { to: 'memcpy (uncompressed bytes)', value: r.recordsPerSec / memcpy.recordsPerSec };
  return results;
}
