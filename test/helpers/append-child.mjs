// Child process for the crash test: appends numbered batches to a Log in a loop and prints
// the last offset of each append once it has returned (so the parent knows what was
// acknowledged), until it is killed. Usage: node append-child.mjs <dir> <durability>
import { Log, buildBatch } from '../../dist/src/index.js';

const [dir, durability] = process.argv.slice(2);
const log = Log.open(dir, { durability, segmentBytes: 64 * 1024, background: false, segmentMs: Infinity, retentionMs: -1 });
process.stdout.write(`ready ${log.logEndOffset}\n`);
for (;;) {
  const from = log.logEndOffset;
  const n = 1 + (from % 7);
  const records = [];
  for (let i = 0; i < n; i++) records.push({ key: `k${from + i}`, value: `value-${from + i}`, timestamp: 1_700_000_000_000 + from + i });
  const info = await log.appendDurable(buildBatch(records));
  process.stdout.write(`${info.lastOffset}\n`);
  if (from % 50 === 0) await new Promise((r) => setImmediate(r));
}
