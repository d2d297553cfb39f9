/**
 * Kafka's eager client-side assignors, `range` and `roundrobin`, with Kafka's semantics. The
 * coordinator never runs them (the group leader does, as in Kafka); the embedded consumer does
 * when it leads.
 *
 * Member order (Kafka's MemberInfo order): static members (with a groupInstanceId) first, by
 * instance id; then dynamic members by member id. Topics without a known partition count are
 * skipped. Every member appears in the result, possibly with no topics.
 */
import { encodeAssignment, type TopicPartitions } from './consumer-protocol.js';

export interface AssignorMember {
  memberId: string;
  groupInstanceId?: string | null;
  /** The topics the member subscribes to. */
  topics: string[];
}

/** memberId -> topic -> partitions (ascending). */
export type GroupAssignment = Map<string, Map<string, number[]>>;

export type PartitionCounts = ReadonlyMap<string, number> | Readonly<Record<string, number>>;

export interface Assignor {
  /** The protocol name a consumer puts in JoinGroup. */
  readonly name: string;
  assign(members: readonly AssignorMember[], partitionsPerTopic: PartitionCounts): GroupAssignment;
}

function compareMembers(a: AssignorMember, b: AssignorMember): number {
  const ai = a.groupInstanceId ?? null;
  const bi = b.groupInstanceId ?? null;
  if (ai !== null && bi !== null) return cmp(ai, bi);
  if (ai !== null) return -1;
  if (bi !== null) return 1;
  return cmp(a.memberId, b.memberId);
}

/** Java's String.compareTo for BMP strings: UTF-16 code units, which is what JS `<` compares. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function countOf(counts: PartitionCounts, topic: string): number | undefined {
  const n = counts instanceof Map ? counts.get(topic) : Object.hasOwn(counts, topic) ? (counts as Record<string, number>)[topic] : undefined;
  return n !== undefined && n > 0 ? n : undefined;
}

function emptyAssignment(members: readonly AssignorMember[]): GroupAssignment {
  const out: GroupAssignment = new Map();
  for (const m of members) out.set(m.memberId, new Map());
  return out;
}

function add(out: GroupAssignment, memberId: string, topic: string, partition: number): void {
  const topics = out.get(memberId)!;
  let list = topics.get(topic);
  if (list === undefined) topics.set(topic, (list = []));
  list.push(partition);
}

/**
 * Range: per topic, the partitions in order are split into contiguous ranges over the members
 * subscribed to it, in member order; when they do not divide evenly the first members get one
 * more. Two members C0, C1 and topics t0, t1 of 3 partitions: C0 gets t0p0, t0p1, t1p0, t1p1;
 * C1 gets t0p2, t1p2.
 */
export const rangeAssignor: Assignor = {
  name: 'range',
  assign(members, partitionsPerTopic) {
    const out = emptyAssignment(members);
    const byTopic = new Map<string, AssignorMember[]>();
    for (const m of members) {
      for (const t of new Set(m.topics)) {
        let list = byTopic.get(t);
        if (list === undefined) byTopic.set(t, (list = []));
        list.push(m);
      }
    }
    for (const [topic, consumers] of byTopic) {
      const n = countOf(partitionsPerTopic, topic);
      if (n === undefined) continue;
      consumers.sort(compareMembers);
      const per = Math.floor(n / consumers.length);
      const extra = n % consumers.length;
      for (let i = 0; i < consumers.length; i++) {
        const start = per * i + Math.min(i, extra);
        const length = per + (i < extra ? 1 : 0);
        for (let p = start; p < start + length; p++) add(out, consumers[i]!.memberId, topic, p);
      }
    }
    return out;
  },
};

/**
 * Round robin: every partition of every subscribed topic (topics sorted by name, partitions in
 * order) goes to the next member in a circular walk over the members in member order, skipping
 * members not subscribed to its topic. C0 on t0; C1 on t0, t1; C2 on t0, t1, t2 (1, 2, 3
 * partitions): C0 gets t0p0; C1 t1p0; C2 t1p1, t2p0, t2p1, t2p2.
 */
export const roundRobinAssignor: Assignor = {
  name: 'roundrobin',
  assign(members, partitionsPerTopic) {
    const out = emptyAssignment(members);
    const sorted = [...members].sort(compareMembers);
    const subscribed = sorted.map((m) => new Set(m.topics));
    const topics = [...new Set(sorted.flatMap((m) => m.topics))].sort(cmp);
    let next = 0;
    for (const topic of topics) {
      const n = countOf(partitionsPerTopic, topic);
      if (n === undefined) continue;
      for (let p = 0; p < n; p++) {
        // Some member subscribes to every topic in the list, so this ends.
        while (!subscribed[next]!.has(topic)) next = (next + 1) % sorted.length;
        add(out, sorted[next]!.memberId, topic, p);
        next = (next + 1) % sorted.length;
      }
    }
    return out;
  },
};

export const ASSIGNORS: ReadonlyMap<string, Assignor> = new Map([
  [rangeAssignor.name, rangeAssignor],
  [roundRobinAssignor.name, roundRobinAssignor],
]);

/** One member's part of an assignment as ConsumerProtocolAssignment fields (topics sorted). */
export function toTopicPartitions(topics: ReadonlyMap<string, number[]> | undefined): TopicPartitions[] {
  if (topics === undefined) return [];
  return [...topics.entries()]
    .sort(([a], [b]) => cmp(a, b))
    .map(([topic, partitions]) => ({ topic, partitions: [...partitions] }));
}

/** The SyncGroup `assignments` a leader sends for a computed assignment. */
export function encodeGroupAssignment(assignment: GroupAssignment, version?: number): { memberId: string; assignment: Buffer }[] {
  return [...assignment.entries()].map(([memberId, topics]) => ({
    memberId,
    assignment: encodeAssignment({ assignedPartitions: toTopicPartitions(topics), userData: null }, version),
  }));
}
