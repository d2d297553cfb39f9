/**
 * Per-topic traffic counters (records and bytes in and out), bumped on the hot paths with
 * plain additions and read by the metrics endpoint when it is scraped. Not thread-safe.
 */
export interface TopicTraffic {
  recordsIn: number;
  bytesIn: number;
  recordsOut: number;
  bytesOut: number;
}

export class TrafficCounters {
  private readonly topics = new Map<string, TopicTraffic>();

  private get(topic: string): TopicTraffic {
    let t = this.topics.get(topic);
    if (t === undefined) {
      t = { recordsIn: 0, bytesIn: 0, recordsOut: 0, bytesOut: 0 };
      this.topics.set(topic, t);
    }
    return t;
  }

  in(topic: string, records: number, bytes: number): void {
    const t = this.get(topic);
    t.recordsIn += records;
    t.bytesIn += bytes;
  }

  out(topic: string, records: number, bytes: number): void {
    const t = this.get(topic);
    t.recordsOut += records;
    t.bytesOut += bytes;
  }

  entries(): IterableIterator<[string, TopicTraffic]> {
    return this.topics.entries();
  }
}
