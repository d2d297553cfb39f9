/** Micro benchmarks with tinybench: the hot pieces one at a time. */
import fs from 'node:fs';
import { Bench } from 'tinybench';
import { MappedFile, crc32c } from '../src/native.js';
import { Log } from '../src/storage/index.js';
import { buildBatch, readRecords, type RecordInput } from '../src/record/index.js';
import { benchDir } from './util.js';

export interface MicroResult {
  name: string;
  opsPerSec: number;
  meanUs: number;
  p99Us: number;
  samples: number;
}

export async function microBench(quick: boolean): Promise<MicroResult[]> {
  const time = quick ? 300 : 1000;
  const bench = new Bench({ time, warmupTime: 100 });
  const mib = Buffer.alloc(1 << 20, 7);
  const records: RecordInput[] = Array.from({ length: 1000 }, (_, i) => ({ value: Buffer.alloc(100, i & 0xff), timestamp: 1_700_000_000_000 + i }));
  const plain = buildBatch(records);
  const lz4 = buildBatch(records, { compression: 'lz4' });
  const dir = benchDir();
  const file = new MappedFile(`${dir}/micro.log`, 2 ** 31 - 1);
  const log = Log.open(`${dir}/log`, { background: false, segmentMs: Infinity, retentionMs: -1 });
  for (let i = 0; i < 2000; i++) log.append(plain, { validate: false });
  let probe = 0;

  bench
    .add('crc32c 1 MiB', () => {
      crc32c(mib);
    })
    .add('buildBatch 1000 x 100 B (none)', () => {
      buildBatch(records);
    })
    .add('buildBatch 1000 x 100 B (lz4)', () => {
      buildBatch(records, { compression: 'lz4' });
    })
    .add('readRecords 1000 x 100 B (none)', () => {
      readRecords(plain);
    })
    .add('readRecords 1000 x 100 B (lz4)', () => {
      readRecords(lz4);
    })
    .add('MappedFile.append 108 KB', () => {
      if (file.size + plain.length > file.capacity) file.truncate(0);
      file.append(plain);
    })
    .add('Log.read at a random offset (index lookup)', () => {
      probe = (probe * 1103515245 + 12345) % 2_000_000;
      log.read(probe, 1);
    });
  await bench.run();
  file.close();
  await log.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return bench.tasks.map((t) => {
    const r = t.result as unknown as { throughput?: { mean: number }; latency?: { mean: number; p99: number; samples?: number[]; samplesCount?: number } };
    return {
      name: t.name,
      opsPerSec: r.throughput?.mean ?? 0,
      meanUs: (r.latency?.mean ?? 0) * 1000,
      p99Us: (r.latency?.p99 ?? 0) * 1000,
      samples: r.latency?.samplesCount ?? r.latency?.samples?.length ?? 0,
    };
  });
}
