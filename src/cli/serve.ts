/**
 * `sluice serve`: runs a broker on the Kafka wire protocol until SIGINT/SIGTERM. Settings come
 * from flags, then SLUICE_* environment variables, then defaults (data in ./data, port 9092).
 */
import { parseArgs } from 'node:util';
import { KafkaBroker, type BrokerOptions } from '../broker/kafka-broker.js';
import { installSignalHandlers } from '../server/index.js';

export const SERVE_HELP = `Usage: sluice serve [options]

Runs a Sluice broker that Kafka clients (kafkajs, librdkafka/kcat, confluent-kafka-python,
kafka-python, Java) talk to unchanged.

Options (each also as an environment variable, e.g. --port = SLUICE_PORT):
  --dir <path>               data directory (default ./data)
  --host <addr>              interface to listen on (default 127.0.0.1)
  --port <n>                 port (default 9092; 0 picks a free one)
  --advertised-host <host>   host clients are told to connect to (default: --host)
  --advertised-port <n>      port clients are told to connect to (default: the bound port)
  --num-partitions <n>       partitions of an auto-created topic (default 1)
  --auto-create-topics <b>   create topics on first use: true|false (default true)
  --durability <mode>        pagecache (Kafka's default) | fsync before every acknowledgement
  --acks-all-fsync <b>       acks=-1 waits for an fsync: true|false (default true)
  --max-request-bytes <n>    socket.request.max.bytes (default 104857600)
  --max-connections <n>      (default 10000)
  --idle-timeout-ms <n>      connections.max.idle.ms (default 600000)
  --request-timeout-ms <n>   a request must arrive whole within this (default 30000)
  --worker-threads <n>       codec worker threads (default: one per core; 0 = inline)
  --group-initial-rebalance-delay-ms <n>  wait for more members before the first rebalance
                             (default 0; Kafka's is 3000, for clusters starting many consumers)
  --group-min-session-timeout-ms <n>      group.min.session.timeout.ms (default 6000)
  --group-max-session-timeout-ms <n>      group.max.session.timeout.ms (default 1800000)
  --offsets-retention-minutes <n>         committed offsets of empty groups expire after this (default 10080)
  -h, --help                 this help
`;

const OPTIONS = {
  dir: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'advertised-host': { type: 'string' },
  'advertised-port': { type: 'string' },
  'num-partitions': { type: 'string' },
  'auto-create-topics': { type: 'string' },
  durability: { type: 'string' },
  'acks-all-fsync': { type: 'string' },
  'max-request-bytes': { type: 'string' },
  'max-connections': { type: 'string' },
  'idle-timeout-ms': { type: 'string' },
  'request-timeout-ms': { type: 'string' },
  'worker-threads': { type: 'string' },
  'group-initial-rebalance-delay-ms': { type: 'string' },
  'group-min-session-timeout-ms': { type: 'string' },
  'group-max-session-timeout-ms': { type: 'string' },
  'offsets-retention-minutes': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A setting that cannot be used, named by its flag and environment variable. */
export class ConfigError extends Error {
  constructor(key: string, value: string, allowed: string) {
    super(`invalid value '${value}' for --${key} (SLUICE_${key.toUpperCase().replace(/-/g, '_')}): ${allowed}`);
    this.name = 'ConfigError';
  }
}

function setting(values: Record<string, unknown>, key: string): string | undefined {
  const v = values[key];
  if (typeof v === 'string') return v;
  return process.env[`SLUICE_${key.toUpperCase().replace(/-/g, '_')}`];
}

function int(values: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = setting(values, key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < min || n > max) throw new ConfigError(key, v, `a whole number from ${min} to ${max}`);
  return n;
}

function bool(values: Record<string, unknown>, key: string): boolean | undefined {
  const v = setting(values, key);
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw new ConfigError(key, v, "'true' or 'false'");
  return v === 'true';
}

function minutes(n: number | undefined): number | undefined {
  return n === undefined ? undefined : n * 60_000;
}

/** Reads flags and environment into broker options. */
export function serveOptions(argv: string[]): BrokerOptions | 'help' {
  const { values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) return 'help';
  const durability = setting(values, 'durability');
  if (durability !== undefined && durability !== 'pagecache' && durability !== 'fsync') {
    throw new ConfigError('durability', durability, "'pagecache' or 'fsync'");
  }
  return {
    dir: setting(values, 'dir') ?? './data',
    host: setting(values, 'host') ?? '127.0.0.1',
    port: int(values, 'port', 0, 65535) ?? 9092,
    advertisedHost: setting(values, 'advertised-host'),
    advertisedPort: int(values, 'advertised-port', 1, 65535),
    numPartitions: int(values, 'num-partitions', 1, 100_000),
    autoCreateTopics: bool(values, 'auto-create-topics'),
    durability: durability as BrokerOptions['durability'],
    acksAllFsync: bool(values, 'acks-all-fsync'),
    workerThreads: int(values, 'worker-threads', 0, 256),
    groups: {
      initialRebalanceDelayMs: int(values, 'group-initial-rebalance-delay-ms', 0, 300_000),
      minSessionTimeoutMs: int(values, 'group-min-session-timeout-ms', 1, 2 ** 31 - 1),
      maxSessionTimeoutMs: int(values, 'group-max-session-timeout-ms', 1, 2 ** 31 - 1),
      offsetsRetentionMs: minutes(int(values, 'offsets-retention-minutes', 1, 2 ** 31 - 1)),
    },
    server: {
      maxRequestBytes: int(values, 'max-request-bytes', 1024, 2 ** 31 - 1),
      maxConnections: int(values, 'max-connections', 1, 1_000_000),
      idleTimeoutMs: int(values, 'idle-timeout-ms', 1, 2 ** 31 - 1),
      requestTimeoutMs: int(values, 'request-timeout-ms', 1, 2 ** 31 - 1),
    },
  };
}

export async function serve(argv: string[]): Promise<void> {
  const options = serveOptions(argv);
  if (options === 'help') {
    process.stdout.write(SERVE_HELP);
    return;
  }
  const broker = await KafkaBroker.start(options);
  const { host, port } = broker.address;
  process.stdout.write(
    `Sluice is listening on ${host}:${port} (Kafka protocol), data in ${broker.sluice.dir}\n` +
      `Quick start:  kcat -b ${host}:${port} -t hello -P <<< 'hi'   then   kcat -b ${host}:${port} -t hello -C -o beginning -e\n`,
  );
  installSignalHandlers(broker.server, async () => {
    await broker.sluice.close();
    process.stdout.write('Sluice stopped cleanly\n');
  });
}
