/**
 * End to end in one process: a producer sends 100-byte records (keyless, sticky) to a topic
 * of 1, 8 or 64 partitions, with and without lz4, with the worker pool on and off; then a
 * consumer reads them all back. Reports records/s, MB/s, send latency and event-loop delay.
 */
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Sluice, type ProducerRecord } from '../src/index.js';
import { makeRecords } from './storage.js';
import { benchDir, now, percentiles, throughput, type Throughput } from './util.js';

export interface EmbeddedBenchOptions {
  records: number;
  partitions: number[];
  /** Sends of 1000 records kept in flight at once. */
  inFlight?: number;
}

const SEND_SIZE = 1000;

async function run(records: number, partitions: number, compression: 'none' | 'lz4', pool: boolean, inFlight: number): Promise<Throughput[]> {
  const dir = benchDir();
  const s = await Sluice.open({ dir, workerThreads: pool ? undefined : 0, retentionCheckIntervalMs: 0 });
  try {
    await s.createTopic('bench', { partitions, config: { 'retention.ms': -1, 'segment.ms': '604800000' } });
    const base = makeRecords(8 * SEND_SIZE, 7);
    const sends: ProducerRecord[][] = [];
    for (let g = 0; g < 8; g++) sends.push(base.slice(g * SEND_SIZE, (g + 1) * SEND_SIZE).map((r) => ({ value: r.value })));
    const producer = s.producer({ compression });
    const total = Math.ceil(records / SEND_SIZE);
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
    const bytes = total * SEND_SIZE * 100;
    const label = `${partitions} partition${partitions > 1 ? 's' : ''}, ${compression}, pool ${pool ? 'on' : 'off'}`;
    const produce = throughput(`produce (${label})`, total * SEND_SIZE, bytes, seconds, percentiles(Array.from(lat)));
    produce.note = `event loop delay p99 ${(eld.percentile(99) / 1e6).toFixed(1)} ms, max ${(eld.max / 1e6).toFixed(1)} ms; send = ${SEND_SIZE} records, ${inFlight} in flight`;

    const consumer = s.consumer({ autoOffsetReset: 'earliest', maxPollRecords: 20_000, checkCrcs: true });
    consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic: 'bench', partition })));
    let count = 0;
    let checksum = 0;
    const polls: number[] = [];
    const c0 = now();
    while (count < total * SEND_SIZE) {
      const p0 = now();
      const got = await consumer.poll({ timeoutMs: 1000 });
      polls.push(now() - p0);
      if (got.length === 0) break;
      for (const r of got) checksum += (r.value as Buffer).length;
      count += got.length;
    }
    const cs = (now() - c0) / 1000;
    if (count !== total * SEND_SIZE || checksum !== count * 100) throw new Error(`consumed ${count} of ${total * SEND_SIZE}`);
    const consume = throughput(`consume (${label})`, count, count * 100, cs, percentiles(polls));
    consume.note = 'latency = one poll of up to 20000 records';
    await consumer.close();
    await producer.close();
    return [produce, consume];
  } finally {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function embeddedBench(o: EmbeddedBenchOptions): Promise<Throughput[]> {
  const out: Throughput[] = [];
  for (const partitions of o.partitions) {
    out.push(...(await run(o.records, partitions, 'none', true, o.inFlight ?? 8)));
    out.push(...(await run(o.records, partitions, 'lz4', true, o.inFlight ?? 8)));
    out.push(...(await run(o.records, partitions, 'lz4', false, o.inFlight ?? 8)));
  }
  return out;
}
