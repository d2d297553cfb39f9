import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode as E } from '../src/protocol/error-codes.js';
import { batchesIn, readRecords } from '../src/record/index.js';
import { Log } from '../src/storage/index.js';
import {
  decodeOffsetCommitValue,
  decodeOffsetsTopicKey,
  encodeSubscription,
  GroupCoordinator,
  OFFSETS_TOPIC_META_FILE,
  offsetsLogDir,
  readOffsetsTopicMeta,
  type GroupCoordinatorOptions,
  type OffsetCommitRequest,
} from '../src/group/index.js';
import { tmpDir } from './helpers/tmp.js';

const open: GroupCoordinator[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});

async function coordinator(dir: string, options: Partial<GroupCoordinatorOptions> = {}): Promise<GroupCoordinator> {
  const c = await GroupCoordinator.open({ dir, minSessionTimeoutMs: 10, offsetsRetentionCheckIntervalMs: 0, ...options });
  open.push(c);
  return c;
}

async function closeAll(): Promise<void> {
  for (const c of open.splice(0)) await c.close();
}

/** A commit from a consumer without group management. */
function simple(groupId: string, offsets: Record<string, Record<number, number>>, o: Partial<OffsetCommitRequest> = {}): OffsetCommitRequest {
  return {
    groupId,
    generationId: -1,
    memberId: '',
    topics: Object.entries(offsets).map(([name, parts]) => ({
      name,
      partitions: Object.entries(parts).map(([p, committedOffset]) => ({ partitionIndex: Number(p), committedOffset, committedMetadata: `m${committedOffset}` })),
    })),
    ...o,
  };
}

const codes = (r: { topics: { partitions: { errorCode: number }[] }[] }) => r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));

function fetchOne(c: GroupCoordinator, groupId: string, topic: string, partition: number) {
  return c.fetchOffsets({ groupId, topics: [{ name: topic, partitionIndexes: [partition] }] }).topics[0]!.partitions[0]!;
}

/** Joins one consumer subscribed to `topics` and makes the group Stable. */
async function stableMember(c: GroupCoordinator, groupId: string, topics: string[]) {
  const j = await c.joinGroup({
    groupId,
    memberId: '',
    sessionTimeoutMs: 30_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: encodeSubscription({ topics }) }],
  });
  await c.syncGroup({ groupId, generationId: j.generationId, memberId: j.memberId, assignments: [] });
  return j;
}

/** Every record of the offsets log under `dir`: [key, value or null]. */
/** Every record of every partition of __consumer_offsets, decoded with Kafka's schemas. */
async function rawRecords(dir: string) {
  const out: [string, number | null][] = [];
  for (let p = 0; p < readOffsetsTopicMeta(dir)!.partitions; p++) {
    const log = Log.open(path.join(dir, offsetsLogDir(p)), { background: false, segmentMs: Infinity, retentionMs: -1 });
    try {
      for (let offset = log.logStartOffset; offset < log.logEndOffset; ) {
        const r = log.read(offset, 1 << 24);
        for (const batch of batchesIn(r.records)) {
          for (const rec of readRecords(batch)) {
            const k = decodeOffsetsTopicKey(rec.key!);
            if (k.type !== 'offset') continue;
            out.push([`${k.groupId}/${k.topic}/${k.partition}`, rec.value === null ? null : decodeOffsetCommitValue(rec.value).offset]);
          }
        }
        offset = r.nextOffset;
      }
    } finally {
      await log.close();
    }
  }
  return out;
}

const topicFiles = (n: number) => [OFFSETS_TOPIC_META_FILE, ...Array.from({ length: n }, (_, p) => offsetsLogDir(p))].sort();

describe('commit and fetch', () => {
  it('commits and fetches for a consumer without group management', async () => {
    const c = await coordinator(tmpDir());
    const r = await c.commitOffsets(simple('solo', { t: { 0: 10, 1: 20 }, u: { 3: 7 } }));
    expect(r).toEqual({
      topics: [
        { name: 't', partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 1, errorCode: 0 }] },
        { name: 'u', partitions: [{ partitionIndex: 3, errorCode: 0 }] },
      ],
    });
    expect(c.fetchOffsets({ groupId: 'solo', topics: [{ name: 't', partitionIndexes: [1, 2] }] })).toEqual({
      errorCode: 0,
      topics: [
        {
          name: 't',
          partitions: [
            { partitionIndex: 1, committedOffset: 20, committedLeaderEpoch: -1, metadata: 'm20', errorCode: 0 },
            { partitionIndex: 2, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
          ],
        },
      ],
    });
    const all = c.fetchOffsets({ groupId: 'solo', topics: null });
    expect(all.topics.map((t) => [t.name, t.partitions.map((p) => p.committedOffset)])).toEqual([
      ['t', [10, 20]],
      ['u', [7]],
    ]);
    expect(c.fetchOffsets({ groupId: 'nobody', topics: null })).toEqual({ errorCode: 0, topics: [] });
    expect(fetchOne(c, 'nobody', 't', 0).committedOffset).toBe(-1);
    expect(c.listGroups()).toEqual([{ groupId: 'solo', protocolType: '', groupState: 'Empty' }]);
    // null metadata is stored as '' and the leader epoch is kept
    await c.commitOffsets({ groupId: 'solo', generationId: -1, memberId: '', topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 11, committedLeaderEpoch: 4, committedMetadata: null }] }] });
    expect(fetchOne(c, 'solo', 't', 0)).toMatchObject({ committedOffset: 11, committedLeaderEpoch: 4, metadata: '' });
  });

  it('refuses commits per Kafka rules', async () => {
    const topics = new Set(['t']);
    const c = await coordinator(tmpDir(), { topicExists: (t) => topics.has(t), offsetMetadataMaxBytes: 8 });
    expect(codes(await c.commitOffsets(simple('g', { t: { 0: 1 } }, { generationId: 3, memberId: 'm' })))).toEqual([E.ILLEGAL_GENERATION]);
    const big = simple('g', { t: { 0: 1 } });
    big.topics[0]!.partitions[0]!.committedMetadata = 'x'.repeat(9);
    expect(codes(await c.commitOffsets(big))).toEqual([E.OFFSET_METADATA_TOO_LARGE]);
    expect(codes(await c.commitOffsets(simple('g', { t: { 0: 1 }, gone: { 0: 1 } })))).toEqual([E.NONE, E.UNKNOWN_TOPIC_OR_PARTITION]);

    const j = await c.joinGroup({ groupId: 'cg', memberId: '', sessionTimeoutMs: 30_000, protocolType: 'consumer', protocols: [{ name: 'range', metadata: encodeSubscription({ topics: ['t'] }) }] });
    const member = (gen: number, memberId = j.memberId) => simple('cg', { t: { 0: 5 } }, { generationId: gen, memberId });
    expect(codes(await c.commitOffsets(member(1)))).toEqual([E.REBALANCE_IN_PROGRESS]); // CompletingRebalance
    await c.syncGroup({ groupId: 'cg', generationId: 1, memberId: j.memberId, assignments: [] });
    expect(codes(await c.commitOffsets(member(1)))).toEqual([E.NONE]);
    expect(codes(await c.commitOffsets(member(0)))).toEqual([E.ILLEGAL_GENERATION]);
    expect(codes(await c.commitOffsets(member(1, 'stranger')))).toEqual([E.UNKNOWN_MEMBER_ID]);
    expect(codes(await c.commitOffsets(simple('cg', { t: { 0: 6 } })))).toEqual([E.UNKNOWN_MEMBER_ID]); // not a member
    expect(fetchOne(c, 'cg', 't', 0).committedOffset).toBe(5);
  });

  for (const durability of ['pagecache', 'fsync'] as const) {
    it(`keeps offsets across close and reopen (${durability})`, async () => {
      const dir = tmpDir();
      const c = await coordinator(dir, { durability });
      await stableMember(c, 'cg', ['t']);
      const j = c.describeGroups(['cg'])[0]!.members[0]!;
      await c.commitOffsets(simple('cg', { t: { 0: 100, 1: 200 } }, { generationId: 1, memberId: j.memberId }));
      await c.commitOffsets(simple('solo', { u: { 0: 1 } }));
      await c.commitOffsets(simple('solo', { u: { 0: 2 } }));
      await closeAll();
      const again = await coordinator(dir, { durability });
      expect(fetchOne(again, 'cg', 't', 1)).toMatchObject({ committedOffset: 200, metadata: 'm200' });
      expect(fetchOne(again, 'solo', 'u', 0).committedOffset).toBe(2);
      // The GroupMetadata record of generation 1 gives back the protocol type (as Kafka loads it).
      expect(again.listGroups().sort((a, b) => a.groupId.localeCompare(b.groupId))).toEqual([
        { groupId: 'cg', protocolType: 'consumer', groupState: 'Empty' },
        { groupId: 'solo', protocolType: '', groupState: 'Empty' },
      ]);
      expect(again.offsetStore.groupRecord('cg')).toMatchObject({ protocolType: 'consumer', generation: 1, protocol: 'range', leader: j.memberId });
      expect(again.committedOffsets('cg').map((o) => [o.topic, o.partition, o.offset])).toEqual([
        ['t', 0, 100],
        ['t', 1, 200],
      ]);
      // The old member is gone: its commits are refused until it rejoins.
      expect(codes(await again.commitOffsets(simple('cg', { t: { 0: 1 } }, { generationId: 1, memberId: j.memberId })))).toEqual([E.UNKNOWN_MEMBER_ID]);
    });
  }
});

describe('deleting', () => {
  it('deletes Empty groups with their offsets, durably', async () => {
    const dir = tmpDir();
    const c = await coordinator(dir);
    await c.commitOffsets(simple('a', { t: { 0: 1 } }));
    await c.commitOffsets(simple('b', { t: { 0: 2 } }));
    await stableMember(c, 'busy', ['t']);
    expect(await c.deleteGroups(['a', 'busy', 'nope'])).toEqual([
      { groupId: 'a', errorCode: E.NONE },
      { groupId: 'busy', errorCode: E.NON_EMPTY_GROUP },
      { groupId: 'nope', errorCode: E.GROUP_ID_NOT_FOUND },
    ]);
    expect(fetchOne(c, 'a', 't', 0).committedOffset).toBe(-1);
    expect(c.listGroups().map((g) => g.groupId).sort()).toEqual(['b', 'busy']);
    await closeAll();
    const again = await coordinator(dir);
    expect(fetchOne(again, 'a', 't', 0).committedOffset).toBe(-1);
    expect(fetchOne(again, 'b', 't', 0).committedOffset).toBe(2);
  });

  it('deletes offsets, refusing topics a live consumer subscribes to', async () => {
    const c = await coordinator(tmpDir());
    const j = await stableMember(c, 'cg', ['t']);
    await c.commitOffsets(simple('cg', { t: { 0: 1 }, u: { 0: 2, 1: 3 } }, { generationId: 1, memberId: j.memberId }));
    const r = await c.deleteOffsets('cg', [
      { name: 't', partitions: [0] },
      { name: 'u', partitions: [1] },
    ]);
    expect(r).toEqual({
      errorCode: E.NONE,
      topics: [
        { name: 't', partitions: [{ partitionIndex: 0, errorCode: E.GROUP_SUBSCRIBED_TO_TOPIC }] },
        { name: 'u', partitions: [{ partitionIndex: 1, errorCode: E.NONE }] },
      ],
    });
    expect(c.committedOffsets('cg').map((o) => `${o.topic}-${o.partition}`)).toEqual(['t-0', 'u-0']);
    expect((await c.deleteOffsets('nope', [])).errorCode).toBe(E.GROUP_ID_NOT_FOUND);
    c.leaveGroup({ groupId: 'cg', members: [{ memberId: j.memberId }] });
    expect(codes(await c.deleteOffsets('cg', [{ name: 't', partitions: [0] }, { name: 'u', partitions: [0] }]))).toEqual([E.NONE, E.NONE]);
    expect(c.listGroups()).toEqual([]); // Empty and no offsets left: gone
  });
});

describe('expiry', () => {
  it('expires the offsets of a group Empty for the retention since its last commit', async () => {
    let now = 1_000_000;
    const dir = tmpDir();
    const c = await coordinator(dir, { time: () => now, offsetsRetentionMs: 1000 });
    await c.commitOffsets(simple('solo', { t: { 0: 1 } }));
    now += 500;
    await c.commitOffsets(simple('solo', { t: { 1: 1 } }));
    now += 999;
    expect(await c.expireOffsets()).toBe(0);
    now += 1;
    expect(await c.expireOffsets()).toBe(2);
    expect(c.listGroups()).toEqual([]);
    await closeAll();
    const again = await coordinator(dir, { time: () => now, offsetsRetentionMs: 1000 });
    expect(again.committedOffsets('solo')).toEqual([]);
    expect(again.listGroups()).toEqual([]);
  });

  it('keeps subscribed topics of a Stable consumer group, counts from when the group became Empty', async () => {
    let now = 1_000_000;
    const c = await coordinator(tmpDir(), { time: () => now, offsetsRetentionMs: 1000 });
    const j = await stableMember(c, 'cg', ['t']);
    await c.commitOffsets(simple('cg', { t: { 0: 5 }, old: { 0: 6 } }, { generationId: 1, memberId: j.memberId }));
    now += 5000;
    expect(await c.expireOffsets()).toBe(1);
    expect(c.committedOffsets('cg').map((o) => o.topic)).toEqual(['t']);
    c.leaveGroup({ groupId: 'cg', members: [{ memberId: j.memberId }] });
    expect(c.groupState('cg')).toBe('Empty');
    now += 999;
    expect(await c.expireOffsets()).toBe(0);
    now += 1;
    expect(await c.expireOffsets()).toBe(1);
    expect(c.groupState('cg')).toBe(null);
  });

  it('removes offsets of deleted topics and honours a per-commit retention', async () => {
    let now = 1_000_000;
    const topics = new Set(['t', 'x']);
    const c = await coordinator(tmpDir(), { time: () => now, offsetsRetentionMs: 60_000, topicExists: (t) => topics.has(t) });
    const j = await stableMember(c, 'cg', ['t', 'x']);
    await c.commitOffsets(simple('cg', { t: { 0: 1 }, x: { 0: 2 } }, { generationId: 1, memberId: j.memberId }));
    await c.commitOffsets(simple('solo', { t: { 0: 3 } }, { retentionTimeMs: 100 }));
    topics.delete('x');
    now += 100;
    expect(await c.expireOffsets()).toBe(2);
    expect(c.committedOffsets('cg').map((o) => o.topic)).toEqual(['t']);
    expect(c.committedOffsets('solo')).toEqual([]);
  });
});

describe('compaction', () => {
  it('keeps the log bounded and, compacted, holding exactly the live entries', async () => {
    const dir = tmpDir();
    const c = await coordinator(dir, { offsetsCompactionMinBytes: 16 * 1024 });
    for (let round = 0; round < 600; round++) {
      await c.commitOffsets(simple('g', { t: { [round % 5]: round } }));
      if (round % 100 === 0) await c.commitOffsets(simple(`other-${round}`, { u: { 0: round } }));
    }
    await c.deleteOffsets('g', [{ name: 't', partitions: [4] }]);
    await c.deleteGroups(['other-100']);
    const store = c.offsetStore;
    expect(store.compactions).toBeGreaterThan(0);
    expect(store.logSize).toBeLessThan(64 * 1024);
    await store.compact();
    const live = new Map<string, number>();
    for (let p = 0; p < 4; p++) live.set(`g/t/${p}`, 595 + p);
    for (const r of [0, 200, 300, 400, 500]) live.set(`other-${r}/u/0`, r);
    await closeAll();
    const records = await rawRecords(dir);
    expect(records.length).toBe(live.size);
    expect(new Map(records)).toEqual(live);
    expect(fs.readdirSync(dir).sort()).toEqual(topicFiles(readOffsetsTopicMeta(dir)!.partitions));
    const again = await coordinator(dir);
    expect(fetchOne(again, 'g', 't', 3).committedOffset).toBe(598);
    expect(fetchOne(again, 'g', 't', 4).committedOffset).toBe(-1);
  });

  /** Offsets logs (of a one-partition topic) of two states: A holds g/t/0 = 1, B holds g/t/0 = 2. */
  async function twoStates() {
    const make = async (offset: number) => {
      const d = tmpDir();
      const c = await coordinator(d, { offsetsTopicPartitions: 1 });
      await c.commitOffsets(simple('g', { t: { 0: offset } }));
      await closeAll();
      return path.join(d, offsetsLogDir(0));
    };
    return { A: await make(1), B: await make(2) };
  }

  const cases: [string, (dir: string, A: string, B: string) => void, number][] = [
    [
      'a partial rewrite beside the log is dropped',
      (log, A, B) => {
        fs.cpSync(A, log, { recursive: true });
        fs.cpSync(B, log + '.compacting', { recursive: true });
        fs.rmSync(path.join(log + '.compacting', '.clean-shutdown'));
      },
      1,
    ],
    [
      'a crash between the renames is finished',
      (log, A, B) => {
        fs.cpSync(A, log + '.old', { recursive: true });
        fs.cpSync(B, log + '.compacting', { recursive: true });
      },
      2,
    ],
    [
      'an unfinished rewrite with the log moved aside is undone',
      (log, A, B) => {
        fs.cpSync(A, log + '.old', { recursive: true });
        fs.cpSync(B, log + '.compacting', { recursive: true });
        fs.rmSync(path.join(log + '.compacting', '.clean-shutdown'));
      },
      1,
    ],
    [
      'a finished swap loses its old copy',
      (log, A, B) => {
        fs.cpSync(B, log, { recursive: true });
        fs.cpSync(A, log + '.old', { recursive: true });
      },
      2,
    ],
  ];
  for (const [name, arrange, expected] of cases) {
    it(`recovers an interrupted swap at open: ${name}`, async () => {
      const { A, B } = await twoStates();
      const dir = tmpDir();
      fs.copyFileSync(path.join(path.dirname(A), OFFSETS_TOPIC_META_FILE), path.join(dir, OFFSETS_TOPIC_META_FILE));
      arrange(path.join(dir, offsetsLogDir(0)), A, B);
      const c = await coordinator(dir);
      expect(fetchOne(c, 'g', 't', 0).committedOffset).toBe(expected);
      expect(fs.readdirSync(dir).sort()).toEqual(topicFiles(1));
    });
  }
});

describe('GroupMetadata records in __consumer_offsets', () => {
  /** Every record of the group's partition, as [key type, value decoded or null]. */
  async function groupRecords(dir: string, groupId: string) {
    const { decodeGroupMetadataValue, offsetsPartitionFor } = await import('../src/group/index.js');
    const meta = readOffsetsTopicMeta(dir)!;
    const log = Log.open(path.join(dir, offsetsLogDir(offsetsPartitionFor(groupId, meta.partitions))), { background: false, segmentMs: Infinity, retentionMs: -1 });
    try {
      const out: (ReturnType<typeof decodeGroupMetadataValue> | null)[] = [];
      for (let offset = log.logStartOffset; offset < log.logEndOffset; ) {
        const r = log.read(offset, 1 << 24);
        for (const batch of batchesIn(r.records)) {
          for (const rec of readRecords(batch)) {
            const k = decodeOffsetsTopicKey(rec.key!);
            if (k.type === 'group' && k.groupId === groupId) out.push(rec.value === null ? null : decodeGroupMetadataValue(rec.value));
          }
        }
        offset = r.nextOffset;
      }
      return out;
    } finally {
      await log.close();
    }
  }

  it('are written when a generation is assigned and when the group empties, tombstoned on delete, and keep the generation across a restart', async () => {
    const dir = tmpDir();
    const c = await coordinator(dir);
    const j = await stableMember(c, 'cg', ['t']);
    await c.commitOffsets(simple('cg', { t: { 0: 7 } }, { generationId: j.generationId, memberId: j.memberId }));
    c.leaveGroup({ groupId: 'cg', members: [{ memberId: j.memberId, groupInstanceId: null }] });
    expect(c.groupState('cg')).toBe('Empty');
    await closeAll();
    const written = await groupRecords(dir, 'cg');
    expect(written).toHaveLength(2);
    expect(written[0]).toMatchObject({ version: 3, protocolType: 'consumer', generation: 1, protocol: 'range', leader: j.memberId });
    expect(written[0]!.members).toHaveLength(1);
    expect(written[0]!.members[0]).toMatchObject({ memberId: j.memberId, sessionTimeoutMs: 30_000, subscription: encodeSubscription({ topics: ['t'] }) });
    expect(written[1]).toMatchObject({ version: 3, protocolType: 'consumer', generation: 2, protocol: null, leader: null, members: [] });

    // After a restart the next generation follows the stored one.
    const again = await coordinator(dir);
    const k = await stableMember(again, 'cg', ['t']);
    expect(k.generationId).toBe(3);
    again.leaveGroup({ groupId: 'cg', members: [{ memberId: k.memberId, groupInstanceId: null }] });
    expect(await again.deleteGroups(['cg'])).toEqual([{ groupId: 'cg', errorCode: E.NONE }]);
    await closeAll();
    expect((await groupRecords(dir, 'cg')).at(-1)).toBeNull();
    const third = await coordinator(dir);
    expect(third.listGroups()).toEqual([]);
  });
});
