import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Sluice } from '../src/index.js';
import { GroupCoordinator, OFFSETS_TOPIC_META_FILE, offsetsLogDir, offsetsPartitionFor, readOffsetsTopicMeta, type GroupOffset } from '../src/group/index.js';
import { LEGACY_STAGING_DIR } from '../src/group/offsets-migration.js';
import { tmpDir } from './helpers/tmp.js';

// A data directory written by Sluice at 6c4648a (the msgpack offsets log `__consumer_offsets-0`),
// frozen: test/fixtures/offsets-msgpack/make.mjs wrote it, expected.json is what that code read back.
const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'offsets-msgpack');
const expected = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8')) as Record<string, GroupOffset[]>;

const opened: Sluice[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

function copyFixture(): string {
  const dir = tmpDir('sluice-offsets-migration-');
  fs.cpSync(path.join(FIXTURE, 'data'), dir, { recursive: true });
  return dir;
}

async function open(dir: string, offsetsTopicPartitions?: number): Promise<Sluice> {
  const s = await Sluice.open({ dir, workerThreads: 0, offsetsTopicPartitions });
  opened.push(s);
  return s;
}

async function close(s: Sluice): Promise<void> {
  opened.splice(opened.indexOf(s), 1);
  await s.close();
}

const committed = (s: Sluice) => Object.fromEntries(Object.keys(expected).map((g) => [g, s.groups.committedOffsets(g)]));

/** Every file under the topic's directories with a hash of its content (the fingerprint of the topic on disk). */
function topicFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).filter((n) => n.startsWith('__consumer_offsets')).sort()) {
    const full = path.join(dir, name);
    if (fs.statSync(full).isFile()) out[name] = crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex');
    else for (const f of fs.readdirSync(full).sort()) if (f.endsWith('.log')) out[`${name}/${f}`] = crypto.createHash('sha256').update(fs.readFileSync(path.join(full, f))).digest('hex');
  }
  return out;
}

describe('a msgpack-era data directory (frozen fixture) is migrated on open', () => {
  it('keeps every committed offset, with metadata, leader epoch and timestamps, and a second open changes nothing', async () => {
    const dir = copyFixture();
    expect(fs.existsSync(path.join(dir, OFFSETS_TOPIC_META_FILE))).toBe(false);
    const s = await open(dir, 7);
    expect(committed(s)).toEqual(expected);
    const meta = readOffsetsTopicMeta(dir)!;
    expect(meta).toMatchObject({ version: 1, format: 'kafka', partitions: 7 });
    expect(fs.existsSync(path.join(dir, LEGACY_STAGING_DIR))).toBe(false);
    // Each group's offsets are in its group's partition, and nowhere else.
    const store = s.groups.offsetStore;
    for (const g of ['billing', 'audit', 'grüppe-ü']) {
      const p = offsetsPartitionFor(g, 7);
      expect(store.partitionFor(g)).toBe(p);
      expect(store.partition(p)!.logEndOffset).toBeGreaterThan(0);
    }
    const nonEmpty = Array.from({ length: 7 }, (_, p) => store.partition(p)!.logEndOffset).reduce((n, leo) => n + leo, 0);
    expect(nonEmpty).toBe(5); // billing orders-0/1/2, audit orders-0, grüppe-ü events.v2-4: live offsets only
    // The user topics are untouched.
    expect(s.listTopics().sort()).toEqual(['events.v2', 'gone-topic', 'orders', 'payments']);
    // The embedded API shows the internal topic when asked, and nobody but the coordinator writes to it.
    expect(s.listTopics({ internal: true })).toContain('__consumer_offsets');
    expect(s.describeTopic('__consumer_offsets')).toMatchObject({ internal: true, id: meta.topicId, config: { 'cleanup.policy': 'compact' } });
    expect(s.describeTopic('__consumer_offsets').partitions).toHaveLength(7);
    const producer = s.producer();
    await expect(producer.send('__consumer_offsets', [{ value: 'x' }])).rejects.toThrow(/internal to the broker/);
    await producer.close();
    await close(s);

    const before = topicFiles(dir);
    const again = await open(dir, 7);
    expect(committed(again)).toEqual(expected);
    await close(again);
    expect(topicFiles(dir)).toEqual(before);
    expect(readOffsetsTopicMeta(dir)).toEqual(meta);
  });

  it('a later open with another offsets.topic.num.partitions keeps the count the directory has', async () => {
    const dir = copyFixture();
    await close(await open(dir, 3));
    const warnings: string[] = [];
    const c = await GroupCoordinator.open({ dir, offsetsTopicPartitions: 50, offsetsRetentionCheckIntervalMs: 0, logger: { info() {}, warn: (_o, m) => warnings.push(m) } });
    try {
      expect(c.offsetStore.partitionCount).toBe(3);
      expect(c.committedOffsets('billing')).toEqual(expected.billing);
      expect(warnings.join('\n')).toMatch(/offsets.topic.num.partitions=50 is not applied: __consumer_offsets in this data directory was created with 3 partitions/);
    } finally {
      await c.close();
    }
  });

  it('a migration cut short (old log renamed, new partitions half written, no .json) starts over and loses nothing', async () => {
    const dir = copyFixture();
    fs.renameSync(path.join(dir, '__consumer_offsets-0'), path.join(dir, LEGACY_STAGING_DIR));
    // Leftovers of the cut-short run: a partition with garbage, another empty.
    fs.mkdirSync(path.join(dir, offsetsLogDir(0)));
    fs.writeFileSync(path.join(dir, offsetsLogDir(0), '00000000000000000000.log'), Buffer.alloc(100, 7));
    fs.mkdirSync(path.join(dir, offsetsLogDir(4)));
    const s = await open(dir, 5);
    expect(committed(s)).toEqual(expected);
    expect(fs.existsSync(path.join(dir, LEGACY_STAGING_DIR))).toBe(false);
    expect(readOffsetsTopicMeta(dir)!.partitions).toBe(5);
  });

  it('a migration cut short after its commit point only removes the old log', async () => {
    const dir = copyFixture();
    const legacy = fs.readdirSync(path.join(dir, '__consumer_offsets-0'));
    await close(await open(dir, 2));
    // As if the process died before deleting the .msgpack directory.
    fs.cpSync(path.join(FIXTURE, 'data', '__consumer_offsets-0'), path.join(dir, LEGACY_STAGING_DIR), { recursive: true });
    expect(fs.readdirSync(path.join(dir, LEGACY_STAGING_DIR)).sort()).toEqual(legacy.sort());
    const s = await open(dir);
    expect(committed(s)).toEqual(expected);
    expect(fs.existsSync(path.join(dir, LEGACY_STAGING_DIR))).toBe(false);
  });

  it('refuses to treat a Kafka-format partition whose .json is gone as an old log, and changes nothing', async () => {
    const dir = copyFixture();
    await close(await open(dir, 1));
    fs.rmSync(path.join(dir, OFFSETS_TOPIC_META_FILE));
    const before = topicFiles(dir);
    await expect(Sluice.open({ dir, workerThreads: 0 })).rejects.toThrow(/holds __consumer_offsets records in Kafka's format, but .*__consumer_offsets.json is missing: restore that file/);
    expect(topicFiles(dir)).toEqual(before);
    const many = copyFixture();
    await close(await open(many, 3));
    fs.rmSync(path.join(many, OFFSETS_TOPIC_META_FILE));
    await expect(Sluice.open({ dir: many, workerThreads: 0 })).rejects.toThrow(/has __consumer_offsets-1 but no __consumer_offsets.json/);
  });
});
