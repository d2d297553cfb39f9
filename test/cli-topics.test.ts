import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startBroker } from './helpers/broker.js';
import { closedPort, sluice } from './helpers/cli.js';

describe('sluice --help and usage errors', () => {
  it('lists every command with one line each', async () => {
    const r = await sluice(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['serve', 'topics', 'produce', 'consume', 'groups', 'dump-log']) expect(r.stdout).toMatch(new RegExp(`^  ${c} +\\S`, 'm'));
  });

  it('prints help for every command and exits 0', async () => {
    for (const c of ['serve', 'topics', 'produce', 'consume', 'groups', 'dump-log']) {
      const r = await sluice([c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toContain(`Usage: sluice ${c}`);
    }
  });

  it('exits 2 naming the flag for a bad flag, a missing action and a bad value', async () => {
    const bad = await sluice(['topics', '--list', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown option '--bogus'");
    expect(bad.stderr).toContain('sluice topics --help');

    const none = await sluice(['topics']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('one of --create, --list, --describe, --alter, --delete is required');

    const two = await sluice(['topics', '--list', '--delete', '--topic', 'x']);
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('not --list and --delete');

    const value = await sluice(['topics', '--create', '--topic', 't', '--partitions', 'zero']);
    expect(value.code).toBe(2);
    expect(value.stderr).toContain("invalid value 'zero' for --partitions: a whole number from 1 to 1000000");

    const missing = await sluice(['topics', '--delete']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--topic is required with --delete');

    const unknown = await sluice(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");

    const server = await sluice(['topics', '--list', '--bootstrap-server', 'nohostport']);
    expect(server.code).toBe(2);
    expect(server.stderr).toContain("'nohostport' is not host:port");
  });

  it('exits 1 with a clear message when the broker cannot be reached', async () => {
    const port = await closedPort();
    for (const args of [['topics', '--list'], ['groups', '--list'], ['consume', '--topic', 't', '--max-messages', '1']]) {
      const r = await sluice([...args, '--bootstrap-server', `127.0.0.1:${port}`]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(`cannot reach broker 127.0.0.1:${port}: ECONNREFUSED (is it running? start one with \`npm start\`)`);
    }
    // The environment variable is the default bootstrap server.
    const env = await sluice(['topics', '--list'], { env: { SLUICE_BOOTSTRAP_SERVER: `127.0.0.1:${port}` } });
    expect(env.code).toBe(1);
    expect(env.stderr).toContain(`cannot reach broker 127.0.0.1:${port}`);
  });
});

describe('sluice topics against a broker process', () => {
  it('creates, lists, describes, alters and deletes a topic', async () => {
    const broker = await startBroker({ args: ['--auto-create-topics', 'false'] });
    const b = ['--bootstrap-server', broker.bootstrap];

    const created = await sluice(['topics', '--create', '--topic', 'orders', '--partitions', '3', '--config', 'retention.ms=3600000', ...b]);
    expect(created).toMatchObject({ code: 0, stdout: 'Created topic orders.\n' });
    await sluice(['topics', '--create', '--topic', 'audit', '--partitions', '1', ...b]);

    const again = await sluice(['topics', '--create', '--topic', 'orders', '--partitions', '3', ...b]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/TOPIC_ALREADY_EXISTS: creating topic 'orders'/);
    expect((await sluice(['topics', '--create', '--topic', 'orders', '--if-not-exists', ...b])).code).toBe(0);

    const list = await sluice(['topics', '--list', '--exclude-internal', ...b]);
    expect(list).toMatchObject({ code: 0, stdout: 'audit\norders\n' });

    await sluice(['produce', '--topic', 'orders', '--partition', '1', ...b], { input: 'a\nb\nc\n' });
    const d = await sluice(['topics', '--describe', '--topic', 'orders', ...b]);
    expect(d.code).toBe(0);
    const lines = d.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^Topic: orders\tTopicId: \S+\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: retention.ms=3600000$/);
    expect(lines.slice(1)).toEqual([0, 1, 2].map((p) =>
      expect.stringMatching(new RegExp(`^\tTopic: orders\tPartition: ${p}\tLeader: 0\tReplicas: 0\tIsr: 0\tLogStartOffset: 0\tLogEndOffset: ${p === 1 ? 3 : 0}\tSize: ${p === 1 ? '[1-9]\\d* B' : '0 B'}$`)),
    ));

    const all = await sluice(['topics', '--describe', ...b]);
    expect(all.stdout).toMatch(/^Topic: audit\t/m);
    expect(all.stdout).toMatch(/^Topic: orders\t/m);

    const more = await sluice(['topics', '--alter', '--topic', 'orders', '--partitions', '5', ...b]);
    expect(more).toMatchObject({ code: 0, stdout: 'Topic orders now has 5 partitions.\n' });
    const fewer = await sluice(['topics', '--alter', '--topic', 'orders', '--partitions', '2', ...b]);
    expect(fewer.code).toBe(1);
    expect(fewer.stderr).toMatch(/INVALID_PARTITIONS/);

    const set = await sluice(['topics', '--alter', '--topic', 'orders', '--config', 'retention.ms=60000,cleanup.policy=compact', ...b]);
    expect(set.code).toBe(0);
    expect((await sluice(['topics', '--describe', '--topic', 'orders', ...b])).stdout).toMatch(/PartitionCount: 5\tReplicationFactor: 1\tConfigs: (?=.*retention.ms=60000)(?=.*cleanup.policy=compact)/);
    const unset = await sluice(['topics', '--alter', '--topic', 'orders', '--delete-config', 'retention.ms', ...b]);
    expect(unset.code).toBe(0);
    expect((await sluice(['topics', '--describe', '--topic', 'orders', ...b])).stdout).toMatch(/Configs: cleanup.policy=compact\n/);

    const badConfig = await sluice(['topics', '--alter', '--topic', 'orders', '--config', 'retention.ms=soon', ...b]);
    expect(badConfig.code).toBe(1);
    expect(badConfig.stderr).toMatch(/INVALID_CONFIG/);

    expect(await sluice(['topics', '--delete', '--topic', 'orders', ...b])).toMatchObject({ code: 0, stdout: 'Deleted topic orders.\n' });
    expect((await sluice(['topics', '--list', ...b])).stdout).not.toContain('orders');
  });

  it('--describe shows each partition size on disk (DescribeLogDirs), the bytes of its .log files', async () => {
    const broker = await startBroker({ args: ['--auto-create-topics', 'false'] });
    const b = ['--bootstrap-server', broker.bootstrap];
    expect((await sluice(['topics', '--create', '--topic', 'sized', '--partitions', '2', ...b])).code).toBe(0);
    // Enough data for a size past 1 KiB on partition 0, a few records on partition 1.
    const big = Array.from({ length: 200 }, (_, i) => `record ${i} ${'x'.repeat(40)}\n`).join('');
    expect((await sluice(['produce', '--topic', 'sized', '--partition', '0', ...b], { input: big })).code).toBe(0);
    expect((await sluice(['produce', '--topic', 'sized', '--partition', '1', ...b], { input: 'a\nb\n' })).code).toBe(0);

    const d = await sluice(['topics', '--describe', '--topic', 'sized', ...b]);
    expect(d.code).toBe(0);
    const shown = new Map<number, number>();
    for (const line of d.stdout.trim().split('\n').slice(1)) {
      const m = /\tPartition: (\d+)\t.*\tSize: (\d+) B(?: \((\d+\.\d) (KiB|MiB)\))?$/.exec(line);
      expect(m, line).not.toBeNull();
      const size = Number(m![2]);
      // Human-readable form from 1 KiB up.
      if (size >= 1024) expect(m![3], line).toBe((size / 1024).toFixed(1));
      else expect(m![3], line).toBeUndefined();
      shown.set(Number(m![1]), size);
    }
    expect(shown.get(0)).toBeGreaterThan(1024);
    expect(shown.get(0)).toBeGreaterThan(shown.get(1)!);
    expect(shown.get(1)).toBeGreaterThan(0);

    // After a clean stop, the .log files under the data directory hold exactly those bytes.
    expect(await broker.stop()).toBe(0);
    for (const [p, size] of shown) {
      const dir = path.join(broker.dir, `sized-${p}`);
      const onDisk = fs.readdirSync(dir).filter((f) => f.endsWith('.log')).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
      expect(onDisk, `sized-${p}`).toBe(size);
    }
  });

  it('names the missing topic in every action, and --if-exists silences it', async () => {
    const broker = await startBroker({ args: ['--auto-create-topics', 'false'] });
    const b = ['--bootstrap-server', broker.bootstrap];
    for (const args of [['--describe'], ['--delete'], ['--alter', '--partitions', '4'], ['--alter', '--config', 'retention.ms=1']]) {
      const r = await sluice(['topics', ...args, '--topic', 'ghost', ...b]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain("UNKNOWN_TOPIC_OR_PARTITION: topic 'ghost' does not exist");
      expect((await sluice(['topics', ...args, '--topic', 'ghost', '--if-exists', ...b])).code).toBe(0);
    }
  });
});
