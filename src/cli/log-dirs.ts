/**
 * `sluice log-dirs --describe`: each broker's log directories and the size of every partition
 * replica in them, printed as the JSON Kafka's kafka-log-dirs.sh prints (after the same two
 * status lines), so scripts written for it read Sluice's answer too.
 */
import { describeLogDirsOfBrokers } from '../wire-client/records-admin.js';
import { COMMON_HELP, COMMON_OPTIONS, oneAction, parse, UsageError } from './args.js';
import { withCluster } from './connect.js';

export const LOG_DIRS_HELP = `Usage: sluice log-dirs --describe [--topic-list T,T] [--broker-list B,B] [options]

Asks each broker for its log directories (DescribeLogDirs) and prints, like kafka-log-dirs.sh,
two status lines and then one line of JSON:
  {"version":1,"brokers":[{"broker":0,"logDirs":[{"logDir":"/data","error":null,
   "partitions":[{"partition":"events-0","size":1234,"offsetLag":0,"isFuture":false}]}]}]}
size is the bytes of the replica's log segments.

Options:
  --describe                 describe the log directories (the only action)
  --topic-list <t,t,...>     only these topics (default: every topic)
  --broker-list <b,b,...>    only these brokers (default: every broker)
${COMMON_HELP}
Example:
  sluice log-dirs --describe --topic-list events | tail -1 | jq '.brokers[].logDirs[].partitions'
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  describe: { type: 'boolean' },
  'topic-list': { type: 'string' },
  'broker-list': { type: 'string' },
} as const;

const list = (value: string | undefined) => value?.split(',').map((s) => s.trim()).filter((s) => s !== '');

export async function logDirs(argv: string[]): Promise<number> {
  const v = parse(argv, OPTIONS);
  if (v.help) {
    process.stdout.write(LOG_DIRS_HELP);
    return 0;
  }
  oneAction(v, ['describe'] as const);
  const topics = list(v['topic-list']) ?? null;
  const brokerNames = list(v['broker-list']);
  for (const b of brokerNames ?? []) if (!/^\d+$/.test(b)) throw new UsageError(`invalid value '${v['broker-list']}' for --broker-list: broker ids separated by commas, such as 0,1`);
  const brokers = brokerNames?.map(Number) ?? null;
  return withCluster(v, 'sluice-log-dirs', async (cluster) => {
    process.stdout.write('Querying brokers for log directories information\n');
    const byBroker = await describeLogDirsOfBrokers(cluster, brokers, topics);
    const ids = [...byBroker.keys()].sort((a, b) => a - b);
    const json = {
      version: 1,
      brokers: ids.map((broker) => ({
        broker,
        logDirs: byBroker.get(broker)!.map((d) => ({
          logDir: d.logDir,
          error: d.error,
          partitions: d.partitions.map((p) => ({ partition: `${p.topic}-${p.partition}`, size: p.size, offsetLag: p.offsetLag, isFuture: p.isFuture })),
        })),
      })),
    };
    process.stdout.write(`Received log directory information from brokers ${ids.join(',')}\n${JSON.stringify(json)}\n`);
    return 0;
  });
}
