/**
 * Cluster gauges of a broker that is part of a cluster, read from its metadata cache when
 * scraped: whether it is the active controller, live brokers, offline partitions, and per
 * broker the partitions it leads and holds replicas of (Kafka's ActiveControllerCount,
 * OfflinePartitionsCount, LeaderCount and PartitionCount); and the replication state of the
 * whole cluster as the metadata holds it: under-replicated, under-min-ISR and reassigning
 * partitions (Kafka's UnderReplicatedPartitions, UnderMinIsrPartitionCount and
 * ReassigningPartitions, which Kafka reports per leader; here every broker reports the
 * cluster's count, like the offline count, so read it from any one broker).
 */
import { Gauge, type Registry } from 'prom-client';
import type { ClusterNode } from '../cluster/node.js';
import { reassignmentOf } from '../cluster/reassignment.js';
import type { PartitionState, TopicRecord } from '../cluster/types.js';

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
  /** Partitions for which `test` holds, over every topic of the cluster. */
  const count = (test: (topic: TopicRecord, p: number, state: PartitionState | undefined) => boolean): number => {
    let n = 0;
    for (const t of cluster.cache.topics.values()) {
      for (let p = 0; p < t.replicas.length; p++) if (test(t, p, cluster.partitionState(t.name, p))) n++;
    }
    return n;
  };
  new Gauge({
    name: 'sluice_cluster_under_replicated_partitions',
    help: 'Partitions whose in-sync replicas are fewer than their replicas (replicas being added by a reassignment not counted)',
    registers,
    collect() {
      // Kafka's rule (KIP-455): the replicas a reassignment adds do not count until it ends.
      this.set(
        count((t, p, state) => {
          const r = reassignmentOf(t, p);
          const adding = r ? r.target.filter((x) => !r.original.includes(x)).length : 0;
          return state !== undefined && state.isr.length < t.replicas[p]!.length - adding;
        }),
      );
    },
  });
  new Gauge({
    name: 'sluice_cluster_under_min_isr_partitions',
    help: 'Partitions whose in-sync replicas are fewer than min.insync.replicas (topic config, else the broker default): acks=all writes to them fail',
    registers,
    collect() {
      const brokerDefault = cluster.defaultMinInsyncReplicas;
      this.set(
        count((t, _p, state) => {
          const own = Number(t.config['min.insync.replicas']);
          return state !== undefined && state.isr.length < (Number.isInteger(own) && own > 0 ? own : brokerDefault);
        }),
      );
    },
  });
  new Gauge({
    name: 'sluice_cluster_reassigning_partitions',
    help: 'Partitions with a reassignment in progress',
    registers,
    collect() {
      this.set(count((t, p) => reassignmentOf(t, p) !== undefined));
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
