/**
 * `sluice groups --reset-offsets`: computes new committed offsets for a group, prints the plan,
 * and with --execute commits it. Like Kafka, it refuses while the group has members (their
 * own commits would overwrite the reset), and keeps every new offset within the log.
 */
import { ErrorCode } from '../protocol/error-codes.js';
import { commitOffsets, describeGroup, EARLIEST, fetchOffsets, LATEST, listOffsets, type CommittedOffsets } from '../wire-client/admin.js';
import type { Cluster } from '../wire-client/cluster.js';
import { brokerError } from '../wire-client/errors.js';
import { intFlag, oneAction, timeFlag, UsageError } from './args.js';
import { withCluster } from './connect.js';
import { table } from './table.js';

export const RESET_OPTIONS = {
  topic: { type: 'string', multiple: true },
  'all-topics': { type: 'boolean' },
  'to-earliest': { type: 'boolean' },
  'to-latest': { type: 'boolean' },
  'to-datetime': { type: 'string' },
  'to-offset': { type: 'string' },
  'shift-by': { type: 'string' },
  execute: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
} as const;

type ResetValues = {
  topic?: string[];
  'all-topics'?: boolean;
  'to-earliest'?: boolean;
  'to-latest'?: boolean;
  'to-datetime'?: string;
  'to-offset'?: string;
  'shift-by'?: string;
  execute?: boolean;
  'dry-run'?: boolean;
  'bootstrap-server'?: string;
  'request-timeout-ms'?: string;
};

type Target =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'datetime'; ms: number }
  | { kind: 'offset'; offset: number }
  | { kind: 'shift'; by: number };

function targetOf(v: ResetValues): Target {
  const flags = { 'to-earliest': v['to-earliest'], 'to-latest': v['to-latest'], 'to-datetime': v['to-datetime'] !== undefined, 'to-offset': v['to-offset'] !== undefined, 'shift-by': v['shift-by'] !== undefined };
  switch (oneAction(flags, ['to-earliest', 'to-latest', 'to-datetime', 'to-offset', 'shift-by'] as const)) {
    case 'to-earliest':
      return { kind: 'earliest' };
    case 'to-latest':
      return { kind: 'latest' };
    case 'to-datetime':
      return { kind: 'datetime', ms: timeFlag(v['to-datetime'], 'to-datetime')! };
    case 'to-offset':
      return { kind: 'offset', offset: intFlag(v['to-offset'], 'to-offset', 0)! };
    case 'shift-by':
      return { kind: 'shift', by: intFlag(v['shift-by'], 'shift-by', Number.MIN_SAFE_INTEGER)! };
  }
}

/** `T` or `T:0,2` -> topic and partitions (undefined: all). */
export function topicSpec(s: string): { topic: string; partitions?: number[] } {
  const at = s.lastIndexOf(':');
  if (at < 0) return { topic: s };
  const partitions = s.slice(at + 1).split(',').map((p) => intFlag(p, 'topic', 0, 2 ** 31 - 1)!);
  return { topic: s.slice(0, at), partitions };
}

export async function resetOffsets(v: ResetValues, groupId: string): Promise<number> {
  const target = targetOf(v);
  if (v.execute && v['dry-run']) throw new UsageError('only one of --execute and --dry-run may be given');
  if ((v.topic === undefined) === (v['all-topics'] !== true)) throw new UsageError('--reset-offsets needs either --topic T (repeatable) or --all-topics');
  const specs = (v.topic ?? []).map(topicSpec);
  return withCluster(v, 'sluice-groups', async (cluster) => {
    const g = await describeGroup(cluster, groupId);
    if (g.state !== 'Empty' && g.state !== 'Dead') {
      throw brokerError(ErrorCode.NON_EMPTY_GROUP, `offsets can be reset only while group '${groupId}' is inactive, but it is ${g.state} with ${g.members.length} member(s); stop its consumers first`);
    }
    const committed = await fetchOffsets(cluster, groupId, null);
    const wanted = specs.length > 0 ? specs : [...committed.keys()].map((topic) => ({ topic }));
    const plan: CommittedOffsets = new Map();
    for (const spec of wanted) plan.set(spec.topic, await planTopic(cluster, groupId, spec, target, committed.get(spec.topic)));
    const rows = [...plan].flatMap(([t, ps]) => [...ps].map(([p, o]) => [groupId, t, p, o]));
    process.stdout.write(table(['GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET'], rows));
    if (v.execute) {
      await commitOffsets(cluster, groupId, plan);
      process.stderr.write(`Reset the offsets of ${rows.length} partition(s) of group '${groupId}'.\n`);
    } else {
      process.stderr.write('Dry run: nothing was changed. Add --execute to commit these offsets.\n');
    }
    return 0;
  });
}

async function planTopic(
  cluster: Cluster,
  groupId: string,
  spec: { topic: string; partitions?: number[] },
  target: Target,
  committed: Map<number, number> | undefined,
): Promise<Map<number, number>> {
  const info = await cluster.topic(spec.topic);
  const all = info.partitions.map((p) => p.partition);
  const partitions = spec.partitions ?? all;
  for (const p of partitions) {
    if (!all.includes(p)) throw brokerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${spec.topic}' has partitions 0-${all.length - 1}, not ${p}`);
  }
  const [starts, ends] = await Promise.all([listOffsets(cluster, spec.topic, partitions, EARLIEST), listOffsets(cluster, spec.topic, partitions, LATEST)]);
  const atTime = target.kind === 'datetime' ? await listOffsets(cluster, spec.topic, partitions, target.ms) : null;
  const out = new Map<number, number>();
  for (const p of partitions) {
    const lo = starts.get(p)!.offset;
    const hi = ends.get(p)!.offset;
    let o: number;
    switch (target.kind) {
      case 'earliest':
        o = lo;
        break;
      case 'latest':
        o = hi;
        break;
      case 'datetime': {
        const found = atTime!.get(p)!.offset;
        o = found < 0 ? hi : found;
        break;
      }
      case 'offset':
        o = target.offset;
        break;
      case 'shift': {
        const current = committed?.get(p);
        if (current === undefined) throw new Error(`cannot shift the offset of ${spec.topic}-${p}: group '${groupId}' has no committed offset there`);
        o = current + target.by;
        break;
      }
    }
    out.set(p, Math.min(hi, Math.max(lo, o)));
  }
  return out;
}
