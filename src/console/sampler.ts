/**
 * The console's charts over time: every interval it reads the broker's traffic counters (per
 * topic, in and out) and every group's total lag, and keeps the last `capacity` points of each
 * in memory. Nothing is written to disk; a restart starts the charts afresh.
 */
import type { Sluice } from '../broker/sluice.js';

/** A fixed-size ring: pushing past capacity drops the oldest point. */
export class Ring<T> {
  private readonly items: T[] = [];
  private start = 0;
  constructor(readonly capacity: number) {}

  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  toArray(): T[] {
    return [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
  }
}

/** Rates over one interval, per second. */
export interface ThroughputPoint {
  t: number;
  recordsIn: number;
  bytesIn: number;
  recordsOut: number;
  bytesOut: number;
}

export interface LagPoint {
  t: number;
  /** Sum of the lag of every partition the group has committed. */
  lag: number;
}

interface Totals {
  recordsIn: number;
  bytesIn: number;
  recordsOut: number;
  bytesOut: number;
}

export class ConsoleSampler {
  private readonly traffic = new Map<string, Ring<ThroughputPoint>>();
  private readonly lag = new Map<string, Ring<LagPoint>>();
  private last = new Map<string, Totals>();
  private lastAt = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sluice: Sluice,
    readonly intervalMs: number,
    readonly capacity = 360,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    // The charts must never keep a stopping broker alive.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One point per topic and per group; the first call only records the counters' start. */
  sample(now = Date.now()): void {
    if (this.sluice.isClosed) return;
    const seconds = (now - this.lastAt) / 1000;
    const next = new Map<string, Totals>();
    for (const [topic, t] of this.sluice.traffic.entries()) {
      next.set(topic, { ...t });
      const prev = this.last.get(topic) ?? { recordsIn: 0, bytesIn: 0, recordsOut: 0, bytesOut: 0 };
      if (this.lastAt === 0 || seconds <= 0) continue;
      let ring = this.traffic.get(topic);
      if (!ring) this.traffic.set(topic, (ring = new Ring(this.capacity)));
      ring.push({
        t: now,
        recordsIn: (t.recordsIn - prev.recordsIn) / seconds,
        bytesIn: (t.bytesIn - prev.bytesIn) / seconds,
        recordsOut: (t.recordsOut - prev.recordsOut) / seconds,
        bytesOut: (t.bytesOut - prev.bytesOut) / seconds,
      });
    }
    this.last = next;
    this.lastAt = now;
    const groups = this.sluice.groups.listGroups();
    // A deleted group's chart goes with it: the rings stay bounded by the groups there are.
    const live = new Set(groups.map((g) => g.groupId));
    for (const id of this.lag.keys()) if (!live.has(id)) this.lag.delete(id);
    for (const g of groups) {
      let total = 0;
      try {
        for (const p of this.sluice.groupLag(g.groupId)) total += p.lag;
      } catch {
        continue; // closing under us: skip this point
      }
      let ring = this.lag.get(g.groupId);
      if (!ring) this.lag.set(g.groupId, (ring = new Ring(this.capacity)));
      ring.push({ t: now, lag: total });
    }
  }

  throughput(topic: string): ThroughputPoint[] {
    return this.traffic.get(topic)?.toArray() ?? [];
  }

  topicsWithTraffic(): string[] {
    return [...this.traffic.keys()].sort();
  }

  lagHistory(groupId: string): LagPoint[] {
    return this.lag.get(groupId)?.toArray() ?? [];
  }
}
