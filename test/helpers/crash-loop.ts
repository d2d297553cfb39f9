/**
 * The crash loop (issue 7): a librdkafka producer (acks=all) and a librdkafka group consumer
 * run against a broker process that is SIGKILLed at random moments and restarted on the same
 * data directory and port; afterwards the broker is restarted cleanly and the log is read back
 * batch by batch (CRC32C checked) and compared with every delivery report and every record
 * the consumer was served.
 *
 *   runCrashLoop(options)  runs one loop and returns a CrashLoopReport; report.problems lists
 *                          every broken guarantee (empty when all held)
 *
 * The bounded CI test (test/reliability-crash-loop.test.ts) and the long run
 * (scripts/crash-loop.sh) both call runCrashLoop, with different numbers.
 *
 * What is checked (see checkLog and checkConsumer):
 *   - log: every batch passes its CRC; offsets are dense from 0 to the end; every record holds
 *     key k<n % keys> and value n
 *   - producer: every acknowledged (partition, offset, n) is in the log at exactly that offset;
 *     with idempotence every n is in the log at most once (exactly once if acknowledged) and
 *     a partition's n increase with the offset; without it, acknowledged n are there at least
 *     once and the acknowledged offsets of a partition carry increasing n
 *   - consumer: it is served what the log holds, never skips (each partition's offsets are a
 *     contiguous range from 0 to the end, re-deliveries allowed), resumes after a restart or a
 *     rebalance no earlier than its last acknowledged commit, and its last commit survives
 *     the clean restart
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { readRecords } from '../../src/record/index.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { WireClient } from './wire-client.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const PRODUCER = path.join(import.meta.dirname, 'crash-producer.py');
const CONSUMER = path.join(import.meta.dirname, 'crash-consumer.py');
/** Debian's python3, where python3-confluent-kafka is installed. */
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export interface CrashLoopOptions {
  durability: 'pagecache' | 'fsync';
  /** --acks-all-fsync (default false: pagecache then really acknowledges from the page cache). */
  acksAllFsync?: boolean;
  idempotent: boolean;
  /** SIGKILLs of the broker. */
  kills: number;
  /** Seed of the PRNG that picks the moments of the kills. */
  seed?: number;
  /** Time the broker lives after it is listening, drawn uniformly from [minUpMs, maxUpMs]. */
  minUpMs?: number;
  maxUpMs?: number;
  /** Records per second the producer offers. */
  rate?: number;
  partitions?: number;
  keys?: number;
  /** Run the group consumer too (default true). */
  consumer?: boolean;
  /**
   * After every Nth kill, also SIGKILL the restarting broker once at a random moment of its
   * start (0-400 ms: recovery, topic loading, before it listens), then start it again (0: never).
   */
  startupKillEvery?: number;
  /** SIGKILL (and restart) the consumer together with every Nth broker kill (0: never). */
  consumerKillEvery?: number;
  /** librdkafka debug contexts for the consumer (its stderr goes to consumer-<i>.err). */
  consumerDebug?: string;
  /** Where data and logs go (default a fresh temp dir); kept when the loop finds a problem. */
  workDir?: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface CrashLoopReport {
  label: string;
  workDir: string;
  kills: number;
  /** Extra kills of a broker that was still starting. */
  startupKills: number;
  consumerKills: number;
  /** Broker incarnations (between kills) during which at least one delivery report came. */
  incarnationsWithAcks: number;
  produced: number;
  acked: number;
  /** Acknowledged without an offset (a duplicate the broker answered with -1). */
  ackedWithoutOffset: number;
  failed: number;
  clientErrors: number;
  logEndOffsets: number[];
  recordsInLog: number;
  /** Records in the log beyond the first copy of each n (only a plain producer may write any). */
  duplicatesInLog: number;
  consumed: number;
  redelivered: number;
  consumerResumes: number;
  commits: number;
  commitFailures: number;
  restartMs: { median: number; max: number };
  /** Broker warnings by message, with counts. */
  brokerWarnings: Record<string, number>;
  durationMs: number;
  problems: string[];
}

// ---------------------------------------------------------------------------------------------
// Processes

/** Newest modification time under dir (ms), for telling whether a build is being written. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) newest = Math.max(newest, fs.statSync(path.join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/**
 * A private copy of the compiled broker (dist/src, the native addon, package.json; node_modules
 * linked), so that a `tsc` or `node-gyp` run in the checkout while the loop runs cannot hand a
 * restarting broker half-written files. Copies again while the build changes under the copy.
 * Returns the CLI path of the copy and a function that removes it.
 */
async function snapshotBuild(): Promise<{ cli: string; remove: () => void }> {
  const sources = [path.join(ROOT, 'dist', 'src'), path.join(ROOT, 'build', 'Release')];
  for (let attempt = 0; ; attempt++) {
    const before = Math.max(...sources.map(newestMtime));
    if (Date.now() - before < 2000 && attempt < 30) {
      await sleep(1000); // a build is being written right now
      continue;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-crash-build-'));
    fs.cpSync(path.join(ROOT, 'dist', 'src'), path.join(dir, 'dist', 'src'), {
      recursive: true,
      filter: (f) => !f.endsWith('.map') && !f.endsWith('.d.ts'),
    });
    fs.mkdirSync(path.join(dir, 'build', 'Release'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'build', 'Release', 'sluice_native.node'), path.join(dir, 'build', 'Release', 'sluice_native.node'));
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    const remove = () => fs.rmSync(dir, { recursive: true, force: true });
    if (Math.max(...sources.map(newestMtime)) === before || attempt >= 30) return { cli: path.join(dir, 'dist', 'src', 'cli', 'index.js'), remove };
    remove();
  }
}

/** Mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A free TCP port on 127.0.0.1, chosen once so restarted brokers come back where clients look. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A child process whose stdout is split into lines as they come. */
class LineProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private partial = '';
  private stderr = '';
  private stderrFile: number | null = null;
  private listeners: ((line: string) => void)[] = [];
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  constructor(readonly proc: ChildProcess, stderrFile?: string) {
    if (stderrFile !== undefined) this.stderrFile = fs.openSync(stderrFile, 'a');
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (d: string) => {
      const parts = (this.partial + d).split('\n');
      this.partial = parts.pop()!;
      for (const line of parts) {
        this.lines.push(line);
        for (const l of this.listeners) l(line);
      }
    });
    proc.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-8192);
      if (this.stderrFile !== null) fs.writeSync(this.stderrFile, d);
    });
    proc.on('close', () => {
      if (this.stderrFile !== null) fs.closeSync(this.stderrFile);
      this.stderrFile = null;
    });
    // A write to the stdin of a child that died is not an error worth crashing over.
    proc.stdin?.on('error', () => {});
    this.exited = new Promise((resolve) =>
      proc.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      }),
    );
  }

  onLine(l: (line: string) => void): void {
    this.listeners.push(l);
  }

  stderrTail(): string {
    return this.stderr;
  }

  async kill(): Promise<void> {
    if (this.exitInfo === null) this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** Closes stdin (the scripts' stop signal) and waits; SIGKILL after timeoutMs. Returns false on timeout. */
  async finish(timeoutMs: number): Promise<boolean> {
    this.proc.stdin!.end();
    const t = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const { signal } = await this.exited;
    clearTimeout(t);
    return signal === null;
  }
}

/** One `sluice serve` process; its output is appended to `logFile`. */
class Broker {
  private out = '';
  private constructor(
    readonly proc: ChildProcess,
    readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  ) {}

  /** Starts a broker and SIGKILLs it after `ms`, listening or not. */
  static async startAndKill(cli: string, dir: string, port: number, args: string[], logFile: string, incarnation: number, ms: number): Promise<void> {
    fs.appendFileSync(logFile, `\n===== broker incarnation ${incarnation} at ${new Date().toISOString()}, killed ${ms} ms into its start\n`);
    const log = fs.openSync(logFile, 'a');
    const proc = spawn(
      process.execPath,
      [cli, 'serve', '--dir', dir, '--port', String(port), '--metrics-port', '0', '--console-port', '0', '--worker-threads', '1', '--log-format', 'json', ...args],
      { stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    const exited = new Promise((r) => proc.on('exit', r));
    await sleep(ms);
    proc.kill('SIGKILL');
    await exited;
  }

  static async start(cli: string, dir: string, port: number, args: string[], logFile: string, incarnation: number): Promise<Broker> {
    fs.appendFileSync(logFile, `\n===== broker incarnation ${incarnation} at ${new Date().toISOString()}\n`);
    const log = fs.openSync(logFile, 'a');
    for (let attempt = 0; ; attempt++) {
      const proc = spawn(
        process.execPath,
        [cli, 'serve', '--dir', dir, '--port', String(port), '--metrics-port', '0', '--console-port', '0', '--worker-threads', '1', '--log-format', 'json', ...args],
        { stdio: ['ignore', 'pipe', log] },
      );
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
      const b = new Broker(proc, exited);
      proc.stdout!.setEncoding('utf8');
      proc.stdout!.on('data', (d: string) => {
        b.out += d;
        fs.appendFileSync(logFile, d);
      });
      const started = await new Promise<boolean>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`broker did not start in 60 s (see ${logFile})`)), 60_000);
        proc.stdout!.on('data', () => {
          if (/listening on [\d.]+:\d+/.test(b.out)) {
            clearTimeout(timer);
            resolve(true);
          }
        });
        void exited.then(() => {
          clearTimeout(timer);
          resolve(false);
        });
      });
      if (started) {
        fs.closeSync(log);
        return b;
      }
      // The port may linger for a moment after a kill; anything else is a real failure.
      const tail = fs.readFileSync(logFile, 'utf8').slice(-4000);
      if (attempt < 20 && /EADDRINUSE/.test(tail)) {
        await sleep(250);
        continue;
      }
      fs.closeSync(log);
      throw new Error(`broker exited before listening (incarnation ${incarnation}):\n${tail}`);
    }
  }

  async kill(): Promise<void> {
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM: a clean shutdown. Resolves with the exit code. */
  async stop(): Promise<number | null> {
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 60_000);
    const { code } = await this.exited;
    clearTimeout(t);
    return code;
  }
}

// ---------------------------------------------------------------------------------------------
// Wire helpers for setup and checking

async function createTopic(port: number, topic: string, partitions: number): Promise<void> {
  const c = await WireClient.connect(port);
  try {
    const r = await c.request(ApiKey.CreateTopics, 5, {
      topics: [{ name: topic, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    const code = r.topics[0]!.errorCode;
    if (code !== 0) throw new Error(`CreateTopics ${topic}: error ${code}`);
  } finally {
    c.close();
  }
}

async function listOffsets(c: WireClient, topic: string, partitions: number, timestamp: number): Promise<number[]> {
  const r = await c.request(ApiKey.ListOffsets, 5, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [...Array(partitions).keys()].map((p) => ({ partitionIndex: p, currentLeaderEpoch: -1, timestamp })) }],
  });
  const out: number[] = [];
  for (const p of r.topics[0]!.partitions) {
    if (p.errorCode !== 0) throw new Error(`ListOffsets ${topic}-${p.partitionIndex}: error ${p.errorCode}`);
    out[p.partitionIndex] = Number(p.offset);
  }
  return out;
}

async function endOffsets(port: number, topic: string, partitions: number): Promise<number[]> {
  const c = await WireClient.connect(port);
  try {
    return await listOffsets(c, topic, partitions, -1);
  } finally {
    c.close();
  }
}

async function committedOffsets(c: WireClient, group: string, topic: string, partitions: number): Promise<number[]> {
  const r = await c.request(ApiKey.OffsetFetch, 7, {
    groupId: group,
    topics: [{ name: topic, partitionIndexes: [...Array(partitions).keys()] }],
    requireStable: false,
  });
  const out: number[] = [];
  for (const p of r.topics![0]!.partitions) out[p.partitionIndex] = Number(p.committedOffset);
  return out;
}

/** A partition as read back: values[offset] = n (undefined where unreadable). */
export interface PartitionLog {
  logStart: number;
  end: number;
  values: number[];
}

/**
 * Reads every partition from its log start to its end with Fetch, batch by batch, checking
 * each batch's CRC32C, dense offsets and the content of every record.
 */
async function checkLog(c: WireClient, topic: string, partitions: number, keys: number, problems: Problems): Promise<PartitionLog[]> {
  const starts = await listOffsets(c, topic, partitions, -2);
  const ends = await listOffsets(c, topic, partitions, -1);
  const logs: PartitionLog[] = [];
  for (let p = 0; p < partitions; p++) {
    const log: PartitionLog = { logStart: starts[p]!, end: ends[p]!, values: [] };
    logs.push(log);
    if (log.logStart !== 0) problems.add('log-start', `partition ${p}: log start offset is ${log.logStart}, expected 0 (nothing was deleted)`);
    let next = log.logStart;
    while (next < log.end) {
      const r = await c.request(ApiKey.Fetch, 11, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 8 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic, partitions: [{ partition: p, currentLeaderEpoch: -1, fetchOffset: next, logStartOffset: -1, partitionMaxBytes: 8 << 20 }] }],
        forgottenTopicsData: [],
        rackId: '',
      });
      const part = r.responses[0]!.partitions[0]!;
      if (part.errorCode !== 0) {
        problems.add('fetch', `partition ${p}: Fetch at offset ${next} failed with error ${part.errorCode}`);
        break;
      }
      if (Number(part.highWatermark) !== log.end) {
        problems.add('fetch', `partition ${p}: high watermark ${part.highWatermark} differs from ListOffsets' ${log.end}`);
      }
      const buf = part.records ?? Buffer.alloc(0);
      const before = next;
      let pos = 0;
      while (buf.length - pos >= 12) {
        const size = buf.readInt32BE(pos + 8) + 12;
        if (size < 61 || size > buf.length - pos) break; // a partial batch at the end of the response
        const batch = buf.subarray(pos, pos + size);
        pos += size;
        let records;
        try {
          records = readRecords(batch, { verifyCrc: true });
        } catch (err) {
          problems.add('corrupt', `partition ${p}: batch served at offset ${next}: ${(err as Error).message}`);
          next = log.end; // nothing after a corrupt batch can be trusted to line up
          break;
        }
        for (const rec of records) {
          if (rec.offset < next) continue; // the part of a batch before the fetch offset
          if (rec.offset !== next) {
            problems.add('gap', `partition ${p}: offset ${rec.offset} follows ${next - 1} (offsets not dense)`);
          }
          next = rec.offset + 1;
          const text = rec.value?.toString() ?? '';
          const n = /^\d+$/.test(text) ? Number(text) : NaN;
          if (Number.isNaN(n) || rec.key?.toString() !== `k${n % keys}`) {
            problems.add('content', `partition ${p} offset ${rec.offset}: key ${rec.key?.toString()} value ${JSON.stringify(text.slice(0, 40))}`);
            continue;
          }
          log.values[rec.offset] = n;
        }
      }
      if (next === before) {
        problems.add('fetch', `partition ${p}: Fetch at offset ${next} (end ${log.end}) returned no whole batch`);
        break;
      }
    }
    if (next > log.end) problems.add('gap', `partition ${p}: records up to offset ${next - 1} beyond the end offset ${log.end}`);
  }
  return logs;
}

/** Broken guarantees, grouped by kind, the first few of each kept in full. */
export class Problems {
  private readonly byKind = new Map<string, { count: number; examples: string[] }>();
  add(kind: string, message: string): void {
    let k = this.byKind.get(kind);
    if (k === undefined) this.byKind.set(kind, (k = { count: 0, examples: [] }));
    k.count++;
    if (k.examples.length < 8) k.examples.push(message);
  }
  kinds(): string[] {
    return [...this.byKind.keys()];
  }
  list(): string[] {
    const out: string[] = [];
    for (const [kind, { count, examples }] of this.byKind) {
      out.push(`${kind}: ${count} time(s)`);
      for (const e of examples) out.push(`  ${e}`);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Checks of the clients' views against the log

export interface ProducerView {
  produced: number;
  acks: { p: number; o: number; n: number }[];
  failed: Set<number>;
  clientErrors: number;
  done: boolean;
}

/**
 * Client error events carrying a broker error code (librdkafka's local errors start with
 * '_': lost connections and the like, expected while the broker is down) are broker faults:
 * an UNKNOWN_SERVER_ERROR, a storage error...
 */
function checkClientErrors(who: string, lines: string[], problems: Problems): void {
  for (const line of lines) {
    if (line.startsWith('error ') && !line.startsWith('error _')) problems.add('broker-error', `${who}: ${line.slice(0, 300)}`);
  }
}

export function parseProducer(lines: string[]): ProducerView {
  const v: ProducerView = { produced: 0, acks: [], failed: new Set(), clientErrors: 0, done: false };
  for (const line of lines) {
    const w = line.split(' ');
    if (w[0] === 'ack') v.acks.push({ p: Number(w[1]), o: Number(w[2]), n: Number(w[3]) });
    else if (w[0] === 'fail') v.failed.add(Number(w[1]));
    else if (w[0] === 'error') v.clientErrors++;
    else if (w[0] === 'done') {
      v.done = true;
      v.produced = Number(w[1]);
    }
  }
  return v;
}

export function checkProducer(view: ProducerView, logs: PartitionLog[], idempotent: boolean, problems: Problems): { duplicates: number } {
  if (!view.done) problems.add('producer', 'the producer did not finish (no "done" line)');
  for (const n of view.failed) problems.add('producer-failed', `record ${n} was reported as failed (delivery report error)`);
  // Where each n is in the log.
  const where = new Map<number, { p: number; o: number }[]>();
  for (let p = 0; p < logs.length; p++) {
    const values = logs[p]!.values;
    for (let o = 0; o < values.length; o++) {
      const n = values[o];
      if (n === undefined) continue;
      if (n >= view.produced) problems.add('phantom', `partition ${p} offset ${o} holds n=${n}, never produced (${view.produced} were)`);
      let at = where.get(n);
      if (at === undefined) where.set(n, (at = []));
      at.push({ p, o });
    }
  }
  let duplicates = 0;
  for (const at of where.values()) duplicates += at.length - 1;
  const ackedN = new Set<number>();
  for (const { p, o, n } of view.acks) {
    ackedN.add(n);
    if (o >= 0) {
      const got = logs[p]?.values[o];
      if (got !== n) problems.add('lost', `acknowledged n=${n} at partition ${p} offset ${o}, the log holds ${got === undefined ? 'nothing' : `n=${got}`} there`);
    } else if (!(where.get(n) ?? []).some((x) => x.p === p)) {
      problems.add('lost', `acknowledged n=${n} (partition ${p}, no offset) is not in partition ${p}`);
    }
    const at = where.get(n) ?? [];
    if (at.some((x) => x.p !== p)) problems.add('partition', `n=${n} acknowledged in partition ${p} is also in partition ${at.find((x) => x.p !== p)!.p}`);
  }
  if (ackedN.size !== view.acks.length) problems.add('producer', `${view.acks.length} delivery reports for ${ackedN.size} distinct records`);
  if (view.done && ackedN.size + view.failed.size !== view.produced) {
    problems.add('producer', `${view.produced} produced but ${ackedN.size} acknowledged and ${view.failed.size} failed`);
  }
  if (idempotent) {
    for (const [n, at] of where) {
      if (at.length > 1) problems.add('duplicate', `idempotent producer: n=${n} is in the log ${at.length} times (${at.map((x) => `${x.p}@${x.o}`).join(', ')})`);
    }
    for (let p = 0; p < logs.length; p++) {
      let last = -1;
      let lastOffset = -1;
      const values = logs[p]!.values;
      for (let o = 0; o < values.length; o++) {
        const n = values[o];
        if (n === undefined) continue;
        if (n <= last) problems.add('order', `partition ${p}: n=${n} at offset ${o} after n=${last} at offset ${lastOffset}`);
        last = n;
        lastOffset = o;
      }
    }
  } else {
    // Plain producer: retried batches may be written twice; the acknowledged copies keep order.
    for (let p = 0; p < logs.length; p++) {
      const acked = view.acks.filter((a) => a.p === p && a.o >= 0).sort((a, b) => a.o - b.o);
      for (let i = 1; i < acked.length; i++) {
        if (acked[i]!.n <= acked[i - 1]!.n) {
          problems.add('order', `partition ${p}: acknowledged n=${acked[i]!.n} at offset ${acked[i]!.o} after n=${acked[i - 1]!.n} at offset ${acked[i - 1]!.o}`);
        }
      }
    }
  }
  return { duplicates };
}

interface ConsumerStats {
  consumed: number;
  redelivered: number;
  resumes: number;
  commits: number;
  commitFailures: number;
  lastCommit: number[];
}

/**
 * Walks the consumer's incarnations in order. Per partition: maxSeen is one past the highest
 * offset served so far (by any incarnation); a record served at an offset above maxSeen is a
 * skip. Every point where the consumer (re)starts reading a partition (first record of an
 * incarnation, or a jump back after a rebalance) must lie between its last acknowledged commit
 * and maxSeen.
 */
export function checkConsumer(incarnations: string[][], logs: PartitionLog[], problems: Problems): ConsumerStats {
  const partitions = logs.length;
  const maxSeen = new Array<number>(partitions).fill(0);
  const lastCommit = new Array<number>(partitions).fill(0);
  const stats: ConsumerStats = { consumed: 0, redelivered: 0, resumes: 0, commits: 0, commitFailures: 0, lastCommit };
  incarnations.forEach((lines, i) => {
    const lastGot = new Map<number, number>();
    for (const line of lines) {
      const w = line.split(' ');
      if (w[0] === 'got') {
        const p = Number(w[1]);
        const o = Number(w[2]);
        const n = Number(w[3]);
        stats.consumed++;
        const inLog = logs[p]?.values[o];
        if (inLog !== n) problems.add('consumer-served', `consumer ${i} was served n=${n} at partition ${p} offset ${o}; the log holds ${inLog === undefined ? 'nothing' : `n=${inLog}`} there`);
        const prev = lastGot.get(p);
        if (prev === undefined || o !== prev + 1) {
          stats.resumes++;
          if (o > maxSeen[p]!) problems.add('consumer-skip', `consumer ${i}: partition ${p} jumped to offset ${o}, offsets ${maxSeen[p]}..${o - 1} were never served`);
          if (o < lastCommit[p]!) problems.add('consumer-commit-lost', `consumer ${i}: partition ${p} resumed at offset ${o}, below its acknowledged commit ${lastCommit[p]}`);
        }
        if (o < maxSeen[p]!) stats.redelivered++;
        maxSeen[p] = Math.max(maxSeen[p]!, o + 1);
        lastGot.set(p, o);
      } else if (w[0] === 'commit') {
        const p = Number(w[1]);
        const o = Number(w[2]);
        stats.commits++;
        if (o > maxSeen[p]!) problems.add('consumer-commit', `consumer ${i}: committed ${o} on partition ${p} beyond the records it was served (${maxSeen[p]})`);
        lastCommit[p] = o;
      } else if (w[0] === 'commitfail') {
        stats.commitFailures++;
      }
    }
  });
  for (let p = 0; p < partitions; p++) {
    if (maxSeen[p] !== logs[p]!.end) problems.add('consumer-end', `partition ${p}: consumer read up to ${maxSeen[p]}, the log ends at ${logs[p]!.end}`);
  }
  return stats;
}

/**
 * The broker's JSON log lines at warn level and above: errors and fatals are problems,
 * warnings are counted (by message) for the report.
 */
function scanBrokerLog(file: string, problems: Problems): Map<string, number> {
  const warnings = new Map<string, number>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: { level?: number; msg?: string; err?: { message?: string } };
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    const level = entry.level ?? 0;
    if (level >= 50) problems.add('broker-log', line.slice(0, 400));
    else if (level >= 40) warnings.set(entry.msg ?? '?', (warnings.get(entry.msg ?? '?') ?? 0) + 1);
  }
  return warnings;
}

// ---------------------------------------------------------------------------------------------
// The loop

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!;
}

export async function runCrashLoop(options: CrashLoopOptions): Promise<CrashLoopReport> {
  const o = {
    acksAllFsync: false,
    seed: 1,
    minUpMs: 100,
    maxUpMs: 800,
    rate: 1000,
    partitions: 4,
    keys: 16,
    consumer: true,
    consumerKillEvery: 0,
    startupKillEvery: 0,
    ...options,
    log: options.log ?? (() => {}),
  };
  const label = `${o.durability}${o.durability === 'pagecache' ? `/acks-all-fsync=${o.acksAllFsync}` : ''}/${o.idempotent ? 'idempotent' : 'plain'}/seed=${o.seed}`;
  const started = Date.now();
  const workDir = o.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-crash-loop-'));
  const dataDir = path.join(workDir, 'data');
  const brokerLog = path.join(workDir, 'broker.log');
  fs.mkdirSync(dataDir, { recursive: true });
  const topic = 'crash';
  const group = 'crash-group';
  const brokerArgs = ['--durability', o.durability, '--acks-all-fsync', String(o.acksAllFsync)];
  const port = await freePort();
  const rng = prng(o.seed);
  const problems = new Problems();
  const restartMs: number[] = [];
  const build = await snapshotBuild();
  let incarnation = 0;
  let broker: Broker;
  try {
    broker = await Broker.start(build.cli, dataDir, port, brokerArgs, brokerLog, incarnation);
  } catch (err) {
    build.remove();
    throw err;
  }
  const bootstrap = `127.0.0.1:${port}`;
  let producer: LineProcess | undefined;
  const consumers: LineProcess[] = [];
  const startConsumer = () => {
    const debug = o.consumerDebug ? ['--debug', o.consumerDebug] : [];
    const c = new LineProcess(
      spawn(PYTHON, [CONSUMER, '--bootstrap', bootstrap, '--topic', topic, '--group', group, ...debug], { stdio: ['pipe', 'pipe', 'pipe'] }),
      path.join(workDir, `consumer-${consumers.length}.err`),
    );
    consumers.push(c);
    return c;
  };
  try {
    await createTopic(port, topic, o.partitions);
    producer = new LineProcess(
      spawn(
        PYTHON,
        [PRODUCER, '--bootstrap', bootstrap, '--topic', topic, '--idempotent', o.idempotent ? '1' : '0', '--rate', String(o.rate), '--keys', String(o.keys)],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      ),
    );
    let acks = 0;
    producer.onLine((l) => {
      if (l.startsWith('ack ')) acks++;
    });
    let consumer = o.consumer ? startConsumer() : undefined;
    // The kills start once the producer is under way (its first delivery report).
    const firstAckBy = Date.now() + 60_000;
    while (acks === 0 && Date.now() < firstAckBy && producer.exitInfo === null) await sleep(20);
    if (acks === 0) throw new Error(`the producer acknowledged nothing within 60 s: ${producer.stderrTail()}`);
    let consumerKills = 0;
    let startupKills = 0;
    let incarnationsWithAcks = 0;
    let acksAtStart = 0;
    for (let k = 1; k <= o.kills; k++) {
      const upMs = Math.round(o.minUpMs + rng() * (o.maxUpMs - o.minUpMs));
      await sleep(upMs);
      if (producer.exitInfo !== null) throw new Error(`the producer exited early (${JSON.stringify(producer.exitInfo)}): ${producer.stderrTail()}`);
      await broker.kill();
      const killConsumer = consumer !== undefined && o.consumerKillEvery > 0 && k % o.consumerKillEvery === 0;
      if (killConsumer) {
        await consumer!.kill();
        consumerKills++;
      }
      const acked = acks - acksAtStart;
      if (acked > 0) incarnationsWithAcks++;
      const t0 = Date.now();
      let startupKill = '';
      if (o.startupKillEvery > 0 && k % o.startupKillEvery === 0) {
        const ms = Math.round(rng() * 400);
        await Broker.startAndKill(build.cli, dataDir, port, brokerArgs, brokerLog, ++incarnation, ms);
        startupKills++;
        startupKill = `, killed once more ${ms} ms into its start`;
      }
      broker = await Broker.start(build.cli, dataDir, port, brokerArgs, brokerLog, ++incarnation);
      restartMs.push(Date.now() - t0);
      acksAtStart = acks;
      if (killConsumer) consumer = startConsumer();
      o.log(`[${label}] kill ${k}/${o.kills} after ${upMs} ms up: ${acked} acks in that incarnation, ${acks} in all; restart ${restartMs.at(-1)} ms${startupKill}${killConsumer ? ' (consumer killed too)' : ''}`);
    }
    // Let the producer settle everything it has in flight against a broker that stays up.
    if (!(await producer.finish(180_000))) problems.add('producer', 'the producer did not finish within 180 s of being told to stop');
    if (acks > acksAtStart) incarnationsWithAcks++;
    if (consumer !== undefined) {
      const ends = await endOffsets(port, topic, o.partitions);
      const seen = new Array<number>(o.partitions).fill(0);
      const committed = new Array<number>(o.partitions).fill(0);
      const caughtUp = () => ends.every((e, p) => seen[p]! >= e && committed[p]! >= e);
      const track = (l: string) => {
        const w = l.split(' ');
        if (w[0] === 'got') seen[Number(w[1])] = Math.max(seen[Number(w[1])]!, Number(w[2]) + 1);
        if (w[0] === 'commit') committed[Number(w[1])] = Number(w[2]);
      };
      for (const line of consumer.lines) track(line);
      consumer.onLine(track);
      const deadline = Date.now() + 60_000;
      while (!caughtUp() && Date.now() < deadline && consumer.exitInfo === null) await sleep(100);
      if (!caughtUp()) problems.add('consumer', `the consumer did not catch up within 60 s: read ${seen.join(',')}, committed ${committed.join(',')}, ends ${ends.join(',')}`);
      if (!(await consumer.finish(30_000))) problems.add('consumer', 'the consumer did not close within 30 s');
    }
    // A clean stop and start, then read everything back.
    const code = await broker.stop();
    if (code !== 0) problems.add('broker', `clean shutdown exited with ${code}`);
    broker = await Broker.start(build.cli, dataDir, port, brokerArgs, brokerLog, ++incarnation);
    const c = await WireClient.connect(port);
    let logs: PartitionLog[];
    let committedAfter: number[] = [];
    try {
      logs = await checkLog(c, topic, o.partitions, o.keys, problems);
      if (o.consumer) committedAfter = await committedOffsets(c, group, topic, o.partitions);
    } finally {
      c.close();
    }
    const view = parseProducer(producer.lines);
    checkClientErrors('producer', producer.lines, problems);
    consumers.forEach((x, i) => checkClientErrors(`consumer ${i}`, x.lines, problems));
    const brokerWarnings = scanBrokerLog(brokerLog, problems);
    const { duplicates } = checkProducer(view, logs, o.idempotent, problems);
    const stats = o.consumer ? checkConsumer(consumers.map((x) => x.lines), logs, problems) : undefined;
    if (stats !== undefined) {
      for (let p = 0; p < o.partitions; p++) {
        // A consumer killed with a commit in flight may have landed one it never heard of.
        if (committedAfter[p]! < stats.lastCommit[p]!) {
          problems.add('consumer-commit-lost', `partition ${p}: committed offset after the clean restart is ${committedAfter[p]}, the last acknowledged commit was ${stats.lastCommit[p]}`);
        }
        if (committedAfter[p]! > logs[p]!.end) {
          problems.add('consumer-commit', `partition ${p}: committed offset after the clean restart is ${committedAfter[p]}, beyond the log end ${logs[p]!.end}`);
        }
      }
    }
    if (view.acks.length === 0) problems.add('producer', 'nothing was acknowledged at all');
    const code2 = await broker.stop();
    if (code2 !== 0) problems.add('broker', `final clean shutdown exited with ${code2}`);
    const report: CrashLoopReport = {
      label,
      workDir,
      kills: o.kills,
      startupKills,
      consumerKills,
      incarnationsWithAcks,
      produced: view.produced,
      acked: view.acks.length,
      ackedWithoutOffset: view.acks.filter((a) => a.o < 0).length,
      failed: view.failed.size,
      clientErrors: view.clientErrors,
      logEndOffsets: logs.map((l) => l.end),
      recordsInLog: logs.reduce((s, l) => s + l.end - l.logStart, 0),
      duplicatesInLog: duplicates,
      consumed: stats?.consumed ?? 0,
      redelivered: stats?.redelivered ?? 0,
      consumerResumes: stats?.resumes ?? 0,
      commits: stats?.commits ?? 0,
      commitFailures: stats?.commitFailures ?? 0,
      restartMs: { median: median(restartMs), max: Math.max(0, ...restartMs) },
      brokerWarnings: Object.fromEntries(brokerWarnings),
      durationMs: Date.now() - started,
      problems: problems.list(),
    };
    // Keep the client transcripts beside the data for a look after a failure.
    fs.writeFileSync(path.join(workDir, 'producer.out'), producer.lines.join('\n') + '\n');
    consumers.forEach((x, i) => fs.writeFileSync(path.join(workDir, `consumer-${i}.out`), x.lines.join('\n') + '\n'));
    if (report.problems.length === 0 && o.workDir === undefined) fs.rmSync(workDir, { recursive: true, force: true });
    return report;
  } catch (err) {
    (err as Error).message += ` (data and logs in ${workDir})`;
    throw err;
  } finally {
    await producer?.kill();
    for (const c of consumers) await c.kill();
    if (broker.proc.exitCode === null && broker.proc.signalCode === null) await broker.kill();
    build.remove();
  }
}

/** A few lines for a person. */
export function formatReport(r: CrashLoopReport): string {
  return [
    `${r.label}: ${r.kills} broker kills (${r.incarnationsWithAcks} incarnations acknowledged records) + ${r.startupKills} during a start, ${r.consumerKills} consumer kills, ${(r.durationMs / 1000).toFixed(1)} s`,
    `  producer: ${r.produced} produced, ${r.acked} acked (${r.ackedWithoutOffset} without offset), ${r.failed} failed, ${r.clientErrors} client error events`,
    `  log: ${r.recordsInLog} records, end offsets ${r.logEndOffsets.join(',')}, ${r.duplicatesInLog} duplicates`,
    `  consumer: ${r.consumed} records served (${r.redelivered} re-deliveries, ${r.consumerResumes} resume points), ${r.commits} commits, ${r.commitFailures} failed commits`,
    `  broker restart: median ${r.restartMs.median} ms, max ${r.restartMs.max} ms; warnings: ${Object.keys(r.brokerWarnings).length === 0 ? 'none' : Object.entries(r.brokerWarnings).map(([m, n]) => `${n}x ${m}`).join('; ')}`,
    r.problems.length === 0 ? '  problems: none' : `  PROBLEMS (data kept in ${r.workDir}):\n${r.problems.map((p) => `    ${p}`).join('\n')}`,
  ].join('\n');
}
