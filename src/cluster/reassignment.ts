/**
 * Partition reassignment (Kafka's KIP-455), as records in etcd and steps of the controller.
 *
 *   start    (any broker)  reassignments[p] = { target, original }, replicas[p] = target
 *                          followed by the current replicas not in it: the adding replicas
 *                          join at once and start copying from the leader
 *   finish   (controller)  once every target replica is in the ISR: ISR = ISR ∩ target; if
 *                          the leader is not in target, a new leader from target ∩ ISR
 *                          (leader epoch + 1); then replicas[p] = target, entry removed
 *   cancel   (any broker)  marks the entry; the controller then moves the partition back to
 *                          `original` the same way (as soon as one original replica is in sync)
 *
 * The partition state moves before the replica list, as Kafka's controller does: a replica
 * leaving the list stops fetching and empties its copy, so it must not be leading by then.
 * The functions here are pure; the controller and the ClusterNode write what they return
 * with compare-and-set.
 */
import { ErrorCode } from '../protocol/error-codes.js';
import { ClusterStateError, type ClusterStore } from './store.js';
import { NO_LEADER, type ElectionType, type PartitionReassignment, type PartitionState, type TopicRecord } from './types.js';

/** A reassignment request that cannot be applied; `errorCode` is the Kafka code to answer. */
export class ReassignmentError extends Error {
  constructor(
    message: string,
    readonly errorCode: number,
  ) {
    super(message);
    this.name = 'ReassignmentError';
  }
}

/** The replica list while moving to `target`: target first, then the current replicas not in it. */
export function replicasDuring(target: readonly number[], current: readonly number[]): number[] {
  return [...target, ...current.filter((r) => !target.includes(r))];
}

/** The reassignment of partition p, or undefined (also for an entry that is not one: etcd is writable by hand). */
export function reassignmentOf(topic: TopicRecord, p: number): PartitionReassignment | undefined {
  const r = topic.reassignments?.[String(p)];
  return r && brokerIds(r.target) && brokerIds(r.original) && r.target.length > 0 && p < topic.replicas.length ? r : undefined;
}

function brokerIds(list: unknown): list is number[] {
  return Array.isArray(list) && list.every((x) => Number.isInteger(x));
}

/**
 * The topic record with partition p moving to `target` (null: cancel). A new target for a
 * partition already moving replaces the old one and keeps the original. A target equal to
 * the current replicas with nothing in progress changes nothing (returns the record as is).
 */
export function withReassignment(topic: TopicRecord, p: number, target: readonly number[] | null, liveBrokers: ReadonlySet<number>): TopicRecord {
  const tp = `${topic.name}-${p}`;
  if (!Number.isInteger(p) || p < 0 || p >= topic.replicas.length) {
    throw new ReassignmentError(`partition ${tp} does not exist (topic '${topic.name}' has ${topic.replicas.length} partitions)`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  const current = topic.replicas[p]!;
  const ongoing = reassignmentOf(topic, p);
  const reassignments = { ...topic.reassignments };
  if (target === null) {
    if (!ongoing) throw new ReassignmentError(`no reassignment of ${tp} is in progress`, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
    if (ongoing.cancel) return topic;
    reassignments[String(p)] = { ...ongoing, cancel: true };
    return { ...topic, reassignments };
  }
  if (target.length === 0) throw new ReassignmentError(`the new replica list of ${tp} is empty: name at least one broker`, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  if (new Set(target).size !== target.length) {
    throw new ReassignmentError(`the new replica list of ${tp}, [${target.join(', ')}], names a broker more than once`, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  }
  const unknown = target.filter((r) => !liveBrokers.has(r));
  if (unknown.length > 0) {
    throw new ReassignmentError(
      `the new replica list of ${tp} names broker${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}, not alive in the cluster (live brokers: ${[...liveBrokers].sort((a, b) => a - b).join(', ')})`,
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
    );
  }
  if (!ongoing && same(target, current)) return topic;
  const original = ongoing?.original ?? current;
  // A new target during a reassignment keeps every replica it had until the end: one that was
  // being added may already be in the ISR, and the controller removes it in order.
  reassignments[String(p)] = { target: [...target], original: [...original] };
  const replicas = topic.replicas.map((r, i) => (i === p ? replicasDuring(target, current) : r));
  return { ...topic, replicas, reassignments };
}

/** Kafka's ListPartitionReassignments view of one: the current list, the replicas being added and removed. */
export function describeReassignment(topic: TopicRecord, p: number): { replicas: number[]; adding: number[]; removing: number[] } | null {
  const r = reassignmentOf(topic, p);
  if (!r) return null;
  const replicas = topic.replicas[p] ?? [];
  const final = r.cancel ? r.original : r.target;
  return { replicas, adding: final.filter((x) => !r.original.includes(x)), removing: replicas.filter((x) => !final.includes(x)) };
}

/** What the controller does next for a partition being reassigned. */
export type ReassignmentStep =
  /** Not ready: target replicas still catching up, or no replica of the final list in sync. */
  | { kind: 'wait'; why: string }
  /** Write this partition state first (shrink the ISR, move the leader). */
  | { kind: 'state'; state: Omit<PartitionState, 'version' | 'controllerEpoch'>; why: string }
  /** The state fits the final list: write this topic record (replicas[p] = final, entry gone). */
  | { kind: 'topic'; topic: TopicRecord; why: string };

/**
 * The next step of partition p's reassignment, given its state and the live brokers. Called
 * by the controller on every pass; each step is written by compare-and-set, and the next pass
 * takes the one after, so a new controller resumes where the old one stopped.
 */
export function nextReassignmentStep(topic: TopicRecord, p: number, state: PartitionState | undefined, live: ReadonlySet<number>): ReassignmentStep | null {
  const r = reassignmentOf(topic, p);
  if (!r) return null;
  const final = r.cancel ? r.original : r.target;
  const verb = r.cancel ? 'cancelled reassignment' : 'reassignment';
  if (!state) return { kind: 'wait', why: 'the partition has no state yet' };
  if (!r.cancel) {
    const missing = r.target.filter((x) => !state.isr.includes(x));
    if (missing.length > 0) return { kind: 'wait', why: `target replicas ${missing.join(', ')} are not in the ISR yet` };
  }
  const isr = state.isr.filter((x) => final.includes(x));
  if (isr.length === 0) return { kind: 'wait', why: `none of [${final.join(', ')}] is in the ISR [${state.isr.join(', ')}]` };
  if (!final.includes(state.leader)) {
    // Replica order: the target's preferred leader first.
    const leader = final.find((x) => isr.includes(x) && live.has(x));
    if (leader === undefined) return { kind: 'wait', why: `no replica of [${final.join(', ')}] in the ISR is alive to lead` };
    return { kind: 'state', state: { leader, leaderEpoch: state.leaderEpoch + 1, isr, partitionEpoch: state.partitionEpoch + 1 }, why: `${verb}: leadership moves into [${final.join(', ')}]` };
  }
  if (isr.length < state.isr.length) {
    return { kind: 'state', state: { leader: state.leader, leaderEpoch: state.leaderEpoch, isr, partitionEpoch: state.partitionEpoch + 1 }, why: `${verb}: removed replicas leave the ISR` };
  }
  if (state.leader === NO_LEADER) return { kind: 'wait', why: 'the partition has no leader' };
  const reassignments = { ...topic.reassignments };
  delete reassignments[String(p)];
  const replicas = topic.replicas.map((x, i) => (i === p ? [...final] : x));
  const next: TopicRecord = { ...topic, replicas, reassignments };
  if (Object.keys(reassignments).length === 0) delete next.reassignments;
  return { kind: 'topic', topic: next, why: r.cancel ? `reassignment cancelled: replicas back to [${final.join(', ')}]` : `reassignment complete: replicas [${final.join(', ')}]` };
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** One partition's answer to a reassignment or election request: null when accepted. */
export type PartitionOutcome = { errorCode: number; message: string } | null;

/**
 * Applies reassignment changes (target replicas, or null to cancel) to one topic's record in
 * etcd by compare-and-set, retried while other writers move the record. Each partition gets
 * its own outcome; the accepted ones are written together.
 */
export async function writeReassignments(
  store: ClusterStore,
  live: ReadonlySet<number>,
  topicName: string,
  changes: readonly { partition: number; replicas: readonly number[] | null }[],
): Promise<Map<number, PartitionOutcome>> {
  return updateTopicRecord(store, topicName, changes.map((c) => c.partition), (topic, outcomes) => {
    let next = topic;
    for (const c of changes) {
      try {
        next = withReassignment(next, c.partition, c.replicas, live);
        outcomes.set(c.partition, null);
      } catch (err) {
        if (!(err instanceof ReassignmentError)) throw err;
        outcomes.set(c.partition, { errorCode: err.errorCode, message: err.message });
      }
    }
    return next;
  });
}

/** Asks the controller for elections of partitions of one topic (TopicRecord.elections). */
export async function writeElectionRequests(store: ClusterStore, topicName: string, partitions: readonly number[], type: ElectionType): Promise<Map<number, PartitionOutcome>> {
  return updateTopicRecord(store, topicName, partitions, (topic, outcomes) => {
    const elections = { ...topic.elections };
    for (const p of partitions) {
      if (!Number.isInteger(p) || p < 0 || p >= topic.replicas.length) {
        outcomes.set(p, { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `partition ${topicName}-${p} does not exist (topic '${topicName}' has ${topic.replicas.length} partitions)` });
        continue;
      }
      elections[String(p)] = type;
      outcomes.set(p, null);
    }
    return Object.keys(elections).length === Object.keys(topic.elections ?? {}).length && Object.entries(elections).every(([k, v]) => topic.elections?.[k] === v) ? topic : { ...topic, elections };
  });
}

async function updateTopicRecord(
  store: ClusterStore,
  topicName: string,
  partitions: readonly number[],
  change: (topic: TopicRecord, outcomes: Map<number, PartitionOutcome>) => TopicRecord,
): Promise<Map<number, PartitionOutcome>> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const kv = await store.etcd.get(store.keys.topic(topicName));
    const outcomes = new Map<number, PartitionOutcome>();
    if (!kv) {
      for (const p of partitions) outcomes.set(p, { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `topic '${topicName}' does not exist` });
      return outcomes;
    }
    const topic = JSON.parse(kv.value) as TopicRecord;
    const next = change(topic, outcomes);
    if (next === topic || (await store.updateTopic(next, kv.modRevision))) return outcomes;
  }
  throw new ClusterStateError(`topic '${topicName}' kept changing while its reassignment or election was being written; try again`);
}
