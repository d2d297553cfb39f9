/**
 * `sluice serve`: runs a broker on the Kafka wire protocol until SIGINT/SIGTERM. Every setting
 * comes from a flag, a SLUICE_* environment variable, a Kafka-style properties file
 * (--config), or its default, in that order (see settings.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { KafkaBroker, type BrokerOptions } from '../broker/kafka-broker.js';
import { createLogger, type LogFormat } from '../observability/logger.js';
import { installSignalHandlers } from '../server/index.js';
import { parseEndpoints } from '../cluster/etcd.js';
import { ConfigError, ConfigFileError, SETTINGS, readPropertiesFile, resolveSettings, settingsHelp } from './settings.js';
import { parse } from './args.js';
import { SOFTWARE_VERSION } from '../version.js';

export { ConfigError, ConfigFileError };

export const SERVE_HELP = `Usage: sluice serve [options]

Runs a Sluice broker that Kafka clients (kafkajs, librdkafka/kcat, confluent-kafka-python,
kafka-python, Java) talk to unchanged. Settings: flag > SLUICE_* environment > --config file
> default.

  --config <file>   a server.properties file: Sluice's keys, and Kafka's own broker keys (a stock
                    Kafka server.properties works: listeners, log.retention.hours, ...; keys
                    that do not apply are logged once and ignored), and log.<topic config> for
                    topic defaults, e.g. log.retention.ms=3600000
${settingsHelp()}
  -h, --help        this help
`;

const OPTIONS = Object.fromEntries([
  ...SETTINGS.map((s) => [s.flag, { type: 'string' as const }]),
  ['config', { type: 'string' as const }],
  ['help', { type: 'boolean' as const, short: 'h' }],
]) as Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** Reads flags, environment and the config file into broker options. */
export type ServeOptions = BrokerOptions & {
  logLevel: string;
  logFormat: LogFormat;
  sources: Map<string, string>;
  /** The effective value of every setting that has one (a default or a chosen value). */
  values: Map<string, string>;
  /** The config file, when one was given. */
  configFile?: string;
  /** Kafka keys of the file that do not apply to Sluice, and other notes on it, for the log. */
  ignoredKeys: string[];
  notices: string[];
};

export function serveOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeOptions | 'help' {
  const values = parse(argv, OPTIONS);
  if (values.help) return 'help';
  const configFile = (values.config as string | undefined) ?? env.SLUICE_CONFIG;
  const file = configFile === undefined ? null : readPropertiesFile(configFile);
  const r = resolveSettings(values as Record<string, string | undefined>, env, file, configFile);
  const v = r.values;
  const n = (k: string) => (v.has(k) ? Number(v.get(k)) : undefined);
  const b = (k: string) => (v.has(k) ? v.get(k) === 'true' : undefined);
  const metricsPort = n('metrics-port')!;
  const consolePort = n('console-port')!;
  // Kafka's rule: a request that socket.request.max.bytes allows must fit in the pool, or it could never be read.
  if (n('queued-max-request-bytes')! < n('max-request-bytes')!) {
    throw new ConfigError(
      `queued.max.request.bytes (--queued-max-request-bytes, from ${r.sources.get('queued-max-request-bytes')})`,
      v.get('queued-max-request-bytes')!,
      `at least socket.request.max.bytes (--max-request-bytes, ${v.get('max-request-bytes')}), so that the largest request allowed fits; raise it or lower --max-request-bytes`,
    );
  }
  return {
    dir: v.get('dir')!,
    host: v.get('host')!,
    port: n('port')!,
    advertisedHost: v.get('advertised-host'),
    advertisedPort: n('advertised-port'),
    numPartitions: n('num-partitions'),
    // Only an explicit setting is compared with the count a data directory already has.
    offsetsTopicPartitions: r.sources.get('offsets-topic-num-partitions') === 'default' ? undefined : n('offsets-topic-num-partitions'),
    autoCreateTopics: b('auto-create-topics'),
    durability: v.get('durability') as BrokerOptions['durability'],
    // In a cluster replication is the durability: the fsync is off unless asked for.
    acksAllFsync: v.has('etcd') && r.sources.get('acks-all-fsync') === 'default' ? false : b('acks-all-fsync'),
    workerThreads: n('worker-threads'),
    retentionCheckIntervalMs: n('retention-check-interval-ms'),
    maxOpenSegments: n('max-open-segments'),
    topicDefaults: r.topicDefaults,
    groups: {
      initialRebalanceDelayMs: n('group-initial-rebalance-delay-ms'),
      minSessionTimeoutMs: n('group-min-session-timeout-ms'),
      maxSessionTimeoutMs: n('group-max-session-timeout-ms'),
      offsetsRetentionMs: v.has('offsets-retention-minutes') ? Number(v.get('offsets-retention-minutes')) * 60_000 : undefined,
    },
    server: {
      maxRequestBytes: n('max-request-bytes'),
      maxQueuedRequestBytes: n('queued-max-request-bytes'),
      maxConnections: n('max-connections'),
      idleTimeoutMs: n('idle-timeout-ms'),
      requestTimeoutMs: n('request-timeout-ms'),
    },
    metrics: metricsPort === 0 ? false : { host: v.get('metrics-host'), port: metricsPort },
    console:
      consolePort === 0
        ? false
        : {
            host: v.get('console-host'),
            port: consolePort,
            sampleIntervalMs: n('console-sample-interval-ms'),
            settings: SETTINGS.map((s) => ({ name: s.flag, key: s.file[0], value: v.get(s.flag) ?? '', source: r.sources.get(s.flag) ?? 'default', doc: s.doc })),
          },
    transactions: {
      maxTimeoutMs: n('transaction-max-timeout-ms'),
      abortTimedOutIntervalMs: n('transaction-abort-interval-ms'),
      stateLogPartitions: n('transaction-state-log-num-partitions'),
      stateLogReplicationFactor: n('transaction-state-log-replication-factor'),
      stateLogMinIsr: n('transaction-state-log-min-isr'),
      transactionalIdExpirationMs: n('transactional-id-expiration-ms'),
    },
    limits: { maxPartitions: n('max-partitions'), maxPartitionsPerRequest: n('max-partitions-per-request') },
    logLevel: v.get('log-level')!,
    logFormat: v.get('log-format') as LogFormat,
    sources: r.sources,
    values: v,
    configFile,
    ignoredKeys: r.ignored,
    notices: r.notices,
    nodeId: n('node-id'),
    cluster: v.has('etcd')
      ? {
          etcd: parseEndpoints(v.get('etcd')!),
          name: v.get('cluster'),
          nodeId: n('node-id') ?? 0,
          rack: v.get('rack') || null,
          sessionTimeoutMs: n('broker-session-timeout-ms'),
          autoLeaderRebalance: b('auto-leader-rebalance'),
          replication: { replicaLagTimeMaxMs: n('replica-lag-time-max-ms'), replicaFetchWaitMaxMs: n('replica-fetch-wait-max-ms') },
          defaultReplicationFactor: n('default-replication-factor'),
          offsetsTopicReplicationFactor: n('offsets-topic-replication-factor'),
          controlledShutdownTimeoutMs: n('controlled-shutdown-timeout-ms'),
          uncleanLeaderElection: r.topicDefaults['unclean.leader.election.enable'] === 'true',
        }
      : undefined,
  };
}

export async function serve(argv: string[]): Promise<void> {
  const options = serveOptions(argv);
  if (options === 'help') {
    process.stdout.write(SERVE_HELP);
    return;
  }
  const logger = createLogger({ level: options.logLevel, format: options.logFormat, stream: process.stderr });
  if (options.ignoredKeys.length > 0) {
    logger.warn(
      { file: options.configFile, keys: options.ignoredKeys },
      `ignoring ${options.ignoredKeys.length} Kafka setting(s) of ${options.configFile} that do not apply to a Sluice broker: ${options.ignoredKeys.join(', ')}`,
    );
  }
  for (const notice of options.notices) logger.warn({ file: options.configFile }, notice);
  const changed = nonDefaultSettings(options);
  // The sluice command starts Node with a larger first old-generation threshold (its shebang):
  // without it old-generation collections come every few hundred ms and make most of the
  // latency tail (README, "Where the end-to-end tail comes from"). Said here, so an operator
  // who runs `node .../index.js` sees what is missing.
  const heapFlag = process.execArgv.find((a) => a.startsWith('--initial-old-space-size')) ?? null;
  const node = `Node ${process.version}${heapFlag ? ` ${heapFlag}` : ' without --initial-old-space-size (expect old-generation collection pauses in the latency tail: start it with the sluice command, or pass --initial-old-space-size=256 to node)'}`;
  logger.info(
    { version: SOFTWARE_VERSION, node: process.version, nodeFlags: process.execArgv, settings: changed, ...(Object.keys(options.topicDefaults ?? {}).length > 0 ? { topicDefaults: options.topicDefaults } : {}) },
    `Sluice ${SOFTWARE_VERSION} starting on ${node}; settings that differ from their defaults: ${describeSettings(changed)}`,
  );
  // A start that fails must not leave behind a data directory it created (a typo in --dir
  // would otherwise litter the disk); what existed before is never touched.
  const created = firstMissing(path.resolve(options.values.get('dir')!));
  let broker: KafkaBroker;
  try {
    broker = await KafkaBroker.start({ ...options, logger });
  } catch (err) {
    if (created !== null) {
      try {
        fs.rmSync(created, { recursive: true, force: true });
      } catch (rmErr) {
        logger.warn({ dir: created, err: rmErr }, `could not remove ${created}, created by this failed start`);
      }
    }
    throw err;
  }
  const { host, port } = broker.address;
  const metrics = broker.metricsAddress ? `, metrics at http://${broker.metricsAddress.host}:${broker.metricsAddress.port}/metrics` : '';
  const webConsole = broker.consoleAddress ? `, console at http://${broker.consoleAddress.host}:${broker.consoleAddress.port}/` : '';
  process.stdout.write(
    `Sluice is listening on ${host}:${port} (Kafka protocol), data in ${broker.sluice.dir}${metrics}${webConsole}\n` +
      `Quick start:  echo hi | npx sluice produce --bootstrap-server ${host}:${port} --topic hello\n` +
      `              npx sluice consume --bootstrap-server ${host}:${port} --topic hello --from-beginning\n`,
  );
  logger.info({ version: SOFTWARE_VERSION, host, port, dir: broker.sluice.dir, metrics: broker.metricsAddress }, 'broker started');
  installSignalHandlers(
    broker.server,
    async () => {
      await broker.close();
      logger.info({}, 'broker stopped');
      process.stdout.write('Sluice stopped cleanly\n');
      // Everything is closed and flushed: a handle still open a second later (a leak) must not
      // keep the process alive, and is named so it can be found.
      setTimeout(() => {
        logger.warn({ activeResources: process.getActiveResourcesInfo() }, 'still running a second after a clean shutdown: exiting');
        process.exit(process.exitCode ?? 0);
      }, 1000).unref();
    },
    { logger, beforeClose: () => broker.prepareShutdown() },
  );
}

/** Every setting whose effective value is not its default: flag -> { value, source }. */
export function nonDefaultSettings(options: Pick<ServeOptions, 'values' | 'sources'>): Record<string, { value: string; from: string }> {
  const out: Record<string, { value: string; from: string }> = {};
  for (const s of SETTINGS) {
    const value = options.values.get(s.flag);
    if (value === undefined || value === s.default) continue;
    out[s.flag] = { value, from: options.sources.get(s.flag) ?? 'default' };
  }
  return out;
}

function describeSettings(changed: Record<string, { value: string; from: string }>): string {
  const entries = Object.entries(changed);
  if (entries.length === 0) return 'none';
  return entries.map(([flag, { value, from }]) => `--${flag}=${value} (${from})`).join(', ');
}

/** The outermost directory of `dir` that does not exist yet (what a start would create), or null when `dir` exists. */
function firstMissing(dir: string): string | null {
  let missing: string | null = null;
  for (let d = dir; ; d = path.dirname(d)) {
    // lstat: a dangling symlink exists (it is not ours to remove).
    if (fs.lstatSync(d, { throwIfNoEntry: false }) !== undefined) return missing;
    missing = d;
    if (path.dirname(d) === d) return missing;
  }
}
