import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBroker } from './helpers/broker.js';
import { requireTool, run } from './helpers/clients.js';
import { sluice } from './helpers/cli.js';
import { tmpDir } from './helpers/tmp.js';
import { buildBatch } from '../src/record/builder.js';
import { CorruptRecordError } from '../src/record/errors.js';
import { countBatch, forEachStamp, type BatchCount } from '../src/cli/perf-count.js';
import { rangeShare } from '../src/cli/perf-workload.js';

beforeAll(() => requireTool('kcat', 'apt-get install kcat'));

const NUM = '(\\d+(?:\\.\\d+)?)';
const PRODUCE_SUMMARY = new RegExp(
  `^(\\d+) records sent, ${NUM} records/sec \\(${NUM} MB/sec\\), ${NUM} ms avg latency, ${NUM} ms max latency, ${NUM} ms 50th, ${NUM} ms 95th, ${NUM} ms 99th, ${NUM} ms 99\\.9th\\.$`,
  'm',
);
const CONSUME_HEAD = 'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec';
const TIME = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d:\\d{3}';
const CONSUME_ROW = new RegExp(`^${TIME}, ${TIME}, ${NUM}, ${NUM}, (\\d+), ${NUM}, (\\d+), (\\d+), ${NUM}, ${NUM}$`, 'm');

describe('sluice perf against a broker process', () => {
  it('produces with two threads, the records are on the broker, and consume reads them all back', async () => {
    const broker = await startBroker();
    const b = ['--bootstrap-server', broker.bootstrap];
    const p = await sluice(['perf', 'produce', '--topic', 'perf', '--partitions', '3', '--num-records', '20000', '--record-size', '100', '--throughput', '-1', '--producer-props', 'acks=1', 'compression.type=lz4', 'linger.ms=2', '--threads', '2', ...b]);
    expect(p.code, p.stderr).toBe(0);
    const m = PRODUCE_SUMMARY.exec(p.stdout);
    expect(m, p.stdout).not.toBeNull();
    expect(Number(m![1])).toBe(20000);
    // Percentiles are ordered and no more than the max.
    const [p50, p95, p99, p999] = [6, 7, 8, 9].map((i) => Number(m![i]));
    expect(p50).toBeLessThanOrEqual(p95!);
    expect(p95).toBeLessThanOrEqual(p99!);
    expect(p99).toBeLessThanOrEqual(p999!);
    expect(p999).toBeLessThanOrEqual(Number(m![5]));

    // kcat reads every record: 20,000 values of exactly 100 bytes, JSON log lines, and varied.
    const out = await run('kcat', ['-C', '-b', broker.bootstrap, '-t', 'perf', '-e', '-q', '-f', '%p %S %s\n']);
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(20000);
    const values = lines.map((l) => l.split(' ').slice(2).join(' '));
    for (const l of lines) expect(Number(l.split(' ')[1])).toBe(100);
    expect(new Set(lines.map((l) => l.split(' ')[0]))).toEqual(new Set(['0', '1', '2']));
    for (const v of values.slice(0, 100)) expect(v).toMatch(/^\{"ts":"\d{4}-\d\d-\d\dT[^"]+","level":"(INFO|WARN|DEBUG|ERROR)","service":"\w+"/);
    expect(new Set(values).size).toBeGreaterThan(19000);

    const c = await sluice(['perf', 'consume', '--topic', 'perf', '--num-records', '20000', '--threads', '2', ...b]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toContain(CONSUME_HEAD);
    const row = CONSUME_ROW.exec(c.stdout);
    expect(row, c.stdout).not.toBeNull();
    expect(Number(row![3])).toBe(20000);
    expect(Number(row![1])).toBeCloseTo((20000 * 100) / 1048576, 3);
  });

  it('--json gives one parsable result for produce and consume (in a group, committed at the end)', async () => {
    const broker = await startBroker();
    const b = ['--bootstrap-server', broker.bootstrap];
    const p = await sluice(['perf', 'produce', '--topic', 'js', '--partitions', '2', '--num-records', '5000', '--json', '--producer-props', 'acks=all', 'compression.type=gzip', ...b]);
    expect(p.code, p.stderr).toBe(0);
    const pr = JSON.parse(p.stdout) as { test: string; records: number; bytes: number; recordsPerSec: number; latencyMs: Record<string, number>; params: { producer: Record<string, unknown> } };
    expect(pr.test).toBe('produce');
    expect(pr.records).toBe(5000);
    expect(pr.bytes).toBeGreaterThan(5000 * 100); // whole log lines, 150 to 330 bytes
    expect(pr.recordsPerSec).toBeGreaterThan(0);
    expect(Object.keys(pr.latencyMs).sort()).toEqual(['avg', 'max', 'p50', 'p95', 'p99', 'p999']);
    expect(pr.params.producer).toEqual({ acks: -1, compression: 'gzip' });

    const c = await sluice(['perf', 'consume', '--topic', 'js', '--num-records', '5000', '--group', 'perf-g', '--json', ...b]);
    expect(c.code, c.stderr).toBe(0);
    const cr = JSON.parse(c.stdout) as { test: string; records: number; bytes: number; rebalanceTimeMs: number; fetchRecordsPerSec: number };
    expect(cr).toMatchObject({ test: 'consume', records: 5000, bytes: pr.bytes });
    expect(cr.rebalanceTimeMs).toBeGreaterThanOrEqual(0);
    // The group committed the end of both partitions.
    const d = await sluice(['groups', '--describe', '--group', 'perf-g', ...b]);
    expect(d.code, d.stderr).toBe(0);
    const rows = d.stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((cols) => cols[0] === 'perf-g' && cols[1] === 'js');
    expect(rows.map((cols) => cols[2]).sort()).toEqual(['0', '1']);
    // CURRENT-OFFSET = LOG-END-OFFSET, LAG 0, and the two partitions hold 5,000 records.
    for (const cols of rows) expect(cols[5]).toBe('0');
    expect(rows.reduce((n, cols) => n + Number(cols[3]), 0)).toBe(5000);
  });

  it('end-to-end at a fixed low rate times every record and prints percentiles; progress lines come while it runs', async () => {
    const broker = await startBroker();
    const b = ['--bootstrap-server', broker.bootstrap];
    const e = await sluice(['perf', 'end-to-end', '--topic', 'e2e', '--partitions', '1', '--num-records', '600', '--throughput', '300', '--reporting-interval', '500', ...b]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/^\d+ records received, [\d.]+ records\/sec, [\d.]+ ms avg latency, [\d.]+ ms max latency\.$/m);
    expect(e.stdout).toMatch(new RegExp(`^600 records, ${NUM} records/sec, end-to-end latency: avg ${NUM} ms, p50 ${NUM} ms, p95 ${NUM} ms, p99 ${NUM} ms, p99\\.9 ${NUM} ms, max ${NUM} ms\\.$`, 'm'));

    const j = await sluice(['perf', 'end-to-end', '--topic', 'e2e', '--num-records', '200', '--throughput', '200', '--json', ...b]);
    expect(j.code, j.stderr).toBe(0);
    const r = JSON.parse(j.stdout) as { records: number; latencyMs: { p50: number; p99: number; p999: number; max: number } };
    expect(r.records).toBe(200);
    expect(r.latencyMs.p50).toBeGreaterThan(0);
    expect(r.latencyMs.p50).toBeLessThanOrEqual(r.latencyMs.p99);
    expect(r.latencyMs.p999).toBeLessThanOrEqual(r.latencyMs.max);

    // A throttled produce runs long enough for progress lines in Kafka's window form.
    const p = await sluice(['perf', 'produce', '--topic', 'slow', '--partitions', '1', '--num-records', '1500', '--throughput', '1000', '--reporting-interval', '300', ...b]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/^\d+ records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency\.$/m);
    expect(Number(PRODUCE_SUMMARY.exec(p.stdout)![1])).toBe(1500);
  });

  it('--encode-records and --decode-records take the record-by-record paths and agree with the fast ones; a group stops exactly at --num-records', async () => {
    const broker = await startBroker();
    const b = ['--bootstrap-server', broker.bootstrap];
    const p = await sluice(['perf', 'produce', '--topic', 'rec', '--partitions', '2', '--num-records', '7000', '--record-size', '120', '--encode-records', '--json', '--producer-props', 'compression.type=lz4', 'linger.ms=1', ...b]);
    expect(p.code, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ records: 7000, bytes: 7000 * 120 });
    const fast = await sluice(['perf', 'consume', '--topic', 'rec', '--num-records', '7000', '--threads', '2', '--json', ...b]);
    const slow = await sluice(['perf', 'consume', '--topic', 'rec', '--num-records', '7000', '--decode-records', '--json', ...b]);
    for (const c of [fast, slow]) {
      expect(c.code, c.stderr).toBe(0);
      expect(JSON.parse(c.stdout)).toMatchObject({ records: 7000, bytes: 7000 * 120 });
    }
    // Counting from batches in a group: 3,000 of the 7,000 are read and committed, no more.
    const g = await sluice(['perf', 'consume', '--topic', 'rec', '--num-records', '3000', '--group', 'part', '--json', ...b]);
    expect(g.code, g.stderr).toBe(0);
    expect(JSON.parse(g.stdout)).toMatchObject({ records: 3000, bytes: 3000 * 120 });
    const d = await sluice(['groups', '--describe', '--group', 'part', ...b]);
    const rows = d.stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((cols) => cols[0] === 'part' && cols[1] === 'rec');
    expect(rows.reduce((n, cols) => n + Number(cols[3]), 0)).toBe(3000);
  });

  it('counts the records of a batch from its bytes: position, limit, control batches, codecs, and a bad CRC', () => {
    const values = Array.from({ length: 50 }, (_, i) => ({ key: i % 2 === 0 ? Buffer.from(`k${i}`) : null, value: Buffer.from(`value number ${i}`) }));
    const bytesFrom = (from: number, n: number) => values.slice(from, from + n).reduce((s, r) => s + (r.key?.length ?? 0) + r.value.length, 0);
    const out: BatchCount = { records: 0, bytes: 0, next: 0, complete: true };
    for (const compression of ['none', 'lz4', 'gzip', 'snappy'] as const) {
      const batch = buildBatch(values, { compression, baseOffset: 1000 });
      expect(countBatch(batch, 1000, Infinity, out)).toMatchObject({ records: 50, bytes: bytesFrom(0, 50), next: 1050, complete: true });
      expect(countBatch(batch, 1020, Infinity, out)).toMatchObject({ records: 30, bytes: bytesFrom(20, 30), next: 1050, complete: true });
      expect(countBatch(batch, 1020, 5, out)).toMatchObject({ records: 5, bytes: bytesFrom(20, 5), next: 1025, complete: false });
    }
    const control = buildBatch([{ key: Buffer.from([0, 0, 0, 0]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }], { control: true, transactional: true, producerId: 7, baseOffset: 5 });
    expect(countBatch(control, 5, Infinity, out).records).toBe(0);
    const bad = buildBatch(values, { compression: 'lz4' });
    bad[bad.length - 3] ^= 0xff;
    expect(() => countBatch(bad, 0, Infinity, out)).toThrow(CorruptRecordError);
    expect(() => forEachStamp(bad, 0, () => {})).toThrow(CorruptRecordError);

    // end-to-end's reader: the perf.sent header among others, read in place, from the position on.
    const stamp = (t: number) => {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(t);
      return b;
    };
    const stamped = Array.from({ length: 20 }, (_, i) => ({
      value: Buffer.from(`v${i}`),
      headers: i === 3 ? [] : [{ key: 'other', value: Buffer.from('x') }, { key: 'perf.sent', value: stamp(1000.25 + i) }],
    }));
    for (const compression of ['none', 'lz4'] as const) {
      const seen: [number, number, number][] = [];
      const walked = forEachStamp(buildBatch(stamped, { compression, baseOffset: 40 }), 45, (sent, append, bytes) => seen.push([sent, append, bytes]));
      expect(walked).toBe(15);
      expect(seen).toEqual(Array.from({ length: 15 }, (_, k) => [1005.25 + k, -1, `v${5 + k}`.length]));
    }
    const logAppend = buildBatch(stamped.slice(0, 2), { timestampType: 'LogAppendTime', now: 1_700_000_000_123 });
    const appended: number[] = [];
    forEachStamp(logAppend, 0, (_s, append) => appended.push(append));
    expect(appended).toEqual([1_700_000_000_123, 1_700_000_000_123]);
  });

  it('end-to-end splits each latency at the broker append (LogAppendTime) and times the warm-up apart', async () => {
    const broker = await startBroker();
    const e = await sluice(['perf', 'end-to-end', '--topic', 'legs', '--partitions', '2', '--num-records', '900', '--throughput', '600', '--warmup-ms', '500', '--json', '--bootstrap-server', broker.bootstrap]);
    expect(e.code, e.stderr).toBe(0);
    type Lat = { p50: number; p99: number; max: number };
    const r = JSON.parse(e.stdout) as { records: number; latencyMs: Lat; warmupLatencyMs: Lat & { records: number }; appendLatencyMs: Lat; deliveryLatencyMs: Lat };
    expect(r.records).toBe(900);
    // About 300 of the 900 were sent in the first 500 ms at 600/s.
    expect(r.warmupLatencyMs.records).toBeGreaterThan(100);
    expect(r.warmupLatencyMs.records).toBeLessThan(700);
    expect(r.appendLatencyMs.p50).toBeLessThanOrEqual(r.appendLatencyMs.max);
    expect(r.deliveryLatencyMs.p50).toBeGreaterThanOrEqual(0);
    // The topic perf created has the broker stamp its batches.
    const d = await sluice(['configs', '--describe', '--entity-type', 'topics', '--entity-name', 'legs', '--bootstrap-server', broker.bootstrap]);
    expect(d.stdout).toContain('message.timestamp.type=LogAppendTime');
  });

  it('runs an OpenMessaging-style workload: JSON result, SVG chart, every message consumed by every subscription', async () => {
    const broker = await startBroker();
    const dir = tmpDir();
    const file = path.join(dir, 'workload.yaml');
    fs.writeFileSync(
      file,
      [
        '# a short OMB-style workload',
        'name: 2 topics / 3 partitions / 64b',
        'topics: 2',
        'partitionsPerTopic: 3',
        'messageSize: 64',
        'subscriptionsPerTopic: 2',
        'consumerPerSubscription: 2',
        'producersPerTopic: 2',
        'producerRate: 2000',
        'consumerBacklogSizeGB: 0',
        'testDurationMinutes: 0.05',
        'warmupDurationMinutes: 0.01',
        'keyDistributor: "NO_KEY"',
        '',
      ].join('\n'),
    );
    const r = await sluice(['perf', '--workload', file, '--output', path.join(dir, 'result'), '--reporting-interval', '1000', '--bootstrap-server', broker.bootstrap]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^pub rate [\d.]+ msg\/s, cons rate [\d.]+ msg\/s, backlog -?\d+/m);
    expect(r.stdout).toMatch(/^aggregated end-to-end latency: avg [\d.]+ ms, p50 [\d.]+ ms, p99 [\d.]+ ms/m);
    const res = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')) as Record<string, unknown> & { topics: string[]; sent: number; received: number; windows: unknown[]; publishRate: number[] };
    expect(res).toMatchObject({ workload: '2 topics / 3 partitions / 64b', partitionsPerTopic: 3, messageSize: 64, subscriptionsPerTopic: 2, testSeconds: 3 });
    expect(res.topics).toHaveLength(2);
    // 3 s at 2,000/s; each of the two subscriptions per topic reads every message.
    expect(res.sent).toBeGreaterThan(4000);
    expect(res.received).toBe(res.sent * 2);
    expect(res.windows.length).toBeGreaterThanOrEqual(1);
    expect(res.publishRate).toHaveLength(res.windows.length);
    for (const k of ['aggregatedPublishLatency99pct', 'aggregatedEndToEndLatency50pct', 'aggregatedEndToEndLatency99pct']) expect(typeof res[k]).toBe('number');
    const svg = fs.readFileSync(path.join(dir, 'result.svg'), 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('publish rate');
    expect(svg).toContain('end-to-end p99');
    expect(svg).toMatch(/<polyline /);
    // The topics hold what was sent (warm-up included), 64-byte log lines, all partitions used.
    const out = await run('kcat', ['-C', '-b', broker.bootstrap, '-t', res.topics[0]!, '-e', '-q', '-f', '%p %S\n']);
    const lines = out.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(res.sent / 2);
    expect(new Set(lines.map((l) => l.split(' ')[0]))).toEqual(new Set(['0', '1', '2']));
    for (const l of lines) expect(l.split(' ')[1]).toBe('64');
  });

  it("runs README's workload example verbatim (examples/workload.yaml)", async () => {
    const root = path.resolve(import.meta.dirname, '..');
    const example = fs.readFileSync(path.join(root, 'examples', 'workload.yaml'), 'utf8');
    expect(fs.readFileSync(path.join(root, 'README.md'), 'utf8')).toContain('```yaml\n' + example + '```');
    const broker = await startBroker();
    const out = path.join(tmpDir(), 'run1');
    const r = await sluice(['perf', '--workload', path.join(root, 'examples', 'workload.yaml'), '--output', out, '--json', '--bootstrap-server', broker.bootstrap]);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { sent: number; received: number; testSeconds: number; warmupSeconds: number };
    expect(res).toMatchObject({ testSeconds: 6, warmupSeconds: 3 });
    expect(res.sent).toBeGreaterThan(20_000);
    expect(res.received).toBe(res.sent);
    expect(JSON.parse(fs.readFileSync(`${out}.json`, 'utf8'))).toEqual(res);
    expect(fs.readFileSync(`${out}.svg`, 'utf8')).toContain('</svg>');
  });

  it('rejects bad workload files, naming the key', async () => {
    const dir = tmpDir();
    const cases: [string, string, RegExp][] = [
      ['typo.yaml', 'topics: 1\npartitionsPerTopic: 1\nmessageSize: 10\nproducerRate: 10\ntestDurationMinutes: 1\nproducersPerTopics: 1\n', /unknown workload key 'producersPerTopics' \(did you mean 'producersPerTopic'\?\)/],
      ['missing.yaml', 'topics: 1\n', /'partitionsPerTopic' is missing/],
      ['keys.json', '{"topics":1,"partitionsPerTopic":1,"messageSize":10,"producerRate":10,"testDurationMinutes":1,"keyDistributor":"RANDOM_NANO"}', /keyDistributor 'RANDOM_NANO' is not supported/],
      ['bad.yaml', 'topics: many\n', /'topics' must be a whole number/],
    ];
    for (const [name, text, re] of cases) {
      fs.writeFileSync(path.join(dir, name), text);
      const r = await sluice(['perf', '--workload', path.join(dir, name), '--bootstrap-server', '127.0.0.1:1']);
      expect(r.code, `${name}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(re);
    }
    expect(rangeShare(5, 2, 0)).toEqual([0, 1, 2]);
    expect(rangeShare(5, 2, 1)).toEqual([3, 4]);
    expect(rangeShare(1, 2, 1)).toEqual([]);
  });

  it('sends the lines of --payload-file', async () => {
    const broker = await startBroker();
    const file = path.join(tmpDir(), 'payloads.txt');
    fs.writeFileSync(file, 'alpha\nbeta\ngamma\n');
    const p = await sluice(['perf', 'produce', '--topic', 'pf', '--partitions', '1', '--num-records', '30', '--payload-file', file, '--bootstrap-server', broker.bootstrap]);
    expect(p.code, p.stderr).toBe(0);
    const out = await run('kcat', ['-C', '-b', broker.bootstrap, '-t', 'pf', '-e', '-q', '-f', '%s\n']);
    const values = out.trimEnd().split('\n');
    expect(values).toHaveLength(30);
    expect(new Set(values)).toEqual(new Set(['alpha', 'beta', 'gamma']));
  });

  it('rejects bad command lines with exit code 2 and says what is wrong', async () => {
    const cases: [string[], RegExp][] = [
      [[], /which test\? one of produce, consume, end-to-end/],
      [['bench'], /unknown perf test 'bench'/],
      [['produce', '--num-records', '10'], /--topic is required/],
      [['produce', '--topic', 't'], /--num-records is required/],
      [['produce', '--topic', 't', '--num-records', 'many'], /invalid value 'many' for --num-records/],
      [['produce', '--topic', 't', '--num-records', '10', '--record-size', '10', '--payload-file', 'f'], /--record-size or --payload-file, not both/],
      [['produce', '--topic', 't', '--num-records', '10', '--throughput', '0'], /--throughput/],
      [['produce', '--topic', 't', '--num-records', '10', '--producer-props', 'acks=2'], /invalid value '2' for acks in --producer-props/],
      [['produce', '--topic', 't', '--num-records', '10', '--producer-props', 'compression.type=zstd'], /compression.type.*none, gzip, snappy, lz4/],
      [['produce', '--topic', 't', '--num-records', '10', '--producer-props', 'linger.ms'], /expected key=value/],
      [['produce', '--topic', 't', '--num-records', '10', '--producer-props'], /'--producer-props' needs a value/],
      [['produce', '--topic', 't', '--num-records', '10', '--group', 'g'], /--group is for perf consume/],
      [['end-to-end', '--topic', 't', '--threads', '2'], /end-to-end runs on one thread/],
      [['consume', '--topic', 't', '--num-records', '10', '--nope'], /unknown option '--nope'/],
    ];
    for (const [args, re] of cases) {
      const r = await sluice(['perf', ...args, '--bootstrap-server', '127.0.0.1:1']);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).toContain('sluice perf --help');
    }
    const h = await sluice(['perf', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('Usage: sluice perf produce|consume|end-to-end');
  });
});
