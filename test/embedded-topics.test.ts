import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DataDirLockedError,
  InvalidPartitionsError,
  InvalidTopicError,
  Sluice,
  SluiceClosedError,
  TopicConfigError,
  TopicExistsError,
  UnknownTopicError,
  ErrorCode,
} from '../src/index.js';
import { openSluice } from './helpers/sluice.js';
import { tmpDir } from './helpers/tmp.js';

describe('topics', () => {
  it('creates, lists, describes, grows, reconfigures and deletes topics', async () => {
    const s = await openSluice();
    const d = await s.createTopic('orders', { partitions: 3, config: { 'retention.ms': 3_600_000, 'cleanup.policy': 'delete' } });
    expect(d!.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(d!.config['retention.ms']).toBe('3600000');
    expect(d!.overrides).toEqual({ 'retention.ms': '3600000' });
    expect(d!.partitions[0]).toMatchObject({ leader: 0, replicas: [0], isr: [0], logStartOffset: 0, logEndOffset: 0 });
    await s.createTopic('events');
    expect(s.listTopics()).toEqual(['events', 'orders']);
    expect(fs.existsSync(path.join(s.dir, 'orders-2', '00000000000000000000.log'))).toBe(true);

    await s.createPartitions('orders', 5);
    expect(s.describeTopic('orders').partitions.length).toBe(5);
    await expect(s.createPartitions('orders', 5)).rejects.toThrow(InvalidPartitionsError);

    await s.alterTopicConfig('orders', { set: { 'retention.bytes': '1000000', 'segment.bytes': 2048 } });
    expect(s.topicConfig('orders')['retention.bytes']).toBe('1000000');
    expect(s.partition('orders', 0).log.config.segmentBytes).toBe(2048);
    await s.alterTopicConfig('orders', { remove: ['retention.ms'] });
    expect(s.topicConfig('orders')['retention.ms']).toBe('604800000');

    await s.deleteTopic('events');
    expect(s.listTopics()).toEqual(['orders']);
    expect(fs.readdirSync(s.dir).some((f) => f.startsWith('events'))).toBe(false);
    await expect(s.deleteTopic('events')).rejects.toThrow(UnknownTopicError);
  });

  it('keeps topics, their configs and data across close and reopen', async () => {
    const dir = tmpDir();
    const a = await Sluice.open({ dir, workerThreads: 0 });
    await a.createTopic('t', { partitions: 2, config: { 'message.timestamp.type': 'LogAppendTime' } });
    const p = a.producer();
    await p.send('t', [{ value: 'x', partition: 1 }]);
    await a.close();
    const b = await openSluice({ dir });
    expect(b.listTopics()).toEqual(['t']);
    expect(b.topicConfig('t')['message.timestamp.type']).toBe('LogAppendTime');
    expect(b.describeTopic('t').partitions[1]!.logEndOffset).toBe(1);
  });

  it("refuses bad names with Kafka's rules and clear errors", async () => {
    const s = await openSluice();
    for (const bad of ['', '.', '..', 'has space', 'slash/', 'x'.repeat(250), 'ünïcode']) {
      await expect(s.createTopic(bad)).rejects.toThrow(InvalidTopicError);
    }
    await expect(s.createTopic('__consumer_offsets')).rejects.toThrow(/internal/);
    await s.createTopic('a.b');
    await expect(s.createTopic('a_b')).rejects.toThrow(/collides with existing topic 'a.b'/);
    await expect(s.createTopic('a.b')).rejects.toThrow(TopicExistsError);
    await expect(s.createTopic('ok', { partitions: 0 })).rejects.toThrow(InvalidPartitionsError);
    const err = await s.createTopic('x'.repeat(250)).catch((e) => e);
    expect(err.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect(err.message).toMatch(/250 characters long, the limit is 249/);
  });

  it('refuses unknown config keys and bad values, naming the key and what is allowed', async () => {
    const s = await openSluice();
    await expect(s.createTopic('t', { config: { 'retention.msec': 1 } })).rejects.toThrow(/unknown topic config 'retention.msec'/);
    await expect(s.createTopic('t', { config: { 'retention.ms': 'soon' } })).rejects.toThrow(/retention.ms: an integer >= -1/);
    await expect(s.createTopic('t', { config: { 'cleanup.policy': 'forever' } })).rejects.toThrow(TopicConfigError);
    await expect(s.createTopic('t', { config: { 'compression.type': 'zstd' } })).rejects.toThrow(/reads zstd batches but cannot write/);
    await expect(s.createTopic('t', { config: { 'segment.bytes': 10 } })).rejects.toThrow(/segment.bytes/);
    expect(s.listTopics()).toEqual([]);
    await s.createTopic('t', { config: { 'compression.type': 'LZ4', 'cleanup.policy': 'delete,compact' } });
    expect(s.topicConfig('t')['compression.type']).toBe('lz4');
    expect(s.topicConfig('t')['cleanup.policy']).toBe('compact,delete');
  });

  it('locks the data directory against a second opener, in this process and in another', async () => {
    const dir = tmpDir();
    const s = await openSluice({ dir });
    await expect(Sluice.open({ dir, workerThreads: 0 })).rejects.toThrow(DataDirLockedError);
    const script = `import('${path.resolve('dist/src/index.js')}').then(async ({ Sluice }) => {
      try { await Sluice.open({ dir: ${JSON.stringify(dir)}, workerThreads: 0 }); console.log('opened'); }
      catch (e) { console.log(e.name + ': ' + e.message); }
    })`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(child.stdout).toMatch(/DataDirLockedError: data directory .* is in use by another Sluice process/);
    await s.close();
    const again = await openSluice({ dir });
    expect(again.listTopics()).toEqual([]);
  });

  it('throws a clear error when used after close', async () => {
    const s = await openSluice();
    await s.createTopic('t');
    await s.close();
    expect(() => s.listTopics()).toThrow(SluiceClosedError);
    await expect(s.createTopic('u')).rejects.toThrow(/is closed/);
    expect(() => s.producer()).toThrow(SluiceClosedError);
  });
});
