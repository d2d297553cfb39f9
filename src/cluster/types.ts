/**
 * What Sluice keeps in etcd, under `/<cluster>/` (shared/DESIGN.md, "Cluster"). Values are
 * small JSON documents, each with a `version` so a later Sluice can read an older one.
 *
 *   brokers/<id>             BrokerRegistration, bound to the broker's lease
 *   controller               ControllerRecord, bound to the controller's lease
 *   controller_epoch         the latest controller epoch (a number); only grows
 *   topics/<name>            TopicRecord: topic id, replica assignment, config overrides
 *   partitions/<name>/<p>    PartitionState; changed only by compare-and-set on its mod revision
 *   producer_ids             ProducerIdBlockRecord: the next free block of producer ids
 *   cluster_id               the cluster id every broker reports (Kafka's cluster.id)
 */

export interface BrokerRegistration {
  version: 1;
  id: number;
  host: string;
  port: number;
  rack: string | null;
  /** Milliseconds since the epoch when this broker process registered. */
  startedAt: number;
  /** Sluice's package version. */
  software: string;
  /**
   * Set by a broker in controlled shutdown (SIGTERM): the controller moves its leaderships to
   * other in-sync replicas and takes it out of every ISR before it goes.
   */
  shuttingDown?: boolean;
}

export interface ControllerRecord {
  version: 1;
  brokerId: number;
  epoch: number;
}

export interface TopicRecord {
  version: 1;
  name: string;
  /** Kafka's topic id: a UUID. */
  id: string;
  /** Replica lists by partition; the first replica is the preferred leader. */
  replicas: number[][];
  /** Topic config overrides under Kafka's names. */
  config: Record<string, string>;
  createdAt: number;
  /**
   * Reassignments in progress, by partition index (absent in records written before
   * reassignment existed). While one runs, `replicas[p]` holds the target followed by the
   * current replicas not in it (src/cluster/reassignment.ts).
   */
  reassignments?: Record<string, PartitionReassignment>;
  /**
   * Leader elections asked for with ElectLeaders, by partition index, waiting for the
   * controller (only the controller changes leaders); it removes each entry once handled.
   */
  elections?: Record<string, ElectionType>;
}

/** One partition's reassignment (Kafka's KIP-455 target and original replica sets). */
export interface PartitionReassignment {
  /** The replica list the partition ends with; its first replica becomes the preferred leader. */
  target: number[];
  /** The replica list before the reassignment started: what a cancel restores. */
  original: number[];
  /** Set by a cancel: the controller moves the partition back to `original`. */
  cancel?: boolean;
}

/** Kafka's ElectionType: preferred (0) moves leadership to replicas[0]; unclean (1) picks any live replica of a partition with no live in-sync one. */
export type ElectionType = 'preferred' | 'unclean';

/** Leader and in-sync replicas of one partition (Kafka's LeaderAndIsr). */
export interface PartitionState {
  version: 1;
  /** The leader's broker id, or -1 when the partition has no leader (offline). */
  leader: number;
  /** Bumped on every change of leader; requests carrying an older one are fenced. */
  leaderEpoch: number;
  isr: number[];
  /** Bumped on every change of this record (leader or ISR). */
  partitionEpoch: number;
  /** Epoch of the controller that wrote the record last. */
  controllerEpoch: number;
}

export interface ProducerIdBlockRecord {
  version: 1;
  /** The first id of the next block to hand out. */
  nextBlockStart: number;
}

/** A partition state with the etcd revision it was read at (the compare-and-set version). */
export interface VersionedPartitionState extends PartitionState {
  modRevision: number;
}

export const NO_LEADER = -1;

/** Keys of one cluster, all under `/<cluster>/`. */
export class ClusterKeys {
  readonly root: string;
  constructor(readonly cluster: string) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(cluster)) {
      throw new Error(`cluster name '${cluster}' may only use letters, digits, '.', '_' and '-' (1 to 64 of them)`);
    }
    this.root = `/${cluster}/`;
  }
  get brokers(): string {
    return `${this.root}brokers/`;
  }
  broker(id: number): string {
    return `${this.brokers}${id}`;
  }
  get controller(): string {
    return `${this.root}controller`;
  }
  get controllerEpoch(): string {
    return `${this.root}controller_epoch`;
  }
  get topics(): string {
    return `${this.root}topics/`;
  }
  topic(name: string): string {
    return `${this.topics}${name}`;
  }
  get partitions(): string {
    return `${this.root}partitions/`;
  }
  partitionsOf(topic: string): string {
    return `${this.partitions}${topic}/`;
  }
  partition(topic: string, p: number): string {
    return `${this.partitionsOf(topic)}${p}`;
  }
  get clusterId(): string {
    return `${this.root}cluster_id`;
  }
  get producerIds(): string {
    return `${this.root}producer_ids`;
  }
}
