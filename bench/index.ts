/**
 * `npm run bench`: micro benchmarks (tinybench) and throughput runs, printed as tables and
 * written to bench/results/<stamp>.json. `npm run bench -- --quick` for a short run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32cIsHardware } from '../src/native.js';
import { microBench } from './micro.js';
import { storageBench } from './storage.js';
import { embeddedBench } from './embedded.js';
import { poolThresholdBench, thresholdTable } from './pool-threshold.js';
import { wireBench } from './wire.js';
import { groupBench } from './groups.js';
import { machine, table } from './util.js';

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);

async function main(): Promise<void> {
  const facts = { ...machine(), crc32cHardware: crc32cIsHardware(), quick };
  console.log(`Sluice benchmarks ${JSON.stringify(facts)}\n`);
  const report: Record<string, unknown> = { date: new Date().toISOString(), machine: facts };

  if (!only || only === 'micro') {
    const micro = await microBench(quick);
    report.micro = micro;
    console.log('Micro (tinybench)');
    const w = Math.max(...micro.map((m) => m.name.length));
    for (const m of micro) {
      console.log(`  ${m.name.padEnd(w)}  ${m.opsPerSec.toFixed(0).padStart(9)} ops/s  mean ${m.meanUs.toFixed(1).padStart(8)} us  p99 ${m.p99Us.toFixed(1).padStart(8)} us`);
    }
    console.log();
  }
  if (!only || only === 'storage') {
    const storage = await storageBench({ records: quick ? 2_000_000 : 10_000_000, runs: quick ? 1 : 3 });
    report.storage = storage;
    console.log('Storage: partition log, 100-byte records, batches of 1000');
    console.log(table(storage));
    console.log();
  }
  if (!only || only === 'pool') {
    const rows = await poolThresholdBench({ quick });
    report.poolThresholds = rows;
    console.log('Worker pool: inline against pooled, by input size (sets the inline thresholds)');
    console.log(thresholdTable(rows));
    console.log();
  }
  if (!only || only === 'embedded') {
    const embedded = await embeddedBench({ records: quick ? 1_000_000 : 10_000_000, partitions: quick ? [1, 8] : [1, 8, 64] });
    report.embedded = embedded;
    console.log('Embedded broker: producer and consumer in one process, 100-byte records');
    console.log(table(embedded));
    console.log();
  }
  if (!only || only === 'wire') {
    const wire = await wireBench({ records: quick ? 1_000_000 : 10_000_000, partitions: [1, 8], runs: quick ? 1 : 3 });
    report.wire = wire;
    console.log('Wire protocol: librdkafka load generator against a broker process, 100-byte records, acks=1, beside Redis Streams');
    console.log(table(wire));
    console.log();
  }
  if (!only || only === 'groups') {
    const groups = await groupBench({ records: quick ? 500_000 : 3_000_000, rebalances: 20, runs: quick ? 1 : 3 });
    report.groups = groups;
    console.log('Consumer groups over the wire: rebalance latency and 3 members against 1');
    console.log(table(groups));
    console.log();
  }
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`Results written to ${path.relative(process.cwd(), file)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
