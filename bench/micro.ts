/** Micro benchmarks with tinybench: the hot pieces one at a time. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { Bench } from 'tinybench';
import { ApiKey, decodeRequest, encodeRequest, encodeResponse } from '../src/protocol/apis.js';
import { MappedFile, crc32c } from '../src/native.js';
import { Log } from '../src/storage/index.js';
import { assembleBatch, buildBatch, encodeRecords, readRecords, type RecordInput } from '../src/record/index.js';
import { benchDir } from './util.js';

export interface MicroResult {
  name: string;
  opsPerSec: number;
  meanUs: number;
  p99Us: number;
  samples: number;
  /** Bytes one operation handles (uncompressed records for the codecs), when it has a size. */
  bytesPerOp?: number;
  /** opsPerSec * bytesPerOp / 1e6. */
  mbPerSec?: number;
}

/** A records section compressed with the zstd command (Sluice reads zstd but does not write it); undefined without zstd. */
function zstdBatch(records: RecordInput[]): Buffer | undefined {
  const section = encodeRecords(records);
  const z = spawnSync('zstd', ['-q', '-c', '-3'], { input: section.data, maxBuffer: 64 << 20 });
  if (z.error || z.status !== 0) return undefined;
  return assembleBatch(z.stdout, { count: section.count, baseTimestamp: section.baseTimestamp, maxTimestamp: section.maxTimestamp, compression: 'zstd' });
}

/** A request's chunks as one frame without the size prefix, as the server hands it to decodeRequest. */
function frameOf(c: { chunks: Buffer[] }): Buffer {
  return Buffer.concat(c.chunks);
}

export async function microBench(quick: boolean): Promise<MicroResult[]> {
  const time = quick ? 150 : 1000;
  const bench = new Bench({ time, warmupTime: quick ? 50 : 100 });
  const mib = Buffer.alloc(1 << 20, 7);
  const records: RecordInput[] = Array.from({ length: 1000 }, (_, i) => ({ value: Buffer.alloc(100, i & 0xff), timestamp: 1_700_000_000_000 + i }));
  const plain = buildBatch(records);
  const lz4 = buildBatch(records, { compression: 'lz4' });
  const gzip = buildBatch(records, { compression: 'gzip' });
  const snappy = buildBatch(records, { compression: 'snappy' });
  const zstd = zstdBatch(records);
  const recordBytes = 100 * records.length;
  const sizes: Record<string, number> = {
    'crc32c 1 MiB': mib.length,
    'MappedFile.append 108 KB': plain.length,
    'MappedFile.view 108 KB': plain.length,
  };
  // Produce v9 (flexible) with one 108 KB batch; Fetch v12 for 8 partitions, each answered with the same batch.
  const produceBody = { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: 'bench', partitionData: [{ index: 0, records: plain }] }] };
  const produceFrame = frameOf(encodeRequest(ApiKey.Produce, 9, 1, 'bench', produceBody));
  const fetchBody = {
    replicaId: -1,
    maxWaitMs: 500,
    minBytes: 1,
    maxBytes: 52428800,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: 'bench', partitions: Array.from({ length: 8 }, (_, p) => ({ partition: p, currentLeaderEpoch: -1, fetchOffset: 1000 * p, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1048576 })) }],
    forgottenTopicsData: [],
    rackId: '',
  };
  const fetchFrame = frameOf(encodeRequest(ApiKey.Fetch, 12, 2, 'bench', fetchBody));
  const fetchResponse = {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [{ topic: 'bench', partitions: Array.from({ length: 8 }, (_, p) => ({ partitionIndex: p, errorCode: 0, highWatermark: 100_000, lastStableOffset: 100_000, logStartOffset: 0, abortedTransactions: null, preferredReadReplica: -1, records: plain })) }],
  };
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
    .add('buildBatch 1000 x 100 B (gzip)', () => {
      buildBatch(records, { compression: 'gzip' });
    })
    .add('readRecords 1000 x 100 B (gzip)', () => {
      readRecords(gzip);
    })
    .add('buildBatch 1000 x 100 B (snappy)', () => {
      buildBatch(records, { compression: 'snappy' });
    })
    .add('readRecords 1000 x 100 B (snappy)', () => {
      readRecords(snappy);
    });
  if (zstd) {
    bench.add('readRecords 1000 x 100 B (zstd)', () => {
      readRecords(zstd);
    });
  } else console.log('  (zstd read skipped: the zstd command is not installed; apt-get install -y zstd)');
  let viewAt = 0;
  bench
    .add('MappedFile.append 108 KB', () => {
      if (file.size + plain.length > file.capacity) file.truncate(0);
      file.append(plain);
    })
    .add('MappedFile.view 108 KB', () => {
      if (viewAt + plain.length > file.size) viewAt = 0;
      file.view(viewAt, plain.length);
      viewAt += plain.length;
    })
    .add('encodeRequest Produce v9 (1 x 108 KB batch)', () => {
      encodeRequest(ApiKey.Produce, 9, 1, 'bench', produceBody);
    })
    .add('decodeRequest Produce v9 (1 x 108 KB batch)', () => {
      decodeRequest(produceFrame);
    })
    .add('decodeRequest Fetch v12 (8 partitions)', () => {
      decodeRequest(fetchFrame);
    })
    .add('encodeResponse Fetch v12 (8 x 108 KB views)', () => {
      encodeResponse(ApiKey.Fetch, 12, 2, fetchResponse);
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
    const opsPerSec = r.throughput?.mean ?? 0;
    const bytesPerOp = sizes[t.name] ?? (t.name.includes('1000 x 100 B') ? recordBytes : undefined);
    return {
      name: t.name,
      opsPerSec,
      meanUs: (r.latency?.mean ?? 0) * 1000,
      p99Us: (r.latency?.p99 ?? 0) * 1000,
      samples: r.latency?.samplesCount ?? r.latency?.samples?.length ?? 0,
      ...(bytesPerOp ? { bytesPerOp, mbPerSec: (opsPerSec * bytesPerOp) / 1e6 } : {}),
    };
  });
}
