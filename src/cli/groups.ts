/**
 * `sluice groups`: list, describe, reset the offsets of, and delete consumer groups on any
 * Kafka-compatible broker, like Kafka's kafka-consumer-groups.sh (same action and option names).
 */
import { ErrorCode } from '../protocol/error-codes.js';
import { decodeAssignment, type TopicPartitions } from '../group/consumer-protocol.js';
import { consumerLag, describeCommittedOffset } from '../group/lag.js';
import { deleteGroup, describeGroup, EARLIEST, fetchOffsets, LATEST, listGroups, listOffsets, type GroupDescription } from '../wire-client/admin.js';
import type { Cluster } from '../wire-client/cluster.js';
import { brokerError } from '../wire-client/errors.js';
import { COMMON_HELP, COMMON_OPTIONS, oneAction, parse, required, UsageError } from './args.js';
import { withCluster } from './connect.js';
import { deleteGroupOffsets } from './groups-delete-offsets.js';
import { resetOffsets, RESET_OPTIONS } from './groups-reset.js';
import { table } from './table.js';

export const GROUPS_HELP = `Usage: sluice groups (--list | --describe | --reset-offsets | --delete | --delete-offsets) [options]

Lists, describes, resets the offsets of, and deletes consumer groups.

Actions:
  --list                     group ids, one per line (with --state: and each group's state)
  --describe (--group G | --all-groups)
                             the group's state and members (client id, host, assignment), and
                             per partition its committed offset, the log end offset and the lag
                             (--members or --offsets for one part only)
  --reset-offsets --group G (--topic T[:P,P] ... | --all-topics) <where>
                             plan new committed offsets and print them; with --execute, commit
                             them. Only while the group has no members, as in Kafka.
      <where> is one of:
        --to-earliest        the log start offset
        --to-latest          the log end offset
        --to-datetime <iso>  the first offset at or after this time (e.g. 2024-05-01T12:00:00Z)
        --to-offset <n>      this offset (kept within the log)
        --shift-by <n>       the committed offset moved by n (negative: back), kept within the log
  --delete --group G         delete a group that has no members, and its committed offsets
  --delete-offsets --group G --topic T[:P,P] ...
                             delete the group's committed offsets of these topics (or
                             partitions); refused while a member is subscribed to the topic

Options:
  --group <id>               the group
  --all-groups               with --describe: every group
  --topic <T[:P,P]>          topic (and partitions) to reset or delete offsets of (repeatable)
  --all-topics               with --reset-offsets: every topic the group has offsets for
  --execute                  with --reset-offsets: commit the new offsets (default: dry run)
  --dry-run                  with --reset-offsets: print the plan only (the default)
  --members, --offsets       with --describe: print only the members, or only the offsets
  --state                    with --list: also print each group's state
${COMMON_HELP}
Examples:
  sluice groups --describe --group audit
  sluice groups --describe --all-groups
  sluice groups --delete-offsets --group audit --topic events
  sluice groups --reset-offsets --group audit --topic events --to-earliest --execute
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...RESET_OPTIONS,
  list: { type: 'boolean' },
  describe: { type: 'boolean' },
  'reset-offsets': { type: 'boolean' },
  delete: { type: 'boolean' },
  'delete-offsets': { type: 'boolean' },
  group: { type: 'string' },
  'all-groups': { type: 'boolean' },
  members: { type: 'boolean' },
  offsets: { type: 'boolean' },
  state: { type: 'boolean' },
} as const;

export async function groups(argv: string[]): Promise<number> {
  const v = parse(argv, OPTIONS);
  if (v.help) {
    process.stdout.write(GROUPS_HELP);
    return 0;
  }
  const action = oneAction(v, ['list', 'describe', 'reset-offsets', 'delete', 'delete-offsets'] as const);
  const allGroups = v['all-groups'] === true;
  if (allGroups && (action !== 'describe' || v.group !== undefined)) throw new UsageError('--all-groups goes with --describe, instead of --group');
  const group = action === 'list' || allGroups ? undefined : required(v.group, 'group', `with --${action}${action === 'describe' ? ' (or --all-groups)' : ''}`);
  if (action === 'reset-offsets') return resetOffsets(v, group!);
  if (action === 'delete-offsets') return deleteGroupOffsets(v, group!);
  return withCluster(v, 'sluice-groups', async (cluster) => {
    switch (action) {
      case 'list': {
        const all = await listGroups(cluster);
        process.stdout.write(v.state ? table(['GROUP', 'STATE'], all.map((g) => [g.groupId, g.state || 'unknown'])) : all.map((g) => `${g.groupId}\n`).join(''));
        return 0;
      }
      case 'describe': {
        const show = { members: v.members === true || v.offsets !== true, offsets: v.offsets === true || v.members !== true };
        if (!allGroups) return describe(cluster, group!, show);
        const all = await listGroups(cluster);
        for (const [i, g] of all.entries()) {
          if (i > 0) process.stdout.write('\n');
          await describe(cluster, g.groupId, show);
        }
        return 0;
      }
      case 'delete':
        await deleteGroup(cluster, group!);
        process.stdout.write(`Deleted consumer group '${group}'.\n`);
        return 0;
    }
  });
}

function assignmentOf(m: { memberAssignment: Buffer }): TopicPartitions[] {
  try {
    return m.memberAssignment.length === 0 ? [] : decodeAssignment(m.memberAssignment).assignedPartitions;
  } catch {
    return []; // not a consumer-protocol group
  }
}

async function describe(cluster: Cluster, groupId: string, show: { members: boolean; offsets: boolean }): Promise<number> {
  const g = await describeGroup(cluster, groupId);
  const committed = await fetchOffsets(cluster, groupId, null, undefined, { keepNegative: true });
  if (g.state === 'Dead' && committed.size === 0) throw brokerError(ErrorCode.GROUP_ID_NOT_FOUND, `consumer group '${groupId}' does not exist`);
  const owner = new Map<string, GroupDescription['members'][number]>();
  for (const m of g.members) for (const tp of assignmentOf(m)) for (const p of tp.partitions) owner.set(`${tp.topic}\0${p}`, m);
  // Every partition that has a commit or an owner.
  const partitions = new Map<string, Set<number>>();
  const add = (t: string, p: number) => (partitions.get(t) ?? partitions.set(t, new Set()).get(t)!).add(p);
  for (const [t, ps] of committed) for (const p of ps.keys()) add(t, p);
  for (const k of owner.keys()) add(k.split('\0')[0]!, Number(k.split('\0')[1]));

  let out = `Group: ${groupId}  State: ${g.state}  Protocol: ${g.protocol || '-'}  Members: ${g.members.length}\n`;
  if (show.members) {
    out += '\n';
    out +=
      g.members.length === 0
        ? `Consumer group '${groupId}' has no active members.\n`
        : table(
            ['CONSUMER-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS', 'ASSIGNMENT'],
            g.members.map((m) => {
              const a = assignmentOf(m);
              const n = a.reduce((s, t) => s + t.partitions.length, 0);
              return [m.memberId, m.clientHost, m.clientId, n, a.map((t) => `${t.topic}(${t.partitions.join(',')})`).join(' ') || '-'];
            }),
          );
  }
  if (show.offsets) {
    const rows: (string | number)[][] = [];
    let sentinels = false;
    for (const [topic, ps] of [...partitions].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const list = [...ps].sort((a, b) => a - b);
      const none = () => new Map<number, { offset: number }>();
      const [starts, ends] = await Promise.all([listOffsets(cluster, topic, list, EARLIEST).catch(none), listOffsets(cluster, topic, list, LATEST).catch(none)]);
      for (const p of list) {
        const current = committed.get(topic)?.get(p);
        const start = starts.get(p)?.offset;
        const end = ends.get(p)?.offset;
        const m = owner.get(`${topic}\0${p}`);
        // The same rule as the sluice_group_lag metric: -2/-1 count from the log start/end.
        const lag = current !== undefined && start !== undefined && end !== undefined ? (consumerLag(current, start, end) ?? '-') : '-';
        if (current !== undefined && current < 0) sentinels = true;
        rows.push([groupId, topic, p, current === undefined ? '-' : describeCommittedOffset(current), end ?? '-', lag, m?.memberId ?? '-', m?.clientHost ?? '-', m?.clientId ?? '-']);
      }
    }
    out += '\n';
    out += rows.length === 0 ? `Consumer group '${groupId}' has no committed offsets.\n` : table(['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'], rows);
    if (sentinels) out += 'A committed -2 (earliest) counts lag from the log start offset, -1 (latest) from the log end offset, as a reset tool meant.\n';
  }
  process.stdout.write(out);
  return 0;
}
