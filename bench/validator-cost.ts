/**
 * What the append-time record checks cost per record, in CPU time of this thread: Kafka's
 * LogValidator rules (src/record/log-validator.ts, what produce runs) against the older deep
 * validation of workers/validate.ts, on one 10,000-record batch of ~110-byte JSON log lines
 * per codec. Sets APPEND_VALIDATE_INLINE_BELOW in src/workers/thresholds.ts.
 *
 *   node dist/bench/validator-cost.js [--seconds=S]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBatch, type CompressionName } from '../src/record/index.js';
import { validateForAppend, type LogValidatorConfig } from '../src/record/log-validator.js';
import { validateChain } from '../src/workers/validate.js';
import { makeRecords } from './storage.js';

export interface ValidatorCostRow {
  codec: CompressionName;
  batchBytes: number;
  /** CPU ns per record: log-validator.ts */
  appendNs: number;
  /** CPU ns per record: workers/validate.ts */
  deepNs: number;
}

const RECORDS = 10_000;

function cpuNsPerRecord(seconds: number, fn: () => void): number {
  fn(); // warm-up
  const t0 = performance.now();
  const u0 = process.cpuUsage();
  let n = 0;
  while (performance.now() - t0 < seconds * 1000) {
    fn();
    n++;
  }
  const u = process.cpuUsage(u0);
  return ((u.user + u.system) * 1000) / (n * RECORDS);
}

export function validatorCostBench(seconds = 1.5): ValidatorCostRow[] {
  const recs = makeRecords(RECORDS, 1);
  const config: LogValidatorConfig = {
    compacted: false,
    logAppendTime: false,
    timestampBeforeMaxMs: Number.MAX_VALUE,
    timestampAfterMaxMs: Number.MAX_VALUE,
    now: Date.now(),
    maxDecompressedSize: 64 << 20,
  };
  const rows: ValidatorCostRow[] = [];
  for (const codec of ['none', 'lz4', 'snappy', 'gzip'] as CompressionName[]) {
    const batch = buildBatch(recs, { compression: codec });
    const appendNs = cpuNsPerRecord(seconds, () => {
      if (!validateForAppend(batch, config).ok) throw new Error(`${codec} batch refused`);
    });
    const deepNs = cpuNsPerRecord(seconds, () => {
      if (!validateChain(batch, 64 << 20).ok) throw new Error(`${codec} batch refused`);
    });
    rows.push({ codec, batchBytes: batch.length, appendNs, deepNs });
  }
  return rows;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const seconds = Number(process.argv.find((a) => a.startsWith('--seconds='))?.slice(10) ?? 1.5);
  console.log('codec    batch bytes  log-validator ns/record (CPU)  validate.ts ns/record (CPU)');
  for (const r of validatorCostBench(seconds)) {
    console.log(`${r.codec.padEnd(8)} ${String(r.batchBytes).padStart(11)}  ${r.appendNs.toFixed(1).padStart(29)}  ${r.deepNs.toFixed(1).padStart(27)}`);
  }
}
