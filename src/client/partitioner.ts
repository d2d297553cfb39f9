/**
 * Kafka's partitioners, so a key lands where the Java client (and kafkajs' default) puts it:
 * partition = (murmur2(keyBytes) & 0x7fffffff) % partitions. Records without a key stick to
 * one partition until its batch is sent, then move on (Kafka's sticky partitioning, KIP-480).
 */

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2): 32-bit, seed 0x9747b28c. */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = length & 3;
  if (tail === 3) h ^= data[whole + 2]! << 16;
  if (tail >= 2) h ^= data[whole + 1]! << 8;
  if (tail >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition the Java client's default partitioner picks for a key. */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/**
 * Sticky choice for records with no key: one partition per topic until `next()` is called
 * (when that partition's batch is sent), then another at random, never the same twice in a
 * row when there is a choice. Not thread-safe.
 */
export class StickyPartitioner {
  private readonly current = new Map<string, number>();

  partition(topic: string, partitions: number): number {
    let p = this.current.get(topic);
    if (p === undefined || p >= partitions) {
      p = Math.floor(Math.random() * partitions);
      this.current.set(topic, p);
    }
    return p;
  }

  /** The batch of `partition` went out: pick another partition for the next records. */
  next(topic: string, partition: number, partitions: number): void {
    if (this.current.get(topic) !== partition) return;
    let p = Math.floor(Math.random() * partitions);
    if (partitions > 1 && p === partition) p = (p + 1 + Math.floor(Math.random() * (partitions - 1))) % partitions;
    this.current.set(topic, p);
  }
}
