/**
 * Admin calls over the wire, each routed as Kafka routes it: topic changes to the controller,
 * ListOffsets to partition leaders, group calls to the group's coordinator, ListGroups to
 * every broker. Each call adapts to the version negotiated with the broker and turns a Kafka
 * error code into a KafkaError naming the code and the topic, partition or group.
 * DescribeLogDirs goes to partition leaders too.
 */
import { ApiKey } from '../protocol/apis.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { Cluster } from './cluster.js';
import type { Connection } from './connection.js';
import { brokerError, check } from './errors.js';

/** DescribeConfigs / IncrementalAlterConfigs resource type of a topic. */
const TOPIC_RESOURCE = 2;

/** ListOffsets' special timestamps. */
export const LATEST = -1;
export const EARLIEST = -2;

/** Kafka's ConfigSource values, by number. */
export const CONFIG_SOURCES = ['UNKNOWN', 'DYNAMIC_TOPIC_CONFIG', 'DYNAMIC_BROKER_CONFIG', 'DYNAMIC_DEFAULT_BROKER_CONFIG', 'STATIC_BROKER_CONFIG', 'DEFAULT_CONFIG', 'DYNAMIC_BROKER_LOGGER_CONFIG', 'CLIENT_METRICS_CONFIG', 'GROUP_CONFIG'];

export interface ConfigEntry {
  name: string;
  value: string | null;
  /** DYNAMIC_TOPIC_CONFIG for a topic's own settings, DEFAULT_CONFIG etc. otherwise. */
  source: string;
  readOnly: boolean;
  isSensitive: boolean;
}

export interface GroupListing {
  groupId: string;
  protocolType: string;
  /** '' when the broker is older than ListGroups v4. */
  state: string;
}

export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  memberMetadata: Buffer;
  memberAssignment: Buffer;
}

export interface GroupDescription {
  groupId: string;
  errorCode: number;
  state: string;
  protocolType: string;
  protocol: string;
  members: GroupMemberDescription[];
}

export interface OffsetAnswer {
  offset: number;
  timestamp: number;
}

/** topic -> partition -> committed offset (only partitions with a commit). */
export type CommittedOffsets = Map<string, Map<number, number>>;

export async function createTopic(
  cluster: Cluster,
  t: { name: string; partitions: number; replicationFactor: number; configs: Record<string, string>; validateOnly?: boolean },
): Promise<void> {
  const conn = await cluster.controller();
  const res = await conn.request(ApiKey.CreateTopics, {
    topics: [
      {
        name: t.name,
        numPartitions: t.partitions,
        replicationFactor: t.replicationFactor,
        assignments: [],
        configs: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
      },
    ],
    timeoutMs: 30_000,
    validateOnly: t.validateOnly ?? false,
  });
  const r = res.topics[0];
  if (r === undefined) throw brokerError(ErrorCode.UNKNOWN_SERVER_ERROR, `creating topic '${t.name}': empty answer`);
  check(r.errorCode, `creating topic '${t.name}'`, r.errorMessage);
}

export async function deleteTopic(cluster: Cluster, name: string): Promise<void> {
  const conn = await cluster.controller();
  const v = conn.versions.versionFor(ApiKey.DeleteTopics);
  const res = await conn.request(ApiKey.DeleteTopics, v >= 6 ? { topics: [{ name }], timeoutMs: 30_000 } : { topicNames: [name], timeoutMs: 30_000 });
  const r = res.responses[0];
  if (r === undefined) throw brokerError(ErrorCode.UNKNOWN_SERVER_ERROR, `deleting topic '${name}': empty answer`);
  check(r.errorCode, `deleting topic '${name}'`, r.errorMessage);
}

export async function createPartitions(cluster: Cluster, name: string, count: number): Promise<void> {
  const conn = await cluster.controller();
  const res = await conn.request(ApiKey.CreatePartitions, { topics: [{ name, count, assignments: null }], timeoutMs: 30_000, validateOnly: false });
  const r = res.results[0];
  if (r === undefined) throw brokerError(ErrorCode.UNKNOWN_SERVER_ERROR, `adding partitions to '${name}': empty answer`);
  check(r.errorCode, `increasing the partitions of topic '${name}' to ${count}`, r.errorMessage);
}

export async function describeTopicConfigs(cluster: Cluster, name: string): Promise<ConfigEntry[]> {
  const res = await cluster.bootstrap.request(ApiKey.DescribeConfigs, {
    resources: [{ resourceType: TOPIC_RESOURCE, resourceName: name, configurationKeys: null }],
  });
  const r = res.results[0];
  if (r === undefined) throw brokerError(ErrorCode.UNKNOWN_SERVER_ERROR, `configs of topic '${name}': empty answer`);
  check(r.errorCode, `describing the configs of topic '${name}'`, r.errorMessage);
  return r.configs.map((c) => ({
    name: c.name,
    value: c.value,
    // v0 has isDefault instead of a source.
    source: c.configSource >= 0 ? (CONFIG_SOURCES[c.configSource] ?? `SOURCE_${c.configSource}`) : c.isDefault ? 'DEFAULT_CONFIG' : 'DYNAMIC_TOPIC_CONFIG',
    readOnly: c.readOnly,
    isSensitive: c.isSensitive,
  }));
}

/** Sets and deletes topic configs in one IncrementalAlterConfigs (SET = 0, DELETE = 1). */
export async function alterTopicConfigs(cluster: Cluster, name: string, set: Record<string, string>, remove: readonly string[]): Promise<void> {
  const configs = [
    ...Object.entries(set).map(([n, value]) => ({ name: n, configOperation: 0, value })),
    ...remove.map((n) => ({ name: n, configOperation: 1, value: null })),
  ];
  const res = await cluster.bootstrap.request(ApiKey.IncrementalAlterConfigs, {
    resources: [{ resourceType: TOPIC_RESOURCE, resourceName: name, configs }],
    validateOnly: false,
  });
  const r = res.responses[0];
  if (r === undefined) throw brokerError(ErrorCode.UNKNOWN_SERVER_ERROR, `altering topic '${name}': empty answer`);
  check(r.errorCode, `altering the configs of topic '${name}'`, r.errorMessage);
}

/**
 * ListOffsets for partitions of one topic, each asked of its leader: `timestamp` is a time in
 * ms, or LATEST / EARLIEST. A time after the last record answers offset -1.
 */
export async function listOffsets(
  cluster: Cluster,
  topic: string,
  partitions: readonly number[],
  timestamp: number,
  /** 1 (read_committed): latest is the last stable offset. */
  isolationLevel = 0,
): Promise<Map<number, OffsetAnswer>> {
  const byLeader = await cluster.byLeader(partitions, (partition) => ({ topic, partition }));
  const out = new Map<number, OffsetAnswer>();
  await Promise.all(
    [...byLeader].map(async ([leader, ps]) => {
      const conn = await cluster.broker(leader);
      const res = await conn.request(ApiKey.ListOffsets, {
        replicaId: -1,
        isolationLevel,
        topics: [{ name: topic, partitions: ps.map((partitionIndex) => ({ partitionIndex, timestamp, maxNumOffsets: 1 })) }],
      });
      for (const t of res.topics) {
        for (const p of t.partitions) {
          check(p.errorCode, `listing offsets of ${topic}-${p.partitionIndex}`);
          const offset = p.oldStyleOffsets.length > 0 ? p.oldStyleOffsets[0]! : p.offset;
          out.set(p.partitionIndex, { offset, timestamp: p.timestamp });
        }
      }
    }),
  );
  return out;
}

/**
 * Size on disk of partitions of one topic (bytes of their log segments), each asked of its
 * leader with DescribeLogDirs and summed over the leader's log directories (future logs of a
 * move between directories left out). Partitions whose leader does not serve DescribeLogDirs,
 * or does not hold them, are absent from the answer.
 */
export async function describeLogDirs(cluster: Cluster, topic: string, partitions: readonly number[]): Promise<Map<number, number>> {
  const byLeader = await cluster.byLeader(partitions, (partition) => ({ topic, partition }));
  const out = new Map<number, number>();
  await Promise.all(
    [...byLeader].map(async ([leader, ps]) => {
      const conn = await cluster.broker(leader);
      if (!conn.versions.has(ApiKey.DescribeLogDirs)) return;
      const res = await conn.request(ApiKey.DescribeLogDirs, { topics: [{ topic, partitions: ps }] });
      check(res.errorCode, `describing the log directories of broker ${conn.address}`);
      const wanted = new Set(ps);
      for (const dir of res.results) {
        if (dir.errorCode !== ErrorCode.NONE) continue; // an offline directory: nothing to count
        for (const t of dir.topics) {
          if (t.name !== topic) continue;
          for (const p of t.partitions) {
            if (p.isFutureKey || !wanted.has(p.partitionIndex)) continue;
            out.set(p.partitionIndex, (out.get(p.partitionIndex) ?? 0) + p.partitionSize);
          }
        }
      }
    }),
  );
  return out;
}

/** Every group on every broker. */
export async function listGroups(cluster: Cluster): Promise<GroupListing[]> {
  const all = new Map<string, GroupListing>();
  for (const conn of await cluster.allBrokers()) {
    const res = await conn.request(ApiKey.ListGroups, {});
    check(res.errorCode, `listing groups on broker ${conn.address}`);
    for (const g of res.groups) all.set(g.groupId, { groupId: g.groupId, protocolType: g.protocolType, state: g.groupState });
  }
  return [...all.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
}

/** DescribeGroups at the coordinator; a group that never existed has state 'Dead'. */
export async function describeGroup(cluster: Cluster, groupId: string): Promise<GroupDescription> {
  const conn = await cluster.coordinator(groupId);
  const res = await conn.request(ApiKey.DescribeGroups, { groups: [groupId], includeAuthorizedOperations: false });
  const g = res.groups[0];
  if (g === undefined) throw brokerError(ErrorCode.UNKNOWN_SERVER_ERROR, `describing group '${groupId}': empty answer`);
  if (g.errorCode !== ErrorCode.GROUP_ID_NOT_FOUND) check(g.errorCode, `describing group '${groupId}'`);
  return {
    groupId,
    errorCode: g.errorCode,
    state: g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND ? 'Dead' : g.groupState,
    protocolType: g.protocolType,
    protocol: g.protocolData,
    members: g.members.map((m) => ({ ...m })),
  };
}

/**
 * Committed offsets of a group (topics null: every topic it has offsets for). Negative values
 * mean "no offset" and are left out, unless `keepNegative`: with topics null every value the
 * group stored is kept, such as the -2/-1 that reset tools commit (see group/lag.ts).
 */
export async function fetchOffsets(
  cluster: Cluster,
  groupId: string,
  topics: { name: string; partitions: number[] }[] | null,
  conn?: Connection,
  options: { keepNegative?: boolean } = {},
): Promise<CommittedOffsets> {
  conn ??= await cluster.coordinator(groupId);
  const v = conn.versions.versionFor(ApiKey.OffsetFetch);
  const wanted = topics?.map((t) => ({ name: t.name, partitionIndexes: t.partitions })) ?? null;
  const res = await conn.request(
    ApiKey.OffsetFetch,
    v >= 8 ? { groups: [{ groupId, topics: wanted }], requireStable: false } : { groupId, topics: wanted ?? (v < 2 ? [] : null) },
  );
  const groupError = v >= 8 ? (res.groups[0]?.errorCode ?? 0) : res.errorCode;
  check(groupError, `fetching the offsets of group '${groupId}'`);
  const out: CommittedOffsets = new Map();
  for (const t of v >= 8 ? (res.groups[0]?.topics ?? []) : res.topics) {
    const parts = new Map<number, number>();
    for (const p of t.partitions) {
      check(p.errorCode, `fetching the offset of group '${groupId}' for ${t.name}-${p.partitionIndex}`);
      if (p.committedOffset >= 0 || options.keepNegative === true) parts.set(p.partitionIndex, p.committedOffset);
    }
    if (parts.size > 0) out.set(t.name, parts);
  }
  return out;
}

/**
 * OffsetCommit. Without a member (generation -1, member id ''), the broker accepts it only
 * while the group has no members, as Kafka's admin tools rely on.
 */
export async function commitOffsets(
  cluster: Cluster,
  groupId: string,
  offsets: CommittedOffsets,
  member: { generationId: number; memberId: string } = { generationId: -1, memberId: '' },
  conn?: Connection,
): Promise<void> {
  conn ??= await cluster.coordinator(groupId);
  const res = await conn.request(ApiKey.OffsetCommit, {
    groupId,
    generationIdOrMemberEpoch: member.generationId,
    memberId: member.memberId,
    topics: [...offsets].map(([name, parts]) => ({
      name,
      partitions: [...parts].map(([partitionIndex, committedOffset]) => ({ partitionIndex, committedOffset, committedMetadata: '' })),
    })),
  });
  for (const t of res.topics) {
    for (const p of t.partitions) check(p.errorCode, `committing the offset of group '${groupId}' for ${t.name}-${p.partitionIndex}`);
  }
}

export async function deleteGroup(cluster: Cluster, groupId: string): Promise<void> {
  const conn = await cluster.coordinator(groupId);
  const res = await conn.request(ApiKey.DeleteGroups, { groupsNames: [groupId] });
  const r = res.results[0];
  if (r === undefined) throw brokerError(ErrorCode.UNKNOWN_SERVER_ERROR, `deleting group '${groupId}': empty answer`);
  check(r.errorCode, `deleting group '${groupId}'`);
}
