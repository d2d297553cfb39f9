/**
 * The Kafka scripts as sluice verbs (configs, get-offsets, delete-records, log-dirs, groups
 * --all-groups / --delete-offsets, console --property, --version), each run as a process
 * against a real `sluice serve`, with its effect read back (by sluice, and by
 * confluent-kafka-python for configs).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startBroker, type BrokerProcess } from './helpers/broker.js';
import { eventually, sluice, startSluice } from './helpers/cli.js';
import { python } from './helpers/clients.js';
import { tmpDir } from './helpers/tmp.js';

const VERSION = (JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ok(args: string[], input?: string): Promise<string> {
  const r = await sluice(args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`sluice ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const DESCRIBE_CONFIGS = `
import json, sys
from confluent_kafka.admin import AdminClient, ConfigResource
a = AdminClient({'bootstrap.servers': sys.argv[1]})
r = ConfigResource('topic', sys.argv[2])
cfg = a.describe_configs([r])[r].result(timeout=30)
print(json.dumps({k: v.value for k, v in cfg.items()}))
`;

describe('sluice configs', () => {
  it('alters topic configs, reads them back (sluice and confluent-kafka), and shows broker refusals as the broker gives them', async () => {
    const broker = await startBroker();
    const b = ['--bootstrap-server', broker.bootstrap];
    await ok(['topics', '--create', '--topic', 'events', ...b]);
    expect(await ok(['configs', '--alter', '--entity-type', 'topics', '--entity-name', 'events', '--add-config', 'retention.ms=86400000,cleanup.policy=[compact,delete]', ...b])).toBe(
      'Completed updating config for topic events.\n',
    );
    const described = await ok(['configs', '--describe', '--entity-type', 'topics', '--entity-name', 'events', ...b]);
    expect(described).toMatch(/^Dynamic configs for topic events are:\n/);
    expect(described).toMatch(/^  retention\.ms=86400000 sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:retention\.ms=86400000, .*\}$/m);
    expect(described).toMatch(/^  cleanup\.policy=compact,delete sensitive=false /m);
    expect(described.split('\n').filter((l) => l.startsWith('  '))).toHaveLength(2);
    const seen = await python<Record<string, string>>(DESCRIBE_CONFIGS, [broker.bootstrap, 'events']);
    expect(seen['retention.ms']).toBe('86400000');
    expect(seen['cleanup.policy']).toBe('compact,delete');

    // Delete one, keep the other (incremental); the --topic shorthand.
    await ok(['configs', '--alter', '--topic', 'events', '--delete-config', 'cleanup.policy', ...b]);
    const after = await python<Record<string, string>>(DESCRIBE_CONFIGS, [broker.bootstrap, 'events']);
    expect(after['cleanup.policy']).toBe('delete');
    expect(after['retention.ms']).toBe('86400000');
    // Every topic when no name is given.
    await ok(['topics', '--create', '--topic', 'other', ...b]);
    const all = await ok(['configs', '--describe', '--entity-type', 'topics', ...b]);
    expect(all).toContain('Dynamic configs for topic events are:\n  retention.ms=86400000');
    expect(all).toContain('Dynamic configs for topic other are:\n');

    // Brokers: Sluice's are static (nothing dynamic), all of them with --all; an alter is refused.
    expect(await ok(['configs', '--describe', '--entity-type', 'brokers', '--entity-name', '0', ...b])).toBe('Dynamic configs for broker 0 are:\n');
    expect(await ok(['configs', '--describe', '--broker', '0', '--all', ...b])).toMatch(/^  log\.retention\.ms=604800000 sensitive=false synonyms=\{\}$/m);
    const brokerAlter = await sluice(['configs', '--alter', '--entity-type', 'brokers', '--entity-name', '0', '--add-config', 'log.retention.ms=1000', ...b]);
    expect(brokerAlter.code).toBe(1);
    expect(brokerAlter.stderr).toContain('INVALID_REQUEST: altering the configs of broker 0: broker configs are read-only in Sluice: set them when the broker starts');
    // Groups: Sluice has no group configs; the broker says so.
    const groupAlter = await sluice(['configs', '--alter', '--entity-type', 'groups', '--entity-name', 'audit', '--add-config', 'consumer.session.timeout.ms=45000', ...b]);
    expect(groupAlter.code).toBe(1);
    expect(groupAlter.stderr).toContain("altering the configs of group 'audit': resource type 32 (group) is not supported by Sluice");
    const groupDescribe = await sluice(['configs', '--describe', '--group', 'audit', ...b]);
    expect(groupDescribe.code).toBe(1);
    expect(groupDescribe.stderr).toContain('resource type 32 (group) is not supported by Sluice');

    // Usage errors name the problem.
    const noType = await sluice(['configs', '--describe', ...b]);
    expect(noType.code).toBe(2);
    expect(noType.stderr).toContain('--entity-type is required');
    const badConfig = await sluice(['configs', '--alter', '--topic', 'events', '--add-config', 'nonsense', ...b]);
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toContain("invalid value 'nonsense' for --add-config");
  });
});

describe('sluice get-offsets and delete-records', () => {
  it('finds offsets by time, earliest, latest and max timestamp; deletes records and moves the low watermark', async () => {
    const broker = await startBroker();
    const b = ['--bootstrap-server', broker.bootstrap];
    await ok(['topics', '--create', '--topic', 'events', '--partitions', '2', ...b]);
    await ok(['produce', '--topic', 'events', '--partition', '0', ...b], 'a\nb\nc\n');
    await sleep(20);
    const between = Date.now();
    await sleep(20);
    await ok(['produce', '--topic', 'events', '--partition', '0', ...b], 'd\ne\nf\n');
    await sleep(20);
    await ok(['produce', '--topic', 'events', '--partition', '0', ...b], 'g\n');

    expect(await ok(['get-offsets', '--topic', 'events', ...b])).toBe('events:0:7\nevents:1:0\n');
    expect(await ok(['get-offsets', '--topic', 'events', '--time', '-2', ...b])).toBe('events:0:0\nevents:1:0\n');
    expect(await ok(['get-offsets', '--topic', 'events', '--partitions', '0', '--time', '-3', ...b])).toBe('events:0:6\n');
    expect(await ok(['get-offsets', '--topic', 'events', '--partitions', '0', '--time', String(between), ...b])).toBe('events:0:3\n');
    expect(await ok(['get-offsets', '--topic', 'events', '--partitions', '0', '--time', String(Date.now() + 3_600_000), ...b])).toBe('events:0:\n');
    // A regular expression over whole names, and internal topics left out on request.
    expect(await ok(['get-offsets', '--topic', 'ev.*', '--partitions', '1', ...b])).toBe('events:1:0\n');
    expect(await ok(['get-offsets', '--exclude-internal-topics', ...b])).toBe('events:0:7\nevents:1:0\n');
    const missing = await sluice(['get-offsets', '--topic', 'nope', ...b]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("UNKNOWN_TOPIC_OR_PARTITION: no topic matches 'nope'");
    const badTime = await sluice(['get-offsets', '--topic', 'events', '--time', 'yesterday', ...b]);
    expect(badTime.code).toBe(2);

    const file = path.join(tmpDir(), 'delete.json');
    fs.writeFileSync(file, JSON.stringify({ partitions: [{ topic: 'events', partition: 0, offset: 4 }, { topic: 'events', partition: 1, offset: -1 }], version: 1 }));
    const deleted = await ok(['delete-records', '--offset-json-file', file, ...b]);
    expect(deleted).toBe('Executing records delete operation\nRecords delete operation completed:\npartition: events-0\tlow_watermark: 4\npartition: events-1\tlow_watermark: 0\n');
    expect(await ok(['get-offsets', '--topic', 'events', '--time', 'earliest', ...b])).toBe('events:0:4\nevents:1:0\n');
    const rest = await ok(['consume', '--topic', 'events', '--partition', '0', '--from-beginning', '--max-messages', '3', '--property', 'print.offset=true', ...b]);
    expect(rest).toBe('Offset:4\te\nOffset:5\tf\nOffset:6\tg\n');

    // Past the high watermark: that partition's error, and exit 1; a bad file: exit 2.
    fs.writeFileSync(file, JSON.stringify({ partitions: [{ topic: 'events', partition: 0, offset: 99 }], version: 1 }));
    const past = await sluice(['delete-records', '--offset-json-file', file, ...b]);
    expect(past.code).toBe(1);
    expect(past.stdout).toContain('partition: events-0\terror: OFFSET_OUT_OF_RANGE');
    fs.writeFileSync(file, JSON.stringify({ partitions: [{ topic: 'events', offset: 1 }] }));
    const bad = await sluice(['delete-records', '--offset-json-file', file, ...b]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('partitions[0] needs "partition"');
  });
});

interface LogDirsJson {
  version: number;
  brokers: { broker: number; logDirs: { logDir: string; error: string | null; partitions: { partition: string; size: number; offsetLag: number; isFuture: boolean }[] }[] }[];
}

describe('sluice log-dirs', () => {
  it("prints kafka-log-dirs.sh's JSON with each partition's size on disk", async () => {
    const broker = await startBroker();
    const b = ['--bootstrap-server', broker.bootstrap];
    await ok(['topics', '--create', '--topic', 'events', '--partitions', '2', ...b]);
    await ok(['topics', '--create', '--topic', 'other', ...b]);
    await ok(['produce', '--topic', 'events', '--partition', '1', ...b], Array.from({ length: 100 }, (_, i) => `record-${i}`).join('\n') + '\n');
    const out = await ok(['log-dirs', '--describe', '--topic-list', 'events', ...b]);
    const lines = out.trimEnd().split('\n');
    expect(lines.slice(0, 2)).toEqual(['Querying brokers for log directories information', 'Received log directory information from brokers 0']);
    const json = JSON.parse(lines[2]!) as LogDirsJson;
    expect(json.version).toBe(1);
    expect(json.brokers.map((x) => x.broker)).toEqual([0]);
    const [dir] = json.brokers[0]!.logDirs;
    expect(dir!.logDir).toBe(path.resolve(broker.dir));
    expect(dir!.error).toBeNull();
    const byName = new Map(dir!.partitions.map((p) => [p.partition, p]));
    expect([...byName.keys()].sort()).toEqual(['events-0', 'events-1']);
    expect(byName.get('events-0')!.size).toBe(0);
    // The bytes of the partition's segment files.
    const segments = fs.readdirSync(path.join(broker.dir, 'events-1')).filter((f) => f.endsWith('.log'));
    const onDisk = segments.reduce((n, f) => n + fs.statSync(path.join(broker.dir, 'events-1', f)).size, 0);
    expect(byName.get('events-1')!.size).toBeGreaterThan(100 * 'record-0'.length);
    expect(byName.get('events-1')!.size).toBe(onDisk);
    expect(byName.get('events-1')).toMatchObject({ offsetLag: 0, isFuture: false });
    // Without --topic-list: every topic.
    const every = JSON.parse((await ok(['log-dirs', '--describe', ...b])).trimEnd().split('\n')[2]!) as LogDirsJson;
    expect(every.brokers[0]!.logDirs[0]!.partitions.map((p) => p.partition)).toEqual(expect.arrayContaining(['events-0', 'events-1', 'other-0']));
    const unknown = await sluice(['log-dirs', '--describe', '--broker-list', '7', ...b]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('broker 7 is not in the cluster');
  });
});

/** `topic-partition` -> committed offset, from the offsets table of `groups --describe`. */
function committed(describeOut: string, group: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of describeOut.split('\n').filter((x) => x.startsWith(`${group} `))) {
    const [, topic, partition, current] = l.split(/\s+/);
    out.set(`${topic}-${partition}`, current!);
  }
  return out;
}

describe('sluice groups --all-groups and --delete-offsets', () => {
  it('describes every group, and deletes one group\'s committed offsets of a topic', async () => {
    const broker = await startBroker();
    const b = ['--bootstrap-server', broker.bootstrap];
    await ok(['topics', '--create', '--topic', 'events', '--partitions', '2', ...b]);
    await ok(['topics', '--create', '--topic', 'audit', ...b]);
    await ok(['produce', '--topic', 'events', '--key-separator', ':', ...b], Array.from({ length: 20 }, (_, i) => `k${i}:v${i}`).join('\n') + '\n');
    await ok(['produce', '--topic', 'audit', ...b], 'x\ny\n');
    await ok(['consume', '--topic', 'events', '--group', 'first', '--from-beginning', '--max-messages', '20', ...b]);
    await ok(['consume', '--topic', 'audit', '--group', 'first', '--from-beginning', '--max-messages', '2', ...b]);
    await ok(['consume', '--topic', 'events', '--group', 'second', '--from-beginning', '--max-messages', '20', ...b]);

    const all = await ok(['groups', '--describe', '--all-groups', ...b]);
    expect(all.match(/^Group: \S+/gm)).toEqual(['Group: first', 'Group: second']);
    expect([...committed(all, 'first').keys()].sort()).toEqual(['audit-0', 'events-0', 'events-1']);
    expect([...committed(all, 'second').values()].map(Number).reduce((a, n) => a + n, 0)).toBe(20);

    const deleted = await ok(['groups', '--delete-offsets', '--group', 'first', '--topic', 'events', ...b]);
    expect(deleted).toContain('Request succeeded for deleting offsets with topic events group first');
    expect(deleted).toMatch(/^events\s+0\s+Successful$/m);
    expect(deleted).toMatch(/^events\s+1\s+Successful$/m);
    const first = await ok(['groups', '--describe', '--group', 'first', '--offsets', ...b]);
    expect(first).not.toMatch(/^first\s+events/m);
    expect(first).toMatch(/^first\s+audit\s+0\s+2\s+2\s+0/m);
    const second = await ok(['groups', '--describe', '--group', 'second', '--offsets', ...b]);
    expect([...committed(second, 'second').values()].map(Number).reduce((a, n) => a + n, 0)).toBe(20);

    // A live member subscribed to the topic: the broker refuses, per partition.
    const live = startSluice(['consume', '--topic', 'events', '--group', 'second', ...b]);
    await eventually(async () => /State: Stable/.test((await sluice(['groups', '--describe', '--group', 'second', '--members', ...b])).stdout));
    const refused = await sluice(['groups', '--delete-offsets', '--group', 'second', '--topic', 'events', ...b]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^events\s+0\s+Error: GROUP_SUBSCRIBED_TO_TOPIC: deleting the offset of group 'second' for events-0/m);
    expect(refused.stdout).not.toContain('Successful');
    live.proc.kill('SIGINT');
    expect((await live.exited).code).toBe(0);

    const noGroup = await sluice(['groups', '--describe', '--all-groups', '--group', 'first', ...b]);
    expect(noGroup.code).toBe(2);
    const noTopic = await sluice(['groups', '--delete-offsets', '--group', 'first', ...b]);
    expect(noTopic.code).toBe(2);
    expect(noTopic.stderr).toContain('--delete-offsets needs --topic');
  });
});

describe('sluice produce and consume --property', () => {
  it("parses keys and prints fields as Kafka's console tools do", async () => {
    const broker: BrokerProcess = await startBroker();
    const b = ['--bootstrap-server', broker.bootstrap];
    await ok(['topics', '--create', '--topic', 'users', ...b]);
    const before = Date.now();
    await ok(['produce', '--topic', 'users', '--property', 'parse.key=true', '--property', 'key.separator=:', ...b], 'alice:1\nbob:2\n');
    await ok(['produce', '--topic', 'users', '--property', 'parse.key=true,key.separator=,', '--property', 'ignore.error=true', '--property', 'null.marker=NULL', ...b], 'carol,3\nno-key\nNULL,NULL\n');
    const after = Date.now();
    const out = await ok([
      'consume', '--topic', 'users', '--from-beginning', '--max-messages', '5',
      '--property', 'print.key=true', '--property', 'print.timestamp=true', '--property', 'print.partition=true', '--property', 'print.offset=true', '--property', 'key.separator=|',
      ...b,
    ]);
    const lines = out.trimEnd().split('\n');
    expect(lines.map((l) => l.replace(/^CreateTime:\d+\|/, ''))).toEqual([
      'Partition:0|Offset:0|alice|1',
      'Partition:0|Offset:1|bob|2',
      'Partition:0|Offset:2|carol|3',
      'Partition:0|Offset:3|null|no-key',
      'Partition:0|Offset:4|null|null',
    ]);
    for (const l of lines) {
      const ts = Number(/^CreateTime:(\d+)\|/.exec(l)![1]);
      expect(ts).toBeGreaterThanOrEqual(before);
      expect(ts).toBeLessThanOrEqual(after);
    }
    // Defaults: a tab between key and value; value-only output without print.key.
    expect(await ok(['consume', '--topic', 'users', '--from-beginning', '--max-messages', '2', '--property', 'print.key=true', ...b])).toBe('alice\t1\nbob\t2\n');
    expect(await ok(['consume', '--topic', 'users', '--from-beginning', '--max-messages', '2', '--property', 'print.headers=true', '--property', 'null.literal=-', ...b])).toBe('NO_HEADERS\t1\nNO_HEADERS\t2\n');
    // The old flags still work.
    expect(await ok(['consume', '--topic', 'users', '--from-beginning', '--max-messages', '1', '--format', '%k=%v', ...b])).toBe('alice=1\n');

    const noSep = await sluice(['produce', '--topic', 'users', '--property', 'parse.key=true', ...b], { input: 'x:y\n' });
    expect(noSep.code).toBe(1);
    expect(noSep.stderr).toContain("line 1 has no key separator '\t'");
    const unknown = await sluice(['consume', '--topic', 'users', '--property', 'print.everything=true', ...b]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown --property 'print.everything'");
    const both = await sluice(['consume', '--topic', 'users', '--property', 'print.key=true', '--format', '%v', ...b]);
    expect(both.code).toBe(2);
  });
});

describe('sluice --version', () => {
  it("prints Sluice's version on every command", async () => {
    const commands = ['serve', 'topics', 'produce', 'consume', 'groups', 'configs', 'get-offsets', 'delete-records', 'log-dirs', 'dump-log', 'cluster', 'dev-cluster'];
    for (const c of commands) {
      const r = await sluice([c, '--version']);
      expect(r, c).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    }
    expect(await sluice(['--version'])).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    // Also after other flags, without connecting anywhere.
    expect(await sluice(['topics', '--list', '--bootstrap-server', '127.0.0.1:1', '--version'])).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    const help = await sluice(['--help']);
    for (const c of commands.filter((x) => !['serve', 'dump-log', 'dev-cluster'].includes(x))) expect(help.stdout, c).toMatch(new RegExp(`^  ${c} +\\S`, 'm'));
  });
});
