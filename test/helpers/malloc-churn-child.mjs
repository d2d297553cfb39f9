// Allocates, fills and drops ~1 MB Buffers the way a broker's produce requests do, with a
// garbage collection every 16 of them, and prints the minor page faults that took.
// node --expose-gc malloc-churn-child.mjs <addon.node> tuned|default
import { createRequire } from 'node:module';

const [addonPath, mode] = process.argv.slice(2);
const addon = createRequire(import.meta.url)(addonPath);
if (mode === 'tuned' && !addon.mallocThresholds(16 * 1024 * 1024, 64 * 1024 * 1024)) {
  console.log(JSON.stringify({ unsupported: true }));
  process.exit(0);
}
const faults = () => process.resourceUsage().minorPageFault;
let held = [];
const before = faults();
for (let i = 0; i < 480; i++) {
  // Sizes vary as librdkafka's requests do (about 1 MB, a few pages either way).
  const b = Buffer.allocUnsafe(1024 * 1024 + (i % 48) * 4096 + 123);
  b.fill(i & 0xff);
  held.push(b);
  if (held.length === 16) {
    held = [];
    globalThis.gc();
  }
}
console.log(JSON.stringify({ faults: faults() - before, pages: (480 * 1024 * 1024) / 4096 }));
