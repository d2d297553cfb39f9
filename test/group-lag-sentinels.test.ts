/**
 * Lag after an offset reset that committed a sentinel (kafkajs' admin.resetOffsets commits -2
 * for earliest, -1 for latest): the sluice_group_lag metric and `sluice groups --describe`
 * must give the same lag, -2 counting from the log start offset and -1 from the log end.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { consumerLag } from '../src/group/lag.js';
import { startBroker } from './helpers/broker.js';
import { sluice } from './helpers/cli.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function lagMetrics(port: number, group: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  const re = new RegExp(`^sluice_group_lag\\{group="${group}",topic="([^"]+)",partition="(\\d+)"\\} (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) out.set(`${m[1]}-${m[2]}`, Number(m[3]));
  return out;
}

function describedLag(stdout: string, group: string): Map<string, { current: string; lag: string }> {
  const out = new Map<string, { current: string; lag: string }>();
  for (const line of stdout.split('\n').filter((l) => l.startsWith(`${group} `))) {
    const [, topic, partition, current, , lag] = line.split(/\s+/);
    out.set(`${topic}-${partition}`, { current: current!, lag: lag! });
  }
  return out;
}

describe('consumer lag with -2/-1 committed by reset tools', () => {
  it('the rule: -2 is the log start, -1 the log end, other negatives no offset', () => {
    expect(consumerLag(-2, 10, 30)).toBe(20);
    expect(consumerLag(-1, 10, 30)).toBe(0);
    expect(consumerLag(-3, 10, 30)).toBeNull();
    expect(consumerLag(25, 10, 30)).toBe(5);
    expect(consumerLag(40, 10, 30)).toBe(0);
  });

  it('metrics and `sluice groups --describe` agree after kafkajs resets to earliest and latest', async () => {
    const port = await freePort();
    const broker = await startBroker({ args: ['--metrics-port', String(port)] });
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'early', numPartitions: 2 }, { topic: 'late', numPartitions: 1 }] });
    const producer = kafka.producer();
    await producer.connect();
    for (const p of [0, 1]) await producer.send({ topic: 'early', messages: Array.from({ length: 30 + p * 10 }, (_, i) => ({ partition: p, value: `e${i}` })) });
    await producer.send({ topic: 'late', messages: Array.from({ length: 25 }, (_, i) => ({ value: `l${i}` })) });
    await producer.disconnect();
    // Log start 12 on early-0, so "earliest" is not the same as offset 0.
    await admin.fetchTopicMetadata({ topics: ['early'] }); // kafkajs' admin needs the leaders first
    await admin.deleteTopicRecords({ topic: 'early', partitions: [{ partition: 0, offset: '12' }] });

    // A group that had committed real offsets, then was reset.
    await admin.setOffsets({ groupId: 'g', topic: 'early', partitions: [{ partition: 0, offset: '20' }, { partition: 1, offset: '5' }] });
    await admin.setOffsets({ groupId: 'g', topic: 'late', partitions: [{ partition: 0, offset: '3' }] });
    await admin.resetOffsets({ groupId: 'g', topic: 'early', earliest: true });
    await admin.resetOffsets({ groupId: 'g', topic: 'late', earliest: false });
    const committed = await admin.fetchOffsets({ groupId: 'g', topics: ['early', 'late'] });
    expect(committed.flatMap((t) => t.partitions.map((p) => `${t.topic}-${p.partition}=${p.offset}`)).sort()).toEqual(['early-0=-2', 'early-1=-2', 'late-0=-1']);
    await admin.disconnect();

    const expected = new Map([['early-0', 30 - 12], ['early-1', 40], ['late-0', 0]]);
    expect(await lagMetrics(port, 'g')).toEqual(expected);

    const described = await sluice(['groups', '--describe', '--group', 'g', '--offsets', '--bootstrap-server', broker.bootstrap]);
    expect(described.code).toBe(0);
    expect(described.stdout).not.toContain('no committed offsets');
    const rows = describedLag(described.stdout, 'g');
    expect(new Map([...rows].map(([k, r]) => [k, Number(r.lag)]))).toEqual(expected);
    expect(rows.get('early-0')!.current).toBe('-2(earliest)');
    expect(rows.get('late-0')!.current).toBe('-1(latest)');
    expect(described.stdout).toContain('-2 (earliest) counts lag from the log start offset');
  });
});
