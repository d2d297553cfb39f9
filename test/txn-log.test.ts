/**
 * Transactions in the log (issue 16, the log side): the last stable offset and the aborted
 * transactions of a partition, derived from the batches appended, kept in Kafka's `.txnindex`
 * per segment, surviving a clean restart, a SIGKILL, a truncation, retention and compaction;
 * and the embedded consumer's isolationLevel. Transactional batches and markers are appended
 * through the engine (the coordinator that writes them in production is another module).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildBatch, buildEndTransactionMarker, type Sluice } from '../src/index.js';
import type { Partition } from '../src/broker/partition.js';
import { ABORTED_TXN_SIZE, readTxnIndex, txnIndexPath } from '../src/storage/txn-index.js';
import { openSluice } from './helpers/sluice.js';
import { sluice } from './helpers/cli.js';
import { tmpDir } from './helpers/tmp.js';
import { runUntilKilled } from './helpers/kill-child.js';

/** A transactional data batch of `producerId` with one record per value (the key is the value). */
function txn(producerId: number, values: string[], compression: 'none' | 'lz4' = 'none'): Buffer {
  return buildBatch(
    values.map((v) => ({ key: v, value: v })),
    { producerId, producerEpoch: 0, baseSequence: 0, transactional: true, compression },
  );
}

function plain(values: string[]): Buffer {
  return buildBatch(values.map((v) => ({ key: v, value: v })));
}

function marker(producerId: number, commit: boolean): Buffer {
  return buildEndTransactionMarker({ committed: commit, producerId, producerEpoch: 0, coordinatorEpoch: 0 });
}

async function readAll(s: Sluice, topic: string, isolationLevel: 'read_committed' | 'read_uncommitted'): Promise<string[]> {
  const c = s.consumer({ autoOffsetReset: 'earliest', valueDeserializer: 'string', isolationLevel });
  c.assign([{ topic, partition: 0 }]);
  const got: string[] = [];
  for (;;) {
    const batch = await c.poll({ timeoutMs: 100 });
    if (batch.length === 0) break;
    got.push(...batch.map((r) => r.value as string));
  }
  await c.close();
  return got;
}

/**
 * Appends the scenario every test here starts from; returns the partition. Offsets:
 *   0 plain-0 | 1-2 a1 a2 (pid 100) | 3 b1 (pid 200) | 4 a3 (100) | 5 b2 (200, lz4)
 *   6 commit 100 | 7 abort 200 | 8 c1 (300) | 9 plain-1 | 10 commit 300 | 11 d1 (400, open) | 12 plain-2
 */
function appendScenario(s: Sluice, topic: string): Partition {
  const p = s.partition(topic, 0);
  for (const b of [
    plain(['plain-0']),
    txn(100, ['a1', 'a2']),
    txn(200, ['b1']),
    txn(100, ['a3']),
    txn(200, ['b2'], 'lz4'),
    marker(100, true),
    marker(200, false),
    txn(300, ['c1']),
    plain(['plain-1']),
    marker(300, true),
    txn(400, ['d1']),
    plain(['plain-2']),
  ]) {
    p.append(b);
  }
  return p;
}

const COMMITTED = ['plain-0', 'a1', 'a2', 'a3', 'c1', 'plain-1'];
const EVERYTHING = ['plain-0', 'a1', 'a2', 'b1', 'a3', 'b2', 'c1', 'plain-1', 'd1', 'plain-2'];
const ABORTED_B = { producerId: 200, firstOffset: 3, lastOffset: 7, lastStableOffset: 8 };

describe('transactions in the log', () => {
  it('derives the last stable offset and the aborted index from the batches appended', async () => {
    const s = await openSluice();
    await s.createTopic('t');
    const p = appendScenario(s, 't');
    expect(p.highWatermark).toBe(13);
    expect(p.lastStableOffset).toBe(11); // d1 of the open transaction of 400
    expect(p.txns.ongoingTransactions()).toEqual([{ producerId: 400, firstOffset: 11 }]);
    // The LSO after the abort of 200 at offset 7: no other transaction open (300 starts at 8), so 8.
    expect(p.txns.abortedTransactionsAll()).toEqual([ABORTED_B]);
    // Kafka's .txnindex layout: one 34-byte entry in the segment that holds the marker.
    const file = txnIndexPath(p.log.dir, 0);
    expect(fs.statSync(file).size).toBe(ABORTED_TXN_SIZE);
    expect(readTxnIndex(file)).toEqual([ABORTED_B]);
    // What a fetch of a range is told: the aborted transactions overlapping it.
    expect(p.txns.abortedTransactions(0, 11)).toEqual([{ producerId: 200, firstOffset: 3 }]);
    expect(p.txns.abortedTransactions(8, 11)).toEqual([]);
    expect(p.txns.abortedTransactions(0, 3)).toEqual([]);

    expect(await readAll(s, 't', 'read_committed')).toEqual(COMMITTED);
    expect(await readAll(s, 't', 'read_uncommitted')).toEqual(EVERYTHING);

    // sluice dump-log prints the index and the markers as Kafka's kafka-dump-log.sh does.
    const dump = await sluice(['dump-log', '--files', `${file},${path.join(p.log.dir, '00000000000000000000.log')}`, '--print-data-log']);
    expect(dump.code).toBe(0);
    expect(dump.stdout).toContain('version: 0 producerId: 200 firstOffset: 3 lastOffset: 7 lastStableOffset: 8\n');
    expect(dump.stdout).toContain('| offset: 6 endTxnMarker: COMMIT coordinatorEpoch: 0\n');
    expect(dump.stdout).toContain('| offset: 7 endTxnMarker: ABORT coordinatorEpoch: 0\n');

    // The commit of 400 moves the LSO to the high watermark; its records become readable.
    p.append(marker(400, true));
    expect(p.lastStableOffset).toBe(p.highWatermark);
    expect(await readAll(s, 't', 'read_committed')).toEqual([...COMMITTED, 'd1', 'plain-2']);
  });

  it('wakes a read_committed poll when the last stable offset moves, not before', async () => {
    const s = await openSluice();
    await s.createTopic('t');
    const p = s.partition('t', 0);
    p.append(txn(7, ['x1']));
    const c = s.consumer({ autoOffsetReset: 'earliest', valueDeserializer: 'string', isolationLevel: 'read_committed' });
    c.assign([{ topic: 't', partition: 0 }]);
    expect(await c.poll({ timeoutMs: 50 })).toEqual([]);
    expect(c.endOffsets([{ topic: 't', partition: 0 }])[0]!.offset).toBe(0);
    const polled = c.poll({ timeoutMs: 20_000 });
    setTimeout(() => p.append(plain(['after'])), 30); // data past the LSO: the poll keeps waiting
    setTimeout(() => p.append(marker(7, true)), 200);
    const got = await polled;
    expect(got.map((r) => r.value)).toEqual(['x1', 'after']);
    await c.close();
  });

  it('keeps the LSO and aborted index across a clean restart and a SIGKILL', async () => {
    const dir = tmpDir();
    let s = await openSluice({ dir });
    await s.createTopic('t');
    appendScenario(s, 't');
    await s.close();
    expect(fs.existsSync(path.join(dir, 't-0', 'txn-state.snapshot'))).toBe(true);
    s = await openSluice({ dir });
    let p = s.partition('t', 0);
    expect(p.lastStableOffset).toBe(11);
    expect(p.txns.abortedTransactionsAll()).toEqual([ABORTED_B]);
    expect(await readAll(s, 't', 'read_committed')).toEqual(COMMITTED);
    await s.close();

    // A child process appends another aborted transaction and an open one, then is SIGKILLed:
    // the open goes on from the snapshot of the clean close (offset 13), walks the rest of
    // the log and adds what it finds to the .txnindex.
    const dist = path.resolve(import.meta.dirname, '..', 'dist', 'src', 'index.js');
    const script = `
      import { Sluice, buildBatch, buildEndTransactionMarker } from ${JSON.stringify(dist)};
      const s = await Sluice.open({ dir: ${JSON.stringify(dir)}, workerThreads: 0, retentionCheckIntervalMs: 0 });
      const p = s.partition('t', 0);
      const t = (pid, v) => buildBatch([{ key: v, value: v }], { producerId: pid, producerEpoch: 0, baseSequence: 0, transactional: true });
      p.append(t(500, 'e1'));
      p.append(buildEndTransactionMarker({ committed: false, producerId: 500, producerEpoch: 0, coordinatorEpoch: 3 }));
      p.append(t(600, 'f1'));
      console.log('done ' + p.lastStableOffset);
      setInterval(() => {}, 1000);
    `;
    let out = '';
    await runUntilKilled('--input-type=module', ['-e', script], (line) => {
      out += `${line}
`;
      return line.includes('done');
    });
    expect(out).toContain('done 11');
    expect(fs.existsSync(path.join(dir, 't-0', '.clean-shutdown'))).toBe(false);

    s = await openSluice({ dir });
    p = s.partition('t', 0);
    expect(p.log.recovery.cleanShutdown).toBe(false);
    // 13 d1's txn of 400 is still open at 11; 500 aborted [13, 14]; 600 open at 15.
    expect(p.lastStableOffset).toBe(11);
    expect(p.txns.ongoingTransactions().sort((a, b) => a.producerId - b.producerId)).toEqual([
      { producerId: 400, firstOffset: 11 },
      { producerId: 600, firstOffset: 15 },
    ]);
    const e = { producerId: 500, firstOffset: 13, lastOffset: 14, lastStableOffset: 11 };
    expect(p.txns.abortedTransactionsAll()).toEqual([ABORTED_B, e]);
    expect(readTxnIndex(txnIndexPath(p.log.dir, 0))).toEqual([ABORTED_B, e]);

    // Without the snapshot and the .txnindex, the open walks the whole log and rebuilds both.
    await s.close();
    fs.rmSync(path.join(dir, 't-0', 'txn-state.snapshot'));
    fs.rmSync(txnIndexPath(path.join(dir, 't-0'), 0));
    s = await openSluice({ dir });
    p = s.partition('t', 0);
    expect(p.lastStableOffset).toBe(11);
    expect(p.txns.abortedTransactionsAll()).toEqual([ABORTED_B, e]);
    expect(readTxnIndex(txnIndexPath(p.log.dir, 0))).toEqual([ABORTED_B, e]);
    expect(fs.existsSync(path.join(dir, 't-0', 'txn-state.snapshot'))).toBe(true);

    p.append(marker(400, true));
    p.append(marker(600, true));
    expect(await readAll(s, 't', 'read_committed')).toEqual([...COMMITTED, 'd1', 'plain-2', 'f1']);
  });

  it('rolls back with a truncation: a transaction whose marker is cut off is open again', async () => {
    const s = await openSluice();
    await s.createTopic('t');
    const p = appendScenario(s, 't');
    p.append(marker(400, false)); // 13: abort 400
    expect(p.txns.abortedTransactionsAll().map((a) => a.producerId)).toEqual([200, 400]);
    expect(p.lastStableOffset).toBe(14);
    p.truncateTo(7); // cuts the abort of 200 and everything after
    expect(p.lastStableOffset).toBe(3); // 200's transaction, from b1 at 3, is undecided again
    expect(p.txns.abortedTransactionsAll()).toEqual([]);
    expect(fs.existsSync(txnIndexPath(p.log.dir, 0))).toBe(false);
    p.append(marker(200, false));
    expect(p.txns.abortedTransactionsAll()).toEqual([ABORTED_B]);
    expect(p.lastStableOffset).toBe(8);
  });

  it('rolls back a truncation after a restart too, when every transaction had ended', async () => {
    const dir = tmpDir();
    let s = await openSluice({ dir });
    await s.createTopic('t');
    let p = s.partition('t', 0);
    p.append(txn(1, ['x'])); // 0
    p.append(marker(1, true)); // 1
    p.append(plain(['y'])); // 2
    expect(p.lastStableOffset).toBe(3);
    await s.close();
    s = await openSluice({ dir }); // from the snapshot: nothing open, nothing aborted
    p = s.partition('t', 0);
    expect(p.txns.ongoingTransactions()).toEqual([]);
    p.truncateTo(1); // the commit marker is gone: x is undecided again
    expect(p.lastStableOffset).toBe(0);
    p.append(plain(['z'])); // 1
    p.append(plain(['w'])); // 2: the log ends where the old snapshot said, with x still open
    await s.close();
    s = await openSluice({ dir });
    expect(s.partition('t', 0).lastStableOffset).toBe(0);
  });

  it('retention deletes a segment with its .txnindex; compaction keeps aborted records out of read_committed', async () => {
    const dir = tmpDir();
    let s = await openSluice({ dir, workerThreads: 1, cleanerBackoffMs: 0 });
    await s.createTopic('r', { config: { 'segment.bytes': 300, 'retention.bytes': 600 } });
    const r = s.partition('r', 0);
    for (let i = 0; i < 6; i++) {
      r.append(txn(1000 + i, [`aborted-${i}`.padEnd(60, '.')]));
      r.append(marker(1000 + i, false));
    }
    const before = r.log.segmentBaseOffsets;
    expect(before.length).toBeGreaterThan(2);
    const indexes = () => fs.readdirSync(r.log.dir).filter((n) => n.endsWith('.txnindex')).length;
    expect(indexes()).toBeGreaterThan(1);
    expect(s.runRetention().deletedSegments).toBeGreaterThan(0);
    const after = new Set(r.log.segmentBaseOffsets);
    for (const b of before) expect(fs.existsSync(txnIndexPath(r.log.dir, b))).toBe(after.has(b));
    expect(r.txns.abortedTransactionsAll().every((a) => a.lastOffset >= r.logStartOffset)).toBe(true);
    expect(await readAll(s, 'r', 'read_committed')).toEqual([]);

    // Compacted, as Kafka's cleaner does: the records of aborted transactions go, committed
    // transactional records are compacted like others (an aborted value written after the
    // committed one of its key never wins), markers stay, and the merge of segments keeps
    // every aborted transaction in the index of the one segment left.
    await s.createTopic('c', { config: { 'cleanup.policy': 'compact', 'segment.bytes': 500, 'delete.retention.ms': 0 } });
    let c = s.partition('c', 0);
    const kv = (pid: number, key: string, value: string) =>
      buildBatch([{ key, value }], { producerId: pid, producerEpoch: 0, baseSequence: 0, transactional: pid >= 0 });
    for (let i = 0; i < 8; i++) {
      // Plain records of one key: the cleaner removes all but the last, so it merges segments
      // (each group starts with one of these, so abort markers sit in the segments merged away).
      c.append(buildBatch(Array.from({ length: 6 }, (_, j) => ({ key: 'plain', value: `superseded-${i}-${j}`.padEnd(60, '.') }))));
      c.append(kv(2000 + i, `k${i % 2}`, `committed-${i}`.padEnd(50, '.')));
      c.append(marker(2000 + i, true));
      c.append(kv(3000 + i, `k${i % 2}`, `aborted-${i}`.padEnd(50, '.')));
      c.append(marker(3000 + i, false));
    }
    c.append(kv(-1, 'tail', 'x'.repeat(200))); // rolls, so the markers above are in sealed segments
    const abortedBefore = c.txns.abortedTransactionsAll().length;
    expect(abortedBefore).toBe(8);
    const segmentsBefore = c.log.segmentCount;
    expect((await s.runCompaction(true)).recordsRemoved).toBeGreaterThan(0);
    await s.runCompaction(true); // groups by size before cleaning: shrunk segments merge on the next run
    expect(c.log.segmentCount).toBeLessThan(segmentsBefore); // segments were merged
    const left = fs.readdirSync(c.log.dir).filter((n) => n.endsWith('.txnindex'));
    const onDisk = left.flatMap((n) => readTxnIndex(path.join(c.log.dir, n)));
    expect(onDisk.map((a) => a.producerId).sort()).toEqual(c.txns.abortedTransactionsAll().map((a) => a.producerId).sort());
    expect(onDisk.length).toBe(8);
    const expected = ['committed-6', 'committed-7', 'superseded-7-5'].map((v) => v.padEnd(v.startsWith('s') ? 60 : 50, '.'));
    const keptValues = async (isolation: 'read_committed' | 'read_uncommitted') => (await readAll(s, 'c', isolation)).filter((v) => v !== 'x'.repeat(200)).sort();
    expect(await keptValues('read_committed')).toEqual(expected.sort());
    expect(await keptValues('read_uncommitted')).toEqual(expected.sort()); // the aborted records are gone from the log
    const aborted = c.txns.abortedTransactionsAll().map((a) => ({ ...a }));

    // Reopened without the snapshot (as after a crash), the walk of the compacted log finds
    // the same transactions: emptied batches keep their producer id and offsets.
    await s.close();
    fs.rmSync(path.join(dir, 'c-0', 'txn-state.snapshot'));
    s = await openSluice({ dir, workerThreads: 1, cleanerBackoffMs: 0 });
    c = s.partition('c', 0);
    expect(c.txns.abortedTransactionsAll()).toEqual(aborted);
    expect(c.lastStableOffset).toBe(c.highWatermark);
    expect(await keptValues('read_committed')).toEqual(expected.sort());
  });

  it('compaction stops at the last stable offset: a value past an open transaction supersedes nothing yet', async () => {
    const s = await openSluice({ workerThreads: 0, cleanerBackoffMs: 0 });
    await s.createTopic('u', { config: { 'cleanup.policy': 'compact', 'segment.bytes': 200 } });
    const u = s.partition('u', 0);
    const kv = (key: string, value: string) => buildBatch([{ key, value: value.padEnd(80, '.') }]);
    u.append(kv('k', 'v1'));
    u.append(txn(9, ['open'.padEnd(80, '.')]));
    for (let i = 2; i < 6; i++) u.append(kv('k', `v${i}`));
    expect(u.lastStableOffset).toBe(1);
    await s.runCompaction(true);
    await s.runCompaction(true);
    // read_committed reads below offset 1 only: v1 must still be there.
    expect(await readAll(s, 'u', 'read_committed')).toEqual(['v1'.padEnd(80, '.')]);
    u.append(marker(9, true));
    await s.runCompaction(true);
    const after = await readAll(s, 'u', 'read_committed');
    expect(after).not.toContain('v1'.padEnd(80, '.'));
    expect(after).toContain('v5'.padEnd(80, '.'));
  });
});
