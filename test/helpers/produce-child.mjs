// Child process for the embedded crash test: opens Sluice on a directory, sends numbered
// records to a 4-partition topic with acks=all, and prints "partition offset value" for
// every acknowledged record, until killed. Usage: node produce-child.mjs <dir> <durability>
import { Sluice } from '../../dist/src/index.js';

const [dir, durability] = process.argv.slice(2);
const s = await Sluice.open({ dir, durability, workerThreads: 1 });
if (!s.hasTopic('crash')) await s.createTopic('crash', { partitions: 4 });
const producer = s.producer({ compression: 'lz4', acks: 'all' });
let n = Number(process.argv[4] ?? 0);
process.stdout.write('ready\n');
for (;;) {
  const batch = Array.from({ length: 1 + (n % 5) }, (_, i) => ({ key: `k${n + i}`, value: `v${n + i}` }));
  n += batch.length;
  const meta = await producer.send('crash', batch);
  process.stdout.write(meta.map((m, i) => `${m.partition} ${m.offset} ${batch[i].value}`).join('\n') + '\n');
}
