/**
 * The admin calls behind Kafka's kafka-delete-records, kafka-log-dirs and
 * kafka-consumer-groups --delete-offsets: DeleteRecords to each partition's leader,
 * DescribeLogDirs to every broker, OffsetDelete to the group's coordinator. Each partition's
 * outcome is returned (a low watermark or an error), not thrown, so one bad partition does not
 * hide the others' results, as Kafka's tools print them.
 */
import { ApiKey } from '../protocol/apis.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import type { Cluster } from './cluster.js';
import { brokerError, check, KafkaError } from './errors.js';

export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: number;
}

/** A partition's outcome: its new low watermark, or the error that stopped it. */
export type DeleteRecordsResult = { topic: string; partition: number } & ({ lowWatermark: number; error?: undefined } | { error: KafkaError; lowWatermark?: undefined });

/** DeleteRecords: removes records before `offset` (-1: the high watermark) of each partition. */
export async function deleteRecords(cluster: Cluster, wanted: readonly PartitionOffset[], timeoutMs = 30_000): Promise<DeleteRecordsResult[]> {
  const out: DeleteRecordsResult[] = [];
  const known: PartitionOffset[] = [];
  for (const w of wanted) {
    // A missing topic or partition is that partition's error, not the whole call's.
    try {
      await cluster.leaderOf(w.topic, w.partition);
      known.push(w);
    } catch (err) {
      if (!(err instanceof KafkaError)) throw err;
      out.push({ topic: w.topic, partition: w.partition, error: err });
    }
  }
  const byLeader = await cluster.byLeader(known, (w) => w);
  await Promise.all(
    [...byLeader].map(async ([leader, list]) => {
      const conn = await cluster.broker(leader);
      const topics = new Map<string, { partitionIndex: number; offset: number }[]>();
      for (const w of list) (topics.get(w.topic) ?? topics.set(w.topic, []).get(w.topic)!).push({ partitionIndex: w.partition, offset: w.offset });
      const res = await conn.request(ApiKey.DeleteRecords, { topics: [...topics].map(([name, partitions]) => ({ name, partitions })), timeoutMs });
      for (const t of res.topics) {
        for (const p of t.partitions) {
          out.push(
            p.errorCode === ErrorCode.NONE
              ? { topic: t.name, partition: p.partitionIndex, lowWatermark: p.lowWatermark }
              : { topic: t.name, partition: p.partitionIndex, error: brokerError(p.errorCode, `deleting records of ${t.name}-${p.partitionIndex}`) },
          );
        }
      }
    }),
  );
  return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

export interface LogDirDescription {
  logDir: string;
  /** The directory's error name (e.g. KAFKA_STORAGE_ERROR), or null. */
  error: string | null;
  partitions: { topic: string; partition: number; size: number; offsetLag: number; isFuture: boolean }[];
  /** -1 when the broker does not say (DescribeLogDirs before v4). */
  totalBytes: number;
  usableBytes: number;
}

/** DescribeLogDirs of each broker (`brokers` null: every broker); `topics` null: every topic. */
export async function describeLogDirsOfBrokers(cluster: Cluster, brokers: readonly number[] | null, topics: readonly string[] | null): Promise<Map<number, LogDirDescription[]>> {
  const md = await cluster.metadata(topics);
  const ids = brokers ?? [...md.brokers.keys()].sort((a, b) => a - b);
  for (const id of ids) if (!md.brokers.has(id)) throw brokerError(ErrorCode.BROKER_NOT_AVAILABLE, `broker ${id} is not in the cluster (brokers: ${[...md.brokers.keys()].sort((a, b) => a - b).join(', ')})`);
  // Every partition of the topics asked for (topics the broker does not know are left out).
  const request =
    topics === null
      ? null
      : topics.flatMap((t) => {
          const info = md.topics.get(t);
          return info === undefined || info.errorCode !== ErrorCode.NONE ? [] : [{ topic: t, partitions: info.partitions.map((p) => p.partition) }];
        });
  const out = new Map<number, LogDirDescription[]>();
  await Promise.all(
    ids.map(async (id) => {
      const conn = await cluster.broker(id);
      if (!conn.versions.has(ApiKey.DescribeLogDirs)) throw brokerError(ErrorCode.UNSUPPORTED_VERSION, `broker ${id} (${conn.address}) does not serve DescribeLogDirs`);
      const res = await conn.request(ApiKey.DescribeLogDirs, { topics: request });
      check(res.errorCode, `describing the log directories of broker ${id}`);
      out.set(
        id,
        res.results.map((d) => ({
          logDir: d.logDir,
          error: d.errorCode === ErrorCode.NONE ? null : errorName(d.errorCode),
          partitions: d.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, size: p.partitionSize, offsetLag: p.offsetLag, isFuture: p.isFutureKey }))),
          totalBytes: d.totalBytes ?? -1,
          usableBytes: d.usableBytes ?? -1,
        })),
      );
    }),
  );
  return out;
}

/** OffsetDelete: removes a group's committed offsets of some partitions; per-partition outcome. */
export async function deleteOffsets(cluster: Cluster, groupId: string, topics: readonly { topic: string; partitions: readonly number[] }[]): Promise<{ topic: string; partition: number; error: KafkaError | null }[]> {
  const conn = await cluster.coordinator(groupId);
  if (!conn.versions.has(ApiKey.OffsetDelete)) throw brokerError(ErrorCode.UNSUPPORTED_VERSION, `the coordinator of group '${groupId}' (${conn.address}) does not serve OffsetDelete`);
  const res = await conn.request(ApiKey.OffsetDelete, {
    groupId,
    topics: topics.map((t) => ({ name: t.topic, partitions: t.partitions.map((partitionIndex) => ({ partitionIndex })) })),
  });
  check(res.errorCode, `deleting the offsets of group '${groupId}'`);
  return res.topics.flatMap((t) =>
    t.partitions.map((p) => ({
      topic: t.name,
      partition: p.partitionIndex,
      error: p.errorCode === ErrorCode.NONE ? null : brokerError(p.errorCode, `deleting the offset of group '${groupId}' for ${t.name}-${p.partitionIndex}`),
    })),
  );
}
