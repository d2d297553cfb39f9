/**
 * One damaged batch under a real broker process, with real clients: 2,000 records produced
 * by kafkajs (acks=all) in batches of 10, one byte flipped inside the records of batch 50 on
 * disk, then the broker SIGKILLed, stopped cleanly, or left running. Afterwards only that
 * batch's 10 records are missing: kcat -C -e (and a kafkajs group consumer) read the other
 * 1,990 to the end, new produces get offsets from 2000 on, the damaged bytes are in a
 * quarantine file, one error line names them, sluice_log_quarantined_batches_total counts 1,
 * and topics --describe and dump-log show the range. A torn tail is still cut (Kafka's rule).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerProcess } from './helpers/broker.js';
import { sluice } from './helpers/cli.js';
import { requireTool, run } from './helpers/clients.js';
import { tmpDir } from './helpers/tmp.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
beforeAll(() => requireTool('kcat', 'apt-get install kcat'));

const TOPIC = 'acked';
const BATCHES = 200;
const PER_BATCH = 10;
const VICTIM = 50;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function start(dir: string, metricsPort?: number): Promise<BrokerProcess> {
  const metrics = metricsPort === undefined ? [] : ['--metrics-port', String(metricsPort)];
  return startBroker({ dir, args: ['--log-format', 'json', '--retention-check-interval-ms', '0', ...metrics] });
}

function kafka(b: BrokerProcess) {
  return new Kafka({ brokers: [b.bootstrap], clientId: 'quarantine-test', logLevel: logLevel.NOTHING, retry: { retries: 5 } });
}

/** 200 sends of 10 records each, acks=all; checks the offsets the broker acknowledged. */
async function produceAll(b: BrokerProcess, segmentBytes?: number): Promise<void> {
  const admin = kafka(b).admin();
  await admin.connect();
  const configEntries = segmentBytes === undefined ? [] : [{ name: 'segment.bytes', value: String(segmentBytes) }];
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, configEntries }] });
  await admin.disconnect();
  const producer = kafka(b).producer();
  await producer.connect();
  for (let batch = 0; batch < BATCHES; batch++) {
    const messages = range(batch * PER_BATCH, (batch + 1) * PER_BATCH).map((n) => ({ key: `k${n}`, value: `value-${n}-${'x'.repeat(20)}` }));
    const [meta] = await producer.send({ topic: TOPIC, acks: -1, messages });
    expect(Number(meta!.baseOffset)).toBe(batch * PER_BATCH);
  }
  await producer.disconnect();
}

/** Where batch `k` of the partition lies (segments in order). */
function locate(dir: string, k: number): { file: string; position: number; size: number; base: number } {
  const partition = path.join(dir, `${TOPIC}-0`);
  let i = 0;
  for (const name of fs.readdirSync(partition).filter((n) => n.endsWith('.log')).sort()) {
    const file = path.join(partition, name);
    const data = fs.readFileSync(file);
    for (let pos = 0; pos < data.length; pos += data.readInt32BE(pos + 8) + 12, i++) {
      if (i === k) return { file, position: pos, size: data.readInt32BE(pos + 8) + 12, base: Number(data.readBigInt64BE(pos)) };
    }
  }
  throw new Error(`no batch ${k} in ${partition}`);
}

/** Flips one byte inside the records of batch `k` (past its 61-byte header); returns the batch's bytes as they were. */
function flipInRecords(dir: string, k: number): { original: Buffer; position: number; size: number; file: string } {
  const at = locate(dir, k);
  expect(at.base).toBe(k * PER_BATCH);
  const fd = fs.openSync(at.file, 'r+');
  const original = Buffer.alloc(at.size);
  fs.readSync(fd, original, 0, at.size, at.position);
  const one = Buffer.from([original[90]! ^ 0x04]);
  fs.writeSync(fd, one, 0, 1, at.position + 90);
  fs.closeSync(fd);
  return { original, position: at.position, size: at.size, file: at.file };
}

/** kcat -C -e from the beginning: the offsets it printed, checking each value. */
async function consumeToEnd(b: BrokerProcess): Promise<number[]> {
  const out = await run('kcat', ['-b', b.bootstrap, '-t', TOPIC, '-p', '0', '-C', '-o', 'beginning', '-e', '-q', '-f', '%o %s\n'], '', 60_000);
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const [offset, value] = line.split(' ');
      expect(value).toBe(`value-${offset}-${'x'.repeat(20)}`);
      return Number(offset);
    });
}

/** A kafkajs group consumer from the beginning until it has seen offset 1999: the offsets it got. */
async function consumeWithKafkajs(b: BrokerProcess): Promise<number[]> {
  const consumer = kafka(b).consumer({ groupId: `g-${Date.now()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  const got: number[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kafkajs consumed ${got.length} records, the last ${got.at(-1)}`)), 45_000);
    void consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        got.push(Number(message.offset));
        if (Number(message.offset) === BATCHES * PER_BATCH - 1) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return got;
}

function errorLines(b: BrokerProcess): { level: number; msg: string; [k: string]: unknown }[] {
  return b
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string })
    .filter((l) => l.level >= 50);
}

/** Everything that must hold once the damaged batch has been met. */
async function checkQuarantined(b: BrokerProcess, victim: { original: Buffer; position: number; size: number; file: string }, metricsPort: number, foundBy: 'open' | 'read') {
  const first = VICTIM * PER_BATCH;
  expect(await consumeToEnd(b)).toEqual([...range(0, first), ...range(first + PER_BATCH, BATCHES * PER_BATCH)]);
  // A second pass reads the same, and the broker logged the damage once.
  expect(await consumeToEnd(b)).toHaveLength(1990);
  const errors = errorLines(b);
  expect(errors, b.output()).toHaveLength(1);
  expect(errors[0]).toMatchObject({ firstOffset: first, lastOffset: first + PER_BATCH - 1, position: victim.position, end: victim.position + victim.size, foundBy });
  expect(errors[0]!.msg).toContain(path.basename(victim.file));
  expect(b.output()).not.toContain('fetch failed');
  // The side file holds the damaged bytes.
  const qfile = errors[0]!.quarantineFile as string;
  const kept = fs.readFileSync(qfile);
  expect(kept.length).toBe(victim.size);
  expect(kept.equals(victim.original)).toBe(false);
  expect(Buffer.compare(kept.subarray(0, 90), victim.original.subarray(0, 90))).toBe(0);
  expect(Buffer.compare(kept.subarray(91), victim.original.subarray(91))).toBe(0);
  // New records get offsets past every acknowledged one.
  const producer = kafka(b).producer();
  await producer.connect();
  const [meta] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: 'k2000', value: `value-2000-${'x'.repeat(20)}` }] });
  await producer.disconnect();
  expect(Number(meta!.baseOffset)).toBe(2000);
  // The metric, topics --describe and dump-log.
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  expect(metrics).toMatch(new RegExp(`sluice_log_quarantined_batches_total\\{topic="${TOPIC}",partition="0"\\} 1\\n`));
  const described = await sluice(['topics', '--describe', '--topic', TOPIC, '--bootstrap-server', b.bootstrap]);
  expect(described.stdout).toContain(`Quarantined: ${first}-${first + PER_BATCH - 1}`);
  const dumped = await sluice(['dump-log', '--files', victim.file]);
  expect(dumped.stdout).toContain(`Quarantined: offsets [${first}, ${first + PER_BATCH - 1}] (10 offsets, bytes ${victim.position}-${victim.position + victim.size}`);
  expect(dumped.stdout).toMatch(new RegExp(`baseOffset: ${first} lastOffset: ${first + PER_BATCH - 1} count: 0 .* quarantined: true`));
}

describe('one damaged batch costs only its own records', () => {
  it('flipped, then SIGKILL: recovery quarantines it and keeps the 149 batches after it', async () => {
    const dir = tmpDir('sluice-quarantine-');
    const broker = await start(dir);
    await produceAll(broker);
    const victim = flipInRecords(dir, VICTIM);
    await broker.kill();
    const port = await freePort();
    const again = await start(dir, port);
    await checkQuarantined(again, victim, port, 'open');
    // kafkajs steps over the gap too.
    const first = VICTIM * PER_BATCH;
    expect(await consumeWithKafkajs(again)).toEqual([...range(0, first), ...range(first + PER_BATCH, BATCHES * PER_BATCH)]);
    expect(await again.stop()).toBe(0);
  });

  it('flipped after a clean stop: the first fetch that meets it quarantines it; consumers meet a gap', async () => {
    const dir = tmpDir('sluice-quarantine-');
    const broker = await start(dir);
    await produceAll(broker);
    expect(await broker.stop()).toBe(0);
    const victim = flipInRecords(dir, VICTIM);
    const port = await freePort();
    const again = await start(dir, port);
    await checkQuarantined(again, victim, port, 'read');
    // The next start finds a clean, dense-by-batch log and logs nothing more.
    expect(await again.stop()).toBe(0);
    const third = await start(dir);
    expect(await consumeToEnd(third)).toHaveLength(1991);
    expect(errorLines(third)).toEqual([]);
    expect(await third.stop()).toBe(0);
  });

  it('flipped while the broker runs, in a segment it did not write: found by a fetch at run time', async () => {
    const dir = tmpDir('sluice-quarantine-');
    const broker = await start(dir);
    await produceAll(broker);
    expect(await broker.stop()).toBe(0);
    const port = await freePort();
    const again = await start(dir, port);
    const victim = flipInRecords(dir, VICTIM);
    await checkQuarantined(again, victim, port, 'read');
    expect(await again.stop()).toBe(0);
  });

  it('in the middle of an older segment (segment.bytes 16 KiB), then SIGKILL: found by the first fetch (recovery rescans from the recovery point)', async () => {
    const dir = tmpDir('sluice-quarantine-');
    const broker = await start(dir);
    await produceAll(broker, 16384);
    const victim = flipInRecords(dir, VICTIM);
    const segments = fs.readdirSync(path.join(dir, `${TOPIC}-0`)).filter((n) => n.endsWith('.log')).sort();
    expect(segments.length).toBeGreaterThan(3);
    expect(path.basename(victim.file)).not.toBe(segments.at(-1));
    expect(locate(dir, VICTIM - 1).file).toBe(victim.file); // the middle of its segment
    expect(locate(dir, VICTIM + 1).file).toBe(victim.file);
    await broker.kill();
    const port = await freePort();
    const again = await start(dir, port);
    await checkQuarantined(again, victim, port, 'read');
    expect(await again.stop()).toBe(0);
  });

  it('a torn tail (the last batch cut short, never flushed) is still truncated', async () => {
    const dir = tmpDir('sluice-quarantine-');
    const broker = await start(dir);
    await produceAll(broker);
    await broker.kill();
    const last = locate(dir, BATCHES - 1);
    fs.truncateSync(last.file, last.position + last.size - 7);
    const again = await start(dir);
    expect(await consumeToEnd(again)).toEqual(range(0, 1990));
    expect(fs.existsSync(path.join(dir, `${TOPIC}-0`, 'quarantine'))).toBe(false);
    expect(again.output()).toContain('recovery truncated an invalid segment tail');
    expect(errorLines(again)).toEqual([]);
    expect(await again.stop()).toBe(0);
  });
});
