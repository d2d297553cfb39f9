/**
 * The embedded producer's transactions: the same coordinator and markers as over the wire.
 * Commit/abort markers, offsets sent to a transaction, fencing by a second producer with the
 * same transactionalId, misuse errors, and the state kept across a reopen of the data directory.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KafkaError } from '../src/index.js';
import { Sluice } from '../src/broker/sluice.js';
import { openSluice } from './helpers/sluice.js';
import { storedBatches, storedSequence } from './helpers/txn-log.js';
import { tmpDir } from './helpers/tmp.js';

describe('embedded transactional producer', () => {
  it('commits and aborts with markers; offsets sent to the transaction count only when it commits', async () => {
    const s = await openSluice();
    await s.createTopic('out', { partitions: 2 });
    await s.createTopic('in');
    const p = s.producer({ transactionalId: 'emb-app' });
    await p.beginTransaction();
    await p.send('out', [{ value: 'a0', partition: 0 }, { value: 'a1', partition: 1 }]);
    await p.sendOffsetsToTransaction([{ topic: 'in', partition: 0, offset: 5 }], 'emb-group');
    expect(s.groups.committedOffsets('emb-group')).toEqual([]);
    await p.commitTransaction();
    expect(s.groups.committedOffsets('emb-group').map((o) => [o.topic, o.partition, o.offset])).toEqual([['in', 0, 5]]);

    await p.beginTransaction();
    await p.send('out', { value: 'b0', partition: 0 });
    await p.sendOffsetsToTransaction([{ topic: 'in', partition: 0, offset: 9 }], 'emb-group');
    await p.abortTransaction();
    expect(s.groups.committedOffsets('emb-group').map((o) => o.offset)).toEqual([5]);

    expect(storedSequence(s.dir, 'out', 0)).toEqual(['a0', '<commit>', 'b0', '<abort>']);
    expect(storedSequence(s.dir, 'out', 1)).toEqual(['a1', '<commit>']);
    const batches = storedBatches(s.dir, 'out', 0);
    expect(batches.every((b) => b.transactional && b.producerId === batches[0]!.producerId && b.producerEpoch === 0)).toBe(true);
    await p.close();
  });

  it('refuses sends outside a transaction, a second begin, and a commit with no transaction open', async () => {
    const s = await openSluice();
    await s.createTopic('t');
    const p = s.producer({ transactionalId: 'emb-misuse' });
    await expect(p.send('t', { value: 'x' })).rejects.toThrow(/beginTransaction/);
    await expect(s.producer().beginTransaction()).rejects.toThrow(/transactionalId/);
    await p.beginTransaction();
    await expect(p.beginTransaction()).rejects.toThrow(/already open/);
    await p.send('t', { value: 'ok' });
    await p.commitTransaction();
    await expect(p.commitTransaction()).rejects.toThrow(/no transaction to commit/);
  });

  it('a second producer with the same transactionalId fences the first and aborts its transaction', async () => {
    const s = await openSluice();
    await s.createTopic('f');
    const first = s.producer({ transactionalId: 'emb-fence' });
    await first.beginTransaction();
    await first.send('f', { value: 'old' });
    const second = s.producer({ transactionalId: 'emb-fence' });
    await second.initTransactions();
    const err = await first.commitTransaction().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaError);
    expect((err as Error).message).toMatch(/fenced/);
    // Fenced for good, as in Kafka.
    await expect(first.beginTransaction()).rejects.toThrow(/fenced/);
    await second.beginTransaction();
    await second.send('f', { value: 'new' });
    await second.commitTransaction();
    expect(storedSequence(s.dir, 'f', 0)).toEqual(['old', '<abort>', 'new', '<commit>']);
  });

  it('keeps the transaction state across a reopen: an open transaction is aborted by the next instance', async () => {
    const dir = tmpDir('sluice-emb-txn-');
    let s = await Sluice.open({ dir, workerThreads: 0 });
    await s.createTopic('r');
    const p = s.producer({ transactionalId: 'emb-reopen' });
    await p.beginTransaction();
    await p.send('r', { value: 'left-open' });
    await s.close();
    s = await Sluice.open({ dir, workerThreads: 0 });
    const next = s.producer({ transactionalId: 'emb-reopen' });
    await next.beginTransaction();
    await next.send('r', { value: 'next' });
    await next.commitTransaction();
    expect(storedSequence(dir, 'r', 0)).toEqual(['left-open', '<abort>', 'next', '<commit>']);
    expect(storedBatches(dir, 'r', 0).map((b) => b.producerEpoch)).toEqual([0, 1, 2, 2]);
    await s.close();
  });
});

describe("README's transactions example", () => {
  const root = path.resolve(import.meta.dirname, '..');
  const example = path.join(root, 'examples', 'transactions.mjs');

  it('is examples/transactions.mjs, word for word', () => {
    expect(fs.readFileSync(path.join(root, 'README.md'), 'utf8')).toContain('```js\n' + fs.readFileSync(example, 'utf8') + '```');
  });

  it('invoices the new orders each run and resumes from the offsets it committed', () => {
    const cwd = tmpDir('sluice-txn-example-');
    for (const from of [2, 4]) {
      const r = spawnSync(process.execPath, [example], { cwd, encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`invoiced order-1, order-2; billing goes on from offset ${from}\n`);
    }
    expect(storedSequence(path.join(cwd, 'data'), 'invoices', 0)).toEqual([
      'invoice for order-1', 'invoice for order-2', '<commit>', 'invoice for order-1', 'invoice for order-2', '<commit>',
    ]);
  });
});
