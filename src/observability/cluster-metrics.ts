/**
 * Cluster gauges of a broker that is part of a cluster, read from its metadata cache when
 * scraped: whether it is the active controller, live brokers, offline partitions, and per
 * broker the partitions it leads and holds replicas of (Kafka's ActiveControllerCount,
 * OfflinePartitionsCount, LeaderCount and PartitionCount).
 */
import { Gauge, type Registry } from 'prom-client';
import type { ClusterNode } from '../cluster/node.js';

export function registerClusterMetrics(registry: Registry, cluster: ClusterNode): void {
  const registers = [registry];
  new Gauge({
    name: 'sluice_cluster_active_controller',
    help: '1 when this broker is the active controller, else 0',
    registers,
    collect() {
      this.set(cluster.controller.isActive ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sluice_cluster_brokers',
    help: 'Live brokers registered in the cluster',
    registers,
    collect() {
      this.set(cluster.brokers().length);
    },
  });
  new Gauge({
    name: 'sluice_cluster_offline_partitions',
    help: 'Partitions of the cluster without a leader',
    registers,
    collect() {
      let n = 0;
      for (const t of cluster.cache.topics.values()) {
        for (let p = 0; p < t.replicas.length; p++) if ((cluster.partitionState(t.name, p)?.leader ?? -1) < 0) n++;
      }
      this.set(n);
    },
  });
  const perBroker = (name: string, help: string, count: (broker: number, leader: number, replicas: number[]) => boolean) =>
    new Gauge({
      name,
      help,
      labelNames: ['broker'],
      registers,
      collect() {
        this.reset();
        const counts = new Map<number, number>(cluster.brokers().map((b) => [b.id, 0]));
        for (const t of cluster.cache.topics.values()) {
          t.replicas.forEach((replicas, p) => {
            const leader = cluster.partitionState(t.name, p)?.leader ?? -1;
            for (const b of counts.keys()) if (count(b, leader, replicas)) counts.set(b, counts.get(b)! + 1);
          });
        }
        for (const [b, n] of counts) this.set({ broker: String(b) }, n);
      },
    });
  perBroker('sluice_cluster_leader_partitions', 'Partitions each live broker leads', (b, leader) => leader === b);
  perBroker('sluice_cluster_replica_partitions', 'Partition replicas each live broker holds', (b, _leader, replicas) => replicas.includes(b));
}
