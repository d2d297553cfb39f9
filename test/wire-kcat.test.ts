import fs from 'node:fs';
import path from 'node:path';
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
      // The batches are stored with the codec kcat used (librdkafka downgrades to none when a
      // broker looks too old for it, so check the attributes of what is on disk).
      await broker.stop();
      const data = fs.readFileSync(path.join(broker.dir, 'k-0', '00000000000000000000.log'));
      const codecs = new Set<number>();
      for (let pos = 0; pos < data.length; pos += data.readInt32BE(pos + 8) + 12) codecs.add(data.readInt16BE(pos + 21) & 7);
      // librdkafka sends a batch uncompressed when compressing does not shrink it.
      const id = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 }[codec]!;
      expect(codecs.has(id)).toBe(true);
      expect([...codecs].every((c) => c === id || c === 0)).toBe(true);
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
