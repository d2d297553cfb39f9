/**
 * Where the pool pays for legacy message-format conversions (Produce v0-2 up, Fetch v0-3
 * down): each conversion of JSON log lines at several input sizes, uncompressed and gzip,
 * run inline and through a 2-thread pool.
 *
 *   inline us   one call on the calling thread (median)
 *   main us     event-loop time per pooled call, 4 in flight (eventLoopUtilization)
 *
 * The pool pays once main us < inline us. `node dist/bench/legacy-convert.js`
 */
import { performance } from 'node:perf_hooks';
import { buildBatch, compress, Compression } from '../src/record/index.js';
import { batchesToMessageSet, messageSetToBatch } from '../src/record/legacy/convert.js';
import { writeMessage, messageSize } from '../src/record/legacy/message-set.js';
import { WorkerPool } from '../src/workers/index.js';
import { median } from './util.js';


function lines(n: number): { key: Buffer; value: Buffer; timestamp: number }[] {
  return Array.from({ length: n }, (_, i) => ({
    key: Buffer.from(`k${i}`),
    value: Buffer.from(`{"ts":${1_700_000_000_000 + i},"lvl":"info","path":"/v1/orders/${(i * 7919) % 10007}","ms":${i % 97}}`),
    timestamp: 1_700_000_000_000 + i,
  }));
}

function messageSet(n: number, codec: number): Buffer {
  const recs = lines(n);
  const plain = Buffer.alloc(recs.reduce((s, r) => s + messageSize(1, r.key.length, r.value.length), 0));
  let pos = 0;
  recs.forEach((r, i) => (pos = writeMessage(plain, pos, i, 1, 0, r.timestamp, r.key, r.value)));
  if (codec === Compression.None) return plain;
  const value = compress(codec as Compression, plain);
  const out = Buffer.alloc(messageSize(1, 0, value.length));
  writeMessage(out, 0, n - 1, 1, codec, 1_700_000_000_000, null, value);
  return out;
}

async function measure(name: string, run: () => unknown, pooled: () => Promise<unknown>, size: number): Promise<string> {
  const inline: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    run();
    inline.push((performance.now() - t) * 1000);
  }
  await pooled();
  const calls = 40;
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  for (let i = 0; i < calls; i += 4) await Promise.all([pooled(), pooled(), pooled(), pooled()]);
  const elu = performance.eventLoopUtilization(elu0);
  const mainUs = ((performance.now() - t0) * 1000 * elu.utilization) / calls;
  return `${name.padEnd(22)} ${String(size).padStart(9)} ${median(inline).toFixed(0).padStart(9)} ${mainUs.toFixed(0).padStart(9)}`;
}

async function main(): Promise<void> {
  const pool = new WorkerPool({ threads: 2 });
  console.log(`${'conversion'.padEnd(22)} ${'input B'.padStart(9)} ${'inline us'.padStart(9)} ${'main us'.padStart(9)}`);
  for (const codec of [Compression.None, Compression.Gzip]) {
    for (const n of [100, 400, 1600]) {
      const set = messageSet(n, codec);
      const batch = buildBatch(lines(n), { compression: codec as Compression });
      const opts = { magic: 1 as const, fromOffset: 0, maxBytes: 1 << 30, minOne: true };
      const c = codec === Compression.None ? 'none' : 'gzip';
      // Bypass the threshold: the pool's own methods would run small inputs inline.
      const run = (task: object) => (pool as unknown as { run: (t: object, l: ArrayBuffer[]) => Promise<unknown> }).run(task, []);
      console.log(await measure(`up ${c}`, () => messageSetToBatch(set), () => run({ kind: 'upConvert', set, maxSize: 1 << 26 }), set.length));
      console.log(await measure(`down ${c}`, () => batchesToMessageSet(batch, opts), () => run({ kind: 'downConvert', chain: batch, options: opts }), batch.length));
    }
  }
  await pool.close();
}

await main();
