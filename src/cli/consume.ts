/**
 * `sluice consume`: prints records of a topic, like Kafka's kafka-console-consumer.sh, from
 * any Kafka-compatible broker: from the end (default), the beginning, an offset or a time, of
 * all partitions or one, alone or as a member of a consumer group (offsets committed every
 * few seconds and on exit, the group left cleanly on Ctrl-C).
 */
import type { Cluster } from '../wire-client/cluster.js';
import { Consumer, type ConsumedRecord, type StartAt } from '../wire-client/consumer.js';
import type { CommittedOffsets } from '../wire-client/admin.js';
import { brokerError } from '../wire-client/errors.js';
import { GroupMember } from '../wire-client/group-member.js';
import { COMMON_HELP, COMMON_OPTIONS, intFlag, parse, required, timeFlag, UsageError } from './args.js';
import { withCluster } from './connect.js';
import { CONSUMER_PROPERTIES, messageFormatterOf, parseProperties } from './console-properties.js';
import { compileFormat } from './format.js';

export const CONSUME_HELP = `Usage: sluice consume --topic T [options]

Prints the records of a topic, one per line, as they arrive. Stops after --max-messages,
after --timeout-ms without a record, or on Ctrl-C (a group member commits its offsets and
leaves the group first). Prints how many records it processed on stderr.

Options:
  --topic <name>             topic to read (required)
  --from-beginning           start at the earliest offset (default: only new records; with
                             --group: where the group has no committed offset)
  --offset <n>               start at this offset (of each partition read), or earliest|latest
  --from-time <iso>          start at the first record at or after this time
                             (e.g. 2024-05-01T12:00:00Z, or ms since the epoch)
  --partition <n>            read only this partition
  --group <id>               read as a member of this consumer group (range assignment),
                             starting at its committed offsets and committing as it goes
  --max-messages <n>         exit after this many records
  --timeout-ms <n>           exit when no record arrives for this long
  --format <template>        how to print a record (default '%v'): %k key, %v value,
                             %o offset, %p partition, %t topic, %T timestamp (ms), %h headers
                             (k=v,k2=v2), %% a percent sign; \\t and \\n escapes
  --property <name=value>    kafka-console-consumer.sh's formatter properties, instead of
                             --format (repeatable, or comma-separated): print.key,
                             print.value (default true), print.timestamp, print.partition,
                             print.offset, print.headers (true/false); key.separator
                             (between fields, default a tab), line.separator, headers.separator,
                             null.literal. Prints [CreateTime:ts] [Partition:p] [Offset:o]
                             [h:v,...] [key] value, as Kafka does
${COMMON_HELP}
Examples:
  sluice consume --topic events --from-beginning --max-messages 10
  sluice consume --topic events --group audit --format '%p/%o %k=%v %h'
  sluice consume --topic events --from-beginning --property print.key=true --property key.separator=:
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  topic: { type: 'string' },
  'from-beginning': { type: 'boolean' },
  offset: { type: 'string' },
  'from-time': { type: 'string' },
  partition: { type: 'string' },
  group: { type: 'string' },
  'max-messages': { type: 'string' },
  'timeout-ms': { type: 'string' },
  format: { type: 'string' },
  property: { type: 'string', multiple: true },
} as const;

const AUTO_COMMIT_INTERVAL_MS = 5000;

export async function consume(argv: string[]): Promise<number> {
  const v = parse(argv, OPTIONS);
  if (v.help) {
    process.stdout.write(CONSUME_HELP);
    return 0;
  }
  const topic = required(v.topic, 'topic', 'to know what to read');
  const starts = (['from-beginning', 'offset', 'from-time'] as const).filter((f) => v[f] !== undefined);
  if (starts.length > 1) throw new UsageError(`only one of --from-beginning, --offset, --from-time may be given, not ${starts.map((f) => `--${f}`).join(' and ')}`);
  const group = v.group;
  if (group !== undefined && (v.partition !== undefined || v.offset !== undefined)) {
    throw new UsageError('--group cannot be combined with --partition or --offset (the group assigns partitions and keeps offsets)');
  }
  if (group === '') throw new UsageError("invalid value '' for --group: a group id");
  let start: StartAt = { latest: true };
  if (v['from-beginning']) start = { earliest: true };
  else if (v.offset === 'earliest') start = { earliest: true };
  else if (v.offset === 'latest') start = { latest: true };
  else if (v.offset !== undefined) start = { offset: intFlag(v.offset, 'offset', 0)! };
  else if (v['from-time'] !== undefined) start = { timestamp: timeFlag(v['from-time'], 'from-time')! };
  const partition = intFlag(v.partition, 'partition', 0, 2 ** 31 - 1);
  const maxMessages = intFlag(v['max-messages'], 'max-messages', 1);
  const timeoutMs = intFlag(v['timeout-ms'], 'timeout-ms', 1, 2 ** 31 - 1);
  if (v.format !== undefined && v.property !== undefined) throw new UsageError('give --format or --property, not both');
  const format = v.property !== undefined ? messageFormatterOf(parseProperties(v.property, CONSUMER_PROPERTIES)) : compileFormat(v.format ?? '%v');

  return withCluster(v, 'sluice-consume', async (cluster) => {
    const info = await cluster.topic(topic);
    if (partition !== undefined && !info.partitions.some((p) => p.partition === partition)) {
      throw brokerError(3, `topic '${topic}' has partitions 0-${info.partitions.length - 1}, not ${partition}`);
    }
    const consumer = new Consumer(cluster, {
      maxWaitMs: Math.min(500, timeoutMs ?? 500),
      autoOffsetReset: 'earliest' in start ? 'earliest' : 'latest',
    });
    const session = new Session(cluster, consumer, topic, start, group);
    await session.begin(partition === undefined ? info.partitions.map((p) => p.partition) : [partition]);
    return session.run(format, maxMessages, timeoutMs);
  });
}

/** One run of the consume loop, with its group membership if any. */
class Session {
  private readonly member: GroupMember | null;
  private stopping = false;
  private count = 0;

  constructor(
    cluster: Cluster,
    private readonly consumer: Consumer,
    private readonly topic: string,
    private readonly start: StartAt,
    groupId: string | undefined,
  ) {
    this.member = groupId === undefined ? null : new GroupMember(cluster, { groupId, topics: [topic] });
  }

  async begin(partitions: number[]): Promise<void> {
    if (this.member === null) await this.consumer.assign(this.topic, partitions, this.start);
    else await this.joinGroup();
  }

  /** Joins, then starts each assigned partition at its committed offset, else at `start`. */
  private async joinGroup(): Promise<void> {
    const member = this.member!;
    this.consumer.unassignAll();
    const assignment = await member.join();
    const committed = await member.committed(assignment);
    for (const { topic, partitions } of assignment) {
      const known = committed.get(topic) ?? new Map<number, number>();
      const withOffset = partitions.filter((p) => known.has(p));
      const without = partitions.filter((p) => !known.has(p));
      for (const p of withOffset) await this.consumer.assign(topic, [p], { offset: known.get(p)! });
      if (without.length > 0) await this.consumer.assign(topic, without, this.start);
    }
  }

  private positions(): CommittedOffsets {
    const out: CommittedOffsets = new Map();
    for (const a of this.consumer.positions()) {
      let m = out.get(a.topic);
      if (m === undefined) out.set(a.topic, (m = new Map()));
      m.set(a.partition, a.position);
    }
    return out;
  }

  async run(format: (r: ConsumedRecord) => string, maxMessages: number | undefined, timeoutMs: number | undefined): Promise<number> {
    const stop = () => {
      if (this.stopping) process.exit(130); // a second Ctrl-C: do not wait
      this.stopping = true;
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    const onStdoutError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.stopping = true;
    };
    process.stdout.on('error', onStdoutError);
    let lastRecordAt = Date.now();
    let lastCommitAt = Date.now();
    try {
      while (!this.stopping) {
        if (this.member?.rejoinNeeded) {
          await this.member.commit(this.positions()).catch(() => {});
          await this.joinGroup();
        }
        const records = await this.consumer.poll();
        if (records.length > 0) {
          lastRecordAt = Date.now();
          let out = '';
          for (let i = 0; i < records.length; i++) {
            out += format(records[i]!);
            if (++this.count === maxMessages) {
              this.rewind(records.slice(i + 1));
              this.stopping = true;
              break;
            }
          }
          if (!process.stdout.write(out)) await new Promise((r) => process.stdout.once('drain', r));
        } else if (timeoutMs !== undefined && Date.now() - lastRecordAt >= timeoutMs) {
          break;
        }
        if (this.member !== null && Date.now() - lastCommitAt >= AUTO_COMMIT_INTERVAL_MS) {
          lastCommitAt = Date.now();
          await this.member.commit(this.positions()).catch(() => {});
        }
      }
      if (this.member !== null) {
        await this.member.commit(this.positions()).catch((err: Error) => process.stderr.write(`sluice consume: could not commit offsets on exit: ${err.message}\n`));
        await this.member.leave().catch((err: Error) => process.stderr.write(`sluice consume: could not leave the group: ${err.message}\n`));
      }
    } finally {
      this.member?.stopHeartbeats();
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      process.stdout.removeListener('error', onStdoutError);
      process.stderr.write(`Processed a total of ${this.count} messages\n`);
    }
    return 0;
  }

  /** Records fetched but not printed: their partitions go back to the first of them. */
  private rewind(unprinted: ConsumedRecord[]): void {
    const seen = new Set<string>();
    for (const r of unprinted) {
      const k = `${r.topic}\0${r.partition}`;
      if (seen.has(k)) continue;
      seen.add(k);
      this.consumer.seek(r.topic, r.partition, r.offset);
    }
  }
}
