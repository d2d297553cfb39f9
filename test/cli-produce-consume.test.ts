import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '../src/client/partitioner.js';
import { startBroker } from './helpers/broker.js';
import { requireTool, run } from './helpers/clients.js';
import { eventually, sluice, startSluice } from './helpers/cli.js';
import { tmpDir } from './helpers/tmp.js';

beforeAll(() => requireTool('kcat', 'apt-get install kcat'));

const SUMMARY = /^Produced (\d+) records \([\d.]+ (B|KiB|MiB)\) to \S+ in [\d.]+ s: \d+ records\/s/m;

describe('sluice produce and consume against a broker process', () => {
  it('round-trips keyed records with headers under every codec, keys where murmur2 puts them', async () => {
    const broker = await startBroker();
    const b = ['--bootstrap-server', broker.bootstrap];
    for (const codec of ['none', 'gzip', 'snappy', 'lz4']) {
      const topic = `rt-${codec}`;
      expect((await sluice(['topics', '--create', '--topic', topic, '--partitions', '3', ...b])).code).toBe(0);
      const lines = Array.from({ length: 300 }, (_, i) => `user${i % 17}|event ${i} ${'x'.repeat(i % 40)}`);
      const file = path.join(tmpDir(), 'in.txt');
      fs.writeFileSync(file, lines.join('\n') + '\n');
      const p = await sluice(['produce', '--topic', topic, '--file', file, '--key-separator', '|', '--headers', 'src=cli,codec=' + codec, '--compression', codec, ...b]);
      expect(p.code, p.stderr).toBe(0);
      expect(p.stdout).toBe(''); // stderr only, and no progress bar when stderr is not a terminal
      expect(p.stderr).toMatch(SUMMARY);
      expect(SUMMARY.exec(p.stderr)![1]).toBe('300');

      const c = await sluice(['consume', '--topic', topic, '--from-beginning', '--max-messages', '300', '--format', '%p\t%o\t%k\t%v\t%h', ...b]);
      expect(c.code, c.stderr).toBe(0);
      expect(c.stderr).toContain('Processed a total of 300 messages');
      const got = c.stdout.trimEnd().split('\n').map((l) => l.split('\t'));
      expect(got).toHaveLength(300);
      for (const [p, , k, , h] of got) {
        expect(Number(p)).toBe(partitionForKey(Buffer.from(k!), 3));
        expect(h).toBe(`src=cli,codec=${codec}`);
      }
      // Per partition, records come in the order they were produced, offsets dense from 0.
      for (const part of ['0', '1', '2']) {
        const mine = got.filter((r) => r[0] === part);
        expect(mine.map((r) => Number(r[1]))).toEqual([...mine.keys()]);
        expect(mine.map((r) => `${r[2]}|${r[3]}`)).toEqual(lines.filter((l) => partitionForKey(Buffer.from(l.split('|')[0]!), 3) === Number(part)));
      }
    }
  });

  it('produces with acks 0, 1 and all, reads from an offset, a partition and a time, and stops on --timeout-ms', async () => {
    const broker = await startBroker();
    const b = ['--bootstrap-server', broker.bootstrap];
    await sluice(['topics', '--create', '--topic', 'acks', '--partitions', '2', ...b]);
    for (const acks of ['1', 'all', '0']) {
      const r = await sluice(['produce', '--topic', 'acks', '--partition', '0', '--acks', acks, ...b], { input: Array.from({ length: 50 }, (_, i) => `${acks}-${i}`).join('\n') + '\n' });
      expect(r.code, r.stderr).toBe(0);
      expect(SUMMARY.exec(r.stderr)![1]).toBe('50');
      if (acks === '0') expect(r.stderr).toContain('acks=0: sent, not acknowledged');
    }
    // acks=0 has no answer to wait for: the records still arrive.
    const all = await eventually(async () => {
      const r = await sluice(['consume', '--topic', 'acks', '--partition', '0', '--from-beginning', '--timeout-ms', '1000', ...b]);
      return r.stdout.trimEnd().split('\n').length === 150 ? r : null;
    });
    expect(all.code).toBe(0);
    expect(all.stdout.trimEnd().split('\n').slice(0, 2)).toEqual(['1-0', '1-1']);
    expect(all.stdout.trimEnd().split('\n').at(-1)).toBe('0-49');

    const fromOffset = await sluice(['consume', '--topic', 'acks', '--partition', '0', '--offset', '120', '--max-messages', '3', '--format', '%o:%v', ...b]);
    expect(fromOffset).toMatchObject({ code: 0, stdout: '120:0-20\n121:0-21\n122:0-22\n' });

    const other = await sluice(['consume', '--topic', 'acks', '--partition', '1', '--from-beginning', '--timeout-ms', '500', ...b]);
    expect(other).toMatchObject({ code: 0, stdout: '' });
    expect(other.stderr).toContain('Processed a total of 0 messages');

    const mark = new Date(Date.now() + 1).toISOString();
    await new Promise((r) => setTimeout(r, 20)); // the records below must be stamped after `mark`
    await sluice(['produce', '--topic', 'acks', '--partition', '0', ...b], { input: 'late-1\nlate-2\n' });
    const fromTime = await sluice(['consume', '--topic', 'acks', '--from-time', mark, '--timeout-ms', '1000', ...b]);
    expect(fromTime).toMatchObject({ code: 0, stdout: 'late-1\nlate-2\n' });

    const empty = await sluice(['consume', '--topic', 'acks', '--timeout-ms', '300', ...b]);
    expect(empty).toMatchObject({ code: 0, stdout: '' });
  });

  it('reports bad input with the flag, the line or the topic', async () => {
    const broker = await startBroker({ args: ['--auto-create-topics', 'false'] });
    const b = ['--bootstrap-server', broker.bootstrap];
    await sluice(['topics', '--create', '--topic', 'in', '--partitions', '1', ...b]);

    const noSep = await sluice(['produce', '--topic', 'in', '--key-separator', ':', ...b], { input: 'k:v\nno separator here\n' });
    expect(noSep.code).toBe(1);
    expect(noSep.stderr).toContain("line 2 has no key separator ':'");

    const codec = await sluice(['produce', '--topic', 'in', '--compression', 'zip', ...b], { input: 'x\n' });
    expect(codec.code).toBe(2);
    expect(codec.stderr).toContain("invalid value 'zip' for --compression: one of none, gzip, snappy, lz4");

    const missingTopic = await sluice(['consume', '--topic', 'ghost', '--max-messages', '1', ...b]);
    expect(missingTopic.code).toBe(1);
    expect(missingTopic.stderr).toContain("UNKNOWN_TOPIC_OR_PARTITION: topic 'ghost' does not exist");
    const produceMissing = await sluice(['produce', '--topic', 'ghost', ...b], { input: 'x\n' });
    expect(produceMissing.code).toBe(1);
    expect(produceMissing.stderr).toContain("topic 'ghost' does not exist");

    const partition = await sluice(['consume', '--topic', 'in', '--partition', '7', ...b]);
    expect(partition.code).toBe(1);
    expect(partition.stderr).toContain("topic 'in' has partitions 0-0, not 7");

    const both = await sluice(['consume', '--topic', 'in', '--from-beginning', '--offset', '3', ...b]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('only one of --from-beginning, --offset, --from-time may be given');

    const format = await sluice(['consume', '--topic', 'in', '--format', '%q', ...b]);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain("unknown '%q'");

    const file = await sluice(['produce', '--topic', 'in', '--file', '/nonexistent/file.txt', ...b]);
    expect(file.code).toBe(1);
    expect(file.stderr).toContain('cannot read --file /nonexistent/file.txt: ENOENT');
  });

  it('writes records kcat reads, and reads records kcat wrote', async () => {
    const broker = await startBroker();
    const b = ['--bootstrap-server', broker.bootstrap];
    const lines = Array.from({ length: 200 }, (_, i) => `k${i % 9}=value ${i}`);
    for (const codec of ['lz4', 'gzip', 'snappy', 'none']) {
      const topic = `to-kcat-${codec}`;
      const r = await sluice(['produce', '--topic', topic, '--key-separator', '=', '--headers', 'h1=a,h2=b', '--compression', codec, ...b], { input: lines.join('\n') + '\n' });
      expect(r.code, r.stderr).toBe(0);
      const out = await run('kcat', ['-b', broker.bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k=%s|%h\n']);
      expect(out.trimEnd().split('\n')).toEqual(lines.map((l) => `${l}|h1=a,h2=b`));
    }
    for (const codec of ['zstd', 'lz4']) {
      const topic = `from-kcat-${codec}`;
      await run('kcat', ['-b', broker.bootstrap, '-P', '-t', topic, '-K:', '-z', codec, '-H', 'via=kcat'], lines.map((l) => l.replace('=', ':')).join('\n') + '\n');
      const c = await sluice(['consume', '--topic', topic, '--from-beginning', '--max-messages', '200', '--format', '%k=%v %h', ...b]);
      expect(c.code, c.stderr).toBe(0);
      expect(c.stdout.trimEnd().split('\n')).toEqual(lines.map((l) => `${l} via=kcat`));
    }
  });

  it('consumes as a group member: commits on Ctrl-C, leaves, and the next member resumes there', async () => {
    const broker = await startBroker();
    const b = ['--bootstrap-server', broker.bootstrap];
    await sluice(['topics', '--create', '--topic', 'jobs', '--partitions', '2', ...b]);
    await sluice(['produce', '--topic', 'jobs', '--key-separator', ':', ...b], { input: Array.from({ length: 100 }, (_, i) => `k${i}:job-${i}`).join('\n') + '\n' });

    const first = startSluice(['consume', '--topic', 'jobs', '--group', 'workers', '--from-beginning', '--format', '%p:%o', ...b]);
    await first.waitForStdout(/(?:.*\n){100}/);
    first.proc.kill('SIGINT');
    const done = await first.exited;
    expect(done.code).toBe(0);
    expect(done.stderr).toContain('Processed a total of 100 messages');

    const d = await sluice(['groups', '--describe', '--group', 'workers', ...b]);
    expect(d.stdout).toMatch(/State: Empty/);
    const rows = d.stdout.split('\n').filter((l) => l.startsWith('workers '));
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      const [, , , current, end, lag] = row.split(/\s+/);
      expect(current).toBe(end);
      expect(lag).toBe('0');
    }

    // New records only: the next member starts at the committed offsets.
    await sluice(['produce', '--topic', 'jobs', ...b], { input: 'after-1\nafter-2\n' });
    const next = await sluice(['consume', '--topic', 'jobs', '--group', 'workers', '--from-beginning', '--max-messages', '2', ...b]);
    expect(next.code).toBe(0);
    expect(next.stdout).toBe('after-1\nafter-2\n');
  });
});
