/**
 * Replication metrics of one broker in a cluster, read from its ReplicaManager when scraped
 * (Kafka's IsrShrinksPerSec, IsrExpandsPerSec, ReplicaFetcherManager MaxLag, and the
 * replication bytes in and out): ISR changes this broker made as leader, each follower's lag
 * behind this leader in records and in time, and the bytes its fetchers copied in and its
 * leader role served out to followers.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ReplicaManager } from '../replication/replica-manager.js';
import type { MetadataCache } from '../cluster/metadata-cache.js';

export function registerReplicationMetrics(registry: Registry, replicas: ReplicaManager, cache: MetadataCache): void {
  const registers = [registry];
  const counter = (name: string, help: string, read: () => number) => {
    let last = 0;
    new Counter({
      name,
      help,
      registers,
      collect() {
        const now = read();
        if (now > last) this.inc(now - last);
        last = now;
      },
    });
  };
  counter('sluice_replication_isr_shrinks_total', 'Followers this broker took out of an ISR as leader (not caught up for replica.lag.time.max.ms)', () => replicas.stats.isrShrinks);
  counter('sluice_replication_isr_expands_total', 'Followers this broker added back to an ISR as leader (caught up with the high watermark)', () => replicas.stats.isrExpands);
  counter('sluice_replication_bytes_in_total', "Bytes this broker's fetchers copied from leaders", () => replicas.stats.bytesIn);
  counter('sluice_replication_bytes_out_total', 'Bytes this broker served to its followers as leader', () => replicas.stats.bytesOut);
  const lag = (name: string, help: string, pick: (l: { lagRecords: number; lagMs: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['topic', 'partition', 'replica'],
      registers,
      collect() {
        this.reset();
        for (const t of cache.topics.values()) {
          for (let p = 0; p < t.replicas.length; p++) {
            for (const l of replicas.followerLag(t.name, p)) this.set({ topic: t.name, partition: String(p), replica: String(l.replica) }, pick(l));
          }
        }
      },
    });
  lag('sluice_replication_follower_lag_records', "How many records a follower is behind this leader's log end offset", (l) => l.lagRecords);
  lag('sluice_replication_follower_lag_ms', 'How long since a follower was last caught up with this leader', (l) => l.lagMs);
  new Gauge({
    name: 'sluice_replication_partitions',
    help: 'Partitions this broker leads or follows',
    labelNames: ['role'],
    registers,
    collect() {
      const c = replicas.counts();
      this.set({ role: 'leader' }, c.leading);
      this.set({ role: 'follower' }, c.following);
    },
  });
  new Gauge({
    name: 'sluice_replication_under_replicated_partitions',
    help: 'Partitions this broker leads whose ISR is smaller than their replica list',
    registers,
    collect() {
      let n = 0;
      for (const t of cache.topics.values()) {
        t.replicas.forEach((r, p) => {
          const ls = replicas.leaderState(t.name, p);
          if (ls && ls.isr.length < r.length) n++;
        });
      }
      this.set(n);
    },
  });
}
