/**
 * `npm run bench`: Sluice against its peers and against the machine's limits, in one run.
 * Prints tables, and writes latest.json, latest.md (the report) and its SVG charts (quick/ for
 * --quick), plus a timestamped JSON copy, into bench/out/ (ignored by git); with --save into the
 * tracked bench/results/ instead.
 *
 *   npm run bench                       everything (15-30 minutes)
 *   npm run bench -- --quick            about a minute or two: small sizes, no pool/groups suites
 *   npm run bench -- --only=wire,peers  some suites: micro, limits, storage, pool, embedded,
 *                                       peers, wire, cpu, durable, scale, groups
 *   npm run bench -- --bootstrap-server host:port   a running broker (Sluice or Kafka): rdkafka-perf
 *                                       and sluice perf against it, side by side
 *   npm run bench -- --save             update the committed report in bench/results/
 *   node dist/bench/index.js --render=bench/results/latest.json   rewrite the report from saved results
 *
 * What the suites need beyond `npm install` (each is skipped with a message when missing):
 *   apt-get install -y librdkafka-dev   wire and groups suites (bench/rdkafka-perf.c, built with cc)
 *   apt-get install -y redis-server     Redis Streams peer (redis-server, redis-benchmark, redis-cli)
 *   apt-get install -y nats-server      NATS JetStream peer (with the `nats` npm client, a devDependency)
 *   apt-get install -y fio              disk write bandwidth (falls back to dd)
 *   apt-get install -y zstd             the zstd read micro benchmark (Sluice reads zstd, does not write it)
 *   apt-get install -y kcat             groups suite
 *   npm: lmdb, nats (devDependencies)   embedded and wire peers
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32cIsHardware } from '../src/native.js';
import { microBench } from './micro.js';
import { makeRecords, storageBench } from './storage.js';
import { embeddedBench, embeddedRun, type EmbeddedWorkload } from './embedded.js';
import { poolThresholdBench, thresholdTable } from './pool-threshold.js';
import { wireBench } from './wire.js';
import { brokerCpuBench } from './broker-cpu.js';
import { groupBench } from './groups.js';
import { limitsBench } from './limits.js';
import { fsAppendBench, lmdbBench } from './peers.js';
import { durableBench, logSizeCurve, partitionsCurve, recordSizeCurve } from './scale.js';
import { headlineMarkdown, summarize, targetsMarkdown, writeReport, type Report } from './report.js';
import { buildBatch } from '../src/record/index.js';
import { externalBench } from './external.js';
import { loadavg, machine, now, pickMedian, table, versions, type Throughput } from './util.js';

const quick = process.argv.includes('--quick');
/** Results go to bench/results/ (tracked) only with --save; otherwise to the ignored bench/out/. */
const save = process.argv.includes('--save');
/** `--bootstrap-server host:port` (or `=host:port`): measure that running broker, nothing else. */
const bootstrapArg = (() => {
  const i = process.argv.findIndex((a) => a === '--bootstrap-server' || a.startsWith('--bootstrap-server='));
  if (i < 0) return undefined;
  const a = process.argv[i]!;
  const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : process.argv[i + 1];
  if (!v || v.startsWith('--')) throw new Error('--bootstrap-server needs host:port');
  return v;
})();
const onlyArg = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const only = onlyArg ? new Set(onlyArg.split(',')) : undefined;
/** Suites left out of --quick unless named in --only: they are long and not part of the comparison. */
const NOT_QUICK = new Set(['pool', 'groups']);
const want = (suite: string) => bootstrapArg === undefined && (only ? only.has(suite) : !(quick && NOT_QUICK.has(suite)));

/** `--render=FILE.json`: rewrites the report (latest.md and the SVGs beside FILE) from a saved run, measuring nothing. */
function render(file: string): void {
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as Report;
  summarize(report);
  fs.writeFileSync(path.join(path.dirname(file), 'latest.md'), writeReport(report, path.dirname(file)));
  console.log(headlineMarkdown(report));
  console.log();
  console.log(targetsMarkdown(report));
}

async function main(): Promise<void> {
  const renderArg = process.argv.find((a) => a.startsWith('--render='))?.slice(9);
  if (renderArg) return render(renderArg);
  const t0 = now();
  const facts = { ...machine(), crc32cHardware: crc32cIsHardware(), quick };
  const report: Report = {
    date: new Date().toISOString(),
    quick,
    command: `npm run bench${quick || onlyArg || bootstrapArg ? ' --' : ''}${quick ? ' --quick' : ''}${onlyArg ? ` --only=${onlyArg}` : ''}${bootstrapArg ? ` --bootstrap-server ${bootstrapArg}` : ''}`,
    machine: facts,
    versions: versions(),
    loadavg: { start: loadavg() },
    skipped: [],
  };
  console.log(`Sluice benchmarks ${JSON.stringify(facts)}`);
  console.log(`Versions ${JSON.stringify(report.versions)}`);
  console.log(`Load average at start: ${report.loadavg.start.join(' ')}\n`);
  if (quick && !only && !bootstrapArg) console.log('--quick: the pool and groups suites are left out (--only=pool,groups runs them)\n');
  const section = (title: string, rows: Throughput[]) => {
    if (rows.length === 0) return;
    console.log(title);
    console.log(table(rows));
    console.log();
  };

  if (bootstrapArg !== undefined) {
    // An existing broker: only the load generators against it; the other suites measure this machine's own Sluice.
    const ext = await externalBench({ bootstrap: bootstrapArg, records: quick ? 500_000 : 3_000_000, partitions: quick ? [8] : [1, 8], codecs: quick ? ['lz4'] : ['none', 'lz4'], threads: 1 });
    if (ext.skipped) report.skipped!.push(`rdkafka-perf: ${ext.skipped}`);
    report.external = { bootstrap: bootstrapArg, rows: ext.rows };
    section(`Existing broker at ${bootstrapArg}: rdkafka-perf and sluice perf`, ext.rows);
  }
  if (bootstrapArg === undefined && want('limits')) {
    report.limits = limitsBench(quick);
    if (report.limits.diskSkipped) report.skipped!.push(`disk bandwidth: ${report.limits.diskSkipped}`);
    section('Limits of the machine', [report.limits.memcpy, ...(report.limits.disk ? [report.limits.disk] : [])]);
  }
  if (want('durable')) {
    // Right after the disk limit, so both see the same disk; the median of 3 runs (1 when quick).
    const runs: Throughput[] = [];
    for (let i = 0; i < (quick ? 1 : 3); i++) runs.push(await durableBench(quick ? 512 : 2048, quick ? 250 : 1000));
    runs.sort((a, b) => a.mbPerSec - b.mbPerSec);
    report.durable = runs[runs.length >> 1]!;
    if (runs.length > 1) report.durable.note = `median of ${runs.length} (${runs.map((r) => r.mbPerSec.toFixed(0)).join(', ')} MB/s); ${report.durable.note}`;
    section('Durable appends: 1 KB records, fsync every flush.ms, timed to the last fsync', [report.durable]);
  }
  if (want('micro')) {
    const micro = await microBench(quick);
    report.micro = micro;
    console.log('Micro (tinybench)');
    const w = Math.max(...micro.map((m) => m.name.length));
    for (const m of micro) {
      const mb = m.mbPerSec ? `${m.mbPerSec.toFixed(0).padStart(6)} MB/s` : ''.padStart(11);
      console.log(`  ${m.name.padEnd(w)}  ${m.opsPerSec.toFixed(0).padStart(9)} ops/s  ${mb}  mean ${m.meanUs.toFixed(1).padStart(8)} us  p99 ${m.p99Us.toFixed(1).padStart(8)} us`);
    }
    console.log();
  }
  if (want('storage')) {
    report.storage = await storageBench({ records: quick ? 1_000_000 : 10_000_000, runs: quick ? 1 : 3 });
    section('Storage: partition log, 100-byte records, batches of 1000', report.storage);
  }
  if (want('pool')) {
    const rows = await poolThresholdBench({ quick });
    report.poolThresholds = rows;
    console.log('Worker pool: inline against pooled, by input size (sets the inline thresholds)');
    console.log(thresholdTable(rows));
    console.log();
  }
  if (want('embedded')) {
    report.embedded = await embeddedBench({
      // The issue's size: 10 M records of 100 B (1 KB runs move the same bytes).
      records: quick ? 200_000 : 10_000_000,
      partitions: quick ? [1, 8] : [1, 8, 64],
      // Quick: no compression except the 100 B acks=1 rows, and no pool-off rows.
      filter: quick ? (w) => w.pool && (w.compression === 'none' || (w.recordBytes === 100 && w.acks === '1')) : undefined,
      e2eSeconds: quick ? 1.5 : 4,
      e2eShares: quick ? [0.5] : [0.5, 0.1],
    });
    section('Embedded broker: producer and consumer in one process', report.embedded.rows);
  }
  if (want('peers')) {
    const recs = makeRecords(8000, 1);
    const values = recs.map((r) => r.value as Buffer);
    const batches = Array.from({ length: 8 }, (_, g) => buildBatch(recs.slice(g * 1000, (g + 1) * 1000)));
    const rows: Throughput[] = [];
    // The embedded target is a ratio, so the two sides run alternately, each `rounds` times,
    // and the medians are compared: a noisy minute on a shared machine then hits both.
    const rounds = quick ? 1 : 5;
    const n = quick ? 1_000_000 : 5_000_000;
    const lmdbRuns: Throughput[] = [];
    const sluiceRuns: Throughput[] = [];
    const head: EmbeddedWorkload = { recordBytes: 100, partitions: 1, acks: '1', compression: 'none', pool: true };
    // One short untimed run of each first, so neither side's numbers include its JIT warm-up.
    const warm = await lmdbBench(200_000, values, true);
    if (!('skipped' in warm)) await embeddedRun(500_000, head, 8, false);
    for (let round = 0; round < rounds; round++) {
      const r = await lmdbBench(n, values, true);
      if ('skipped' in r) {
        console.log(`lmdb-js peer skipped: ${r.skipped}`);
        report.skipped!.push(`lmdb-js: ${r.skipped}`);
        break;
      }
      const { version: _v, ...row } = r;
      row.params = { peer: 'lmdb', recordBytes: 100, noSync: 'true' };
      lmdbRuns.push(row);
      const [p] = await embeddedRun(n, head, 8, false);
      p!.name = `Sluice embedded ${p!.name}, alternated with lmdb-js`;
      sluiceRuns.push(p!);
    }
    if (lmdbRuns.length > 0) {
      const lmdb = pickMedian(lmdbRuns);
      const sluice = pickMedian(sluiceRuns);
      sluice.note = `${sluice.note}; ${(sluice.recordsPerSec / lmdb.recordsPerSec).toFixed(2)}x lmdb-js`;
      rows.push(lmdb, sluice);
      const synced = await lmdbBench(quick ? 100_000 : 500_000, values, false);
      if (!('skipped' in synced)) {
        const { version: _v, ...row } = synced;
        row.params = { peer: 'lmdb', recordBytes: 100, noSync: 'false' };
        rows.push(row);
      }
    }
    rows.push(fsAppendBench(batches, 1000, quick ? 2_000_000 : 10_000_000));
    report.embeddedPeers = rows;
    section('Embedded peers, 100-byte records', rows);
  }
  if (want('wire')) {
    report.wire = await wireBench({
      records: quick ? 200_000 : 3_000_000,
      partitions: quick ? [1, 8] : [1, 8, 64],
      runs: quick ? 1 : 3,
      filter: quick ? (w) => w.codec === 'none' || (w.recordBytes === 100 && w.acks === '1') : undefined,
      e2eSeconds: quick ? 1.5 : 4,
      e2eShares: quick ? [0.5] : [0.5, 0.1],
      paced: !quick,
    });
    if (report.wire.rows.length === 0) report.skipped!.push('wire: librdkafka-dev or a C compiler missing');
    section('Wire protocol: librdkafka client and `sluice serve` on the same cores, beside Redis Streams and NATS JetStream', report.wire.rows);
  }
  if (want('cpu')) {
    // The broker process's own CPU per million records (record checks on), read from /proc.
    const cpu = await brokerCpuBench({ records: quick ? 500_000 : 2_000_000, runs: quick ? 3 : 5 });
    if ('skipped' in cpu) report.skipped!.push(`broker CPU: ${cpu.skipped}`);
    else {
      report.brokerCpu = cpu.rows;
      section('Broker CPU seconds per million records (from /proc/<broker pid>/stat, all threads)', cpu.rows);
    }
  }
  if (want('scale')) {
    report.scale = {};
    // The log-size curve last: its writeback of up to 20 GB would otherwise stall the next curve's first point.
    report.scale.partitions = await partitionsCurve(quick ? [1, 10, 100, 1000] : [1, 10, 100, 1000, 10_000], quick ? 300_000 : 2_000_000);
    report.scale.recordSize = await recordSizeCurve([10, 100, 1000, 10_000, 100_000], quick ? 32e6 : 512e6, quick ? 1_000_000 : 10_000_000);
    report.scale.logSize = await logSizeCurve(quick ? [0.25, 0.5, 1] : [1, 2, 5, 10, 20], quick ? 1000 : 5000);
    for (const c of [report.scale.partitions, report.scale.recordSize, report.scale.logSize.append, report.scale.logSize.reads]) {
      console.log(c.name);
      for (const p of c.points) {
        const lat = p.latency ? `  p50 ${p.latency.p50.toFixed(3)} ms  p99 ${p.latency.p99.toFixed(3)} ms  max ${p.latency.max.toFixed(3)} ms` : '';
        console.log(`  ${c.x} ${String(p.x).padStart(7)}: ${p.recordsPerSec.toFixed(0).padStart(10)}/s ${p.mbPerSec.toFixed(0).padStart(6)} MB/s${lat}${p.note ? `  ${p.note}` : ''}`);
      }
      console.log();
    }
  }
  if (want('groups')) {
    report.groups = await groupBench({ records: quick ? 500_000 : 3_000_000, rebalances: 20, runs: quick ? 1 : 3 });
    section('Consumer groups over the wire: rebalance latency and 3 members against 1', report.groups);
  }

  report.loadavg.end = loadavg();
  report.seconds = (now() - t0) / 1000;
  summarize(report);
  if (report.headline?.length) {
    console.log('Headline');
    console.log(headlineMarkdown(report));
    console.log();
  }
  if (report.targets?.length) {
    console.log('Targets (ratios measured in this run)');
    console.log(targetsMarkdown(report));
    console.log();
  }
  console.log(`Load average at end: ${report.loadavg.end.join(' ')}; ${(report.seconds / 60).toFixed(1)} minutes`);

  // Tracked files change only with --save; a plain run writes beside them in the ignored bench/out/.
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', save ? 'results' : 'out');
  fs.mkdirSync(dir, { recursive: true });
  const stamp = `${new Date().toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}${onlyArg ? `-${onlyArg.replace(/,/g, '+')}` : ''}${bootstrapArg ? '-external' : ''}`;
  const json = `${JSON.stringify(report, null, 2)}\n`;
  fs.writeFileSync(path.join(dir, `${stamp}.json`), json);
  // latest.* is the committed report of a run of every suite: a full run's in bench/results/,
  // a quick run's in bench/results/quick/. A run of some suites (--only) writes its JSON only.
  if (!onlyArg && !bootstrapArg) {
    const out = quick ? path.join(dir, 'quick') : dir;
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'latest.json'), json);
    fs.writeFileSync(path.join(out, 'latest.md'), writeReport(report, out));
    console.log(`Report written to ${path.relative(process.cwd(), path.join(out, 'latest.md'))} (+ latest.json and SVG charts beside it; ${stamp}.json)`);
  } else {
    console.log(`Results written to ${path.relative(process.cwd(), path.join(dir, `${stamp}.json`))} (latest.* is written by runs of every suite)`);
  }
  if (!save) console.log('Not saved under bench/results/ (tracked): run with --save to update the committed report.');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
