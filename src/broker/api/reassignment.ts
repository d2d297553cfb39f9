/**
 * AlterPartitionReassignments (45), ListPartitionReassignments (46) and ElectLeaders (43).
 * Any broker of a cluster serves them: they write requests into etcd, which the controller
 * carries out (only it changes leaders), and read the cluster's metadata cache. A broker
 * running alone has no replicas to move: it answers with a clear "needs a cluster" error.
 */
import { describeReassignment } from '../../cluster/reassignment.js';
import { NO_LEADER, type ElectionType } from '../../cluster/types.js';
import type { RequestBody } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerContext } from './context.js';
import { errorCodeOf, errorMessageOf } from './errors.js';

function needsCluster(api: string): string {
  return `${api} needs a Sluice cluster: this broker runs alone, with one copy of each partition (start brokers with --etcd to form a cluster)`;
}

export async function handleAlterPartitionReassignments(ctx: BrokerContext, req: RequestBody<45>) {
  const cluster = ctx.cluster;
  const answer = (errorCode: number, errorMessage: string | null, message: (topic: string, p: number) => { errorCode: number; errorMessage: string | null }) => ({
    throttleTimeMs: 0,
    errorCode,
    errorMessage,
    responses: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, ...message(t.name, p.partitionIndex) })) })),
  });
  if (!cluster) {
    const msg = needsCluster('reassigning partitions');
    return answer(ErrorCode.INVALID_REQUEST, msg, () => ({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: msg }));
  }
  const results = new Map<string, Map<number, { errorCode: number; errorMessage: string | null }>>();
  for (const t of req.topics) {
    const byPartition = new Map<number, { errorCode: number; errorMessage: string | null }>();
    results.set(t.name, byPartition);
    try {
      if (!cluster.topic(t.name)) throw Object.assign(new Error(`topic '${t.name}' does not exist`), { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
      const seen = new Set<number>();
      for (const p of t.partitions) {
        if (seen.has(p.partitionIndex)) throw Object.assign(new Error(`partition ${t.name}-${p.partitionIndex} appears twice in the request`), { errorCode: ErrorCode.INVALID_REQUEST });
        seen.add(p.partitionIndex);
      }
      const outcomes = await cluster.alterPartitionReassignments(
        t.name,
        t.partitions.map((p) => ({ partition: p.partitionIndex, replicas: p.replicas })),
      );
      for (const [p, o] of outcomes) byPartition.set(p, o === null ? { errorCode: ErrorCode.NONE, errorMessage: null } : { errorCode: o.errorCode, errorMessage: o.message });
    } catch (err) {
      for (const p of t.partitions) byPartition.set(p.partitionIndex, { errorCode: errorCodeOf(err), errorMessage: errorMessageOf(err) });
    }
  }
  return answer(ErrorCode.NONE, null, (topic, p) => results.get(topic)?.get(p) ?? { errorCode: ErrorCode.NONE, errorMessage: null });
}

export function handleListPartitionReassignments(ctx: BrokerContext, req: RequestBody<46>) {
  const cluster = ctx.cluster;
  if (!cluster) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: needsCluster('listing reassignments'), topics: [] };
  const wanted = req.topics === null ? null : new Map(req.topics.map((t) => [t.name, new Set(t.partitionIndexes)]));
  const topics = [];
  for (const t of [...cluster.cache.topics.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!t.reassignments) continue;
    const only = wanted === null ? null : wanted.get(t.name);
    if (only === undefined) continue;
    const partitions = [];
    for (let p = 0; p < t.replicas.length; p++) {
      if (only && !only.has(p)) continue;
      const r = describeReassignment(t, p);
      if (r) partitions.push({ partitionIndex: p, replicas: r.replicas, addingReplicas: r.adding, removingReplicas: r.removing });
    }
    if (partitions.length > 0) topics.push({ name: t.name, partitions });
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics };
}

interface ElectionResult {
  partitionId: number;
  errorCode: number;
  errorMessage: string | null;
}

export async function handleElectLeaders(ctx: BrokerContext, req: RequestBody<43>, version: number) {
  const cluster = ctx.cluster;
  const type: ElectionType | null = version === 0 || req.electionType === 0 ? 'preferred' : req.electionType === 1 ? 'unclean' : null;
  const byTopic = new Map<string, ElectionResult[]>();
  const result = (topic: string, r: ElectionResult) => {
    if (!byTopic.has(topic)) byTopic.set(topic, []);
    byTopic.get(topic)!.push(r);
  };
  const answer = (errorCode: number) => ({
    throttleTimeMs: 0,
    errorCode,
    replicaElectionResults: [...byTopic].map(([topic, partitionResult]) => ({ topic, partitionResult })),
  });
  const everyAsked = (errorCode: number, errorMessage: string) => {
    for (const t of req.topicPartitions ?? []) for (const p of t.partitions) result(t.topic, { partitionId: p, errorCode, errorMessage });
    return answer(version >= 1 ? errorCode : ErrorCode.NONE);
  };
  if (!cluster) return everyAsked(ErrorCode.INVALID_REQUEST, needsCluster('electing leaders'));
  if (type === null) return everyAsked(ErrorCode.INVALID_REQUEST, `unknown election type ${req.electionType}: 0 (preferred) or 1 (unclean)`);

  // Null asks for every partition of the cluster (what kafka-leader-election.sh's --all-topic-partitions sends).
  const asked: { topic: string; partitions: number[] }[] =
    req.topicPartitions ?? [...cluster.cache.topics.values()].map((t) => ({ topic: t.name, partitions: t.replicas.map((_, p) => p) }));
  const live = new Set(cluster.cache.liveBrokerIds());
  const pending = new Map<string, number[]>();
  for (const { topic, partitions } of asked) {
    const record = cluster.topic(topic);
    for (const p of new Set(partitions)) {
      const tp = `${topic}-${p}`;
      const state = cluster.partitionState(topic, p);
      const replicas = record?.replicas[p];
      if (!record || !replicas || !state) {
        result(topic, { partitionId: p, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `partition ${tp} does not exist` });
        continue;
      }
      const refusal = electionRefusal(type, tp, replicas, state, live);
      if (refusal) {
        result(topic, { partitionId: p, ...refusal });
        continue;
      }
      if (!pending.has(topic)) pending.set(topic, []);
      pending.get(topic)!.push(p);
    }
  }
  for (const [topic, partitions] of pending) {
    try {
      const outcomes = await cluster.requestElections(topic, partitions, type);
      for (const [p, o] of outcomes) {
        if (o !== null) {
          result(topic, { partitionId: p, errorCode: o.errorCode, errorMessage: o.message });
          partitions.splice(partitions.indexOf(p), 1);
        }
      }
    } catch (err) {
      for (const p of partitions) result(topic, { partitionId: p, errorCode: errorCodeOf(err), errorMessage: errorMessageOf(err) });
      pending.delete(topic);
    }
  }
  // The controller clears each request once it has run the election (or found it impossible).
  const timeoutMs = Math.max(1000, req.timeoutMs);
  const done = () => [...pending].every(([topic, ps]) => ps.every((p) => cluster.topic(topic)?.elections?.[String(p)] === undefined));
  const finished = await cluster.cache.waitFor(done, timeoutMs);
  for (const [topic, partitions] of pending) {
    for (const p of partitions) {
      const tp = `${topic}-${p}`;
      if (!finished && cluster.topic(topic)?.elections?.[String(p)] !== undefined) {
        result(topic, { partitionId: p, errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: `the controller did not run the election of ${tp} within ${timeoutMs} ms (is a controller elected? it stays asked for)` });
        continue;
      }
      const state = cluster.partitionState(topic, p);
      const replicas = cluster.topic(topic)?.replicas[p] ?? [];
      const ok = type === 'preferred' ? state?.leader === replicas[0] : state !== undefined && state.leader !== NO_LEADER && live.has(state.leader);
      result(
        topic,
        ok
          ? { partitionId: p, errorCode: ErrorCode.NONE, errorMessage: null }
          : { partitionId: p, ...(electionRefusal(type, tp, replicas, state, new Set(cluster.cache.liveBrokerIds())) ?? { errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, errorMessage: `the controller could not elect a leader for ${tp}` }) },
      );
    }
  }
  return answer(ErrorCode.NONE);
}

/** Why an election of this partition cannot or need not run, as Kafka's error codes say it; null when it can. */
function electionRefusal(
  type: ElectionType,
  tp: string,
  replicas: readonly number[],
  state: { leader: number; isr: readonly number[] } | undefined,
  live: ReadonlySet<number>,
): { errorCode: number; errorMessage: string } | null {
  if (!state) return { errorCode: ErrorCode.LEADER_NOT_AVAILABLE, errorMessage: `partition ${tp} has no state yet` };
  const leaderAlive = state.leader !== NO_LEADER && live.has(state.leader);
  if (type === 'preferred') {
    const preferred = replicas[0]!;
    if (state.leader === preferred) return { errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: `broker ${preferred}, the preferred replica of ${tp}, leads it already` };
    if (!live.has(preferred) || !state.isr.includes(preferred)) {
      return {
        errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
        errorMessage: `broker ${preferred}, the preferred replica of ${tp}, is ${live.has(preferred) ? `not in its ISR [${state.isr.join(', ')}]` : 'not alive'}`,
      };
    }
    return null;
  }
  if (leaderAlive) return { errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: `${tp} has a live leader, broker ${state.leader}` };
  if (!replicas.some((r) => live.has(r))) {
    return { errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, errorMessage: `none of the replicas of ${tp}, [${replicas.join(', ')}], is alive` };
  }
  return null;
}
