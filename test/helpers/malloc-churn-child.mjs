// Allocates, fills and drops ~1 MB Buffers the way a broker's produce requests do, with a
// garbage collection every 16 of them, and prints the minor page faults that took after a
// warm-up, against the pages those buffers span.
// node --expose-gc malloc-churn-child.mjs <addon.node> tuned|default
import { createRequire } from 'node:module';

const [addonPath, mode] = process.argv.slice(2);
const addon = createRequire(import.meta.url)(addonPath);
if (mode === 'tuned' && !addon.mallocThresholds(16 * 1024 * 1024, 64 * 1024 * 1024)) {
  console.log(JSON.stringify({ unsupported: true }));
  process.exit(0);
}
const faults = () => process.resourceUsage().minorPageFault;
const ROUNDS = 30;
const WARM_UP = 2; // rounds before counting: the first buffers touch new pages whatever malloc does
let held = [];
let before = faults();
for (let i = 0; i < ROUNDS * 16; i++) {
  if (i === WARM_UP * 16) before = faults();
  // Sizes vary as librdkafka's requests do (about 1 MB, a few pages either way).
  const b = Buffer.allocUnsafe(1024 * 1024 + (i % 48) * 4096 + 123);
  b.fill(i & 0xff);
  held.push(b);
  if (held.length === 16) {
    held = [];
    globalThis.gc();
  }
}
console.log(JSON.stringify({ faults: faults() - before, pages: ((ROUNDS - WARM_UP) * 16 * 1024 * 1024) / 4096 }));
