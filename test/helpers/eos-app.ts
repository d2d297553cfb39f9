/**
 * The exactly-once pipeline of the transaction tests: a confluent-kafka app that reads
 * `eos-in` in a group and writes each record to `eos-out` with its input offsets in the same
 * transaction, the script that fills its input, and the reading of what it committed.
 */
import { spawn } from 'node:child_process';
import { PYTHON } from './clients.js';
import { storedBatches } from './txn-log.js';

/** argv: bootstrap, number of inputs, replication factor (default 1; min.insync.replicas 2 above 1). */
export const SETUP = `
import json, sys
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
b = sys.argv[1]
rf = int(sys.argv[3]) if len(sys.argv) > 3 else 1
config = {'min.insync.replicas': '2'} if rf > 1 else {}
a = AdminClient({'bootstrap.servers': b})
for f in a.create_topics([NewTopic(t, num_partitions=1, replication_factor=rf, config=config) for t in ('eos-in', 'eos-out')]).values(): f.result()
p = Producer({'bootstrap.servers': b, 'enable.idempotence': True})
for i in range(int(sys.argv[2])): p.produce('eos-in', value=f'in-{i}'.encode())
assert p.flush(30) == 0
print(json.dumps({'ok': True}))
`;

// Prints "progress N" after each commit; exits 0 once it has read to the end of its input.
// Static membership (group.instance.id) lets a restarted instance take its partition at once.
export const APP = `
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
export function committedValues(dir: string, topic: string): { committed: string[]; aborted: number } {
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

export function runApp(script: string, bootstrap: string, killAfterMs: number | null): Promise<{ killed: boolean; output: string }> {
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
export function runAppOnce(script: string, bootstrap: string): Promise<{ code: number | null; output: string }> {
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

