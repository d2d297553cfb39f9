import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startBroker } from './helpers/broker.js';
import { sluice } from './helpers/cli.js';
import { tmpDir } from './helpers/tmp.js';

const BATCH = /^baseOffset: (\d+) lastOffset: (\d+) count: (\d+) baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: \d+ isTransactional: false isControl: false position: (\d+) CreateTime: \d+ size: (\d+) magic: 2 compresscodec: (\w+) crc: \d+ isvalid: (true|false)$/;

describe('sluice dump-log on segment files a broker wrote', () => {
  it('prints batches, records, index and time index entries, and flags damage', async () => {
    const broker = await startBroker();
    const b = ['--bootstrap-server', broker.bootstrap];
    await sluice(['topics', '--create', '--topic', 'logs', '--partitions', '1', ...b]);
    await sluice(['produce', '--topic', 'logs', '--key-separator', ':', '--headers', 'trace=abc', ...b], { input: 'k1:first\nk2:second\n' });
    await sluice(['produce', '--topic', 'logs', '--compression', 'gzip', ...b], { input: 'third\n' });
    const big = Array.from({ length: 3000 }, (_, i) => `line ${i} ${'y'.repeat(200)}`).join('\n') + '\n';
    await sluice(['produce', '--topic', 'logs', '--compression', 'lz4', ...b], { input: big });
    expect(await broker.stop()).toBe(0);

    const dir = path.join(broker.dir, 'logs-0');
    const log = path.join(dir, '00000000000000000000.log');
    const r = await sluice(['dump-log', '--files', log, '--print-data-log']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 2)).toEqual([`Dumping ${log}`, 'Log starting offset: 0']);
    const batches = lines.filter((l) => l.startsWith('baseOffset:')).map((l) => BATCH.exec(l));
    expect(batches.every((m) => m !== null)).toBe(true);
    expect(batches[0]!.slice(1, 8)).toEqual(['0', '1', '2', '0', batches[0]![5], 'none', 'true']);
    expect(batches[1]!.slice(1, 4)).toEqual(['2', '2', '1']);
    expect(batches[1]![6]).toBe('gzip');
    expect(batches.slice(2).every((m) => m![6] === 'lz4' && m![7] === 'true')).toBe(true);
    // Positions chain: each batch starts where the one before ended; counts add up.
    let position = 0;
    for (const m of batches) {
      expect(Number(m![4])).toBe(position);
      position += Number(m![5]);
    }
    expect(position).toBe(fs.statSync(log).size);
    expect(batches.reduce((n, m) => n + Number(m![3]), 0)).toBe(3003);
    const records = lines.filter((l) => l.startsWith('| '));
    expect(records).toHaveLength(3003);
    expect(records[0]).toMatch(/^\| offset: 0 CreateTime: \d+ keySize: 2 valueSize: 5 sequence: -1 headerKeys: \[trace\] key: k1 payload: first headers: trace=abc$/);
    expect(records[2]).toMatch(/^\| offset: 2 CreateTime: \d+ keySize: -1 valueSize: 5 sequence: -1 headerKeys: \[\] key: null payload: third$/);
    expect(records[3002]).toContain(`payload: line 2999 ${'y'.repeat(200)}`);

    const headersOnly = await sluice(['dump-log', '--files', log]);
    expect(headersOnly.stdout).not.toContain('| offset');

    // Index entries point at batch starts; the time index at offsets within the log.
    const idx = await sluice(['dump-log', '--files', `${path.join(dir, '00000000000000000000.index')},${path.join(dir, '00000000000000000000.timeindex')}`]);
    expect(idx.code).toBe(0);
    const starts = new Map(batches.map((m) => [Number(m![4]), Number(m![2])]));
    const entries = [...idx.stdout.matchAll(/^offset: (\d+) position: (\d+)$/gm)];
    expect(entries.length).toBeGreaterThan(0);
    for (const [, offset, pos] of entries) expect(starts.get(Number(pos))).toBe(Number(offset));
    const times = [...idx.stdout.matchAll(/^timestamp: (\d+) offset: (\d+)$/gm)];
    expect(times.length).toBeGreaterThan(0);
    for (const [, , offset] of times) expect(Number(offset)).toBeLessThan(3003);

    // A flipped byte in the last batch fails its CRC; garbage after it is reported, not decoded.
    const copy = path.join(tmpDir(), '00000000000000000000.log');
    const bytes = fs.readFileSync(log);
    bytes[bytes.length - 10]! ^= 0xff;
    fs.writeFileSync(copy, Buffer.concat([bytes, Buffer.from('garbage!')]));
    const bad = await sluice(['dump-log', '--files', copy, '--print-data-log']);
    expect(bad.code).toBe(0);
    const badBatches = bad.stdout.split('\n').filter((l) => l.startsWith('baseOffset:'));
    expect(badBatches.at(-1)).toMatch(/isvalid: false$/);
    expect(badBatches.slice(0, -1).every((l) => l.endsWith('isvalid: true'))).toBe(true);
    expect(bad.stdout).toContain(`Found 8 invalid bytes at the end, from position ${bytes.length}`);
  });

  it('exits 2 for a file type it cannot read and 1 for a missing file', async () => {
    const wrong = await sluice(['dump-log', '--files', '/tmp/partition.checkpoint']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--files takes .log, .index, .timeindex or .txnindex files');
    const missing = await sluice(['dump-log', '--files', '/nonexistent/00000000000000000000.log']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot open /nonexistent/00000000000000000000.log: ENOENT');
    const none = await sluice(['dump-log']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--files is required');
  });
});
