/**
 * The consumer-group benchmark, against a `sluice serve` process with group members as
 * separate Node processes (bench/group-member.mjs, kafkajs 2.2.4) and, when installed, kcat.
 *
 *   node dist/bench/groups.js [--quick] [--records=N] [--rebalances=N] [--runs=N]
 *
 * 1. Rebalance latency. Two members of group G stay up on a 6-partition topic; `rebalances`
 *    times a third member starts, then is stopped (SIGTERM: kafkajs disconnect, LeaveGroup).
 *    Each change is timed until DescribeGroups (polled every POLL_MS over one socket, decoded
 *    with Sluice's own codec) says Stable with 3 members of 2 partitions (join) or 2 members of
 *    3 partitions (leave). Two starting points each:
 *      join  from spawn            node start-up + kafkajs connect + the rebalance
 *      join  from first JoinGroup  the rebalance alone: the new member's first JoinGroup sent
 *      leave from SIGTERM          kafkajs stopping its fetch loop + LeaveGroup + the rebalance
 *      leave from LeaveGroup       the rebalance alone
 *    JoinGroup/LeaveGroup times are kafkajs' `sentAt` (the child's Date.now(), whole ms, so up
 *    to 1 ms early); the end is when the poll's answer arrives (up to POLL_MS + one round
 *    trip late). Members run heartbeatInterval 100, maxWaitTimeInMs 100, sessionTimeout 6000
 *    (SLUICE_BENCH_HEARTBEAT_MS and SLUICE_BENCH_MAX_WAIT_MS change the first two). The notes
 *    split the rebalance: until the last member's JoinGroup went out is the clients noticing
 *    (kafkajs heartbeats only after an empty fetch, so it waits up to maxWait + interval);
 *    from there to Stable is the broker's join/sync and the leader's SyncGroup.
 *    In these rows "records" counts rebalances, so records/s is rebalances per second of
 *    rebalancing; read the latency columns (p99 = max at 20 samples).
 * 2. Consume throughput. `records` 100-byte records go to the topic uncompressed (kafkajs has
 *    no lz4) with acks=1 by build/rdkafka-perf (librdkafka; the fastest loader here, about
 *    0.5 M records/s), or by a kafkajs producer when librdkafka-dev is missing. Then fresh
 *    groups read everything from the beginning: 1 member against 3 members, with kafkajs
 *    (eachBatch; each process reports the times of its first and last record) and with
 *    `kcat -G` (first record = first stdout chunk, last = its last "Reached end of topic"
 *    line). The time runs from the first record any member got to the last one any member
 *    got. All members start together and the broker's group.initial.rebalance.delay.ms
 *    (INITIAL_DELAY_MS) gathers them into one generation, so no rebalance falls inside the run.
 *
 * Everything started here (broker, members, kcat, the data directory) is stopped and removed
 * in `finally` blocks, and members exit by themselves when their stdin closes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiKey, decodeResponse, encodeRequest, type RequestInput, type ResponseBody } from '../src/protocol/apis.js';
import { decodeAssignment } from '../src/group/index.js';
import { hasCommand, stop, waitForLine } from './peers.js';
import { buildLoadGenerator } from './wire.js';
import { benchDir, machine, median, medianOf, now, percentiles, table, throughput, type Throughput } from './util.js';

export interface GroupBenchOptions {
  /** Records produced for the throughput runs. */
  records: number;
  /** Joins (each followed by a leave) timed. */
  rebalances: number;
  /** Throughput runs per client and group size; the median is kept (default 1). */
  runs?: number;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'index.js');
const MEMBER = path.join(ROOT, 'bench', 'group-member.mjs');
const PERF = path.join(ROOT, 'build', 'rdkafka-perf');
const TOPIC = 'bench-groups';
const PARTITIONS = 6;
const RECORD_BYTES = 100;
const POLL_MS = 2;
const INITIAL_DELAY_MS = 1000;
const STALL_MS = 60_000;

/** Epoch milliseconds with sub-millisecond precision, the clock the members print. */
const epochNow = () => performance.timeOrigin + now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- processes --------------------------------------------------------------------------------

/** Every child still running; `stopAll` ends them, and the exit hook kills any left. */
const running = new Set<ChildProcess>();
/** Data directories in use, removed on the way out even when the run is interrupted. */
const dirs = new Set<string>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.once('error', () => running.delete(child));
  return child;
}

async function stopAll(): Promise<void> {
  await Promise.all([...running].map((c) => stop(c)));
}

interface MemberEvent {
  event: string;
  at?: number;
  [k: string]: unknown;
}

/** A bench/group-member.mjs process: its JSON lines as events, waitable. */
class Member {
  readonly child: ChildProcess;
  readonly events: MemberEvent[] = [];
  readonly exited: Promise<number | null>;
  private stderr = '';
  private partial = '';
  private listeners: (() => void)[] = [];

  constructor(
    readonly mode: 'member' | 'count' | 'produce',
    readonly args: string[],
  ) {
    this.child = track(spawn(process.execPath, [MEMBER, mode, ...args], { stdio: ['pipe', 'pipe', 'pipe'] }));
    this.child.stdout!.on('data', (d: Buffer) => this.onData(d));
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    // 'close', not 'exit': every line it printed has been read by then.
    this.exited = new Promise((resolve) => this.child.once('close', (code) => {
      this.notify();
      resolve(code);
    }));
  }

  private onData(d: Buffer): void {
    const text = this.partial + d.toString();
    const lines = text.split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) if (line.trim() !== '') this.events.push(JSON.parse(line) as MemberEvent);
    this.notify();
  }

  private notify(): void {
    for (const l of this.listeners.splice(0)) l();
  }

  /** The first event (already seen or to come) matching `match`. */
  async waitFor(match: (e: MemberEvent) => boolean, ms = STALL_MS, what = 'event'): Promise<MemberEvent> {
    const deadline = now() + ms;
    for (;;) {
      const e = this.events.find(match);
      if (e) return e;
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`member ${this.mode} exited before ${what}:\n${this.stderr}`);
      const left = deadline - now();
      if (left <= 0) throw new Error(`member ${this.mode}: no ${what} after ${ms} ms:\n${this.stderr}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.listeners.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  stop(): Promise<void> {
    return stop(this.child);
  }
}

// ---- a minimal wire client (Sluice's codec, one socket, replies in order) ---------------------

class Wire {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: ((frame: Buffer) => void)[] = [];
  private correlationId = 1;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffered = this.buffered.length === 0 ? d : Buffer.concat([this.buffered, d]);
      while (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0);
        if (this.buffered.length < 4 + size) break;
        const frame = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        this.waiting.shift()?.(frame);
      }
    });
  }

  static connect(host: string, port: number): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => {
        s.setNoDelay(true);
        resolve(new Wire(s));
      });
      s.once('error', reject);
    });
  }

  async request<K extends ApiKey>(apiKey: K, version: number, body: RequestInput<K>): Promise<ResponseBody<K>> {
    const correlationId = this.correlationId++;
    const frame = encodeRequest(apiKey, version, correlationId, 'bench-groups', body, { sizePrefix: true });
    const response = new Promise<Buffer>((r) => this.waiting.push(r));
    this.socket.write(Buffer.concat([...frame.chunks]));
    const decoded = decodeResponse(apiKey, version, await response);
    if (decoded.correlationId !== correlationId) throw new Error(`correlation id ${decoded.correlationId}, expected ${correlationId}`);
    return decoded.body;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Partitions held by each member when the group is Stable; undefined in any other state. */
async function describe(wire: Wire, groupId: string): Promise<number[] | undefined> {
  const r = await wire.request(ApiKey.DescribeGroups, 1, { groups: [groupId] });
  const g = r.groups[0]!;
  if (g.errorCode !== 0) throw new Error(`DescribeGroups ${groupId}: error ${g.errorCode}`);
  if (g.groupState !== 'Stable') return undefined;
  return g.members.map((m) => decodeAssignment(m.memberAssignment).assignedPartitions.reduce((n, t) => n + t.partitions.length, 0));
}

/** Polls until `groupId` is Stable with `members` members of `each` partitions; returns when the answer came. */
async function untilStable(wire: Wire, groupId: string, members: number, each: number, ms = STALL_MS): Promise<number> {
  const deadline = now() + ms;
  let last: number[] | undefined;
  for (;;) {
    last = await describe(wire, groupId);
    const at = epochNow();
    if (last && last.length === members && last.every((n) => n === each)) return at;
    if (now() > deadline) throw new Error(`group ${groupId} not Stable with ${members}x${each} after ${ms} ms (last: ${JSON.stringify(last)})`);
    await sleep(POLL_MS);
  }
}

// ---- broker and data --------------------------------------------------------------------------

interface Broker {
  host: string;
  port: number;
  bootstrap: string;
  child: ChildProcess;
}

async function startBroker(dir: string): Promise<Broker> {
  const child = track(
    spawn(
      process.execPath,
      [CLI, 'serve', '--dir', dir, '--port', '0', '--group-min-session-timeout-ms', '1000', '--group-initial-rebalance-delay-ms', String(INITIAL_DELAY_MS), '--console-port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  const m = await waitForLine(child, /listening on (\S+):(\d+)/, 15_000, 'sluice serve');
  child.stdout!.resume(); // keep draining its logs so the pipe never fills
  child.stderr!.resume();
  return { host: m[1]!, port: Number(m[2]), bootstrap: `${m[1]}:${m[2]}`, child };
}

async function createTopic(wire: Wire): Promise<void> {
  const r = await wire.request(ApiKey.CreateTopics, 4, {
    topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: '-1' }] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  const t = r.topics[0]!;
  if (t.errorCode !== 0) throw new Error(`CreateTopics ${TOPIC}: error ${t.errorCode} ${t.errorMessage ?? ''}`);
}

/** High watermarks of the topic's partitions. */
async function highWatermarks(wire: Wire): Promise<number[]> {
  const r = await wire.request(ApiKey.ListOffsets, 1, {
    replicaId: -1,
    topics: [{ name: TOPIC, partitions: Array.from({ length: PARTITIONS }, (_, p) => ({ partitionIndex: p, timestamp: -1 })) }],
  });
  return r.topics[0]!.partitions.map((p) => {
    if (p.errorCode !== 0) throw new Error(`ListOffsets ${TOPIC}-${p.partitionIndex}: error ${p.errorCode}`);
    return p.offset;
  });
}

/** Fills the topic with `records` 100-byte records; returns what did it and its rate. */
async function produce(broker: Broker, wire: Wire, records: number): Promise<string> {
  const skipped = buildLoadGenerator();
  let how: string;
  if (skipped === undefined) {
    const out = await new Promise<string>((resolve, reject) => {
      const args = ['produce', '-b', broker.bootstrap, '-t', TOPIC, '-n', String(records), '-s', String(RECORD_BYTES), '-z', 'none', '-a', '1'];
      const child = track(spawn(PERF, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
      let text = '';
      child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`rdkafka-perf produce exited ${code}:\n${text}`))));
    });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { recordsPerSec: number; errors: number };
    if (r.errors !== 0) throw new Error(`rdkafka-perf: ${r.errors} delivery errors`);
    how = `librdkafka (rdkafka-perf, acks=1, no codec) ${(r.recordsPerSec / 1e6).toFixed(2)} M rec/s`;
  } else {
    const p = new Member('produce', ['--broker', broker.bootstrap, '--topic', TOPIC, '--records', String(records)]);
    const e = await p.waitFor((x) => x.event === 'produced', 10 * 60_000, 'produce');
    await p.exited;
    how = `kafkajs producer (acks=1, batches of 5000) ${((records / (e['ms'] as number)) * 1e3 / 1e6).toFixed(2)} M rec/s; rdkafka-perf: ${skipped}`;
  }
  const hw = await highWatermarks(wire);
  const total = hw.reduce((a, b) => a + b, 0);
  if (total !== records) throw new Error(`topic holds ${total} records, expected ${records} (${hw.join(', ')})`);
  return how;
}

// ---- 1. rebalance latency ---------------------------------------------------------------------

interface RebalanceSamples {
  joinFromSpawn: number[];
  joinFromJoinGroup: number[];
  joinAllAssigned: number[];
  /** The last member's JoinGroup sent -> Stable: the broker's share plus SyncGroup. */
  joinAfterLastJoinGroup: number[];
  leaveFromSignal: number[];
  leaveFromLeaveGroup: number[];
  leaveAllAssigned: number[];
  leaveAfterLastJoinGroup: number[];
}

async function rebalances(broker: Broker, wire: Wire, times: number): Promise<RebalanceSamples> {
  const groupId = 'bench-rebalance';
  const args = ['--broker', broker.bootstrap, '--topic', TOPIC, '--group', groupId];
  const s: RebalanceSamples = { joinFromSpawn: [], joinFromJoinGroup: [], joinAllAssigned: [], joinAfterLastJoinGroup: [], leaveFromSignal: [], leaveFromLeaveGroup: [], leaveAllAssigned: [], leaveAfterLastJoinGroup: [] };
  /** When the last JoinGroup after `since` went out, over `members` (kafkajs' sentAt). */
  const lastJoinGroup = (members: Member[], since: number) =>
    Math.max(...members.flatMap((m) => m.events.filter((e) => e.event === 'request' && e['api'] === 'JoinGroup' && (e['sentAt'] as number) >= Math.floor(since)).map((e) => e['sentAt'] as number)));
  const stay = [new Member('member', args), new Member('member', args)];
  try {
    await untilStable(wire, groupId, 2, 3);
    for (let i = 0; i < times; i++) {
      await sleep(300); // let the members settle into their fetch loops
      const t0 = epochNow();
      const third = new Member('member', args);
      try {
        const stable = await untilStable(wire, groupId, 3, 2);
        const all = [...stay, third];
        const joined = await Promise.all(all.map((m) => m.waitFor((e) => e.event === 'join' && e.at! > t0 && e['partitions'] === 2, STALL_MS, 'join with 2 partitions')));
        const firstJoin = await third.waitFor((e) => e.event === 'request' && e['api'] === 'JoinGroup');
        s.joinFromSpawn.push(stable - t0);
        s.joinFromJoinGroup.push(stable - (firstJoin['sentAt'] as number));
        s.joinAllAssigned.push(Math.max(...joined.map((e) => e.at!)) - t0);
        s.joinAfterLastJoinGroup.push(stable - lastJoinGroup(all, t0));

        await sleep(300);
        const t1 = epochNow();
        third.child.kill('SIGTERM');
        const stable2 = await untilStable(wire, groupId, 2, 3);
        const code = await third.exited;
        if (code !== 0) throw new Error(`the leaving member exited ${code}`);
        const leave = await third.waitFor((e) => e.event === 'request' && e['api'] === 'LeaveGroup', 1, 'LeaveGroup');
        const rejoined = await Promise.all(stay.map((m) => m.waitFor((e) => e.event === 'join' && e.at! > t1 && e['partitions'] === 3, STALL_MS, 'join with 3 partitions')));
        s.leaveFromSignal.push(stable2 - t1);
        s.leaveFromLeaveGroup.push(stable2 - (leave['sentAt'] as number));
        s.leaveAllAssigned.push(Math.max(...rejoined.map((e) => e.at!)) - t1);
        s.leaveAfterLastJoinGroup.push(stable2 - lastJoinGroup(stay, t1));
      } finally {
        await third.stop();
      }
    }
  } finally {
    await Promise.all(stay.map((m) => m.stop()));
  }
  return s;
}

function latencyRow(name: string, samples: number[], note: string): Throughput {
  const seconds = samples.reduce((a, b) => a + b, 0) / 1000;
  const row = throughput(name, samples.length, 0, seconds, percentiles(samples));
  row.note = note;
  return row;
}

// ---- 2. consume throughput --------------------------------------------------------------------

interface ConsumeRun {
  records: number;
  seconds: number;
  /** Records per member, to show the split. */
  split: number[];
}

/** kafkajs: `members` processes in a fresh group, started together, stopped once all records are in. */
async function kafkajsConsume(broker: Broker, members: number, groupId: string, records: number): Promise<ConsumeRun> {
  const args = ['--broker', broker.bootstrap, '--topic', TOPIC, '--group', groupId];
  const ms = Array.from({ length: members }, () => new Member('count', args));
  try {
    await Promise.all(ms.map((m) => m.waitFor((e) => e.event === 'ready', STALL_MS, 'ready')));
    for (const m of ms) m.send('go');
    const latest = () => ms.reduce((n, m) => n + (([...m.events].reverse().find((e) => e.event === 'progress')?.['count'] as number | undefined) ?? 0), 0);
    let seen = 0;
    let moved = now();
    while (latest() < records) {
      await sleep(20);
      const c = latest();
      if (c !== seen) {
        seen = c;
        moved = now();
      } else if (now() - moved > STALL_MS) {
        throw new Error(`kafkajs ${members} member(s): stalled at ${c} of ${records}`);
      }
    }
    for (const m of ms) m.child.kill('SIGTERM');
    const done = await Promise.all(ms.map((m) => m.waitFor((e) => e.event === 'done', STALL_MS, 'done')));
    const codes = await Promise.all(ms.map((m) => m.exited));
    if (codes.some((c) => c !== 0)) throw new Error(`kafkajs members exited ${codes.join(', ')}`);
    const joins = ms.map((m) => m.events.filter((e) => e.event === 'join').length);
    if (joins.some((j) => j !== 1)) throw new Error(`a rebalance fell inside the run: joins per member ${joins.join(', ')}`);
    const split = done.map((d) => d['count'] as number);
    const total = split.reduce((a, b) => a + b, 0);
    const bytes = done.reduce((n, d) => n + (d['bytes'] as number), 0);
    if (total !== records || bytes !== records * RECORD_BYTES) throw new Error(`kafkajs consumed ${total} records (${bytes} bytes), expected ${records}`);
    const first = Math.min(...done.filter((d) => (d['count'] as number) > 0).map((d) => d['first'] as number));
    const last = Math.max(...done.map((d) => d['last'] as number));
    return { records: total, seconds: (last - first) / 1000, split };
  } finally {
    await Promise.all(ms.map((m) => m.stop()));
  }
}

/**
 * kcat -G: each process prints one byte per record (-f x; stdout is block buffered, so the
 * first chunk lands 4 KiB of records after the first record) and, on stderr, one "Reached end
 * of topic" line per partition. Done when all partitions reported their end at the high
 * watermark; then SIGTERM (kcat leaves the group and flushes stdout) and the bytes are counted.
 */
async function kcatConsume(broker: Broker, members: number, groupId: string, records: number, hw: number[]): Promise<ConsumeRun> {
  const procs = Array.from({ length: members }, () => {
    const child = track(
      spawn('kcat', ['-b', broker.bootstrap, '-G', groupId, '-X', 'auto.offset.reset=earliest', '-f', 'x', TOPIC], { stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    const p = { child, bytes: 0, first: 0, err: '', eof: new Map<number, { offset: number; at: number }>(), assigned: [] as number[][] };
    child.stdout!.on('data', (d: Buffer) => {
      if (p.bytes === 0) p.first = epochNow();
      p.bytes += d.length;
    });
    child.stderr!.on('data', (d: Buffer) => {
      const at = epochNow();
      p.err += d.toString();
      for (const m of d.toString().matchAll(/Reached end of topic \S+ \[(\d+)\] at offset (\d+)/g)) p.eof.set(Number(m[1]), { offset: Number(m[2]), at });
    });
    return p;
  });
  try {
    const start = now();
    const ends = () => {
      const all = new Map<number, { offset: number; at: number }>();
      for (const p of procs) for (const [k, v] of p.eof) all.set(k, v);
      return all;
    };
    while (![...Array(PARTITIONS).keys()].every((k) => ends().get(k)?.offset === hw[k])) {
      if (procs.some((p) => p.child.exitCode !== null)) throw new Error(`kcat exited early:\n${procs.map((p) => p.err).join('\n')}`);
      if (now() - start > 10 * STALL_MS) throw new Error(`kcat ${members}: not at the end after ${10 * STALL_MS} ms:\n${procs.map((p) => p.err).join('\n')}`);
      await sleep(20);
    }
    await Promise.all(procs.map((p) => stop(p.child)));
    const rebalanced = procs.map((p) => (p.err.match(/assigned:/g) ?? []).length);
    if (rebalanced.some((n) => n !== 1)) throw new Error(`a rebalance fell inside the kcat run: assignments per member ${rebalanced.join(', ')}\n${procs.map((p) => p.err).join('\n')}`);
    const split = procs.map((p) => p.bytes);
    const total = split.reduce((a, b) => a + b, 0);
    if (total !== records) throw new Error(`kcat consumed ${total} records, expected ${records}`);
    const first = Math.min(...procs.filter((p) => p.bytes > 0).map((p) => p.first));
    const last = Math.max(...[...ends().values()].map((e) => e.at));
    return { records: total, seconds: (last - first) / 1000, split };
  } finally {
    await Promise.all(procs.map((p) => stop(p.child)));
  }
}

async function consumeRows(
  client: string,
  runs: number,
  run: (members: number, groupId: string) => Promise<ConsumeRun>,
): Promise<Throughput[]> {
  const rows: Throughput[] = [];
  let g = 0;
  for (const members of [1, 3]) {
    const splits: string[] = [];
    const row = await medianOf(runs, async () => {
      const r = await run(members, `bench-${client}-${members}-${g++}`);
      splits.push(r.split.join('/'));
      return throughput(`${client} consume, ${members} member${members > 1 ? 's' : ''}, ${PARTITIONS} partitions`, r.records, r.records * RECORD_BYTES, r.seconds);
    });
    row.note = [row.note, `first to last record; records per member ${splits[0]}`].filter(Boolean).join('; ');
    rows.push(row);
  }
  rows[1]!.ratio = { to: `1 ${client} member`, value: rows[1]!.recordsPerSec / rows[0]!.recordsPerSec };
  return rows;
}

// ---- the suite --------------------------------------------------------------------------------

export async function groupBench(options: GroupBenchOptions): Promise<Throughput[]> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build with npx tsc -p tsconfig.json`);
  const runs = options.runs ?? 1;
  const dir = benchDir();
  dirs.add(dir);
  let broker: Broker | undefined;
  let wire: Wire | undefined;
  const rows: Throughput[] = [];
  try {
    broker = await startBroker(dir);
    wire = await Wire.connect(broker.host, broker.port);
    await createTopic(wire);

    if (options.rebalances > 0) {
      const s = await rebalances(broker, wire, options.rebalances);
      const p50 = (xs: number[]) => median(xs).toFixed(0);
      const n = options.rebalances;
      rows.push(
        latencyRow('rebalance: join, spawn -> Stable 3x2', s.joinFromSpawn, `${n} joins; incl. node + kafkajs start-up; all members had GROUP_JOIN p50 ${p50(s.joinAllAssigned)} ms from spawn`),
        latencyRow('rebalance: join, first JoinGroup -> Stable 3x2', s.joinFromJoinGroup, `${n} joins; the rebalance alone; last member's JoinGroup -> Stable p50 ${p50(s.joinAfterLastJoinGroup)} ms`),
        latencyRow('rebalance: leave, SIGTERM -> Stable 2x3', s.leaveFromSignal, `${n} leaves; incl. kafkajs stop + LeaveGroup; both members had GROUP_JOIN p50 ${p50(s.leaveAllAssigned)} ms from SIGTERM`),
        latencyRow('rebalance: leave, LeaveGroup -> Stable 2x3', s.leaveFromLeaveGroup, `${n} leaves; the rebalance alone; last member's JoinGroup -> Stable p50 ${p50(s.leaveAfterLastJoinGroup)} ms`),
      );
      for (const r of rows) r.note += '; records/s = rebalances/s';
    }

    if (options.records > 0) {
      const how = await produce(broker, wire, options.records);
      const hw = await highWatermarks(wire);
      console.log(`Loaded ${options.records} records of ${RECORD_BYTES} bytes over ${PARTITIONS} partitions with ${how}`);
      rows.push(...(await consumeRows('kafkajs', runs, (members, groupId) => kafkajsConsume(broker!, members, groupId, options.records))));
      if (hasCommand('kcat', '-V')) {
        rows.push(...(await consumeRows('kcat', runs, (members, groupId) => kcatConsume(broker!, members, groupId, options.records, hw))));
      } else {
        console.log('kcat rows skipped: kcat is not installed (apt-get install -y kcat)');
      }
    }
    return rows;
  } finally {
    wire?.close();
    await stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  }
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const records = Number(arg('records') ?? (quick ? 500_000 : 3_000_000));
  const rebalanceCount = Number(arg('rebalances') ?? 20);
  const runs = Number(arg('runs') ?? (quick ? 1 : 3));
  const timers = { heartbeatMs: Number(process.env.SLUICE_BENCH_HEARTBEAT_MS ?? 100), maxWaitMs: Number(process.env.SLUICE_BENCH_MAX_WAIT_MS ?? 100) };
  console.log(`Sluice consumer-group benchmark ${JSON.stringify({ ...machine(), records, rebalances: rebalanceCount, runs, ...timers, loadavg: os.loadavg().map((l) => +l.toFixed(1)) })}\n`);
  const rows = await groupBench({ records, rebalances: rebalanceCount, runs });
  console.log('\nConsumer groups: `sluice serve`, members as separate processes, all on the same cores, 100-byte records');
  console.log(table(rows));
  console.log(`load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (other work on these cores skews the rates)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void stopAll().finally(() => process.exit(130));
    });
  }
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
