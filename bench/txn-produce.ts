/**
 * Transactional against plain produce through a real broker process, with librdkafka
 * (node-rdkafka): 100-byte records (varied JSON log lines, as `sluice perf` makes them), lz4,
 * idempotent, acks=all; the transactional run commits every 1000 records (issue 16's figure).
 * Prints records/s of each mode per round, and the medians and their ratio. With
 * `--bootstrap-server` it measures a running broker or cluster instead of starting one, and
 * `--replication-factor N` creates each topic with N replicas (min.insync.replicas 2 above 1).
 *
 *   node dist/bench/txn-produce.js [records=200000] [rounds=3] [--bootstrap-server HOST:PORT] [--replication-factor N]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import type * as RdKafka from 'node-rdkafka';
import { logPayloads } from '../src/cli/perf-payload.js';

const require = createRequire(import.meta.url);
const Kafka = require('node-rdkafka') as typeof RdKafka;
const option = (name: string) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const BOOTSTRAP = option('--bootstrap-server');
const REPLICATION = Number(option('--replication-factor') ?? 0);
const positional = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
const RECORDS = Number(positional[0] ?? 200_000);
const ROUNDS = Number(positional[1] ?? 3);
const PAYLOADS = logPayloads(4096, 100);
const PER_TXN = 1000;
const cli = path.resolve(import.meta.dirname, '..', 'src', 'cli', 'index.js');

const call = (f: (cb: (err: unknown) => void) => void) => new Promise<void>((resolve, reject) => f((err) => (err ? reject(err) : resolve())));

async function startBroker(dir: string): Promise<{ bootstrap: string; stop: () => Promise<void> }> {
  const proc = spawn(process.execPath, [cli, 'serve', '--dir', dir, '--port', '0', '--metrics-port', '0', '--console-port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on [\d.]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    bootstrap: `127.0.0.1:${port}`,
    stop: async () => {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** Creates `topic` with REPLICATION replicas (when asked; else the broker auto-creates it). */
async function createTopic(bootstrap: string, topic: string): Promise<void> {
  if (REPLICATION === 0) return;
  const admin = Kafka.AdminClient.create({ 'metadata.broker.list': bootstrap });
  try {
    await call((cb) => admin.createTopic({ topic, num_partitions: 1, replication_factor: REPLICATION, config: REPLICATION > 1 ? { 'min.insync.replicas': '2' } : {} }, 30_000, cb));
  } finally {
    admin.disconnect();
  }
}

async function run(bootstrap: string, topic: string, transactional: boolean): Promise<number> {
  await createTopic(bootstrap, topic);
  const p = new Kafka.Producer({
    'metadata.broker.list': bootstrap,
    'compression.codec': 'lz4',
    'enable.idempotence': true,
    'linger.ms': 5,
    'batch.num.messages': 10000,
    'queue.buffering.max.messages': 1_000_000,
    ...(transactional ? { 'transactional.id': `bench-${topic}` } : {}),
  });
  await call((cb) => p.connect({}, cb));
  if (transactional) await call((cb) => p.initTransactions(30_000, cb));
  const started = performance.now();
  for (let i = 0; i < RECORDS; i += PER_TXN) {
    if (transactional) await call((cb) => p.beginTransaction(cb));
    for (let j = 0; j < PER_TXN; j++) p.produce(topic, 0, PAYLOADS[(i + j) % PAYLOADS.length]);
    if (transactional) await call((cb) => p.commitTransaction(30_000, cb));
  }
  if (!transactional) await call((cb) => p.flush(60_000, cb));
  const rate = RECORDS / ((performance.now() - started) / 1000);
  await call((cb) => p.disconnect(cb));
  return rate;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-txn-bench-'));
const broker = BOOTSTRAP ? { bootstrap: BOOTSTRAP, stop: async () => {} } : await startBroker(dir);
const stamp = Date.now().toString(36);
try {
  const plain: number[] = [];
  const txn: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    plain.push(await run(broker.bootstrap, `plain-${stamp}-${r}`, false));
    txn.push(await run(broker.bootstrap, `txn-${stamp}-${r}`, true));
    console.log(`round ${r + 1}: plain ${Math.round(plain[r]!)} rec/s, transactional ${Math.round(txn[r]!)} rec/s`);
  }
  console.log(`median of ${ROUNDS}: plain ${Math.round(median(plain))} rec/s, transactional (${PER_TXN}/txn) ${Math.round(median(txn))} rec/s, ratio ${(median(txn) / median(plain)).toFixed(2)}`);
} finally {
  await broker.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
