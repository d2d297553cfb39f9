/**
 * The run's report: the headline table, the targets as ratios measured in the same run,
 * every suite's table, and SVG charts, written as Markdown beside the JSON under
 * bench/results/ (latest.md, latest.json, *.svg; timestamped copies are not committed).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EmbeddedResult } from './embedded.js';
import type { Limits } from './limits.js';
import type { MicroResult } from './micro.js';
import type { Curve } from './scale.js';
import { barChart, lineChart, short } from './svg.js';
import { fmtRate, table, type Throughput } from './util.js';
import type { WireResult } from './wire.js';

export interface Report {
  date: string;
  quick: boolean;
  command: string;
  seconds?: number;
  machine: Record<string, unknown>;
  versions: Record<string, string | undefined>;
  loadavg: { start: number[]; end?: number[] };
  limits?: Limits;
  micro?: MicroResult[];
  storage?: Throughput[];
  poolThresholds?: unknown;
  embedded?: EmbeddedResult;
  embeddedPeers?: Throughput[];
  wire?: WireResult;
  /** Broker CPU s per million records, produce and fetch rows (bench/broker-cpu.ts); params.cpuPerMillion. */
  brokerCpu?: Throughput[];
  durable?: Throughput;
  scale?: { logSize?: { append: Curve; reads: Curve }; partitions?: Curve; recordSize?: Curve };
  groups?: Throughput[];
  /** --bootstrap-server: load generators against a broker that was already running. */
  external?: { bootstrap: string; rows: Throughput[] };
  headline?: HeadlineRow[];
  targets?: Target[];
  skipped?: string[];
}

export interface HeadlineRow {
  what: string;
  /** A short label for the chart. */
  label: string;
  workload: string;
  recordsPerSec?: number;
  mbPerSec?: number;
  p50?: number;
  p99?: number;
  p999?: number;
  max?: number;
}

export interface Target {
  target: string;
  sluice: string;
  peer: string;
  ratio: number;
  goal: number;
  met: boolean;
}

const find = (rows: Throughput[] | undefined, want: Record<string, string | number>) =>
  rows?.find((r) => r.params && Object.entries(want).every(([k, v]) => String(r.params![k]) === String(v)));
const peer = (rows: Throughput[] | undefined, prefix: string) => rows?.find((r) => r.name.startsWith(prefix));

/** Fills report.headline and report.targets from the suites that ran. */
export function summarize(r: Report): void {
  const rows: HeadlineRow[] = [];
  const add = (what: string, workload: string, t: Throughput | undefined, label = '') => {
    if (!t) return;
    rows.push({ what, label, workload, recordsPerSec: t.records > 0 ? t.recordsPerSec : undefined, mbPerSec: t.mbPerSec, p50: t.latency?.p50, p99: t.latency?.p99, p999: t.latency?.p999, max: t.latency?.max });
  };
  const wire = r.wire?.produce;
  const wireHead = find(wire, { recordBytes: 100, partitions: 1, acks: '1', compression: 'none' });
  add('Sluice over the wire (librdkafka)', 'produce 100 B, 1 partition, acks=1, none', wireHead, 'Sluice wire, 1 partition');
  add('Sluice over the wire (librdkafka)', 'produce 100 B, 8 partitions, acks=1, lz4', find(wire, { recordBytes: 100, partitions: 8, acks: '1', compression: 'lz4' }), 'Sluice wire, 8 partitions, lz4');
  add('Sluice over the wire (librdkafka)', 'produce 1 KB, 1 partition, acks=all (fsync), none', find(wire, { recordBytes: 1024, partitions: 1, acks: 'all', compression: 'none' }));
  const e2eWire = r.wire?.e2e.find((t) => t.params?.partitions === 1 && t.params.share === 0.5);
  add('Sluice over the wire (librdkafka)', `end to end at ${e2eWire ? fmtRate(Number(e2eWire.params!.rate)) : '?'}/s (50% of max), 100 B`, e2eWire);
  const redis = peer(r.wire?.peers, 'Redis');
  const nats = peer(r.wire?.peers, 'NATS');
  add('Redis Streams (peer)', 'XADD 100 B, pipelined, AOF everysec', redis, 'Redis Streams XADD');
  add('NATS JetStream (peer)', 'publish 100 B, file storage, async acks', nats, 'NATS JetStream publish');
  const embHead = find(r.embedded?.produce, { recordBytes: 100, partitions: 1, acks: '1', compression: 'none' });
  add('Sluice embedded', 'produce 100 B, 1 partition, acks=1, none', embHead, 'Sluice embedded produce');
  add('Sluice embedded', 'produce 1 KB, 1 partition, acks=all (fsync), none', find(r.embedded?.produce, { recordBytes: 1024, partitions: 1, acks: 'all', compression: 'none' }));
  const e2eEmb = r.embedded?.e2e.find((t) => t.params?.partitions === 1 && t.params.share === 0.5);
  add('Sluice embedded', `end to end at ${e2eEmb ? fmtRate(Number(e2eEmb.params!.rate)) : '?'}/s (50% of the end-to-end max), 100 B`, e2eEmb);
  const lmdb = peer(r.embeddedPeers, 'lmdb-js append (1000 puts per txn, noSync)');
  const embVsLmdb = peer(r.embeddedPeers, 'Sluice embedded produce');
  add('Sluice embedded, alternated with lmdb-js', 'produce 100 B, 1 partition, acks=1, none', embVsLmdb);
  add('lmdb-js (embedded peer)', 'append 100 B, 1000 per txn, noSync', lmdb, 'lmdb-js append');
  add('node fs.writeSync (naive baseline)', 'append the same batches, no fsync', peer(r.embeddedPeers, 'node fs'));
  add('Sluice durable', '1 KB records, fsync every flush.ms', r.durable);
  add('machine: memory copy', 'Buffer.copy, one core', r.limits?.memcpy);
  add('machine: disk', 'sequential write + fdatasync', r.limits?.disk);
  r.headline = rows;

  const targets: Target[] = [];
  const t = (target: string, s: Throughput | undefined, p: Throughput | undefined, goal: number, by: 'records' | 'mb' = 'records') => {
    if (!s || !p) return;
    const ratio = by === 'records' ? s.recordsPerSec / p.recordsPerSec : s.mbPerSec / p.mbPerSec;
    const v = (x: Throughput) => (by === 'records' ? `${fmtRate(x.recordsPerSec)} rec/s` : `${x.mbPerSec.toFixed(0)} MB/s`);
    targets.push({ target, sluice: v(s), peer: v(p), ratio, goal, met: ratio >= goal });
  };
  t('wire, 100 B: Sluice >= 3x Redis Streams records/s', wireHead, redis, 3);
  t('wire, 100 B: Sluice >= 3x NATS JetStream records/s', wireHead, nats, 3);
  t('embedded produce >= 5x lmdb-js appends (alternated runs, medians)', embVsLmdb ?? embHead, lmdb, 5);
  t('1 KB with fsync every flush.ms >= 80% of disk write bandwidth', r.durable, r.limits?.disk, 0.8, 'mb');
  const cpuProduce = find(r.brokerCpu, { mode: 'broker-cpu-produce' });
  if (cpuProduce) {
    const s = Number(cpuProduce.params!.cpuPerMillion);
    targets.push({ target: `broker CPU per M records produced (${cpuProduce.params!.recordBytes} B, ${cpuProduce.params!.compression}, librdkafka, record checks on) <= 0.25 s`, sluice: `${s.toFixed(3)} s`, peer: 'goal 0.25 s', ratio: 0.25 / s, goal: 1, met: s <= 0.25 });
  }
  r.targets = targets;
}

const f = (n: number | undefined, digits = 2) => (n === undefined || !Number.isFinite(n) ? '' : n.toFixed(digits));

export function headlineMarkdown(r: Report): string {
  const lines = ['| system | workload | records/s | MB/s | p50 ms | p99 ms | p99.9 ms | max ms |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const h of r.headline ?? []) {
    lines.push(`| ${h.what} | ${h.workload} | ${h.recordsPerSec ? fmtRate(h.recordsPerSec) : ''} | ${f(h.mbPerSec, 0)} | ${f(h.p50)} | ${f(h.p99)} | ${f(h.p999)} | ${f(h.max)} |`);
  }
  return lines.join('\n');
}

export function targetsMarkdown(r: Report): string {
  const lines = ['| target | Sluice | compared with | ratio | met |', '| --- | ---: | ---: | ---: | :---: |'];
  for (const t of r.targets ?? []) {
    const ratio = t.goal < 1 ? `${(t.ratio * 100).toFixed(0)}% (goal ${(t.goal * 100).toFixed(0)}%)` : `${t.ratio.toFixed(2)}x (goal ${t.goal}x)`;
    lines.push(`| ${t.target} | ${t.sluice} | ${t.peer} | ${ratio} | ${t.met ? 'yes' : 'no'} |`);
  }
  return lines.join('\n');
}

function matrix(rows: Throughput[], mode: string): string {
  const sel = rows.filter((r) => r.params?.mode === mode);
  if (sel.length === 0) return '';
  const lines = ['| record | partitions | acks | codec | records/s | MB/s | p50 ms | p95 ms | p99 ms | p99.9 ms | max ms |', '| ---: | ---: | :---: | :---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const t of sel) {
    const p = t.params!;
    const codec = p.pool === 'off' ? `${p.compression} (pool off)` : String(p.compression);
    const l = t.latency;
    lines.push(`| ${p.recordBytes} B | ${p.partitions} | ${p.acks} | ${codec} | ${fmtRate(t.recordsPerSec)} | ${t.mbPerSec.toFixed(0)} | ${f(l?.p50)} | ${f(l?.p95)} | ${f(l?.p99)} | ${f(l?.p999)} | ${f(l?.max)} |`);
  }
  return lines.join('\n');
}

function curveTable(c: Curve, latency: boolean): string {
  const head = latency ? '| x | reads/s | p50 ms | p99 ms | p99.9 ms | max ms |' : '| x | records/s | MB/s | p99 ms | note |';
  const lines = [head.replace('| x', `| ${c.x}`), latency ? '| ---: | ---: | ---: | ---: | ---: | ---: |' : '| ---: | ---: | ---: | ---: | --- |'];
  for (const p of c.points) {
    lines.push(
      latency
        ? `| ${short(p.x)} | ${fmtRate(p.recordsPerSec)} | ${f(p.latency?.p50, 3)} | ${f(p.latency?.p99, 3)} | ${f(p.latency?.p999, 3)} | ${f(p.latency?.max, 3)} |`
        : `| ${short(p.x)} | ${fmtRate(p.recordsPerSec)} | ${p.mbPerSec.toFixed(0)} | ${f(p.latency?.p99)} | ${p.note ?? ''} |`,
    );
  }
  return lines.join('\n');
}

/** Writes the SVGs into `dir` and returns the Markdown report that links them. */
export function writeReport(r: Report, dir: string): string {
  const svg = (name: string, body: string) => {
    if (!body) return '';
    fs.writeFileSync(path.join(dir, name), `${body}\n`);
    return `![${name}](${name})\n`;
  };
  const out: string[] = [];
  out.push(`# Sluice benchmark report${r.quick ? ' (quick)' : ''}\n`);
  out.push(`${r.date}, ${r.seconds ? `${(r.seconds / 60).toFixed(1)} minutes` : ''}. Reproduce with \`${r.command}\`.\n`);
  const m = r.machine;
  const disk = m.disk as Record<string, string> | undefined;
  out.push(
    `Machine: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB memory, ${m.platform}; data directories under ${m.tmpdir}` +
      (disk ? ` on ${disk.device} (${disk.type}, ${disk.size}, ${disk.avail} free${disk.kind ? `, ${disk.kind}` : ''})` : '') +
      `. Load average (1/5/15 min) at start ${r.loadavg.start.join(' / ')}, at end ${r.loadavg.end?.join(' / ') ?? '?'}: the machine is shared, so read ratios measured in the same run rather than absolute figures.\n`,
  );
  out.push(`Versions: ${Object.entries(r.versions).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ')}.\n`);
  if (r.skipped?.length) out.push(`Skipped: ${r.skipped.join('; ')}.\n`);

  out.push('## Headline\n');
  out.push(`${headlineMarkdown(r)}\n`);
  out.push('Latency: produce rows, enqueue to acknowledgement (flat out, mostly queueing in the client); end to end, send to consumed at a fixed rate; peers, one request to its acknowledgement. Sluice and its client share the same 2 cores in every wire row.\n');
  out.push('## Targets\n');
  out.push(`${targetsMarkdown(r)}\n`);

  const bars = (r.headline ?? []).filter((h) => h.recordsPerSec && h.label);
  if (bars.length) {
    out.push(svg('peers.svg', barChart('100-byte records: Sluice and its peers (records/s)', 'records/s, same run, same machine', bars.map((h) => ({ label: h.label, value: h.recordsPerSec!, highlight: h.what.startsWith('Sluice'), text: fmtRate(h.recordsPerSec!) })))));
  }

  if (r.limits) {
    out.push('## Limits of the machine\n');
    const L = r.limits;
    const rows: string[] = ['| limit | MB/s | Sluice figure | Sluice MB/s | fraction |', '| --- | ---: | --- | ---: | ---: |'];
    const storageTrusted = r.storage?.find((s) => s.name.startsWith('append ready batches (trusted)'));
    const storageChecked = r.storage?.find((s) => s.name.startsWith('append ready batches (CRC checked)'));
    const frac = (limit: Throughput | undefined, name: string, s: Throughput | undefined) => {
      if (limit && s) rows.push(`| ${limit.name} | ${limit.mbPerSec.toFixed(0)} | ${name} | ${s.mbPerSec.toFixed(0)} | ${((s.mbPerSec / limit.mbPerSec) * 100).toFixed(0)}% |`);
    };
    frac(L.memcpy, 'Log.append of ready batches, CRC checked', storageChecked);
    frac(L.memcpy, 'Log.append of ready batches, trusted', storageTrusted);
    frac(L.memcpy, 'embedded produce 100 B, 1 partition', find(r.embedded?.produce, { recordBytes: 100, partitions: 1, acks: '1', compression: 'none' }));
    frac(L.disk, 'durable 1 KB, fsync every flush.ms', r.durable);
    frac(L.disk, 'embedded produce 1 KB, acks=all (fsync)', find(r.embedded?.produce, { recordBytes: 1024, partitions: 1, acks: 'all', compression: 'none' }));
    frac(L.disk, 'wire produce 1 KB, acks=all (fsync)', find(r.wire?.produce, { recordBytes: 1024, partitions: 1, acks: 'all', compression: 'none' }));
    out.push(`${rows.join('\n')}\n`);
    if (L.diskSkipped) out.push(`Disk bandwidth not measured: ${L.diskSkipped}\n`);
    out.push('The disk figure is the best of several fio runs (start to the end of one fdatasync); this shared virtual disk varies about 2x from run to run, so a Sluice figure above 100% means the disk was faster while Sluice ran, or that Sluice\'s periodic fdatasync (flush.ms) overlaps writeback with appending where fio\'s single fsync at the end does not.\n');
    out.push(`${[L.memcpy, L.disk, r.durable].filter(Boolean).map((t) => `- ${t!.name}: ${t!.note ?? ''}`).join('\n')}\n`);
  }

  if (r.brokerCpu?.length) {
    out.push('## Broker CPU per million records\n');
    out.push('The `sluice serve` process\'s own CPU (utime + stime of all its threads, /proc/<pid>/stat) while librdkafka produces, then consumes, 100-byte JSON log lines; record checks (Kafka\'s LogValidator rules) on. Medians of the runs in the note.\n');
    out.push(['| phase | broker CPU s / M records | note |', '| --- | ---: | --- |', ...r.brokerCpu.map((t) => `| ${t.params?.mode === 'broker-cpu-produce' ? 'produce' : 'fetch'} | ${Number(t.params?.cpuPerMillion).toFixed(3)} | ${t.note ?? ''} |`)].join('\n') + '\n');
  }
  if (r.wire && r.wire.rows.length) {
    out.push('## Over the wire: librdkafka against `sluice serve`\n');
    out.push('kafka-producer-perf-test conventions: keyless records round robin over the partitions, records/s and MB/s of acknowledged records, latency from enqueue to delivery report. acks=all waits for a group-commit fsync on Sluice.\n');
    out.push(`### Produce\n\n${matrix(r.wire.rows, 'produce')}\n`);
    out.push(`### Consume (from the beginning, all partitions assigned)\n\n${matrix(r.wire.rows, 'consume')}\n`);
    const e2e = [...r.wire.e2e, ...r.wire.rows.filter((t) => t.params?.mode === 'paced')];
    if (e2e.length) out.push(`### Latency at a fixed rate\n\n\`\`\`\n${table(e2e)}\n\`\`\`\n`);
    out.push(`### Peers\n\n\`\`\`\n${table(r.wire.peers)}\n\`\`\`\n`);
    out.push(`<details><summary>All wire rows with notes (CPU per million records, stored bytes)</summary>\n\n\`\`\`\n${table(r.wire.rows)}\n\`\`\`\n</details>\n`);
  }
  if (r.embedded && r.embedded.rows.length) {
    out.push('## Embedded: producer and consumer in one process\n');
    out.push(`### Produce\n\n${matrix(r.embedded.rows, 'produce')}\n`);
    out.push(`### Consume\n\n${matrix(r.embedded.rows, 'consume')}\n`);
    if (r.embedded.e2e.length) out.push(`### End to end at a fixed rate\n\n\`\`\`\n${table(r.embedded.e2e)}\n\`\`\`\n`);
    if (r.embeddedPeers?.length) out.push(`### Embedded peers\n\n\`\`\`\n${table(r.embeddedPeers)}\n\`\`\`\n`);
    out.push(`<details><summary>All embedded rows with notes</summary>\n\n\`\`\`\n${table(r.embedded.rows)}\n\`\`\`\n</details>\n`);
  }
  if (r.durable) out.push(`## Durable appends\n\n\`\`\`\n${table([r.durable])}\n\`\`\`\n`);

  const sc = r.scale;
  if (sc) {
    out.push('## Scale curves\n');
    if (sc.logSize) {
      out.push(svg('log-size.svg', lineChart({ title: 'Append rate against log size', xLabel: 'log size (GB)', yLabel: 'MB/s', series: [{ name: 'Log.append, 100 B records', points: sc.logSize.append.points.map((p) => [p.x, p.mbPerSec]) }] })));
      out.push(`${curveTable(sc.logSize.append, false)}\n`);
      out.push(svg('fetch-latency.svg', lineChart({ title: 'Read at a random offset: latency against log size', xLabel: 'log size (GB)', yLabel: 'ms', logY: true, series: ['p50', 'p99', 'p999'].map((k) => ({ name: k === 'p999' ? 'p99.9' : k, points: sc.logSize!.reads.points.map((p) => [p.x, (p.latency as unknown as Record<string, number>)[k]!] as [number, number]) })) })));
      out.push(`${curveTable(sc.logSize.reads, true)}\n`);
    }
    if (sc.partitions) {
      out.push(svg('partitions.svg', lineChart({ title: 'Embedded produce against partitions', xLabel: 'partitions', yLabel: 'records/s', logX: true, series: [{ name: '100 B records, acks=1', points: sc.partitions.points.map((p) => [p.x, p.recordsPerSec]) }] })));
      out.push(`${curveTable(sc.partitions, false)}\n`);
    }
    if (sc.recordSize) {
      out.push(svg('record-size.svg', lineChart({ title: 'Embedded produce against record size', xLabel: 'record size (bytes)', yLabel: 'MB/s', logX: true, series: [{ name: 'MB/s', points: sc.recordSize.points.map((p) => [p.x, p.mbPerSec]) }] })));
      out.push(`${curveTable(sc.recordSize, false)}\n`);
    }
  }
  if (r.micro?.length) {
    out.push('## Micro benchmarks (tinybench)\n');
    out.push('| operation | ops/s | MB/s | mean us | p99 us |\n| --- | ---: | ---: | ---: | ---: |');
    out.push(`${r.micro.map((m) => `| ${m.name} | ${fmtRate(m.opsPerSec)} | ${m.mbPerSec ? m.mbPerSec.toFixed(0) : ''} | ${m.meanUs.toFixed(1)} | ${m.p99Us.toFixed(1)} |`).join('\n')}\n`);
  }
  if (r.storage?.length) out.push(`## Storage: the partition log, 100-byte records, batches of 1000\n\n\`\`\`\n${table(r.storage)}\n\`\`\`\n`);
  if (r.external?.rows.length) out.push(`## Existing broker at ${r.external.bootstrap}\n\n\`\`\`\n${table(r.external.rows)}\n\`\`\`\n`);
  if (r.groups?.length) out.push(`## Consumer groups over the wire\n\n\`\`\`\n${table(r.groups)}\n\`\`\`\n`);
  return out.join('\n');
}
