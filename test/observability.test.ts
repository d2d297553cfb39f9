import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { serveOptions } from '../src/cli/serve.js';
import { startBroker } from './helpers/broker.js';
import { tmpDir } from './helpers/tmp.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Parses Prometheus text format into name{labels} -> value. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = /^(\S+?)(\{.*\})?\s+(\S+)$/.exec(line);
    if (m) out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

describe('metrics endpoint', () => {
  it('exports traffic, requests, latency, partitions, lag, pool and event-loop metrics after real traffic', async () => {
    const port = await freePort();
    const broker = await startBroker({ args: ['--metrics-port', String(port)] });
    expect(broker.output()).toContain(`metrics at http://127.0.0.1:${port}/metrics`);
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'm', messages: Array.from({ length: 100 }, (_, i) => ({ value: `v${i}` })) });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'mg', maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'm', fromBeginning: true });
    let n = 0;
    await new Promise<void>((resolve) => {
      void consumer.run({ autoCommit: false, eachMessage: async () => {
        if (++n === 100) resolve();
      } });
    });
    await consumer.commitOffsets([{ topic: 'm', partition: 0, offset: '40' }]);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    const m = parse(await res.text());
    await consumer.disconnect();
    expect(m.get('sluice_records_in_total{topic="m"}')).toBe(100);
    expect(m.get('sluice_bytes_in_total{topic="m"}')).toBeGreaterThan(100 * 2);
    expect(m.get('sluice_records_out_total{topic="m"}')).toBeGreaterThanOrEqual(100);
    expect(m.get('sluice_requests_total{api="Produce"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('sluice_requests_total{api="Fetch"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('sluice_request_duration_seconds_count{api="Produce"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('sluice_partition_log_end_offset{topic="m",partition="0"}')).toBe(100);
    expect(m.get('sluice_partition_size_bytes{topic="m",partition="0"}')).toBeGreaterThan(0);
    expect(m.get('sluice_group_lag{group="mg",topic="m",partition="0"}')).toBe(60);
    expect(m.has('sluice_worker_pool_queue_size')).toBe(true);
    expect(m.has('sluice_nodejs_eventloop_lag_p99_seconds')).toBe(true);
    expect(m.get('sluice_connections')).toBeGreaterThanOrEqual(0);
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
  });

  it('counts error codes per API', async () => {
    const port = await freePort();
    const broker = await startBroker({ args: ['--metrics-port', String(port), '--auto-create-topics', 'false'] });
    const admin = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'bad name!' }] }).catch(() => {});
    await admin.disconnect();
    const m = parse(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    expect(m.get('sluice_request_errors_total{api="CreateTopics",error="INVALID_TOPIC_EXCEPTION"}')).toBe(1);
  });
});

describe('configuration precedence: flag over environment over file over default', () => {
  it('resolves each setting from the strongest source and names bad values', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'server.properties');
    fs.writeFileSync(file, '# a Kafka-style file\nnum.partitions=3\nlog.dirs=/from/file\nsluice.port=1111\nlog.retention.ms=3600000\nauto.create.topics.enable=false\n');
    const o = serveOptions(['--config', file, '--port', '2222'], { SLUICE_PORT: '3333', SLUICE_NUM_PARTITIONS: '5' });
    if (o === 'help') throw new Error('unexpected help');
    expect(o.port).toBe(2222); // flag beats env and file
    expect(o.numPartitions).toBe(5); // env beats file
    expect(o.dir).toBe('/from/file'); // file beats default
    expect(o.autoCreateTopics).toBe(false);
    expect(o.topicDefaults).toEqual({ 'retention.ms': '3600000' });
    expect(o.durability).toBe('pagecache'); // default
    expect(o.sources.get('port')).toBe('flag');
    expect(o.sources.get('num-partitions')).toBe('env');
    expect(() => serveOptions(['--port', 'abc'], {})).toThrow(/invalid value 'abc' for --port: a whole number from 0 to 65535/);
    expect(() => serveOptions([], { SLUICE_DURABILITY: 'sometimes' })).toThrow(/SLUICE_DURABILITY: one of pagecache, fsync/);
    fs.writeFileSync(file, 'num.partitons=3\n');
    expect(() => serveOptions(['--config', file], {})).toThrow(/unknown key 'num.partitons'/);
    fs.writeFileSync(file, 'num.partitions=lots\n');
    expect(() => serveOptions(['--config', file], {})).toThrow(/num.partitions in .*server.properties: a whole number/);
  });
});
