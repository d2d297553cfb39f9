/**
 * Every setting of `sluice serve` in one table: its flag, its SLUICE_* environment variable,
 * its key in a Kafka-style server.properties file (Kafka's own name where Kafka has one), its
 * default and its meaning. Precedence: flag over environment over file over default. The help
 * text and README's configuration reference come from this table.
 */
import fs from 'node:fs';
import { kafkaKeyNames, readKafkaKeys } from './kafka-config.js';
import { closest } from './did-you-mean.js';

/** A setting that cannot be used; names where it came from and what is allowed. */
export class ConfigError extends Error {
  constructor(where: string, value?: string, allowed?: string) {
    super(value === undefined ? where : `invalid value '${value}' for ${where}: ${allowed}`);
    this.name = 'ConfigError';
  }
}

/** Every problem of a config file at once: bad values and unknown keys, one per line. */
export class ConfigFileError extends ConfigError {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(problems.length === 1 ? problems[0]! : `${problems.length} problems in ${file}:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigFileError';
  }
}

export type Kind = { type: 'int'; min: number; max: number } | { type: 'bool' } | { type: 'string' } | { type: 'enum'; values: string[] };

export interface Setting {
  /** Flag name without dashes, e.g. 'port'; the env var is SLUICE_PORT. */
  flag: string;
  /** Keys accepted in the properties file (Kafka's name first). */
  file: string[];
  kind: Kind;
  default: string;
  doc: string;
}

const int = (min: number, max: number): Kind => ({ type: 'int', min, max });
const MAX_INT = 2 ** 31 - 1;

export const SETTINGS: Setting[] = [
  { flag: 'dir', file: ['log.dirs', 'log.dir'], kind: { type: 'string' }, default: './data', doc: 'data directory (one)' },
  { flag: 'host', file: ['sluice.host'], kind: { type: 'string' }, default: '127.0.0.1', doc: "interface to listen on (in a file also the PLAINTEXT listener of Kafka's listeners, e.g. PLAINTEXT://:9092; an empty host is every interface)" },
  { flag: 'port', file: ['sluice.port'], kind: int(0, 65535), default: '9092', doc: 'port to listen on (0 picks a free one; in a file also from listeners)' },
  { flag: 'advertised-host', file: ['advertised.host.name'], kind: { type: 'string' }, default: '', doc: 'host clients are told to connect to (default: --host; in a file also from advertised.listeners)' },
  { flag: 'advertised-port', file: ['advertised.port'], kind: int(1, 65535), default: '', doc: 'port clients are told to connect to (default: the bound port; in a file also from advertised.listeners)' },
  { flag: 'num-partitions', file: ['num.partitions'], kind: int(1, 100_000), default: '1', doc: 'partitions of an auto-created topic' },
  { flag: 'auto-create-topics', file: ['auto.create.topics.enable'], kind: { type: 'bool' }, default: 'true', doc: 'create topics on first use by Metadata and Produce' },
  { flag: 'durability', file: ['sluice.durability'], kind: { type: 'enum', values: ['pagecache', 'fsync'] }, default: 'pagecache', doc: "'pagecache' acknowledges from the page cache (Kafka's default); 'fsync' fsyncs before every acknowledgement" },
  { flag: 'acks-all-fsync', file: ['sluice.acks.all.fsync'], kind: { type: 'bool' }, default: 'true', doc: 'acks=-1 waits for an fsync (group commit): acks=all keeps its promise on one broker (off by default in a cluster, where replication is the durability)' },
  { flag: 'max-request-bytes', file: ['socket.request.max.bytes'], kind: int(1024, MAX_INT), default: '104857600', doc: 'largest request accepted' },
  { flag: 'queued-max-request-bytes', file: ['queued.max.request.bytes'], kind: int(1024, Number.MAX_SAFE_INTEGER), default: '536870912', doc: 'memory for requests being received or not yet answered, all connections together; a connection whose next request does not fit stops reading until it does (at least --max-request-bytes)' },
  { flag: 'max-connections', file: ['max.connections'], kind: int(1, 1_000_000), default: '10000', doc: 'connections beyond this are refused' },
  { flag: 'idle-timeout-ms', file: ['connections.max.idle.ms'], kind: int(1, MAX_INT), default: '600000', doc: 'idle connections are closed after this' },
  { flag: 'request-timeout-ms', file: ['sluice.request.timeout.ms'], kind: int(1, MAX_INT), default: '30000', doc: 'a request must arrive whole within this' },
  { flag: 'worker-threads', file: ['sluice.worker.threads'], kind: int(0, 256), default: '', doc: 'codec worker threads (default: one per core; 0 runs codecs inline)' },
  { flag: 'group-initial-rebalance-delay-ms', file: ['group.initial.rebalance.delay.ms'], kind: int(0, 300_000), default: '0', doc: "wait for more members before a new group's first rebalance (Kafka uses 3000)" },
  { flag: 'group-min-session-timeout-ms', file: ['group.min.session.timeout.ms'], kind: int(1, MAX_INT), default: '6000', doc: 'shortest session timeout a consumer may ask for' },
  { flag: 'group-max-session-timeout-ms', file: ['group.max.session.timeout.ms'], kind: int(1, MAX_INT), default: '1800000', doc: 'longest session timeout a consumer may ask for' },
  { flag: 'offsets-retention-minutes', file: ['offsets.retention.minutes'], kind: int(1, MAX_INT), default: '10080', doc: 'committed offsets of an empty group expire after this' },
  { flag: 'offsets-topic-num-partitions', file: ['offsets.topic.num.partitions'], kind: int(1, 1000), default: '50', doc: "partitions of __consumer_offsets when a data directory creates it (Kafka's default, which tools that compute a group's partition assume); a data directory keeps the count it was created with" },
  { flag: 'transaction-max-timeout-ms', file: ['transaction.max.timeout.ms'], kind: int(1, MAX_INT), default: '900000', doc: 'longest transaction.timeout.ms a transactional producer may ask for' },
  { flag: 'transaction-abort-interval-ms', file: ['transaction.abort.timed.out.transaction.cleanup.interval.ms'], kind: int(1, MAX_INT), default: '10000', doc: 'how often transactions that ran past their timeout are looked for and aborted' },
  { flag: 'transactional-id-expiration-ms', file: ['transactional.id.expiration.ms'], kind: int(1, MAX_INT), default: '604800000', doc: 'a transactional id with no transaction open is forgotten after this long idle (its next producer gets a new producer id)' },
  { flag: 'transaction-state-log-replication-factor', file: ['transaction.state.log.replication.factor'], kind: int(1, 32), default: '3', doc: 'replicas of each __transaction_state partition in a cluster (at most the brokers alive when it is created)' },
  { flag: 'transaction-state-log-min-isr', file: ['transaction.state.log.min.isr'], kind: int(1, 32), default: '2', doc: 'in-sync replicas a transaction state change needs in a cluster (at most its replication factor)' },
  { flag: 'transaction-state-log-num-partitions', file: ['transaction.state.log.num.partitions'], kind: int(1, 1000), default: '50', doc: 'partitions of __transaction_state when a data directory creates it; a data directory keeps the count it was created with' },
  { flag: 'retention-check-interval-ms', file: ['log.retention.check.interval.ms'], kind: int(0, MAX_INT), default: '300000', doc: 'how often retention runs (0: never)' },
  { flag: 'max-partitions', file: ['sluice.max.partitions'], kind: int(1, 1_000_000), default: '20000', doc: 'partitions the broker holds at most (CreateTopics/CreatePartitions beyond it get POLICY_VIOLATION)' },
  { flag: 'max-open-segments', file: ['sluice.max.open.segments'], kind: int(1, 1_000_000), default: '4096', doc: 'segment files open at once across all partitions (one descriptor and one mapping each); the least recently used closes and reopens on use' },
  { flag: 'max-partitions-per-request', file: ['sluice.max.partitions.per.request'], kind: int(1, 1_000_000), default: '10000', doc: 'partitions one CreateTopics or CreatePartitions request may create' },
  { flag: 'metrics-port', file: ['sluice.metrics.port'], kind: int(0, 65535), default: '9644', doc: 'Prometheus metrics at http://HOST:PORT/metrics, and /health and /ready (0: off)' },
  { flag: 'metrics-host', file: ['sluice.metrics.host'], kind: { type: 'string' }, default: '127.0.0.1', doc: 'interface of the metrics endpoint' },
  { flag: 'console-port', file: ['sluice.console.port'], kind: int(0, 65535), default: '9645', doc: 'web console at http://HOST:PORT/ (0: off)' },
  { flag: 'console-host', file: ['sluice.console.host'], kind: { type: 'string' }, default: '127.0.0.1', doc: 'interface of the web console' },
  { flag: 'console-sample-interval-ms', file: ['sluice.console.sample.interval.ms'], kind: int(100, 3_600_000), default: '5000', doc: "how often the console samples throughput and lag for its charts (the last 360 points are kept in memory)" },
  { flag: 'log-level', file: ['sluice.log.level'], kind: { type: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }, default: 'info', doc: 'log level' },
  { flag: 'node-id', file: ['node.id', 'broker.id'], kind: int(0, MAX_INT), default: '', doc: "this broker's id, unique in its cluster (default 0; kept in the data directory's meta.properties)" },
  { flag: 'etcd', file: ['sluice.etcd.endpoints'], kind: { type: 'string' }, default: '', doc: 'etcd endpoints, comma-separated (e.g. http://127.0.0.1:2379): join the cluster they coordinate; without it the broker runs alone' },
  { flag: 'cluster', file: ['sluice.cluster.name'], kind: { type: 'string' }, default: 'sluice', doc: "the cluster's name: its prefix in etcd (brokers of one cluster share it)" },
  { flag: 'rack', file: ['broker.rack'], kind: { type: 'string' }, default: '', doc: "this broker's rack: replicas of a partition go to different racks" },
  { flag: 'broker-session-timeout-ms', file: ['broker.session.timeout.ms'], kind: int(1000, 3_600_000), default: '9000', doc: "a broker that stops renewing its etcd lease is out of the cluster after this (its partitions' leadership moves)" },
  { flag: 'default-replication-factor', file: ['default.replication.factor'], kind: int(1, 32), default: '1', doc: 'replicas of an auto-created topic, or of one created without a replication factor (in a cluster)' },
  { flag: 'offsets-topic-replication-factor', file: ['offsets.topic.replication.factor'], kind: int(1, 32), default: '3', doc: 'replicas of each __consumer_offsets partition in a cluster (at most the brokers alive when it is created)' },
  { flag: 'replica-lag-time-max-ms', file: ['replica.lag.time.max.ms'], kind: int(100, 3_600_000), default: '30000', doc: 'a follower that has not caught up with its leader for this long leaves the in-sync replicas' },
  { flag: 'replica-fetch-wait-max-ms', file: ['replica.fetch.wait.max.ms'], kind: int(1, 60_000), default: '500', doc: "how long a follower's fetch waits at the leader for new data" },
  { flag: 'controlled-shutdown-timeout-ms', file: ['sluice.controlled.shutdown.timeout.ms'], kind: int(0, 3_600_000), default: '15000', doc: 'on SIGTERM in a cluster, wait this long for leaderships to move to other in-sync replicas before leaving' },
  { flag: 'auto-leader-rebalance', file: ['auto.leader.rebalance.enable'], kind: { type: 'bool' }, default: 'true', doc: 'give leadership back to the preferred replica when it is in sync again' },
  { flag: 'log-format', file: ['sluice.log.format'], kind: { type: 'enum', values: ['auto', 'json', 'pretty'] }, default: 'auto', doc: "'pretty' on a terminal, JSON lines otherwise ('auto')" },
];

export function envName(flag: string): string {
  return `SLUICE_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** Parses a Kafka-style properties file: key=value (or key: value, key value) lines, # or ! comments. */
export function readPropertiesFile(file: string): Map<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  const props = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) return;
    const m = /^([^=:\s]+)(?:\s*[=:]\s*|\s+)(.*)$/.exec(line);
    if (!m) throw new ConfigError(`${file}:${i + 1}: expected key=value, found '${line}'`);
    props.set(m[1]!, m[2]!.trim());
  });
  return props;
}

export interface ResolvedSettings {
  values: Map<string, string>;
  /** Where each value came from, for the startup banner and errors. */
  sources: Map<string, 'flag' | 'env' | 'file' | 'default'>;
  topicDefaults: Record<string, string>;
  /** Kafka keys of the file that do not apply to Sluice (to be warned about once). */
  ignored: string[];
  /** Other things about the file to tell the operator (listeners not served). */
  notices: string[];
}

function check(s: Setting, value: string, where: string): string {
  const k = s.kind;
  if (k.type === 'int') {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < k.min || n > k.max) throw new ConfigError(where, value, `a whole number from ${k.min} to ${k.max}`);
    return String(n);
  }
  if (k.type === 'bool') {
    if (value !== 'true' && value !== 'false') throw new ConfigError(where, value, "'true' or 'false'");
    return value;
  }
  if (k.type === 'enum' && !k.values.includes(value)) throw new ConfigError(where, value, `one of ${k.values.join(', ')}`);
  if (s.flag === 'dir' && where.startsWith('log.dir') && value.includes(',')) throw new ConfigError(where, value, 'one directory (Sluice keeps all partitions in one data directory)');
  return value;
}

/**
 * Applies flag > env > file > default to every setting. A file may hold Sluice's keys and
 * Kafka's own (kafka-config.ts): every bad value and every unknown key is reported in one
 * ConfigFileError. Unknown keys are errors, not warnings as in Kafka: every Kafka broker key
 * is known here (used, or accepted and ignored), so an unknown key is almost always a typo,
 * and a misspelt retention or durability key would otherwise run with a default the
 * operator did not choose.
 */
export function resolveSettings(flags: Record<string, string | undefined>, env: NodeJS.ProcessEnv, file: Map<string, string> | null, fileName = 'config file'): ResolvedSettings {
  const values = new Map<string, string>();
  const sources = new Map<string, 'flag' | 'env' | 'file' | 'default'>();
  const known = new Set<string>();
  for (const s of SETTINGS) for (const k of s.file) known.add(k);
  const kafka = readKafkaKeys(file ?? new Map(), known, fileName);
  const problems = kafka.problems;
  for (const s of SETTINGS) {
    const fileKey = s.file.find((k) => file?.has(k));
    let derived = kafka.derived.get(s.flag);
    // The listener's own address is advertised only when the listener is the address served.
    if (s.flag === 'advertised-host' && derived?.key === 'listeners' && sources.get('host') !== 'file') derived = undefined;
    if (flags[s.flag] !== undefined) {
      values.set(s.flag, check(s, flags[s.flag]!, `--${s.flag}`));
      sources.set(s.flag, 'flag');
    } else if (env[envName(s.flag)] !== undefined) {
      values.set(s.flag, check(s, env[envName(s.flag)]!, envName(s.flag)));
      sources.set(s.flag, 'env');
    } else if (fileKey !== undefined || derived !== undefined) {
      // Sluice's own key beats one derived from Kafka's (sluice.port over listeners).
      const [key, value] = fileKey !== undefined ? [fileKey, file!.get(fileKey)!] : [derived!.key, derived!.value];
      try {
        values.set(s.flag, check(s, value, `${key} in ${fileName}`));
        sources.set(s.flag, 'file');
      } catch (err) {
        problems.push((err as Error).message);
      }
    } else if (s.default !== '') {
      values.set(s.flag, s.default);
      sources.set(s.flag, 'default');
    }
  }
  if (kafka.unknown.length > 0) {
    const named = kafka.unknown.map((k) => {
      const guess = closest(k, [...known, ...kafkaKeyNames()]);
      return guess === undefined ? `'${k}'` : `'${k}' (did you mean ${guess}?)`;
    });
    problems.push(
      `unknown key${named.length > 1 ? 's' : ''} ${named.join(', ')} in ${fileName}: not a Sluice setting (sluice serve --help), ` +
        'a Kafka broker key, or log.<topic config> for a topic default (e.g. log.retention.ms); remove or correct ' +
        (named.length > 1 ? 'them' : 'it'),
    );
  }
  if (problems.length > 0) throw new ConfigFileError(fileName, problems);
  return { values, sources, topicDefaults: kafka.topicDefaults, ignored: kafka.ignored, notices: kafka.notices };
}

/** The help lines of every setting: flag, env var, file key, default, meaning. */
export function settingsHelp(): string {
  return SETTINGS.map((s) => {
    const allowed = s.kind.type === 'enum' ? s.kind.values.join('|') : s.kind.type === 'bool' ? 'true|false' : s.kind.type === 'int' ? 'n' : 'value';
    const def = s.default === '' ? '' : ` (default ${s.default})`;
    return `  --${s.flag} <${allowed}>\n      ${s.doc}${def}\n      env ${envName(s.flag)}, file key ${s.file[0]}`;
  }).join('\n');
}
