/**
 * Kafka's own server.properties as `sluice serve --config`: a stock Kafka 3.8 KRaft file
 * (test/fixtures/kafka-3.8-kraft-server.properties) starts a broker that kcat and kafkajs use,
 * with the keys that do not apply logged once; Kafka's listeners, retention units and topic
 * default synonyms are understood; every bad value and unknown key is reported in one error.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { serveOptions, type ServeOptions } from '../src/cli/serve.js';
import { ConfigFileError } from '../src/cli/settings.js';
import { startBroker } from './helpers/broker.js';
import { requireTool, run } from './helpers/clients.js';
import { sluice } from './helpers/cli.js';
import { tmpDir } from './helpers/tmp.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const FIXTURE = path.resolve(import.meta.dirname, 'fixtures', 'kafka-3.8-kraft-server.properties');
// offsets.topic.replication.factor and transaction.state.log.replication.factor / .min.isr are
// not among them: a cluster applies them (replication, transactions).
const STOCK_IGNORED = [
  'process.roles', 'controller.quorum.voters', 'inter.broker.listener.name', 'controller.listener.names',
  'num.network.threads', 'num.io.threads', 'socket.send.buffer.bytes', 'socket.receive.buffer.bytes',
  'num.recovery.threads.per.data.dir',
];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** serveOptions of a file holding `text` (plus flags). */
function optionsOf(text: string, flags: string[] = []): ServeOptions {
  const file = path.join(tmpDir('sluice-props-'), 'server.properties');
  fs.writeFileSync(file, text);
  const o = serveOptions(['--config', file, ...flags], {});
  if (o === 'help') throw new Error('unexpected help');
  return o;
}

/** The ConfigFileError a file gives, with the file's path. */
function problemsOf(text: string): { file: string; err: ConfigFileError } {
  const file = path.join(tmpDir('sluice-props-'), 'server.properties');
  fs.writeFileSync(file, text);
  try {
    serveOptions(['--config', file], {});
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigFileError);
    return { file, err: err as ConfigFileError };
  }
  throw new Error('the file was accepted');
}

describe("Kafka 3.8's stock server.properties", () => {
  it('reads it: the PLAINTEXT listener, its advertised address, retention in hours, and the keys that do not apply', () => {
    const o = serveOptions(['--config', FIXTURE], {});
    if (o === 'help') throw new Error('unexpected help');
    expect(o.host).toBe('0.0.0.0'); // PLAINTEXT://:9092: every interface, as Kafka
    expect(o.port).toBe(9092);
    expect(o.advertisedHost).toBe('localhost');
    expect(o.advertisedPort).toBe(9092);
    expect(o.dir).toBe('/tmp/kraft-combined-logs');
    expect(o.numPartitions).toBe(1);
    expect(o.server?.maxRequestBytes).toBe(104857600);
    expect(o.retentionCheckIntervalMs).toBe(300000);
    expect(o.topicDefaults).toEqual({ 'retention.ms': String(168 * 3600_000), 'segment.bytes': '1073741824' });
    expect(o.ignoredKeys).toEqual(['CONTROLLER://:9093 (a controller listener in listeners)', ...STOCK_IGNORED]);
    expect(o.notices).toEqual([]);
    expect(o.nodeId).toBe(1);
  });

  describe('with kcat and kafkajs against `sluice serve --config` on it', () => {
    beforeAll(() => requireTool('kcat', 'apt-get install kcat'));

    it('starts, serves both clients, and logs the ignored keys in one line', async () => {
      // The stock file with its addresses moved to 127.0.0.1 and free ports, its log.dirs to a temp dir.
      const [port, controllerPort] = [await freePort(), await freePort()];
      const dir = tmpDir('sluice-kraft-');
      const text = fs
        .readFileSync(FIXTURE, 'utf8')
        .replace('PLAINTEXT://:9092', `PLAINTEXT://127.0.0.1:${port}`)
        .replace('PLAINTEXT://localhost:9092', `PLAINTEXT://127.0.0.1:${port}`)
        .replaceAll('9093', String(controllerPort))
        .replace('log.dirs=/tmp/kraft-combined-logs', `log.dirs=${path.join(dir, 'data')}`);
      const file = path.join(dir, 'server.properties');
      fs.writeFileSync(file, text);
      const broker = await startBroker({ dir: path.join(dir, 'data'), port: null, args: ['--config', file, '--log-format', 'json'] });
      expect(broker.port).toBe(port);

      await run('kcat', ['-b', `127.0.0.1:${port}`, '-t', 'stock', '-P'], 'one\ntwo\n');
      const kafka = new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: 'stock', messages: [{ value: 'three' }] });
      await producer.disconnect();
      expect(await run('kcat', ['-b', `127.0.0.1:${port}`, '-t', 'stock', '-C', '-o', 'beginning', '-e', '-q'])).toBe('one\ntwo\nthree\n');
      const meta = await run('kcat', ['-b', `127.0.0.1:${port}`, '-L']);
      expect(meta).toContain(`at 127.0.0.1:${port}`); // advertised.listeners

      const consumer = kafka.consumer({ groupId: 'stock-readers', maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic: 'stock', fromBeginning: true });
      const seen: string[] = [];
      await new Promise<void>((resolve) => {
        void consumer.run({ eachMessage: async ({ message }) => {
          seen.push(message.value!.toString());
          if (seen.length === 3) resolve();
        } });
      });
      await consumer.disconnect();
      expect(seen).toEqual(['one', 'two', 'three']);
      expect(fs.existsSync(path.join(dir, 'data', 'stock-0'))).toBe(true);

      const lines = broker.output().split('\n').filter((l) => l.includes('do not apply to a Sluice broker'));
      expect(lines).toHaveLength(1);
      const logged = JSON.parse(lines[0]!) as { level: number; keys: string[]; file: string };
      expect(logged.level).toBe(40); // warn
      expect(logged.file).toBe(file);
      expect(logged.keys).toEqual([`CONTROLLER://:${controllerPort} (a controller listener in listeners)`, ...STOCK_IGNORED]);
      expect(await broker.stop()).toBe(0);
    });
  });
});

describe('Kafka broker keys', () => {
  it('log.retention.ms wins over .minutes over .hours; a negative retention keeps forever', () => {
    expect(optionsOf('log.retention.hours=2\n').topicDefaults['retention.ms']).toBe('7200000');
    expect(optionsOf('log.retention.hours=2\nlog.retention.minutes=30\n').topicDefaults['retention.ms']).toBe('1800000');
    expect(optionsOf('log.retention.hours=2\nlog.retention.minutes=30\nlog.retention.ms=5000\n').topicDefaults['retention.ms']).toBe('5000');
    expect(optionsOf('log.retention.hours=-1\n').topicDefaults['retention.ms']).toBe('-1');
  });

  it("takes a ZooKeeper-era file's keys too (broker.id kept, zookeeper.* ignored)", () => {
    const o = optionsOf(
      [
        'broker.id=0',
        'num.network.threads=3',
        'log.dirs=/tmp/kafka-logs',
        'num.partitions=1',
        'log.retention.hours=168',
        'zookeeper.connect=localhost:2181',
        'zookeeper.connection.timeout.ms=18000',
        'group.initial.rebalance.delay.ms=0',
        'metric.reporters=org.example.Reporter',
        'ssl.keystore.location=/etc/kafka/ks.jks',
      ].join('\n'),
    );
    expect(o.nodeId).toBe(0);
    expect(o.dir).toBe('/tmp/kafka-logs');
    expect(o.groups?.initialRebalanceDelayMs).toBe(0);
    expect(o.ignoredKeys).toEqual(['num.network.threads', 'zookeeper.connect', 'zookeeper.connection.timeout.ms', 'metric.reporters', 'ssl.keystore.location']);
    expect(o.host).toBe('127.0.0.1'); // no listeners: Sluice's default
  });

  it('maps the broker names of topic defaults, and log.<topic config> as before', () => {
    const o = optionsOf(
      [
        'message.max.bytes=2000000',
        'log.roll.hours=1',
        'log.cleaner.min.cleanable.ratio=0.3',
        'log.flush.interval.messages=1',
        'log.retention.bytes=1073741824',
        'log.cleanup.policy=compact',
        'compression.type=lz4',
        'auto.create.topics.enable=false',
        'log.dir=/one/dir',
      ].join('\n'),
    );
    expect(o.topicDefaults).toEqual({
      'max.message.bytes': '2000000',
      'segment.ms': '3600000',
      'min.cleanable.dirty.ratio': '0.3',
      'flush.messages': '1',
      'retention.bytes': '1073741824',
      'cleanup.policy': 'compact',
      'compression.type': 'lz4',
    });
    expect(o.autoCreateTopics).toBe(false);
    expect(o.dir).toBe('/one/dir');
    expect(optionsOf('log.dirs=/a\nlog.dir=/b\n').dir).toBe('/a'); // Kafka: log.dirs wins
  });

  it('serves the PLAINTEXT listener, says which listeners it does not serve, and takes custom listener names', () => {
    const all = optionsOf('listeners=PLAINTEXT://0.0.0.0:9100\n');
    expect([all.host, all.port, all.advertisedHost]).toEqual(['0.0.0.0', 9100, os.hostname()]); // Kafka advertises the host name
    const flagged = optionsOf('listeners=PLAINTEXT://:9100\n', ['--host', '127.0.0.1']);
    expect([flagged.host, flagged.port, flagged.advertisedHost]).toEqual(['127.0.0.1', 9100, undefined]);
    const tls = optionsOf('listeners=PLAINTEXT://127.0.0.1:9100,SSL://:9101,SASL_SSL://:9102\n');
    expect([tls.host, tls.port, tls.advertisedHost]).toEqual(['127.0.0.1', 9100, '127.0.0.1']);
    expect(tls.notices).toHaveLength(1);
    expect(tls.notices[0]).toMatch(/not serving listener\(s\) SSL:\/\/:9101 \(SSL\), SASL_SSL:\/\/:9102 \(SASL_SSL\) from .*server.properties: Sluice serves one PLAINTEXT listener \(PLAINTEXT:\/\/127.0.0.1:9100\) and no SSL or SASL listeners/);
    const named = optionsOf('listeners=INTERNAL://[::1]:9200\nlistener.security.protocol.map=INTERNAL:PLAINTEXT\nadvertised.listeners=INTERNAL://broker.example:9300\n');
    expect([named.host, named.port, named.advertisedHost, named.advertisedPort]).toEqual(['::1', 9200, 'broker.example', 9300]);
    const own = optionsOf('listeners=PLAINTEXT://:9100\nsluice.port=9400\n');
    expect(own.port).toBe(9400); // Sluice's own key beats the one derived from listeners

    const { file, err } = problemsOf('listeners=SSL://:9093\n');
    expect(err.message).toBe(
      `invalid value 'SSL://:9093' for listeners in ${file}: Sluice serves one PLAINTEXT listener and does not serve SSL or SASL listeners; add one such as PLAINTEXT://:9092`,
    );
  });

  it('names the file, the key as written and what is allowed, for every bad value at once', () => {
    const { file, err } = problemsOf(
      ['num.partitions=lots', 'log.retention.hours=a week', 'log.segment.bytes=1', 'listeners=9092', 'log.cleanup.policy=sometimes', 'node.id=first', 'log.dirs=/a,/b'].join('\n'),
    );
    expect(err.problems).toHaveLength(7);
    expect(err.message.split('\n')[0]).toBe(`7 problems in ${file}:`);
    for (const line of [
      `invalid value 'lots' for num.partitions in ${file}: a whole number from 1 to 100000`,
      `invalid value 'a week' for log.retention.hours in ${file}: a whole number of hours (-1: keep forever)`,
      `invalid value '1' for log.segment.bytes in ${file}: an integer from 14 to 2147483647`,
      `invalid value '9092' for listeners in ${file}: '9092' is not NAME://host:port`,
      `invalid value 'sometimes' for log.cleanup.policy in ${file}: a comma-separated list of delete, compact`,
      `invalid value 'first' for node.id in ${file}: a whole number from 0 to 2147483647`,
      `invalid value '/a,/b' for log.dirs in ${file}: one directory`,
    ]) {
      expect(err.message).toContain(line);
    }
  });

  it('reports every unknown key in one message, with the key it probably meant', () => {
    const { file, err } = problemsOf('num.partitons=3\nlog.retention.hour=5\nfrobnicate=yes\nprocess.roles=broker\n');
    expect(err.problems).toHaveLength(1);
    expect(err.message).toBe(
      `unknown keys 'num.partitons' (did you mean num.partitions?), 'log.retention.hour' (did you mean log.retention.hours?), 'frobnicate' in ${file}: ` +
        'not a Sluice setting (sluice serve --help), a Kafka broker key, or log.<topic config> for a topic default (e.g. log.retention.ms); remove or correct them',
    );
  });

  it('`sluice serve` exits 2 on a bad file with the whole list, and without the help text', async () => {
    const dir = tmpDir('sluice-props-');
    const file = path.join(dir, 'server.properties');
    fs.writeFileSync(file, 'num.partitions=0\nlisteners=PLAINTEXT://:9092\nfoo=1\nbar=2\n');
    const r = await sluice(['serve', '--config', file, '--dir', path.join(dir, 'data'), '--metrics-port', '0', '--console-port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`sluice serve: 2 problems in ${file}:`);
    expect(r.stderr).toContain(`invalid value '0' for num.partitions in ${file}: a whole number from 1 to 100000`);
    expect(r.stderr).toContain("unknown keys 'foo', 'bar'");
    expect(r.stderr).not.toContain('Usage:');
    expect(fs.existsSync(path.join(dir, 'data'))).toBe(false);
  });
});
