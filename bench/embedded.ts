/**
 * End to end in one process, in the conventions of kafka-producer-perf-test: a producer
 * sends keyless (sticky) records of 100 B or 1 KB to a topic of 1, 8 or 64 partitions,
 * acks 1 or all, compression none or lz4 (and, for 100 B lz4, the worker pool off); then a
 * consumer reads them all back. Reports records/s, MB/s, send latency and event-loop delay.
 *
 * acks=all runs on a Sluice opened with durability 'fsync': the send resolves once its
 * batch is fsynced (group commit), as acks=all does on a `sluice serve` broker. acks=1 runs
 * use the default page-cache durability.
 *
 * End-to-end latency at a fixed rate (endToEnd): a producer paced at a share of the
 * measured maximum and a consumer polling in the same process, each value stamped with its
 * send time (performance.now() in its first 8 bytes); one latency sample per record.
 */
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Sluice, type ProducerRecord } from '../src/index.js';
import { makeValues } from './storage.js';
import { benchDir, now, percentiles, throughput, type Throughput } from './util.js';

export interface EmbeddedWorkload {
  recordBytes: number;
  partitions: number;
  acks: '1' | 'all';
  compression: 'none' | 'lz4';
  pool: boolean;
}

export interface EmbeddedBenchOptions {
  /** Records per run of 100-byte records; larger records get the same bytes (at least 1/10 of the records). */
  records: number;
  partitions: number[];
  sizes?: number[];
  acks?: ('1' | 'all')[];
  /** Keep only the workloads this accepts (the quick mode's cut). */
  filter?: (w: EmbeddedWorkload) => boolean;
  /** Sends of up to 1000 records kept in flight at once. */
  inFlight?: number;
  /** Seconds of each end-to-end run (default 3; 0 skips them). */
  e2eSeconds?: number;
  /** Shares of the maximum rate for the end-to-end runs (default [0.5]). */
  e2eShares?: number[];
}

export interface EmbeddedResult {
  rows: Throughput[];
  produce: Throughput[];
  e2e: Throughput[];
}

const SEND_SIZE = 1000;

function label(w: EmbeddedWorkload): string {
  const size = w.recordBytes >= 1024 ? `${w.recordBytes / 1024} KB` : `${w.recordBytes} B`;
  return `${size}, ${w.partitions} partition${w.partitions > 1 ? 's' : ''}, ${w.compression}, acks=${w.acks}, pool ${w.pool ? 'on' : 'off'}`;
}

/** Sends of `perSend` records each, built once and reused round robin. */
function makeSends(recordBytes: number, perSend: number): ProducerRecord[][] {
  const values = makeValues(8 * perSend, recordBytes, 7);
  const sends: ProducerRecord[][] = [];
  for (let g = 0; g < 8; g++) sends.push(values.slice(g * perSend, (g + 1) * perSend).map((value) => ({ value })));
  return sends;
}

/**
 * One embedded run: `records` sent in sends of up to 1000 with `inFlight` outstanding, then
 * (with `consume`) all read back by one consumer. Returns the produce row, then the consume row.
 */
export async function embeddedRun(records: number, w: EmbeddedWorkload, inFlight: number, consume: boolean): Promise<Throughput[]> {
  const dir = benchDir();
  const s = await Sluice.open({ dir, workerThreads: w.pool ? undefined : 0, retentionCheckIntervalMs: 0, durability: w.acks === 'all' ? 'fsync' : 'pagecache' });
  try {
    const { partitions, recordBytes, compression } = w;
    await s.createTopic('bench', { partitions, config: { 'retention.ms': -1, 'segment.ms': '604800000' } });
    const perSend = Math.max(1, Math.min(SEND_SIZE, Math.floor(2 ** 20 / recordBytes)));
    const sends = makeSends(recordBytes, perSend);
    const producer = s.producer({ compression, acks: w.acks === 'all' ? 'all' : 1 });
    const total = Math.ceil(records / perSend);
    const lat = new Float64Array(total);
    const eld = monitorEventLoopDelay({ resolution: 5 });
    let next = 0;
    const t0 = now();
    eld.enable();
    const worker = async () => {
      while (next < total) {
        const i = next++;
        const start = now();
        await producer.send('bench', sends[i % sends.length]!);
        lat[i] = now() - start;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    await producer.flush();
    // Let the delay histogram's timer fire once more, so a stall at the very end is counted.
    await new Promise((r) => setTimeout(r, 10));
    eld.disable();
    const seconds = (now() - t0) / 1000;
    const count = total * perSend;
    const produce = throughput(`produce (${label(w)})`, count, count * recordBytes, seconds, percentiles(Array.from(lat)));
    produce.note = `event loop delay p99 ${(eld.percentile(99) / 1e6).toFixed(1)} ms, max ${(eld.max / 1e6).toFixed(1)} ms; send = ${perSend} records, ${inFlight} in flight`;
    produce.params = { recordBytes, partitions, acks: w.acks, compression, pool: w.pool ? 'on' : 'off', mode: 'produce' };
    await producer.close();
    if (!consume) return [produce];

    const consumer = s.consumer({ autoOffsetReset: 'earliest', maxPollRecords: 20_000, checkCrcs: true });
    consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic: 'bench', partition })));
    let got = 0;
    let checksum = 0;
    const polls: number[] = [];
    const c0 = now();
    while (got < count) {
      const p0 = now();
      const batch = await consumer.poll({ timeoutMs: 1000 });
      polls.push(now() - p0);
      if (batch.length === 0) break;
      for (const r of batch) checksum += (r.value as Buffer).length;
      got += batch.length;
    }
    const cs = (now() - c0) / 1000;
    if (got !== count || checksum !== count * recordBytes) throw new Error(`consumed ${got} of ${count}`);
    const consumed = throughput(`consume (${label(w)})`, got, got * recordBytes, cs, percentiles(polls));
    consumed.note = 'latency = one poll of up to 20000 records';
    consumed.params = { ...produce.params, mode: 'consume' };
    await consumer.close();
    return [produce, consumed];
  } finally {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Records sent in this first stretch of a paced run are timed apart (JIT, first appends), as `sluice perf --warmup-ms`. */
const E2E_WARMUP_MS = 1000;

/**
 * Produce at `rate` records/s for `seconds` while a consumer in the same process reads
 * them; latency = the consumer's now minus the send time stamped in each value. With rate
 * null the producer sends as fast as the pipeline takes records (no latency samples): the
 * records/s is then the end-to-end maximum that the paced runs take their shares of.
 *
 * One record makes the round trip before the clock starts (the first send opens the topic's
 * files and starts the pool), and a paced run that falls behind sends what is due in
 * sends of a normal size, turn by turn: one huge send after a stall (a first JIT pass, a
 * collection) used to make the next stall longer, and a run at half the unpaced rate never
 * caught up. Records sent in the first second are reported apart.
 */
export async function endToEnd(rate: number | null, seconds: number, partitions: number, recordBytes = 100): Promise<Throughput> {
  const dir = benchDir();
  const s = await Sluice.open({ dir, retentionCheckIntervalMs: 0 });
  try {
    await s.createTopic('e2e', { partitions, config: { 'retention.ms': -1 } });
    const producer = s.producer({ acks: 1 });
    const consumer = s.consumer({ autoOffsetReset: 'earliest', maxPollRecords: 20_000 });
    consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic: 'e2e', partition })));
    const template = makeValues(1024, recordBytes, 3);
    const total = rate === null ? Infinity : Math.round(rate * seconds);
    const lat = new Float64Array(rate === null ? 0 : total);
    const warmLat: number[] = [];
    let steady = 0;
    let received = 0;
    let sent = 0;
    let producing = true;
    // The warm-up round trip, before the clock and the reader start.
    const first = Buffer.from(template[0]!);
    await producer.send('e2e', [{ value: first }]);
    while ((await consumer.poll({ timeoutMs: 1000 })).length === 0);
    let t0 = now();
    const reader = (async () => {
      while (producing || received < sent) {
        const batch = await consumer.poll({ timeoutMs: producing ? 100 : 2000 });
        const t = now();
        if (batch.length === 0 && !producing) break;
        if (rate === null) {
          received += batch.length;
          continue;
        }
        for (const r of batch) {
          const stamp = (r.value as Buffer).readDoubleLE(0);
          if (stamp - t0 < E2E_WARMUP_MS) warmLat.push(t - stamp);
          else lat[steady++] = t - stamp;
          received++;
        }
      }
    })();
    // Every tick (about 1 ms; at once when unpaced) send the records due by now, each
    // stamped with the send time. Sends are not awaited one by one (the producer batches
    // across them), but at most 64 are outstanding; their results are dropped as they
    // come, as a fire-and-forget producer's would be.
    let outstanding = 0;
    let failure: unknown = null;
    let drained: (() => void) | null = null;
    const settle = () => {
      outstanding--;
      if (drained !== null && outstanding <= 32) drained();
    };
    t0 = now();
    const deadline = t0 + seconds * 1000;
    // The most one send carries: what is due in 2 ms, at least 1000 records.
    const chunk = rate === null ? 1000 : Math.max(1000, Math.ceil(rate / 500));
    let behind = false;
    while (rate === null ? now() < deadline : sent < total) {
      const dueNow = rate === null ? sent + 1000 : Math.min(total, Math.floor(((now() - t0) / 1000) * rate));
      const due = Math.min(dueNow, sent + chunk);
      behind = due < dueNow;
      if (due > sent) {
        const records: ProducerRecord[] = new Array(due - sent);
        const stamp = now();
        // One allocation per send: the values are distinct views of it.
        const block = Buffer.allocUnsafe(records.length * recordBytes);
        for (let i = 0; i < records.length; i++) {
          const value = block.subarray(i * recordBytes, (i + 1) * recordBytes);
          template[(sent + i) & 1023]!.copy(value);
          value.writeDoubleLE(stamp, 0);
          records[i] = { value };
        }
        sent = due;
        outstanding++;
        producer.send('e2e', records).then(settle, (err: unknown) => {
          failure ??= err;
          settle();
        });
        if (outstanding > 64) await new Promise<void>((r) => (drained = r));
        drained = null;
        if (failure !== null) throw failure;
      }
      await new Promise((r) => (rate === null || behind ? setImmediate(r) : setTimeout(r, 1)));
    }
    await producer.flush();
    if (failure !== null) throw failure;
    producing = false;
    await reader;
    const elapsed = (now() - t0) / 1000;
    await producer.close();
    await consumer.close();
    if (received !== sent) throw new Error(`end to end: consumed ${received} of ${sent}`);
    const what = rate === null ? 'as fast as it goes' : `at ${(rate / 1000).toFixed(0)} k/s`;
    const t = throughput(`end to end ${what} (${recordBytes} B, ${partitions} partition${partitions > 1 ? 's' : ''}, none, acks=1)`, sent, sent * recordBytes, elapsed, rate === null ? undefined : percentiles(Array.from(lat.subarray(0, steady))));
    t.note =
      rate === null
        ? 'producer and consumer in one process, unpaced: records/s from the first send to the last record read'
        : `latency = send call to consumer poll return, one sample per record after the first ${E2E_WARMUP_MS} ms (warm-up p99 ${percentiles(warmLat).p99.toFixed(2)} ms); sends every ~1 ms`;
    t.params = { recordBytes, partitions, acks: '1', compression: 'none', mode: 'e2e', rate: rate ?? 'max' };
    return t;
  } finally {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function embeddedBench(o: EmbeddedBenchOptions): Promise<EmbeddedResult> {
  const out: EmbeddedResult = { rows: [], produce: [], e2e: [] };
  for (const partitions of o.partitions) {
    let maxRate = 0;
    for (const recordBytes of o.sizes ?? [100, 1024]) {
      for (const acks of o.acks ?? ['1', 'all']) {
        const variants: [EmbeddedWorkload['compression'], boolean][] = [['none', true], ['lz4', true]];
        if (recordBytes === 100 && acks === '1') variants.push(['lz4', false]);
        for (const [compression, pool] of variants) {
          const w: EmbeddedWorkload = { recordBytes, partitions, acks, compression, pool };
          if (o.filter && !o.filter(w)) continue;
          const records = Math.max(Math.ceil(o.records / 10), Math.round((o.records * 100) / recordBytes));
          const rows = await embeddedRun(records, w, o.inFlight ?? 8, acks === '1');
          out.rows.push(...rows);
          out.produce.push(rows[0]!);
          if (recordBytes === 100 && acks === '1' && compression === 'none') maxRate = rows[0]!.recordsPerSec;
        }
      }
    }
    const seconds = o.e2eSeconds ?? 3;
    if (maxRate > 0 && seconds > 0) {
      // The paced runs take shares of what producer and consumer sustain together in one
      // process (not of produce alone: both share the event loop).
      const max = await endToEnd(null, seconds, partitions);
      out.rows.push(max);
      out.e2e.push(max);
      for (const share of o.e2eShares ?? [0.5]) {
        const t = await endToEnd(Math.round(max.recordsPerSec * share), seconds, partitions);
        t.name = `${t.name} = ${Math.round(share * 100)}% of the end-to-end max`;
        t.params = { ...t.params, share };
        out.rows.push(t);
        out.e2e.push(t);
      }
    }
  }
  return out;
}
