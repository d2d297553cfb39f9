/**
 * `sluice topics`: create, list, describe, alter and delete topics over the wire, like
 * Kafka's kafka-topics.sh (same action and option names).
 */
import { ErrorCode } from '../protocol/error-codes.js';
import {
  alterTopicConfigs,
  createPartitions,
  createTopic,
  deleteTopic,
  describeLogDirs,
  describeTopicConfigs,
  EARLIEST,
  LATEST,
  listOffsets,
} from '../wire-client/admin.js';
import type { Cluster, TopicInfo } from '../wire-client/cluster.js';
import { brokerError, KafkaError } from '../wire-client/errors.js';
import { listPartitionReassignments, type OngoingReassignment } from '../wire-client/reassignments.js';
import { COMMON_HELP, COMMON_OPTIONS, intFlag, keyValues, oneAction, parse, required, UsageError } from './args.js';
import { withCluster } from './connect.js';

export const TOPICS_HELP = `Usage: sluice topics (--create | --list | --describe | --alter | --delete) [options]

Creates, lists, describes, alters and deletes topics on any Kafka-compatible broker.

Actions:
  --create --topic T [--partitions N] [--replication-factor R] [--config k=v ...]
                             create a topic (partitions and replication: the broker's defaults
                             when left out); --if-not-exists: no error when it exists
  --list                     topic names, one per line
  --describe [--topic T]     partitions, leaders, replicas, in-sync replicas, log start and end
                             offsets, size on disk (n/a where the broker does not serve
                             DescribeLogDirs), the topic's own configs (every topic
                             without --topic), and Quarantined: the offset ranges damaged
                             batches left as a gap, where there are any
  --describe --under-replicated-partitions
                             only the partitions whose in-sync replicas are fewer than their
                             replicas (one line each, as Kafka prints them)
  --describe --unavailable-partitions
                             only the partitions without a live leader
  --alter --topic T (--partitions N | --config k=v ... | --delete-config k ...)
                             add partitions (never fewer), set or remove configs
  --delete --topic T         delete a topic and its data

Options:
  --topic <name>             the topic
  --partitions <n>           number of partitions (1 or more)
  --replication-factor <n>   copies of each partition (1 or more)
  --config <k=v>             a topic config such as retention.ms=86400000 (repeat the flag or
                             separate entries with commas)
  --delete-config <k>        a config to return to its default (repeatable)
  --if-exists                with --alter, --delete, --describe: do nothing if the topic is missing
  --if-not-exists            with --create: do nothing if the topic exists
  --exclude-internal         with --list, --describe: leave out internal topics
${COMMON_HELP}
Examples:
  sluice topics --create --topic events --partitions 6 --config retention.ms=86400000
  sluice topics --describe --topic events
  sluice topics --alter --topic events --partitions 12
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  create: { type: 'boolean' },
  list: { type: 'boolean' },
  describe: { type: 'boolean' },
  alter: { type: 'boolean' },
  delete: { type: 'boolean' },
  topic: { type: 'string' },
  partitions: { type: 'string' },
  'replication-factor': { type: 'string' },
  config: { type: 'string', multiple: true },
  'delete-config': { type: 'string', multiple: true },
  'if-exists': { type: 'boolean' },
  'if-not-exists': { type: 'boolean' },
  'exclude-internal': { type: 'boolean' },
  'under-replicated-partitions': { type: 'boolean' },
  'unavailable-partitions': { type: 'boolean' },
} as const;

const ACTIONS = ['create', 'list', 'describe', 'alter', 'delete'] as const;

/** Comma-separated entries of a repeatable flag, flattened. */
function entries(values: readonly string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(',')).filter((v) => v !== '');
}

function isMissing(err: unknown): boolean {
  return err instanceof KafkaError && err.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
}

const missing = (topic: string) => brokerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${topic}' does not exist`);

export async function topics(argv: string[]): Promise<number> {
  const v = parse(argv, OPTIONS);
  if (v.help) {
    process.stdout.write(TOPICS_HELP);
    return 0;
  }
  const action = oneAction(v, ACTIONS);
  const partitions = intFlag(v.partitions, 'partitions', 1, 1_000_000);
  const replicationFactor = intFlag(v['replication-factor'], 'replication-factor', 1, 32767);
  const configs = keyValues(entries(v.config), 'config');
  const deleteConfigs = entries(v['delete-config']);
  const needTopic = (what: string) => required(v.topic, 'topic', what);
  const topic = action === 'list' || action === 'describe' ? v.topic : needTopic(`with --${action}`);
  if (action === 'alter' && partitions === undefined && Object.keys(configs).length === 0 && deleteConfigs.length === 0) {
    throw new UsageError('--alter needs --partitions, --config or --delete-config');
  }
  if (action !== 'create' && action !== 'alter' && (partitions !== undefined || v.config !== undefined)) {
    throw new UsageError(`--partitions and --config go with --create or --alter, not --${action}`);
  }
  const only = v['under-replicated-partitions'] ? 'under-replicated' : v['unavailable-partitions'] ? 'unavailable' : null;
  if (only !== null && action !== 'describe') throw new UsageError(`--${only}-partitions goes with --describe, not --${action}`);
  if (v['under-replicated-partitions'] && v['unavailable-partitions']) throw new UsageError('give only one of --under-replicated-partitions and --unavailable-partitions');
  return withCluster(v, 'sluice-topics', async (cluster) => {
    switch (action) {
      case 'create':
        try {
          await createTopic(cluster, { name: topic!, partitions: partitions ?? -1, replicationFactor: replicationFactor ?? -1, configs });
          process.stdout.write(`Created topic ${topic}.\n`);
        } catch (err) {
          if (!(v['if-not-exists'] && err instanceof KafkaError && err.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS)) throw err;
        }
        return 0;
      case 'list': {
        const md = await cluster.metadata(null);
        const names = [...md.topics.values()].filter((t) => !(v['exclude-internal'] && t.isInternal)).map((t) => t.name).sort();
        process.stdout.write(names.map((n) => `${n}\n`).join(''));
        return 0;
      }
      case 'describe':
        if (only !== null) return describePartitions(cluster, topic, only, v['exclude-internal'] === true);
        return describe(cluster, topic, v['if-exists'] === true, v['exclude-internal'] === true);
      case 'delete':
        try {
          await deleteTopic(cluster, topic!);
          process.stdout.write(`Deleted topic ${topic}.\n`);
        } catch (err) {
          if (!(v['if-exists'] && isMissing(err))) throw isMissing(err) ? missing(topic!) : err;
        }
        return 0;
      case 'alter':
        try {
          if (partitions !== undefined) {
            await createPartitions(cluster, topic!, partitions);
            process.stdout.write(`Topic ${topic} now has ${partitions} partitions.\n`);
          }
          if (Object.keys(configs).length > 0 || deleteConfigs.length > 0) {
            await alterTopicConfigs(cluster, topic!, configs, deleteConfigs);
            const changes = [...Object.entries(configs).map(([k, val]) => `${k}=${val}`), ...deleteConfigs.map((k) => `${k} (default)`)];
            process.stdout.write(`Updated configs of topic ${topic}: ${changes.join(', ')}.\n`);
          }
        } catch (err) {
          if (!(v['if-exists'] && isMissing(err))) throw isMissing(err) ? missing(topic!) : err;
        }
        return 0;
    }
  });
}

async function describe(cluster: Cluster, topic: string | undefined, ifExists: boolean, excludeInternal: boolean): Promise<number> {
  const md = await cluster.metadata(topic === undefined ? null : [topic]);
  let list = [...md.topics.values()].filter((t) => !(excludeInternal && t.isInternal));
  if (topic !== undefined) {
    const t = md.topics.get(topic);
    if (t === undefined || t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
      if (ifExists) return 0;
      throw missing(topic);
    }
    if (t.errorCode !== 0) throw brokerError(t.errorCode, `describing topic '${topic}'`);
    list = [t];
  }
  list.sort((a, b) => (a.name < b.name ? -1 : 1));
  // Reassignments in progress add Kafka's "Adding Replicas" / "Removing Replicas" columns.
  // Only a cluster has them (a lone broker refuses the request: not worth asking).
  const moving = md.brokers.size > 1 ? await listPartitionReassignments(cluster).catch(() => []) : [];
  for (const t of list) process.stdout.write(await describeOne(cluster, t, moving));
  return 0;
}

/**
 * kafka-topics.sh --describe --under-replicated-partitions / --unavailable-partitions: one
 * line per matching partition, from Metadata alone (no offsets: an unavailable partition has
 * no leader to ask).
 */
async function describePartitions(cluster: Cluster, topic: string | undefined, only: 'under-replicated' | 'unavailable', excludeInternal: boolean): Promise<number> {
  const md = await cluster.metadata(topic === undefined ? null : [topic]);
  if (topic !== undefined) {
    const t = md.topics.get(topic);
    if (t === undefined || t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw missing(topic);
  }
  const list = [...md.topics.values()].filter((t) => !(excludeInternal && t.isInternal)).sort((a, b) => (a.name < b.name ? -1 : 1));
  let out = '';
  for (const t of list) {
    for (const p of t.partitions) {
      const unavailable = p.leader < 0 || !md.brokers.has(p.leader);
      const matches = only === 'unavailable' ? unavailable : p.isr.length < p.replicas.length;
      if (!matches) continue;
      out +=
        `\tTopic: ${t.name}\tPartition: ${p.partition}\tLeader: ${p.leader < 0 ? 'none' : p.leader}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}` +
        `${p.offline.length > 0 ? `\tOffline: ${p.offline.join(',')}` : ''}\n`;
    }
  }
  process.stdout.write(out);
  return 0;
}

async function describeOne(cluster: Cluster, t: TopicInfo, moving: OngoingReassignment[] = []): Promise<string> {
  const ids = t.partitions.map((p) => p.partition);
  const [configs, starts, ends, sizes] = await Promise.all([
    describeTopicConfigs(cluster, t.name).catch(() => null),
    listOffsets(cluster, t.name, ids, EARLIEST),
    listOffsets(cluster, t.name, ids, LATEST),
    // Sizes are extra information: a broker that refuses DescribeLogDirs (not authorized,
    // say) leaves them n/a rather than failing the whole description.
    describeLogDirs(cluster, t.name, ids).catch(() => new Map<number, number>()),
  ]);
  const own = configs === null ? 'n/a' : configs.filter((c) => c.source === 'DYNAMIC_TOPIC_CONFIG').map((c) => `${c.name}=${c.isSensitive ? '<sensitive>' : c.value}`).join(',');
  const rf = t.partitions[0]?.replicas.length ?? 0;
  // Offset ranges a damaged batch left as a gap (Sluice's read-only sluice.quarantined.offsets).
  const quarantined = new Map<number, string[]>();
  for (const r of configs?.find((c) => c.name === 'sluice.quarantined.offsets')?.value?.split(',') ?? []) {
    const [partition, offsets] = r.split(':');
    quarantined.set(Number(partition), [...(quarantined.get(Number(partition)) ?? []), offsets!]);
  }
  let out = `Topic: ${t.name}\tTopicId: ${t.topicId}\tPartitionCount: ${t.partitions.length}\tReplicationFactor: ${rf}\tConfigs: ${own}\n`;
  for (const p of t.partitions) {
    const size = sizes.get(p.partition);
    out +=
      `\tTopic: ${t.name}\tPartition: ${p.partition}\tLeader: ${p.leader < 0 ? 'none' : p.leader}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}` +
      `\tLogStartOffset: ${starts.get(p.partition)?.offset ?? 'n/a'}\tLogEndOffset: ${ends.get(p.partition)?.offset ?? 'n/a'}\tSize: ${size === undefined ? 'n/a' : formatSize(size)}` +
      `${quarantined.has(p.partition) ? `\tQuarantined: ${quarantined.get(p.partition)!.join(',')}` : ''}` +
      `${reassigning(moving, t.name, p.partition)}\n`;
  }
  return out;
}

function reassigning(moving: OngoingReassignment[], topic: string, partition: number): string {
  const r = moving.find((m) => m.topic === topic && m.partition === partition);
  return r ? `\tAdding Replicas: ${r.adding.join(',')}\tRemoving Replicas: ${r.removing.join(',')}` : '';
}

/** `1234 B` below 1 KiB; above, the exact bytes and the size in binary units: `5120 B (5.0 KiB)`. */
export function formatSize(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  if (bytes < 1024) return `${bytes} B`;
  let n = bytes / 1024;
  let unit = 0;
  while (n >= 1023.95 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return `${bytes} B (${n.toFixed(1)} ${units[unit]})`;
}
