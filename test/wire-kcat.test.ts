import { beforeAll, describe, expect, it } from 'vitest';
import { requireTool, run } from './helpers/clients.js';
import { startBroker } from './helpers/broker.js';

beforeAll(() => requireTool('kcat', 'apt-get install kcat'));

describe('kcat (librdkafka) against a Sluice broker process', () => {
  it('lists metadata with -L', async () => {
    const broker = await startBroker();
    await run('kcat', ['-b', broker.bootstrap, '-t', 'made', '-P'], 'one\n');
    const out = await run('kcat', ['-b', broker.bootstrap, '-L']);
    expect(out).toContain(`broker 0 at ${broker.bootstrap} (controller)`);
    expect(out).toMatch(/topic "made" with 1 partitions:/);
    expect(out).toContain('partition 0, leader 0, replicas: 0, isrs: 0');
  });

  for (const codec of ['lz4', 'snappy', 'zstd', 'gzip']) {
    it(`produces a file of keyed messages with ${codec} and consumes them back`, async () => {
      const broker = await startBroker();
      const lines = Array.from({ length: 500 }, (_, i) => `key${i % 23}:value ${i} ${'x'.repeat(i % 50)}`);
      await run('kcat', ['-b', broker.bootstrap, '-t', 'k', '-P', '-K:', '-z', codec, '-X', 'linger.ms=5'], lines.join('\n') + '\n');
      const out = await run('kcat', ['-b', broker.bootstrap, '-t', 'k', '-C', '-o', 'beginning', '-e', '-q', '-f', '%k:%s|%o\n']);
      const got = out.trim().split('\n');
      expect(got.map((l) => l.split('|')[0])).toEqual(lines);
      expect(got.map((l) => Number(l.split('|')[1]))).toEqual([...Array(500).keys()]);
    });
  }

  it('produces idempotently (enable.idempotence=true) without duplicates', async () => {
    const broker = await startBroker();
    const lines = Array.from({ length: 1000 }, (_, i) => `m${i}`);
    await run('kcat', ['-b', broker.bootstrap, '-t', 'idem', '-P', '-X', 'enable.idempotence=true', '-X', 'linger.ms=2'], lines.join('\n') + '\n');
    const out = await run('kcat', ['-b', broker.bootstrap, '-t', 'idem', '-C', '-o', 'beginning', '-e', '-q']);
    expect(out.trim().split('\n')).toEqual(lines);
  });
});
