/**
 * Payloads for `sluice perf`: JSON log lines that vary like real ones (time, level, service,
 * request, a message of varying length), so codecs are measured on data that compresses the way
 * logs do, never on one repeated value. The same seed gives the same lines on every run.
 */

const LEVELS = ['INFO', 'INFO', 'INFO', 'INFO', 'WARN', 'DEBUG', 'DEBUG', 'ERROR'];
const SERVICES = ['checkout', 'payments', 'search', 'auth', 'inventory', 'gateway', 'shipping', 'notifications'];
const WORDS = (
  'request completed user session order cart item payment token cache miss hit retry timeout ' +
  'connection pool upstream downstream latency slow query index shard replica leader lag ' +
  'rebalance commit offset checkout invoice refund customer address validated rejected accepted'
).split(' ');
const PATHS = ['/v1/orders/', '/v1/users/', '/health', '/v2/cart/', '/v1/search?q=', '/v1/payments/'];

/** A small LCG: deterministic, fast, good enough to vary text. */
export class Lcg {
  constructor(private state: number) {}
  next(n: number): number {
    this.state = (Math.imul(this.state, 1103515245) + 12345) >>> 0;
    return (this.state >>> 8) % n;
  }
}

function hex(rnd: Lcg, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[rnd.next(16)];
  return s;
}

/** One log line; lines differ in every field and the message is 2 to 24 words long. */
export function logLine(rnd: Lcg, i: number): string {
  const words: string[] = [];
  for (let w = 2 + rnd.next(23); w > 0; w--) words.push(WORDS[rnd.next(WORDS.length)]!);
  const status = rnd.next(20) === 0 ? 503 : rnd.next(10) === 0 ? 404 : 200;
  return JSON.stringify({
    ts: new Date(1_767_225_600_000 + i * 7 + rnd.next(5)).toISOString(),
    level: LEVELS[rnd.next(LEVELS.length)],
    service: SERVICES[rnd.next(SERVICES.length)],
    path: PATHS[rnd.next(PATHS.length)]! + hex(rnd, 8),
    status,
    ms: rnd.next(100_000) / 100,
    req: hex(rnd, 12),
    msg: words.join(' '),
  });
}

/**
 * `count` distinct payloads. With `size`, each is exactly `size` bytes: log lines joined by
 * newlines (a record holding a few lines, as shippers batch them), the last cut to fit, with
 * space padding only for the last few bytes. Without `size`, each is one whole line (varying
 * length, about 150 to 330 bytes).
 */
export function logPayloads(count: number, size: number | undefined, seed = 1): Buffer[] {
  const rnd = new Lcg(seed);
  const out: Buffer[] = [];
  let line = 0;
  if (size === undefined) {
    for (let i = 0; i < count; i++) out.push(Buffer.from(logLine(rnd, line++)));
    return out;
  }
  const pool = Buffer.alloc(count * size, 0x20);
  for (let i = 0; i < count; i++) {
    const start = i * size;
    let filled = 0;
    for (;;) {
      filled += pool.write(logLine(rnd, line++), start + filled, size - filled);
      if (size - filled < 40) break;
      pool[start + filled++] = 0x0a;
    }
    out.push(pool.subarray(start, start + size));
  }
  return out;
}

/** Payloads from a file, one per line (as Kafka's --payload-file with its default delimiter). */
export function filePayloads(text: string, delimiter = '\n'): Buffer[] {
  return text.split(delimiter).filter((l) => l !== '').map((l) => Buffer.from(l));
}
