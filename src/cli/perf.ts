/**
 * `sluice perf produce | consume | end-to-end`: throughput and latency benchmarks against any
 * Kafka-compatible broker, with the options and output of Kafka's kafka-producer-perf-test,
 * kafka-consumer-perf-test and EndToEndLatency. The work runs on `--threads` worker threads,
 * each with its own connections and share of the records and partitions, so that one event
 * loop is not the limit; this thread only adds up and prints.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Cluster } from '../wire-client/cluster.js';
import { createTopic } from '../wire-client/admin.js';
import type { ConsumerOptions } from '../wire-client/consumer.js';
import type { Acks, ProducerCompression, ProducerOptions } from '../wire-client/producer.js';
import { bootstrapOf, COMMON_HELP, COMMON_OPTIONS, intFlag, keyValues, parse, required, UsageError } from './args.js';
import { withCluster } from './connect.js';
import { workloadChart } from './perf-chart.js';
import { runWorkload, workloadSummary } from './perf-workload.js';
import { readWorkload } from './perf-workload-file.js';
import { consumerTime, LatencyHistogram, ms, producerLine, type LatencySummary } from './perf-stats.js';
import type { DoneReport, PerfMode, WindowReport, WorkerMessage, WorkerTask } from './perf-worker.js';

export const PERF_HELP = `Usage: sluice perf produce|consume|end-to-end --topic T [options]
       sluice perf --workload FILE [--output PATH]

Benchmarks a broker (Sluice or any Kafka) like Kafka's perf tools:
  produce     sends --num-records records as fast as allowed; prints Kafka's
              kafka-producer-perf-test lines (records/sec, MB/sec, latency percentiles).
              Flat out (--throughput -1) it sends batches encoded once from the payload pool,
              only re-stamped (time, CRC) per send, so the client's encoding is not the
              limit; --encode-records encodes every record as sent instead
  consume     reads --num-records records from the start of the topic; prints
              kafka-consumer-perf-test's fields (start.time, end.time, MB.sec, nMsg.sec, ...).
              Records are counted from the fetched batches (CRC checked, decompressed, key and
              value lengths read) without building them; --decode-records builds each one
  end-to-end  sends records at --throughput (default 1000/s) and times each from its send to
              its delivery by a poll; prints latency percentiles. A topic it creates has
              message.timestamp.type=LogAppendTime, which splits each latency at the broker's
              append (send to append, append to delivery)
  --workload  runs an OpenMessaging Benchmark workload file (YAML or JSON: topics,
              partitionsPerTopic, messageSize, payloadFile, producersPerTopic,
              subscriptionsPerTopic, consumerPerSubscription, producerRate,
              testDurationMinutes, warmupDurationMinutes, keyDistributor NO_KEY) on fresh
              topics; prints a line every --reporting-interval (default 10000 ms) and the
              aggregated rates and latencies; --output PATH writes PATH.json (OMB's result
              fields, one window per second) and PATH.svg (throughput and latency over time)

Payloads are JSON log lines (time, level, service, path, status, a message of 2 to 24 words),
65,536 distinct ones per thread: whole lines of varying length, or cut and joined to exactly
--record-size bytes.

Options:
  --topic <name>             topic to use (required)
  --num-records <n>          records to send or read (required for produce and consume;
                             --messages is the same, as kafka-consumer-perf-test names it)
  --record-size <bytes>      every record exactly this long (default: whole log lines)
  --payload-file <path>      values from this file instead, one per line (or --payload-delimiter)
  --payload-delimiter <s>    what separates payloads in --payload-file (default newline)
  --throughput <n>           records/s to aim for, -1 for as fast as possible (produce default
                             -1, end-to-end default 1000)
  --producer-props <k=v>...  acks (0, 1, -1/all), compression.type (none, gzip, snappy, lz4),
                             linger.ms, batch.size, buffer.memory, request.timeout.ms, retries
  --consumer-props <k=v>...  fetch.max.wait.ms, fetch.min.bytes, fetch.max.bytes,
                             max.partition.fetch.bytes, auto.offset.reset, group.id
  --partitions <n>           create the topic with n partitions if it does not exist
  --replication-factor <n>   for a created topic (default: the broker's)
  --group <id>               consume in this consumer group (each thread one member) and
                             commit at the end; default: assigned partitions, no group
  --threads <n>              worker threads, each with its own connections (default 1)
  --timeout <ms>             consume and end-to-end: give up after this long without a record
                             (default 10000)
  --reporting-interval <ms>  progress line every this many ms (default 5000)
  --json                     print one JSON result on stdout (progress goes to stderr)
  --encode-records           produce: encode each record as sent (the wire producer's path)
  --decode-records           consume and end-to-end: build each record (key, value, headers)
                             as a poll would, instead of reading counts and stamps in place
  --warmup-ms <ms>           end-to-end: records sent in the first ms are timed apart
  --workload <file>          run a workload file (see above)
  --output <path>            --workload: write path.json and path.svg
${COMMON_HELP}
Examples:
  sluice perf produce --topic perf --partitions 8 --num-records 10000000 --record-size 100 \\
    --throughput -1 --producer-props acks=1 compression.type=lz4 --threads 2
  sluice perf consume --topic perf --num-records 10000000 --threads 2
  sluice perf end-to-end --topic e2e --partitions 1 --num-records 10000 --throughput 1000
  sluice perf --workload examples/workload.yaml --output results/run1
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  topic: { type: 'string' },
  'num-records': { type: 'string' },
  messages: { type: 'string' },
  'record-size': { type: 'string' },
  'payload-file': { type: 'string' },
  'payload-delimiter': { type: 'string' },
  throughput: { type: 'string' },
  'producer-props': { type: 'string', multiple: true },
  'consumer-props': { type: 'string', multiple: true },
  partitions: { type: 'string' },
  'replication-factor': { type: 'string' },
  group: { type: 'string' },
  threads: { type: 'string' },
  timeout: { type: 'string' },
  'reporting-interval': { type: 'string' },
  json: { type: 'boolean' },
  'decode-records': { type: 'boolean' },
  'encode-records': { type: 'boolean' },
  'warmup-ms': { type: 'string' },
} as const;

/**
 * A big young generation: a poll hands over tens of thousands of records at once, and with
 * V8's default (16 MiB semi-spaces) they outlive a scavenge and get copied; measured at 3 M
 * records of 100 B (lz4), consume used 27% less CPU with 256.
 */
const YOUNG_GENERATION_MB = 256;

const MODES: readonly PerfMode[] = ['produce', 'consume', 'end-to-end'];

/** Kafka allows `--producer-props a=1 b=2`: values after the flag up to the next flag belong to it. */
function gatherProps(argv: string[]): string[] {
  const out: string[] = [];
  let inProps: string | null = null;
  for (const a of argv) {
    if (a === '--producer-props' || a === '--consumer-props') {
      inProps = a;
      continue;
    }
    if (inProps !== null && !a.startsWith('--')) {
      out.push(inProps, a);
      continue;
    }
    if (inProps !== null && a.startsWith('--') && out[out.length - 2] !== inProps) throw new UsageError(`option '${inProps}' needs a value: key=value`);
    inProps = null;
    out.push(a);
  }
  if (inProps !== null && out[out.length - 2] !== inProps) throw new UsageError(`option '${inProps}' needs a value: key=value`);
  return out;
}

function intProp(props: Record<string, string>, key: string, flag: string, min: number, max = 2 ** 31 - 1): number | undefined {
  const v = props[key];
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`invalid value '${v}' for ${key} in --${flag}: a whole number from ${min} to ${max}`);
  return Number(v);
}

const PRODUCER_KEYS = new Set(['acks', 'compression.type', 'linger.ms', 'batch.size', 'buffer.memory', 'request.timeout.ms', 'retries', 'bootstrap.servers', 'client.id']);
const CONSUMER_KEYS = new Set(['fetch.max.wait.ms', 'fetch.min.bytes', 'fetch.max.bytes', 'max.partition.fetch.bytes', 'auto.offset.reset', 'group.id', 'bootstrap.servers', 'client.id']);

function producerOptions(list: string[] | undefined): Omit<ProducerOptions, 'onDelivered'> {
  const props = keyValues(list, 'producer-props');
  for (const k of Object.keys(props)) if (!PRODUCER_KEYS.has(k)) process.stderr.write(`sluice perf: ignoring producer property '${k}' (understood: ${[...PRODUCER_KEYS].join(', ')})\n`);
  const o: Omit<ProducerOptions, 'onDelivered'> = {};
  const acks = props.acks;
  if (acks !== undefined) {
    if (!['0', '1', '-1', 'all'].includes(acks)) throw new UsageError(`invalid value '${acks}' for acks in --producer-props: one of 0, 1, -1, all`);
    o.acks = (acks === 'all' ? -1 : Number(acks)) as Acks;
  }
  const codec = props['compression.type'];
  if (codec !== undefined) {
    if (!['none', 'gzip', 'snappy', 'lz4'].includes(codec)) throw new UsageError(`invalid value '${codec}' for compression.type in --producer-props: one of none, gzip, snappy, lz4`);
    o.compression = codec as ProducerCompression;
  }
  o.lingerMs = intProp(props, 'linger.ms', 'producer-props', 0, 60_000);
  o.batchBytes = intProp(props, 'batch.size', 'producer-props', 1);
  o.maxBufferedBytes = intProp(props, 'buffer.memory', 'producer-props', 1024, Number.MAX_SAFE_INTEGER);
  o.timeoutMs = intProp(props, 'request.timeout.ms', 'producer-props', 1);
  o.retries = intProp(props, 'retries', 'producer-props', 0);
  for (const k of Object.keys(o) as (keyof typeof o)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function consumerOptions(list: string[] | undefined): { options: ConsumerOptions; group: string | undefined } {
  const props = keyValues(list, 'consumer-props');
  for (const k of Object.keys(props)) if (!CONSUMER_KEYS.has(k)) process.stderr.write(`sluice perf: ignoring consumer property '${k}' (understood: ${[...CONSUMER_KEYS].join(', ')})\n`);
  const o: ConsumerOptions = {};
  o.maxWaitMs = intProp(props, 'fetch.max.wait.ms', 'consumer-props', 0);
  o.minBytes = intProp(props, 'fetch.min.bytes', 'consumer-props', 1);
  o.maxBytes = intProp(props, 'fetch.max.bytes', 'consumer-props', 1);
  o.partitionMaxBytes = intProp(props, 'max.partition.fetch.bytes', 'consumer-props', 1);
  const reset = props['auto.offset.reset'];
  if (reset !== undefined) {
    if (reset !== 'earliest' && reset !== 'latest') throw new UsageError(`invalid value '${reset}' for auto.offset.reset in --consumer-props: earliest or latest`);
    o.autoOffsetReset = reset;
  }
  for (const k of Object.keys(o) as (keyof typeof o)[]) if (o[k] === undefined) delete o[k];
  return { options: o, group: props['group.id'] };
}

/** The topic's partition count, creating it with `partitions` when missing and asked to. */
async function ensureTopic(cluster: Cluster, topic: string, partitions: number | undefined, replicationFactor: number | undefined, configs: Record<string, string> = {}): Promise<number> {
  try {
    return (await cluster.topic(topic)).partitions.length;
  } catch (err) {
    if (partitions === undefined || (err as { errorCode?: number }).errorCode !== 3) {
      if ((err as { errorCode?: number }).errorCode === 3) throw new Error(`topic '${topic}' does not exist: create it, or give --partitions N to have perf create it`);
      throw err;
    }
  }
  await createTopic(cluster, { name: topic, partitions, replicationFactor: replicationFactor ?? -1, configs });
  return (await cluster.topic(topic)).partitions.length;
}

const WORKLOAD_OPTIONS = {
  ...COMMON_OPTIONS,
  workload: { type: 'string' },
  output: { type: 'string' },
  'reporting-interval': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** `sluice perf --workload FILE [--output PATH]`. */
async function perfWorkload(argv: string[]): Promise<number> {
  const v = parse(argv, WORKLOAD_OPTIONS);
  if (v.help) {
    process.stdout.write(PERF_HELP);
    return 0;
  }
  const file = required(v.workload, 'workload', 'the workload file to run');
  const workload = readWorkload(file);
  const reportMs = intFlag(v['reporting-interval'], 'reporting-interval', 100) ?? 10_000;
  const json = v.json === true;
  let outJson: string | null = null;
  let outSvg: string | null = null;
  if (v.output !== undefined) {
    const base = v.output.replace(/\.(json|svg)$/i, '');
    [outJson, outSvg] = [`${base}.json`, `${base}.svg`];
    const dir = path.dirname(path.resolve(outJson));
    if (!fs.existsSync(dir)) throw new UsageError(`--output ${v.output}: folder ${dir} does not exist`);
  }
  const log = (line: string) => (json ? process.stderr : process.stdout).write(line + '\n');
  const result = await runWorkload(workload, { bootstrap: bootstrapOf(v), requestTimeoutMs: intFlag(v['request-timeout-ms'], 'request-timeout-ms', 1, 2 ** 31 - 1), reportMs, log });
  if (outJson !== null && outSvg !== null) {
    fs.writeFileSync(outJson, JSON.stringify(result, null, 2) + '\n');
    fs.writeFileSync(outSvg, workloadChart(result));
    log(`wrote ${outJson} and ${outSvg}`);
  }
  process.stdout.write((json ? JSON.stringify(result) : workloadSummary(result)) + '\n');
  return 0;
}

export async function perf(argv: string[]): Promise<number> {
  if (argv.some((a) => a === '--workload' || a.startsWith('--workload='))) return perfWorkload(argv);
  const [mode, ...rest] = argv;
  if (mode === '--help' || mode === '-h' || mode === 'help') {
    process.stdout.write(PERF_HELP);
    return 0;
  }
  if (mode === undefined || mode.startsWith('-')) throw new UsageError(`which test? one of ${MODES.join(', ')}, first: sluice perf produce --topic T ...`);
  if (!(MODES as readonly string[]).includes(mode)) throw new UsageError(`unknown perf test '${mode}': one of ${MODES.join(', ')}`);
  const v = parse(gatherProps(rest), OPTIONS);
  if (v.help) {
    process.stdout.write(PERF_HELP);
    return 0;
  }
  const m = mode as PerfMode;
  const topic = required(v.topic, 'topic', 'to know which topic to use');
  if (v['num-records'] !== undefined && v.messages !== undefined) throw new UsageError('give --num-records or --messages, not both');
  const numFlag = v.messages !== undefined ? 'messages' : 'num-records';
  let numRecords = intFlag(v[numFlag], numFlag, 1);
  if (numRecords === undefined) {
    if (m !== 'end-to-end') throw new UsageError('--num-records is required: how many records to send or read');
    numRecords = 10_000;
  }
  const recordSize = intFlag(v['record-size'], 'record-size', 1, 64 * 1024 * 1024);
  const payloadFile = v['payload-file'];
  if (recordSize !== undefined && payloadFile !== undefined) throw new UsageError('give --record-size or --payload-file, not both');
  let payloadText: string | undefined;
  if (payloadFile !== undefined) {
    try {
      payloadText = fs.readFileSync(payloadFile, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read --payload-file ${payloadFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (payloadText.split(v['payload-delimiter'] ?? '\n').every((l) => l === '')) throw new UsageError(`--payload-file ${payloadFile} holds no payload`);
  }
  const throughput = intFlag(v.throughput, 'throughput', -1) ?? (m === 'end-to-end' ? 1000 : -1);
  if (throughput === 0) throw new UsageError("invalid value '0' for --throughput: records/s above 0, or -1 for no limit");
  const partitionsFlag = intFlag(v.partitions, 'partitions', 1, 1_000_000);
  const replicationFactor = intFlag(v['replication-factor'], 'replication-factor', 1, 32767);
  const threadsFlag = intFlag(v.threads, 'threads', 1, 256) ?? 1;
  if (m === 'end-to-end' && threadsFlag > 1) throw new UsageError('end-to-end runs on one thread (it times each record from send to poll in one event loop): leave out --threads');
  const timeoutMs = intFlag(v.timeout, 'timeout', 1) ?? 10_000;
  const reportMs = intFlag(v['reporting-interval'], 'reporting-interval', 100) ?? 5000;
  const warmupMs = intFlag(v['warmup-ms'], 'warmup-ms', 0) ?? 0;
  if (v['warmup-ms'] !== undefined && m !== 'end-to-end') throw new UsageError('--warmup-ms is for perf end-to-end');
  const producer = producerOptions(v['producer-props']);
  const { options: consumer, group: groupProp } = consumerOptions(v['consumer-props']);
  const group = v.group ?? groupProp;
  if (group !== undefined && m !== 'consume') throw new UsageError('--group is for perf consume');
  const json = v.json === true;
  const bootstrap = bootstrapOf(v);

  const partitionCount = await withCluster(v, 'sluice-perf', (cluster) =>
    // end-to-end: the broker stamps each batch as it appends it, which splits every latency in two.
    ensureTopic(cluster, topic, partitionsFlag, replicationFactor, m === 'end-to-end' ? { 'message.timestamp.type': 'LogAppendTime' } : {}),
  );
  // Consuming without a group, a thread with no partition would have nothing to do.
  const threads = m === 'consume' && group === undefined ? Math.min(threadsFlag, partitionCount) : threadsFlag;
  if (threads < threadsFlag) process.stderr.write(`sluice perf: ${threads} thread(s), one per partition of '${topic}' (asked for ${threadsFlag})\n`);
  const all = Array.from({ length: partitionCount }, (_, i) => i);
  const consumed = new SharedArrayBuffer(8);
  const tasks: WorkerTask[] = Array.from({ length: threads }, (_, t) => ({
    mode: m,
    thread: t,
    bootstrap,
    requestTimeoutMs: intFlag(v['request-timeout-ms'], 'request-timeout-ms', 1, 2 ** 31 - 1),
    topic,
    // Fewer partitions than threads: every thread writes to all of them.
    partitions: partitionCount >= threads ? all.filter((p) => p % threads === t) : all,
    records: Math.floor(numRecords! / threads) + (t < numRecords! % threads ? 1 : 0),
    totalRecords: numRecords!,
    consumed,
    throughput: throughput < 0 ? -1 : throughput / threads,
    recordSize,
    payloadText,
    payloadDelimiter: v['payload-delimiter'] ?? '\n',
    producer,
    consumer,
    group,
    timeoutMs,
    decodeRecords: v['decode-records'] === true,
    encodeRecords: v['encode-records'] === true,
    warmupMs,
  }));
  const result = await runWorkers(tasks, m, reportMs, json);
  const out = json ? JSON.stringify(toJson(m, result, { topic, partitions: partitionCount, threads, recordSize: recordSize ?? null, throughput, producer, consumer, group: group ?? null })) : render(m, result);
  process.stdout.write(out + '\n');
  if (m !== 'produce' && result.records < numRecords!) {
    process.stderr.write(`sluice perf ${m}: only ${result.records} of ${numRecords} records within --timeout ${timeoutMs} ms\n`);
    return 1;
  }
  return 0;
}

interface RunResult {
  records: number;
  bytes: number;
  startMs: number;
  endMs: number;
  seconds: number;
  latency: LatencySummary;
  /** end-to-end: latency of the records sent during --warmup-ms, apart from the rest. */
  warmup: (LatencySummary & { records: number }) | null;
  /** end-to-end on a LogAppendTime topic: send to the broker's append, append to delivery. */
  legs: { append: LatencySummary; deliver: LatencySummary } | null;
  rebalanceMs: number;
  fetchSeconds: number;
}

async function runWorkers(tasks: WorkerTask[], mode: PerfMode, reportMs: number, json: boolean): Promise<RunResult> {
  const startMs = Date.now();
  const t0 = performance.now();
  const windows = new Map<number, WindowReport>();
  const hist = new LatencyHistogram();
  const split = { warmup: new LatencyHistogram(), append: new LatencyHistogram(), deliver: new LatencyHistogram() };
  const dones: DoneReport[] = [];
  let lastRecords = 0;
  let lastBytes = 0;
  let lastAt = t0;
  let win = { count: 0, sum: 0, max: 0 };
  const progress = json ? process.stderr : process.stdout;
  const timer = setInterval(() => {
    const now = performance.now();
    let records = 0;
    let bytes = 0;
    for (const w of windows.values()) {
      records += w.records;
      bytes += w.bytes;
    }
    const secs = (now - lastAt) / 1000;
    const avg = win.count > 0 ? win.sum / win.count : 0;
    const dr = records - lastRecords;
    if (mode === 'consume') {
      progress.write(`${consumerTime(Date.now())}, ${records} records consumed, ${(dr / secs).toFixed(1)} records/sec (${((bytes - lastBytes) / secs / 1048576).toFixed(2)} MB/sec)\n`);
    } else if (mode === 'produce') {
      progress.write(producerLine(dr, secs, bytes - lastBytes, { avg, max: win.max, p50: 0, p95: 0, p99: 0, p999: 0 }, false) + '\n');
    } else {
      progress.write(`${records} records received, ${(dr / secs).toFixed(1)} records/sec, ${ms(avg)} ms avg latency, ${ms(win.max)} ms max latency.\n`);
    }
    lastRecords = records;
    lastBytes = bytes;
    lastAt = now;
    win = { count: 0, sum: 0, max: 0 };
  }, reportMs);
  const workers = tasks.map((task) => new Worker(new URL('./perf-worker.js', import.meta.url), { workerData: task, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } }));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.on('message', (msg: WorkerMessage) => {
              if (msg.type === 'window') {
                windows.set(msg.thread, msg);
                win.count += msg.latCount;
                win.sum += msg.latSum;
                win.max = Math.max(win.max, msg.latMax);
              } else if (msg.type === 'done') {
                dones.push(msg);
                hist.merge(msg.hist);
                if (msg.e2e !== undefined) for (const k of ['warmup', 'append', 'deliver'] as const) split[k].merge(msg.e2e[k]);
                resolve();
              } else reject(new Error(msg.message));
            });
            w.on('error', reject);
            w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`perf thread exited with code ${code}`))));
          }),
      ),
    );
  } finally {
    clearInterval(timer);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const records = dones.reduce((s, d) => s + d.records, 0);
  const bytes = dones.reduce((s, d) => s + d.bytes, 0);
  const rebalanceMs = Math.max(0, ...dones.map((d) => d.rebalanceMs));
  const lastRecordAt = Math.max(0, ...dones.map((d) => d.lastRecordAt));
  const fetchStart = Math.min(...dones.map((d) => d.fetchStart));
  // consume: Kafka's end.time is the last record's, not when the idle wait ran out.
  const endMs = mode === 'consume' && lastRecordAt > 0 ? lastRecordAt : startMs + (performance.now() - t0);
  // produce and end-to-end rates count from the first send (Kafka's tools start their clock
  // there too), not from thread start-up and connecting; consume counts from start, as Kafka's.
  const begunAt = mode === 'consume' ? startMs : Math.min(...dones.map((d) => d.begunAt));
  return {
    records,
    bytes,
    startMs,
    endMs,
    seconds: Math.max(1e-3, (endMs - begunAt) / 1000),
    latency: hist.summary(),
    warmup: split.warmup.count > 0 ? { records: split.warmup.count, ...split.warmup.summary() } : null,
    legs: split.append.count > 0 ? { append: split.append.summary(), deliver: split.deliver.summary() } : null,
    rebalanceMs,
    fetchSeconds: Math.max(1e-3, (endMs - fetchStart) / 1000),
  };
}

const MB = 1024 * 1024;

function render(mode: PerfMode, r: RunResult): string {
  if (mode === 'produce') return producerLine(r.records, r.seconds, r.bytes, r.latency, true);
  if (mode === 'consume') {
    const head = 'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec';
    const row = [
      consumerTime(r.startMs),
      consumerTime(r.endMs),
      (r.bytes / MB).toFixed(4),
      (r.bytes / MB / r.seconds).toFixed(4),
      String(r.records),
      (r.records / r.seconds).toFixed(4),
      String(r.rebalanceMs),
      String(Math.round(r.fetchSeconds * 1000)),
      (r.bytes / MB / r.fetchSeconds).toFixed(4),
      (r.records / r.fetchSeconds).toFixed(4),
    ].join(', ');
    return `${head}\n${row}`;
  }
  const pct = (l: LatencySummary) => `p50 ${ms(l.p50)} ms, p95 ${ms(l.p95)} ms, p99 ${ms(l.p99)} ms, p99.9 ${ms(l.p999)} ms, max ${ms(l.max)} ms`;
  const lines = [`${r.records} records, ${(r.records / r.seconds).toFixed(1)} records/sec, end-to-end latency: avg ${ms(r.latency.avg)} ms, ${pct(r.latency)}.`];
  if (r.warmup !== null) lines.push(`warm-up (${r.warmup.records} records, not above): ${pct(r.warmup)}.`);
  if (r.legs !== null) {
    lines.push(`send to broker append (LogAppendTime, 1 ms steps): ${pct(r.legs.append)}.`);
    lines.push(`broker append to delivery: ${pct(r.legs.deliver)}.`);
  }
  return lines.join('\n');
}

function toJson(mode: PerfMode, r: RunResult, params: Record<string, unknown>): Record<string, unknown> {
  const base = {
    test: mode,
    records: r.records,
    bytes: r.bytes,
    seconds: +r.seconds.toFixed(3),
    recordsPerSec: +(r.records / r.seconds).toFixed(1),
    mbPerSec: +(r.bytes / MB / r.seconds).toFixed(3),
    params,
  };
  if (mode === 'consume') {
    return { ...base, startTime: new Date(r.startMs).toISOString(), endTime: new Date(r.endMs).toISOString(), rebalanceTimeMs: r.rebalanceMs, fetchTimeMs: Math.round(r.fetchSeconds * 1000), fetchRecordsPerSec: +(r.records / r.fetchSeconds).toFixed(1), fetchMbPerSec: +(r.bytes / MB / r.fetchSeconds).toFixed(3) };
  }
  const l = r.latency;
  const round = (n: number) => +n.toFixed(3);
  const lat = (l: LatencySummary) => ({ avg: round(l.avg), max: round(l.max), p50: round(l.p50), p95: round(l.p95), p99: round(l.p99), p999: round(l.p999) });
  if (mode === 'produce') return { ...base, latencyMs: lat(l) };
  return {
    ...base,
    latencyMs: lat(l),
    warmupLatencyMs: r.warmup === null ? null : { records: r.warmup.records, ...lat(r.warmup) },
    appendLatencyMs: r.legs === null ? null : lat(r.legs.append),
    deliveryLatencyMs: r.legs === null ? null : lat(r.legs.deliver),
  };
}
