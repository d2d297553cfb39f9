/**
 * `sluice get-offsets`: the offsets of partitions at a time, or the earliest, latest or
 * max-timestamp one, printed as `topic:partition:offset` lines like Kafka's
 * kafka-get-offsets.sh (same options).
 */
import { ErrorCode } from '../protocol/error-codes.js';
import { listOffsets } from '../wire-client/admin.js';
import { brokerError } from '../wire-client/errors.js';
import { COMMON_HELP, COMMON_OPTIONS, parse, UsageError } from './args.js';
import { withCluster } from './connect.js';

export const GET_OFFSETS_HELP = `Usage: sluice get-offsets [--topic T] [--partitions P,P] [--time <when>] [options]

Prints one line per partition, topic:partition:offset (sorted), like kafka-get-offsets.sh.
An offset is left empty when no record is at or after the time asked for.

Options:
  --topic <name|regex>       the topic, or a regular expression matched against whole topic
                             names (default: every topic)
  --partitions <p,p,...>     only these partitions (default: every partition)
  --time <when>              -1 or latest: the log end offset (default);
                             -2 or earliest: the log start offset;
                             -3 or max-timestamp: the offset of the record with the largest
                             timestamp; a time in ms since the epoch: the first offset whose
                             record's timestamp is at or after it
  --exclude-internal-topics  leave out internal topics (__consumer_offsets)
${COMMON_HELP}
Examples:
  sluice get-offsets --topic events
  sluice get-offsets --topic 'events.*' --time -2
  sluice get-offsets --topic events --partitions 0,1 --time 1714564800000
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  topic: { type: 'string' },
  partitions: { type: 'string' },
  time: { type: 'string' },
  'exclude-internal-topics': { type: 'boolean' },
} as const;

const NAMED_TIMES: Record<string, number> = { latest: -1, earliest: -2, 'max-timestamp': -3 };

/** --time as ListOffsets' timestamp. */
function timeOf(value: string | undefined): number {
  if (value === undefined) return -1;
  const named = NAMED_TIMES[value.toLowerCase()];
  if (named !== undefined) return named;
  if (!/^-?\d+$/.test(value) || Number(value) < -3 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`invalid value '${value}' for --time: -1 (latest), -2 (earliest), -3 (max-timestamp) or a time in ms since the epoch`);
  }
  return Number(value);
}

function partitionsOf(value: string | undefined): Set<number> | null {
  if (value === undefined) return null;
  const list = value.split(',').map((p) => p.trim()).filter((p) => p !== '');
  for (const p of list) if (!/^\d+$/.test(p)) throw new UsageError(`invalid value '${value}' for --partitions: partition ids separated by commas, such as 0,1,2`);
  if (list.length === 0) throw new UsageError("invalid value '' for --partitions: partition ids separated by commas, such as 0,1,2");
  return new Set(list.map(Number));
}

export async function getOffsets(argv: string[]): Promise<number> {
  const v = parse(argv, OPTIONS);
  if (v.help) {
    process.stdout.write(GET_OFFSETS_HELP);
    return 0;
  }
  const time = timeOf(v.time);
  const wanted = partitionsOf(v.partitions);
  let pattern: RegExp | null = null;
  if (v.topic !== undefined) {
    try {
      pattern = new RegExp(`^(?:${v.topic})$`);
    } catch (err) {
      throw new UsageError(`invalid value '${v.topic}' for --topic: ${(err as Error).message}`);
    }
  }
  return withCluster(v, 'sluice-get-offsets', async (cluster) => {
    const md = await cluster.metadata(null);
    const topics = [...md.topics.values()]
      .filter((t) => t.errorCode === ErrorCode.NONE && (pattern === null || pattern.test(t.name)) && !(v['exclude-internal-topics'] && t.isInternal))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    if (topics.length === 0 && v.topic !== undefined) throw brokerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no topic matches '${v.topic}'`);
    let out = '';
    let printed = 0;
    for (const t of topics) {
      const ids = t.partitions.map((p) => p.partition).filter((p) => wanted === null || wanted.has(p));
      if (ids.length === 0) continue;
      const offsets = await listOffsets(cluster, t.name, ids, time);
      for (const p of ids) {
        const o = offsets.get(p)?.offset;
        out += `${t.name}:${p}:${o === undefined || o < 0 ? '' : o}\n`;
        printed++;
      }
    }
    if (printed === 0 && wanted !== null) throw brokerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no partition ${[...wanted].join(',')} in ${v.topic === undefined ? 'any topic' : `the topics matching '${v.topic}'`}`);
    process.stdout.write(out);
    return 0;
  });
}
