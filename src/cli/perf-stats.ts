/**
 * Latency bookkeeping for `sluice perf`: a fixed histogram (10 µs steps to 100 ms, then 1 ms
 * steps to 10 min) so millions of samples cost no memory and merge across threads by adding.
 */

const FINE = 10_000; // 0.01 ms buckets below 100 ms
const COARSE = 600_000; // 1 ms buckets from 100 ms to 10 min
export const BUCKETS = FINE + COARSE + 1;

export class LatencyHistogram {
  readonly counts: Float64Array;
  count = 0;
  sum = 0;
  max = 0;

  constructor(counts?: Float64Array) {
    this.counts = counts ?? new Float64Array(BUCKETS);
  }

  /** Adds `n` samples of `ms` milliseconds. */
  add(ms: number, n = 1): void {
    if (!(ms >= 0)) ms = 0;
    const i = ms < 100 ? Math.floor(ms * 100) : Math.min(BUCKETS - 1, FINE + Math.floor(ms - 100));
    this.counts[i]! += n;
    this.count += n;
    this.sum += ms * n;
    if (ms > this.max) this.max = ms;
  }

  merge(o: { counts: Float64Array; count: number; sum: number; max: number }): void {
    for (let i = 0; i < BUCKETS; i++) if (o.counts[i] !== 0) this.counts[i]! += o.counts[i]!;
    this.count += o.count;
    this.sum += o.sum;
    if (o.max > this.max) this.max = o.max;
  }

  /** The upper edge of the bucket holding quantile q (0..1), in ms. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, i < FINE ? (i + 1) / 100 : 100 + (i - FINE + 1));
    }
    return this.max;
  }

  summary(): LatencySummary {
    return {
      avg: this.count === 0 ? 0 : this.sum / this.count,
      max: this.max,
      p50: this.quantile(0.5),
      p95: this.quantile(0.95),
      p99: this.quantile(0.99),
      p999: this.quantile(0.999),
    };
  }
}

export interface LatencySummary {
  avg: number;
  max: number;
  p50: number;
  p95: number;
  p99: number;
  p999: number;
}

/** Kafka's perf tools print ms with two decimals (avg) and whole ms (percentiles); we keep two. */
export const ms = (n: number): string => n.toFixed(2);

/** ProducerPerformance's window and final lines. */
export function producerLine(records: number, seconds: number, bytes: number, lat: LatencySummary, final: boolean): string {
  const rate = seconds > 0 ? records / seconds : 0;
  const mb = seconds > 0 ? bytes / seconds / (1024 * 1024) : 0;
  const head = `${records} records sent, ${rate.toFixed(1)} records/sec (${mb.toFixed(2)} MB/sec), ${ms(lat.avg)} ms avg latency, ${ms(lat.max)} ms max latency`;
  if (!final) return `${head}.`;
  return `${head}, ${ms(lat.p50)} ms 50th, ${ms(lat.p95)} ms 95th, ${ms(lat.p99)} ms 99th, ${ms(lat.p999)} ms 99.9th.`;
}

/** kafka-consumer-perf-test's time format: yyyy-MM-dd HH:mm:ss:SSS (local time). */
export function consumerTime(epochMs: number): string {
  const d = new Date(epochMs);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}:${p(d.getMilliseconds(), 3)}`;
}
