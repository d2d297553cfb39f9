/**
 * `sluice leader-election`: preferred or unclean leader election, like Kafka's
 * kafka-leader-election.sh (same options and JSON file).
 */
import fs from 'node:fs';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import { electLeaders, type TopicPartition } from '../wire-client/reassignments.js';
import { COMMON_HELP, COMMON_OPTIONS, intFlag, parse, required, UsageError } from './args.js';
import { withCluster } from './connect.js';

export const LEADER_ELECTION_HELP = `Usage: sluice leader-election --election-type (preferred | unclean) (--topic T --partition P | --all-topic-partitions | --path-to-json-file F) [options]

Asks the controller to elect partition leaders, like kafka-leader-election.sh.

  preferred  the first replica of each partition (its preferred leader) leads again, if it is
             alive and in sync; partitions it leads already are left alone
  unclean    a partition with no live in-sync replica gets a live replica that is not in sync
             as leader: the records it lacks are lost; use it only to bring a partition back
             when its in-sync replicas are gone for good

Options:
  --election-type <type>     preferred or unclean (PREFERRED, UNCLEAN as Kafka spells them)
  --topic <name>             the topic of the partition to elect (with --partition)
  --partition <n>            the partition to elect (with --topic)
  --all-topic-partitions     every partition of the cluster
  --path-to-json-file <file> {"partitions":[{"topic":"events","partition":0}]}
${COMMON_HELP}
Example:
  sluice leader-election --election-type preferred --all-topic-partitions
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  'election-type': { type: 'string' },
  topic: { type: 'string' },
  partition: { type: 'string' },
  'all-topic-partitions': { type: 'boolean' },
  'path-to-json-file': { type: 'string' },
} as const;

export async function leaderElection(argv: string[]): Promise<number> {
  const v = parse(argv, OPTIONS);
  if (v.help) {
    process.stdout.write(LEADER_ELECTION_HELP);
    return 0;
  }
  const typeArg = required(v['election-type'], 'election-type', '(preferred or unclean)').toLowerCase();
  if (typeArg !== 'preferred' && typeArg !== 'unclean') throw new UsageError(`invalid value '${v['election-type']}' for --election-type: preferred or unclean`);
  const type = typeArg;
  const sources = [v.topic !== undefined || v.partition !== undefined ? '--topic/--partition' : null, v['all-topic-partitions'] ? '--all-topic-partitions' : null, v['path-to-json-file'] !== undefined ? '--path-to-json-file' : null].filter((s) => s !== null);
  if (sources.length !== 1) {
    throw new UsageError(sources.length === 0 ? 'say which partitions: --topic with --partition, --all-topic-partitions, or --path-to-json-file' : `give only one of ${sources.join(', ')}`);
  }
  let partitions: TopicPartition[] | null = null;
  if (v.topic !== undefined || v.partition !== undefined) {
    const topic = required(v.topic, 'topic', 'with --partition');
    const partition = required(intFlag(v.partition, 'partition', 0, 2 ** 31 - 1), 'partition', 'with --topic');
    partitions = [{ topic, partition }];
  } else if (v['path-to-json-file'] !== undefined) {
    partitions = readPartitions(v['path-to-json-file']);
  }
  const label = type.toUpperCase();
  return withCluster(v, 'sluice-leader-election', async (c) => {
    const results = await electLeaders(c, type, partitions);
    const tps = (rs: typeof results) => rs.map((r) => `${r.topic}-${r.partition}`).join(', ');
    const ok = results.filter((r) => r.errorCode === ErrorCode.NONE);
    const notNeeded = results.filter((r) => r.errorCode === ErrorCode.ELECTION_NOT_NEEDED);
    const failed = results.filter((r) => r.errorCode !== ErrorCode.NONE && r.errorCode !== ErrorCode.ELECTION_NOT_NEEDED);
    if (ok.length > 0) process.stdout.write(`Successfully completed leader election (${label}) for partitions ${tps(ok)}\n`);
    // Asked for everything, the partitions that needed nothing are not news (as Kafka's tool).
    if (notNeeded.length > 0 && partitions !== null) process.stdout.write(`Valid replica already elected for partitions ${tps(notNeeded)}\n`);
    if (ok.length === 0 && failed.length === 0 && partitions === null) process.stdout.write(`No partition needed a ${type} election.\n`);
    for (const f of failed) process.stderr.write(`Error completing leader election (${label}) for partition ${f.topic}-${f.partition}: ${errorName(f.errorCode)}: ${f.errorMessage ?? ''}\n`);
    if (failed.length > 0) process.stderr.write(`${failed.length} replica(s) could not be elected\n`);
    return failed.length === 0 ? 0 : 1;
  });
}

/** `{"partitions":[{"topic":"a","partition":0},...]}` */
function readPartitions(file: string): TopicPartition[] {
  const flag = 'path-to-json-file';
  let doc: { partitions?: unknown };
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { partitions?: unknown };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(e.code ? `cannot read --${flag} ${file}: ${e.code}` : `--${flag} ${file} is not JSON: ${e.message}`);
  }
  const bad = (why: string) => new UsageError(`--${flag} ${file}: ${why}; expected {"partitions":[{"topic":"events","partition":0}]}`);
  if (!Array.isArray(doc?.partitions) || doc.partitions.length === 0) throw bad('no "partitions" list');
  const seen = new Set<string>();
  return doc.partitions.map((e: { topic?: unknown; partition?: unknown }, i: number) => {
    if (typeof e?.topic !== 'string' || e.topic === '' || !Number.isInteger(e.partition) || (e.partition as number) < 0) throw bad(`entry ${i} needs "topic" and "partition"`);
    const tp = `${e.topic}-${e.partition as number}`;
    if (seen.has(tp)) throw bad(`${tp} appears twice`);
    seen.add(tp);
    return { topic: e.topic, partition: e.partition as number };
  });
}
