/**
 * Kafka's own broker keys in a server.properties file (Kafka's KafkaConfig), as Sluice reads
 * them, so that a stock Kafka 3.8 file starts a broker:
 *   - `listeners` / `advertised.listeners` give the address Sluice serves and advertises;
 *   - broker keys that are topic defaults under another name (log.retention.hours,
 *     log.roll.ms, message.max.bytes, ...) become topic defaults;
 *   - keys that do not apply to one Sluice broker (KRaft roles and quorum, threads, buffers,
 *     replication, security, metrics reporters, ...) are collected to be warned about once.
 * Everything else is left for the caller to report as unknown. Pure: no I/O, no logging.
 */
import os from 'node:os';
import { TOPIC_CONFIGS, resolveTopicConfig } from '../broker/topic-config.js';

/** Broker keys that set the topic config of another name (Kafka's LogConfig synonyms). */
export const BROKER_TOPIC_SYNONYMS: Readonly<Record<string, string>> = {
  'log.cleaner.delete.retention.ms': 'delete.retention.ms',
  'log.cleaner.min.cleanable.ratio': 'min.cleanable.dirty.ratio',
  'log.cleaner.min.compaction.lag.ms': 'min.compaction.lag.ms',
  'log.cleaner.max.compaction.lag.ms': 'max.compaction.lag.ms',
  'log.flush.interval.messages': 'flush.messages',
  'log.flush.interval.ms': 'flush.ms',
  'log.index.size.max.bytes': 'segment.index.bytes',
  'log.segment.delete.delay.ms': 'file.delete.delay.ms',
  'message.max.bytes': 'max.message.bytes',
  'compression.type': 'compression.type',
  'min.insync.replicas': 'min.insync.replicas',
  'unclean.leader.election.enable': 'unclean.leader.election.enable',
};

const HOUR = 3_600_000;
/**
 * Topic defaults Kafka takes in several units: the first key present wins (Kafka's
 * precedence: log.retention.ms over .minutes over .hours). A negative retention is -1: forever.
 */
const TIME_SYNONYMS: readonly { topicKey: string; keys: readonly (readonly [string, number])[] }[] = [
  { topicKey: 'retention.ms', keys: [['log.retention.ms', 1], ['log.retention.minutes', 60_000], ['log.retention.hours', HOUR]] },
  { topicKey: 'segment.ms', keys: [['log.roll.ms', 1], ['log.roll.hours', HOUR]] },
  { topicKey: 'segment.jitter.ms', keys: [['log.roll.jitter.ms', 1], ['log.roll.jitter.hours', HOUR]] },
];

/** Kafka broker keys that do not apply to one Sluice broker: accepted, warned about, ignored. */
const NOT_APPLICABLE = new Set([
  // KRaft roles and the controller quorum (Sluice coordinates a cluster through etcd)
  'process.roles', 'controller.listener.names', 'initial.broker.registration.timeout.ms', 'early.start.listeners',
  'broker.heartbeat.interval.ms', 'broker.session.timeout.ms', 'broker.rack', 'broker.id.generation.enable', 'reserved.broker.max.id',
  // listeners between brokers, threads, socket buffers, queues
  'inter.broker.listener.name', 'inter.broker.protocol.version', 'num.network.threads', 'num.io.threads', 'num.replica.fetchers',
  'num.recovery.threads.per.data.dir', 'num.replica.alter.log.dirs.threads', 'background.threads', 'socket.send.buffer.bytes',
  'socket.receive.buffer.bytes', 'socket.listen.backlog.size', 'socket.connection.setup.timeout.ms', 'socket.connection.setup.timeout.max.ms',
  'queued.max.requests', 'queued.max.request.bytes', 'request.timeout.ms', 'max.connections.per.ip', 'max.connections.per.ip.overrides',
  'max.connection.creation.rate', 'connections.max.reauth.ms', 'connection.failed.authentication.delay.ms', 'fetch.max.bytes',
  'max.incremental.fetch.session.cache.slots', 'max.request.partition.size.limit', 'fetch.purgatory.purge.interval.requests',
  'producer.purgatory.purge.interval.requests', 'delete.records.purgatory.purge.interval.requests',
  // replication and leadership
  'auto.leader.rebalance.enable', 'leader.imbalance.check.interval.seconds',
  'leader.imbalance.per.broker.percentage', 'delete.topic.enable',
  // internal topics: replication and layout
  'offsets.topic.num.partitions', 'offsets.topic.segment.bytes', 'offsets.topic.compression.codec',
  'offsets.load.buffer.size', 'offsets.commit.required.acks', 'offsets.commit.timeout.ms', 'offsets.retention.check.interval.ms',
  'group.max.size', 'group.coordinator.rebalance.protocols', 'group.coordinator.new.enable', 'group.coordinator.threads',
  'group.coordinator.append.linger.ms',
  // log engine knobs Sluice does without
  'log.message.format.version', 'log.message.downconversion.enable', 'log.message.timestamp.difference.max.ms',
  'log.dir.failure.timeout.ms', 'log.initial.task.delay.ms',
  // security, authorisation, quotas, metrics reporters (JMX), plugins
  'authorizer.class.name', 'super.users', 'allow.everyone.if.no.acl.found', 'principal.builder.class', 'config.providers',
  'create.topic.policy.class.name', 'alter.config.policy.class.name', 'client.quota.callback.class', 'metric.reporters',
  'auto.include.jmx.reporter', 'kafka.metrics.reporters', 'kafka.metrics.polling.interval.secs', 'client.telemetry.max.bytes',
  'compression.gzip.level', 'compression.lz4.level', 'compression.zstd.level',
]);
/** Families of keys that do not apply, by prefix. */
const NOT_APPLICABLE_PREFIXES = [
  'controller.', 'metadata.', 'transaction.', 'transactional.id.', 'share.coordinator.', 'group.share.', 'group.consumer.',
  'replica.', 'replication.quota.', 'alter.log.dirs.replication.quota.', 'quota.', 'zookeeper.', 'remote.log.', 'log.local.',
  'log.cleaner.', 'log.flush.', 'ssl.', 'sasl.', 'security.', 'listener.name.', 'delegation.token.', 'password.encoder.',
  'producer.id.', 'metrics.', 'telemetry.', 'eligible.leader.replicas.', 'unstable.',
];

/** Every Kafka key read here by its exact name (for "did you mean" on unknown keys). */
export function kafkaKeyNames(): string[] {
  return [
    'listeners', 'advertised.listeners', 'listener.security.protocol.map', 'node.id', 'broker.id',
    ...Object.keys(BROKER_TOPIC_SYNONYMS),
    ...TIME_SYNONYMS.flatMap((g) => g.keys.map(([k]) => k)),
    ...Object.keys(TOPIC_CONFIGS).map((k) => `log.${k}`),
    ...NOT_APPLICABLE,
  ];
}

function notApplicable(key: string): boolean {
  return NOT_APPLICABLE.has(key) || NOT_APPLICABLE_PREFIXES.some((p) => key.startsWith(p));
}

/** One listener of `listeners` / `advertised.listeners`: NAME://host:port. */
export interface Listener {
  name: string;
  /** '' when not given (Kafka: every interface for `listeners`, the host name when advertised). */
  host: string;
  port: number;
  text: string;
}

const STANDARD_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];
const LISTENERS_ALLOWED = 'a comma-separated list of NAME://host:port, e.g. PLAINTEXT://:9092 or PLAINTEXT://0.0.0.0:9092';

/** Parses a listener list; throws a message naming what is allowed. */
export function parseListeners(value: string): Listener[] {
  const out: Listener[] = [];
  for (const text of value.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^([A-Za-z0-9_-]+):\/\/(\[[0-9A-Fa-f:.]+\]|[^:/[\]]*):(\d{1,5})$/.exec(text);
    const port = m ? Number(m[3]) : -1;
    if (!m || port > 65535) throw new Error(`'${text}' is not NAME://host:port; allowed: ${LISTENERS_ALLOWED}`);
    const host = m[2]!.startsWith('[') ? m[2]!.slice(1, -1) : m[2]!;
    if (out.some((l) => l.name === m[1]!.toUpperCase())) throw new Error(`listener name ${m[1]} is given twice; allowed: ${LISTENERS_ALLOWED} with distinct names`);
    out.push({ name: m[1]!.toUpperCase(), host, port, text });
  }
  if (out.length === 0) throw new Error(`no listener given; allowed: ${LISTENERS_ALLOWED}`);
  return out;
}

/** What the Kafka keys of a file amount to. */
export interface KafkaKeys {
  /** Setting values (by flag) that come from Kafka keys, and the key each came from. */
  derived: Map<string, { value: string; key: string }>;
  /** Topic defaults, by topic config name, each checked and in canonical form. */
  topicDefaults: Record<string, string>;
  /** Kafka keys that do not apply to Sluice, in file order. */
  ignored: string[];
  /** Things to tell the operator once (listeners not served). */
  notices: string[];
  /** Bad values: each names the file, the key as written and what is allowed. */
  problems: string[];
  /** Keys that are neither Sluice's nor Kafka's. */
  unknown: string[];
}

/**
 * Reads every key of `file` that is not one of `settingKeys` (Sluice's own keys, handled by
 * the caller): Kafka keys become derived settings or topic defaults, or are ignored.
 */
export function readKafkaKeys(file: ReadonlyMap<string, string>, settingKeys: ReadonlySet<string>, fileName: string): KafkaKeys {
  const r: KafkaKeys = { derived: new Map(), topicDefaults: {}, ignored: [], notices: [], problems: [], unknown: [] };
  const bad = (key: string, value: string, allowed: string) => r.problems.push(`invalid value '${value}' for ${key} in ${fileName}: ${allowed}`);
  const handled = new Set<string>(['listeners', 'advertised.listeners', 'listener.security.protocol.map']);
  const topicDefault = (key: string, topicKey: string, value: string) => {
    try {
      r.topicDefaults[topicKey] = resolveTopicConfig({ [topicKey]: value }, {})[topicKey]!;
    } catch (err) {
      // The topic config's own words for what is allowed, under the key as the file wrote it.
      const msg = (err as Error).message;
      const at = msg.indexOf(`for ${topicKey}: `);
      bad(key, value, at < 0 ? msg : msg.slice(at + `for ${topicKey}: `.length));
    }
  };

  for (const group of TIME_SYNONYMS) {
    for (const [k] of group.keys) handled.add(k);
    const found = group.keys.find(([k]) => file.has(k));
    if (found === undefined) continue;
    const [key, unit] = found;
    const value = file.get(key)!.trim();
    if (!/^-?\d+$/.test(value)) {
      bad(key, value, `a whole number${unit === 1 ? ' of milliseconds' : unit === HOUR ? ' of hours' : ' of minutes'}${group.topicKey === 'retention.ms' ? ' (-1: keep forever)' : ''}`);
      continue;
    }
    const n = Number(value) * unit;
    topicDefault(key, group.topicKey, group.topicKey === 'retention.ms' && n < 0 ? '-1' : String(n));
  }

  readListeners(file, fileName, r);
  for (const [key, value] of file) {
    if (settingKeys.has(key) || handled.has(key)) continue;
    const synonym = BROKER_TOPIC_SYNONYMS[key];
    if (synonym !== undefined) topicDefault(key, synonym, value);
    else if (key.startsWith('log.') && key.slice(4) in TOPIC_CONFIGS) topicDefault(key, key.slice(4), value);
    else if (notApplicable(key)) r.ignored.push(key);
    else r.unknown.push(key);
  }
  return r;
}

/** `listeners` and `advertised.listeners`: the PLAINTEXT listener is served, others are named. */
function readListeners(file: ReadonlyMap<string, string>, fileName: string, r: KafkaKeys): void {
  const text = file.get('listeners');
  if (text === undefined && !file.has('advertised.listeners')) return;
  const protocols = new Map(STANDARD_PROTOCOLS.map((p) => [p, p]));
  const map = file.get('listener.security.protocol.map');
  if (map !== undefined) {
    for (const pair of map.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      const [name, protocol] = pair.split(':').map((s) => s.trim().toUpperCase());
      if (!name || !protocol || !STANDARD_PROTOCOLS.includes(protocol)) {
        r.problems.push(`invalid value '${map}' for listener.security.protocol.map in ${fileName}: a comma-separated list of NAME:PROTOCOL, PROTOCOL one of ${STANDARD_PROTOCOLS.join(', ')}`);
        return;
      }
      protocols.set(name, protocol);
    }
  }
  const controllers = new Set((file.get('controller.listener.names') ?? '').split(',').map((s) => s.trim().toUpperCase()).filter((s) => s !== ''));

  let served: Listener | undefined;
  if (text !== undefined) {
    let list: Listener[];
    try {
      list = parseListeners(text);
    } catch (err) {
      r.problems.push(`invalid value '${text}' for listeners in ${fileName}: ${(err as Error).message}`);
      return;
    }
    const skipped: string[] = [];
    for (const l of list) {
      if (controllers.has(l.name)) {
        r.ignored.push(`${l.text} (a controller listener in listeners)`);
        continue;
      }
      const protocol = protocols.get(l.name);
      if (protocol === undefined) {
        r.problems.push(`invalid value '${text}' for listeners in ${fileName}: listener ${l.name} has no security protocol; name it PLAINTEXT or map it in listener.security.protocol.map`);
        return;
      }
      if (protocol === 'PLAINTEXT' && served === undefined) served = l;
      else skipped.push(`${l.text} (${protocol})`);
    }
    if (served === undefined) {
      r.problems.push(
        `invalid value '${text}' for listeners in ${fileName}: Sluice serves one PLAINTEXT listener and does not serve SSL or SASL listeners; add one such as PLAINTEXT://:9092`,
      );
      return;
    }
    if (skipped.length > 0) {
      r.notices.push(`not serving listener(s) ${skipped.join(', ')} from ${fileName}: Sluice serves one PLAINTEXT listener (${served.text}) and no SSL or SASL listeners`);
    }
    // Kafka binds every interface for an empty host.
    const wildcard = served.host === '' || served.host === '0.0.0.0' || served.host === '::';
    r.derived.set('host', { value: served.host === '' ? '0.0.0.0' : served.host, key: 'listeners' });
    r.derived.set('port', { value: String(served.port), key: 'listeners' });
    // Kafka advertises the listener itself, and the host name for a wildcard one.
    r.derived.set('advertised-host', { value: wildcard ? os.hostname() : served.host, key: 'listeners' });
  }
  const advertisedText = file.get('advertised.listeners');
  if (advertisedText === undefined) return;
  let advertised: Listener[];
  try {
    advertised = parseListeners(advertisedText);
  } catch (err) {
    r.problems.push(`invalid value '${advertisedText}' for advertised.listeners in ${fileName}: ${(err as Error).message}`);
    return;
  }
  const name = served?.name ?? 'PLAINTEXT';
  const mine = advertised.find((l) => l.name === name);
  if (mine === undefined) {
    r.problems.push(`invalid value '${advertisedText}' for advertised.listeners in ${fileName}: it has no ${name} listener, the one Sluice serves; add ${name}://host:port`);
    return;
  }
  if (mine.host === '0.0.0.0' || mine.host === '::') {
    r.problems.push(`invalid value '${advertisedText}' for advertised.listeners in ${fileName}: clients cannot connect to ${mine.host}; advertise a host name or address they can reach`);
    return;
  }
  r.derived.set('advertised-host', { value: mine.host === '' ? os.hostname() : mine.host, key: 'advertised.listeners' });
  r.derived.set('advertised-port', { value: String(mine.port), key: 'advertised.listeners' });
}
