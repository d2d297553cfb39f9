// Child process for the scale tests: opens Sluice on a directory, creates topic 'wide' of N
// partitions when missing, sends one record to each (value `v<round>-<partition>`), prints
// "ready", and waits to be killed. With <bigMiB>, partition 0 first gets that many MiB more
// (64 KiB values). Usage: node wide-child.mjs <dir> <partitions> <round> [bigMiB]
import { Sluice } from '../../dist/src/index.js';

const [dir, partitions, round, bigMiB = '0'] = process.argv.slice(2);
const n = Number(partitions);
const s = await Sluice.open({ dir, workerThreads: 1, retentionCheckIntervalMs: 0 });
if (!s.hasTopic('wide')) await s.createTopic('wide', { partitions: n });
const producer = s.producer({ acks: 1 });
for (let i = 0; i < Number(bigMiB) * 16; i++) await producer.send('wide', { value: 'x'.repeat(65536), partition: 0 });
await Promise.all(Array.from({ length: n }, (_, i) => producer.send('wide', { value: `v${round}-${i}`, partition: i })));
process.stdout.write('ready\n');
setInterval(() => {}, 60_000);
