/**
 * Exactly-once consume-transform-produce under SIGKILL of the application: a confluent-kafka
 * app reads `eos-in` in a group and writes each record to `eos-out` with its input offsets in
 * the same transaction, a few records per transaction. It is SIGKILLed at random moments
 * (mid-transaction, mid-commit, between transactions) and restarted, many times, then run to
 * the end. The committed output (the records of transactions whose commit marker is in the
 * log, which is what a read_committed consumer returns) holds every input exactly once, in
 * order; aborted attempts are in the log too, each followed by its abort marker.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PYTHON, python } from './helpers/clients.js';
import { startBroker } from './helpers/broker.js';
import { storedBatches } from './helpers/txn-log.js';
import { tmpDir } from './helpers/tmp.js';

const INPUTS = 3000;
const KILLS = 12;

const SETUP = `
import json, sys
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
b = sys.argv[1]
a = AdminClient({'bootstrap.servers': b})
for f in a.create_topics([NewTopic('eos-in', num_partitions=1, replication_factor=1), NewTopic('eos-out', num_partitions=1, replication_factor=1)]).values(): f.result()
p = Producer({'bootstrap.servers': b, 'enable.idempotence': True})
for i in range(int(sys.argv[2])): p.produce('eos-in', value=f'in-{i}'.encode())
assert p.flush(30) == 0
print(json.dumps({'ok': True}))
`;

// Prints "progress N" after each commit; exits 0 once it has read to the end of its input.
// Static membership (group.instance.id) lets a restarted instance take its partition at once.
const APP = `
import sys, time
from confluent_kafka import Producer, Consumer, TopicPartition
b = sys.argv[1]
# Short reconnect backoff: the broker test kills the broker every few seconds.
p = Producer({'bootstrap.servers': b, 'transactional.id': 'eos-app', 'linger.ms': 2, 'transaction.timeout.ms': 10000, 'reconnect.backoff.max.ms': 500})
p.init_transactions(30)
c = Consumer({'bootstrap.servers': b, 'group.id': 'eos', 'group.instance.id': 'eos-app-1', 'session.timeout.ms': 6000, 'reconnect.backoff.max.ms': 500,
              'auto.offset.reset': 'earliest', 'enable.auto.commit': False, 'isolation.level': 'read_committed'})
c.subscribe(['eos-in'])
done = 0
deadline = time.time() + 100
while time.time() < deadline:
    msgs = [m for m in c.consume(5, 0.3) if not m.error()]
    if not msgs:
        assigned = c.assignment()
        if assigned:
            pos = c.position(assigned)[0].offset
            if pos >= 0 and pos >= c.get_watermark_offsets(TopicPartition('eos-in', 0), 5)[1]: break
        continue
    p.begin_transaction()
    for m in msgs: p.produce('eos-out', value=m.value().replace(b'in-', b'out-'))
    time.sleep(0.02)  # the transform's work: widens the window a kill lands in mid-transaction
    p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 30)
    p.commit_transaction(30)
    done += len(msgs)
    print(f'progress {done}', flush=True)
c.close()
`;

/** Values of the data batches whose producer's next marker in the partition is a commit. */
function committedValues(dir: string, topic: string): { committed: string[]; aborted: number } {
  const pending = new Map<number, string[]>();
  const committed: string[] = [];
  let aborted = 0;
  for (const b of storedBatches(dir, topic, 0)) {
    if (b.marker === null) {
      if (!b.transactional) throw new Error(`non-transactional batch at ${b.baseOffset}`);
      pending.set(b.producerId, [...(pending.get(b.producerId) ?? []), ...b.values]);
      continue;
    }
    const values = pending.get(b.producerId) ?? [];
    pending.delete(b.producerId);
    if (b.marker === 'commit') committed.push(...values);
    else aborted += values.length;
  }
  return { committed, aborted };
}

function runApp(script: string, bootstrap: string, killAfterMs: number | null): Promise<{ killed: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [script, bootstrap], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = killAfterMs === null ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    const hardStop = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      clearTimeout(hardStop);
      if (signal === 'SIGKILL' && killAfterMs !== null) resolve({ killed: true, output });
      else if (code === 0) resolve({ killed: false, output });
      else reject(new Error(`the app exited with ${code ?? signal}:\n${output}`));
    });
  });
}

/** Runs the app once; resolves with its exit code (a crash is a normal outcome here). */
function runAppOnce(script: string, bootstrap: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, [script, bootstrap], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const hardStop = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code) => {
      clearTimeout(hardStop);
      resolve({ code, output });
    });
  });
}

describe('exactly-once consume-transform-produce', () => {
  it(`every input is in the committed output exactly once after ${KILLS} SIGKILLs of the app`, async () => {
    const broker = await startBroker();
    await python(SETUP, [broker.bootstrap, String(INPUTS)]);
    const script = path.join(tmpDir('sluice-eos-'), 'app.py');
    fs.writeFileSync(script, APP);
    let kills = 0;
    let progress = 0;
    // A fixed seed keeps the kill points the same from run to run.
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    while (kills < KILLS) {
      const r = await runApp(script, broker.bootstrap, 800 + Math.floor(random() * 1700));
      if (!r.killed) break;
      kills++;
      const last = [...r.output.matchAll(/progress (\d+)/g)].pop();
      if (last) progress += Number(last[1]);
      console.log(`run ${kills}: ${last?.[1] ?? 0} records committed before the kill`);
    }
    const final = await runApp(script, broker.bootstrap, null);
    const { committed, aborted } = committedValues(broker.dir, 'eos-out');
    const expected = Array.from({ length: INPUTS }, (_, i) => `out-${i}`);
    expect(committed).toEqual(expected);
    expect(kills).toBe(KILLS);
    // The kills landed while work was going on: the killed runs committed part of the input.
    expect(progress).toBeGreaterThan(0);
    expect(progress).toBeLessThan(INPUTS);
    expect(final.output).toMatch(/progress/);
    console.log(`exactly-once: ${INPUTS} inputs, ${kills} kills, ${committed.length} committed outputs, ${aborted} aborted outputs`);
  }, 600_000);

  it('every input is in the committed output exactly once after SIGKILLs of the broker mid-pipeline', async () => {
    const dir = tmpDir('sluice-eos-broker-');
    let broker = await startBroker({ dir });
    const port = broker.port;
    await python(SETUP, [broker.bootstrap, String(INPUTS)]);
    const script = path.join(tmpDir('sluice-eos-'), 'app.py');
    fs.writeFileSync(script, APP);
    // The app runs over and over (a broker kill may make it fail: it is simply started again).
    let stop = false;
    let runs = 0;
    const apps = (async () => {
      while (!stop) {
        await runAppOnce(script, broker.bootstrap);
        runs++;
      }
    })();
    let seed = 777;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const BROKER_KILLS = 4;
    const committedAtKill: number[] = [];
    for (let k = 0; k < BROKER_KILLS; k++) {
      await new Promise((r) => setTimeout(r, 3000 + Math.floor(random() * 2000)));
      committedAtKill.push(committedValues(dir, 'eos-out').committed.length);
      await broker.kill();
      broker = await startBroker({ dir, port });
    }
    stop = true;
    await apps;
    // Then to the end: the app exits 0 once it has read all its input.
    let final = await runAppOnce(script, broker.bootstrap);
    for (let i = 0; i < 3 && final.code !== 0; i++) final = await runAppOnce(script, broker.bootstrap);
    expect(final.code, final.output).toBe(0);
    const { committed, aborted } = committedValues(dir, 'eos-out');
    expect(committed).toEqual(Array.from({ length: INPUTS }, (_, i) => `out-${i}`));
    // The first kill landed while the pipeline was mid-way.
    expect(committedAtKill[0]).toBeGreaterThan(0);
    expect(committedAtKill[0]).toBeLessThan(INPUTS);
    console.log(`committed outputs at each broker kill: ${committedAtKill.join(', ')}`);
    console.log(`exactly-once with broker kills: ${INPUTS} inputs, ${BROKER_KILLS} broker kills, ${runs} app runs, ${committed.length} committed outputs, ${aborted} aborted outputs`);
  }, 600_000);
});
