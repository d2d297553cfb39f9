/**
 * The console's JSON API: read-only views of the broker taken in-process (the embedded Sluice,
 * its group coordinator, the cluster node when clustered, the traffic counters). Every function
 * returns plain JSON-able data; bytes travel as base64 and the page decides how to show them.
 */
import type { Sluice } from '../broker/sluice.js';
import type { ClusterNode } from '../cluster/node.js';
import { UnknownTopicError } from '../broker/errors.js';
import { readBatchHeader, readRecords } from '../record/index.js';
import { LENGTH_OFFSET, LOG_OVERHEAD } from '../record/layout.js';
import { decodeAssignment } from '../group/consumer-protocol.js';
import { SOFTWARE_VERSION } from '../version.js';
import type { ConsoleSampler } from './sampler.js';

/** One broker setting as the console shows it. */
export interface ConsoleSetting {
  name: string;
  /** Its key in a properties file. */
  key?: string;
  value: string;
  source: string;
  doc?: string;
}

export interface ConsoleSources {
  sluice: Sluice;
  cluster: ClusterNode | null;
  sampler: ConsoleSampler;
  nodeId: number;
  clusterId: () => string;
  /** Kafka address of this broker, as advertised. */
  advertised: () => { host: string; port: number };
  settings: ConsoleSetting[];
}

/** A request the API cannot answer: the status and a message naming the fix. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function clusterView(s: ConsoleSources) {
  const self = s.cluster ? s.cluster.nodeId : s.nodeId;
  const brokers = s.cluster
    ? s.cluster.brokers().map((b) => ({ id: b.id, host: b.host, port: b.port, rack: b.rack, startedAt: b.startedAt, software: b.software }))
    : [{ id: s.nodeId, host: s.advertised().host, port: s.advertised().port, rack: null, startedAt: Date.now() - Math.round(process.uptime() * 1000), software: SOFTWARE_VERSION }];
  return {
    clusterId: s.clusterId(),
    clustered: s.cluster !== null,
    self,
    controllerId: s.cluster ? s.cluster.controllerId() : s.nodeId,
    version: SOFTWARE_VERSION,
    brokers: brokers.sort((a, b) => a.id - b.id),
  };
}

export interface PartitionView {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  logStartOffset: number | null;
  highWatermark: number | null;
  logEndOffset: number | null;
  size: number | null;
  segments: number | null;
}

export function topicView(s: Sluice, cluster: ClusterNode | null, name: string) {
  if (!s.hasTopic(name)) throw new ApiError(404, `no topic '${name}' on this broker: see /api/topics for the topics there are`);
  const d = s.describeTopic(name);
  const record = cluster?.topic(name);
  const local = new Map(d.partitions.map((p) => [p.partition, p]));
  const count = record ? record.replicas.length : d.partitions.length;
  const partitions: PartitionView[] = [];
  for (let i = 0; i < count; i++) {
    const state = cluster?.partitionState(name, i);
    // In a cluster only a replica's local log holds the partition's records: elsewhere the
    // offsets and size are unknown here (the page shows a dash), not zero.
    const l = record && !(record.replicas[i] ?? []).includes(cluster!.nodeId) ? undefined : local.get(i);
    partitions.push({
      partition: i,
      leader: state ? state.leader : (l?.leader ?? -1),
      replicas: record ? (record.replicas[i] ?? []) : (l?.replicas ?? []),
      isr: state ? state.isr : (l?.isr ?? []),
      logStartOffset: l ? l.logStartOffset : null,
      highWatermark: l ? l.highWatermark : null,
      logEndOffset: l ? l.logEndOffset : null,
      size: l ? l.size : null,
      segments: l ? l.segments : null,
    });
  }
  const sum = (f: (p: PartitionView) => number | null) => partitions.reduce((a, p) => a + (f(p) ?? 0), 0);
  return {
    name,
    id: d.id,
    internal: d.internal,
    partitions,
    size: sum((p) => p.size),
    records: sum((p) => (p.highWatermark === null ? null : p.highWatermark - (p.logStartOffset ?? 0))),
    config: d.config,
    overrides: d.overrides,
  };
}

export function topicsView(s: ConsoleSources, internal: boolean) {
  return s.sluice
    .listTopics({ internal })
    .sort()
    .map((name) => {
      const { config: _c, overrides: _o, ...rest } = topicView(s.sluice, s.cluster, name);
      return rest;
    });
}

export interface RecordView {
  offset: number;
  timestamp: number;
  /** base64, or null for a null key/value. */
  key: string | null;
  value: string | null;
  headers: { key: string; value: string | null }[];
}

const MAX_LIMIT = 500;

/**
 * Records of one partition from `offset`, from the first record at or after `timestamp`, or
 * (neither given) the newest `limit` ones. Control records (transaction markers) are skipped.
 */
export function recordsView(s: Sluice, cluster: ClusterNode | null, topic: string, partition: number, q: { offset?: number; timestamp?: number; limit?: number }) {
  if (!s.hasTopic(topic)) throw new ApiError(404, `no topic '${topic}' on this broker`);
  const replicas = cluster?.topic(topic)?.replicas[partition];
  if (cluster && replicas && !replicas.includes(cluster.nodeId)) {
    throw new ApiError(404, `partition ${partition} of '${topic}' is not on this broker (${cluster.nodeId}) but on broker ${replicas.join(', ')}: open that broker's console`);
  }
  let part;
  try {
    part = s.partition(topic, partition);
  } catch (err) {
    if (err instanceof UnknownTopicError) throw new ApiError(404, `topic '${topic}' has no partition ${partition} on this broker (it has ${s.partitionCount(topic)})`);
    throw err;
  }
  const limit = Math.min(Math.max(1, q.limit ?? 50), MAX_LIMIT);
  const logStart = part.logStartOffset;
  const hw = part.highWatermark;
  let start: number;
  if (q.timestamp !== undefined) {
    const found = part.log.offsetForTimestamp(q.timestamp);
    start = found ? found.offset : hw;
  } else if (q.offset !== undefined) start = q.offset;
  else start = hw - limit;
  start = Math.min(Math.max(start, logStart), hw);
  const out: RecordView[] = [];
  let pos = start;
  const b64 = (b: Buffer | null) => (b === null ? null : b.toString('base64'));
  while (out.length < limit && pos < hw) {
    const r = part.read(pos, 1024 * 1024);
    if (r.records.length === 0) break;
    for (let at = 0; at + LOG_OVERHEAD <= r.records.length && out.length < limit; ) {
      const size = r.records.readInt32BE(at + LENGTH_OFFSET) + LOG_OVERHEAD;
      const batch = r.records.subarray(at, at + size);
      at += size;
      if (readBatchHeader(batch, 0).isControl) continue;
      for (const rec of readRecords(batch, {}, (offset, timestamp, key, value, headers) => ({ offset, timestamp, key, value, headers }), pos)) {
        if (out.length >= limit) break;
        out.push({ offset: rec.offset, timestamp: rec.timestamp, key: b64(rec.key), value: b64(rec.value), headers: rec.headers.map((h) => ({ key: h.key, value: b64(h.value) })) });
      }
    }
    if (r.nextOffset <= pos) break;
    pos = r.nextOffset;
  }
  return { topic, partition, logStartOffset: logStart, highWatermark: hw, from: start, records: out, nextOffset: out.length > 0 ? out[out.length - 1]!.offset + 1 : start };
}

export function groupsView(s: ConsoleSources) {
  return s.sluice.groups
    .listGroups()
    .sort((a, b) => (a.groupId < b.groupId ? -1 : 1))
    .map((g) => {
      const d = s.sluice.groups.describeGroups([g.groupId])[0]!;
      const lag = s.sluice.groupLag(g.groupId);
      return { groupId: g.groupId, state: g.groupState, protocolType: g.protocolType, members: d.members.length, partitions: lag.length, lag: lag.reduce((a, p) => a + p.lag, 0) };
    });
}

export function groupView(s: ConsoleSources, groupId: string) {
  const d = s.sluice.groups.describeGroups([groupId])[0]!;
  const lag = s.sluice.groupLag(groupId);
  if (d.groupState === 'Dead' && lag.length === 0) throw new ApiError(404, `no group '${groupId}' on this broker: see /api/groups`);
  const members = d.members.map((m) => {
    let assignment: { topic: string; partitions: number[] }[] = [];
    if (d.protocolType === 'consumer' && m.memberAssignment.length > 0) {
      try {
        assignment = decodeAssignment(m.memberAssignment).assignedPartitions.map((tp) => ({ topic: tp.topic, partitions: [...tp.partitions].sort((a, b) => a - b) }));
      } catch {
        assignment = []; // a client's own protocol bytes: shown as unassigned
      }
    }
    return { memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost, assignment };
  });
  const owner = new Map<string, string>();
  for (const m of members) for (const a of m.assignment) for (const p of a.partitions) owner.set(`${a.topic}/${p}`, m.clientId || m.memberId);
  return {
    groupId,
    state: d.groupState,
    protocolType: d.protocolType,
    protocol: d.protocolData,
    members,
    lag: lag.map((p) => ({ ...p, owner: owner.get(`${p.topic}/${p.partition}`) ?? null })),
    totalLag: lag.reduce((a, p) => a + p.lag, 0),
    history: s.sampler.lagHistory(groupId),
  };
}

export function throughputView(s: ConsoleSources) {
  const totals = new Map([...s.sluice.traffic.entries()].map(([t, v]) => [t, { ...v }]));
  return {
    intervalMs: s.sampler.intervalMs,
    topics: s.sampler.topicsWithTraffic().map((topic) => ({ topic, totals: totals.get(topic) ?? null, points: s.sampler.throughput(topic) })),
  };
}
