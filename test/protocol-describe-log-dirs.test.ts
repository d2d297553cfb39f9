/**
 * DescribeLogDirs (api key 35): the codec at every version (round trips, hand-written bytes)
 * and a broker process answering it at v0 and v4 with the sizes of its partitions' logs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildBatch } from '../src/index.js';
import {
  APIS,
  ApiKey,
  DescribeLogDirsRequest,
  DescribeLogDirsResponse,
  Reader,
  Writer,
  decode,
  decodeRequest,
  decodeResponse,
  encode,
  encodeRequest,
  encodeResponse,
} from '../src/protocol/index.js';
import { startBroker } from './helpers/broker.js';
import { WireClient } from './helpers/wire-client.js';

const join = (c: { chunks: Buffer[]; length: number }) => Buffer.concat(c.chunks, c.length);

/** Hex with spaces, `|` separators and `'text'` runs (UTF-8) -> bytes. */
function bytes(spec: string): Buffer {
  const parts: Buffer[] = [];
  const re = /'([^']*)'|([0-9a-fA-F]{2})|[\s|]+/y;
  let pos = 0;
  while (pos < spec.length) {
    re.lastIndex = pos;
    const m = re.exec(spec);
    if (m === null) throw new Error(`bad fixture near ${spec.slice(pos)}`);
    pos = re.lastIndex;
    if (m[1] !== undefined) parts.push(Buffer.from(m[1], 'utf8'));
    else if (m[2] !== undefined) parts.push(Buffer.from(m[2], 'hex'));
  }
  return Buffer.concat(parts);
}

function roundTrip(def: typeof DescribeLogDirsRequest | typeof DescribeLogDirsResponse, version: number, value: Record<string, unknown>): unknown {
  const w = new Writer(16);
  encode(def, version, value, w);
  const out = w.toBuffer();
  const r = new Reader(out);
  const back = decode(def, version, r);
  expect(r.pos).toBe(out.length);
  return back;
}

const populatedResponse = {
  throttleTimeMs: 12,
  errorCode: 0,
  results: [
    {
      errorCode: 0,
      logDir: '/var/lib/sluice/data',
      topics: [
        { name: 'orders', partitions: [{ partitionIndex: 0, partitionSize: 2 ** 40 + 5, offsetLag: 0, isFutureKey: false }, { partitionIndex: 3, partitionSize: 0, offsetLag: 7, isFutureKey: true }] },
        { name: 'audit', partitions: [] },
      ],
      totalBytes: 500_000_000_000,
      usableBytes: 123_456_789,
    },
    { errorCode: 56, logDir: '/mnt/offline', topics: [], totalBytes: -1, usableBytes: -1 },
  ],
};

describe('DescribeLogDirs codec', () => {
  it('is registered with the full range 0-4, flexible from 2', () => {
    const e = APIS.get(35)!;
    expect(e).toMatchObject({ apiKey: ApiKey.DescribeLogDirs, name: 'DescribeLogDirs', minVersion: 0, maxVersion: 4 });
    expect(e.request).toBe(DescribeLogDirsRequest);
    expect(e.response).toBe(DescribeLogDirsResponse);
    expect(DescribeLogDirsRequest.flexibleVersions).toBe(2);
    expect(DescribeLogDirsResponse.flexibleVersions).toBe(2);
  });

  for (let v = 0; v <= 4; v++) {
    it(`v${v}: request and response round trip (fields a version lacks back at their defaults)`, () => {
      const named = { topics: [{ topic: 'orders', partitions: [0, 3, 2147483647] }, { topic: '日本', partitions: [] }] };
      expect(roundTrip(DescribeLogDirsRequest, v, named)).toEqual(named);
      expect(roundTrip(DescribeLogDirsRequest, v, { topics: null })).toEqual({ topics: null });

      const back = roundTrip(DescribeLogDirsResponse, v, populatedResponse) as typeof populatedResponse;
      const expected = structuredClone(populatedResponse);
      if (v < 3) expected.errorCode = 0;
      if (v < 4) for (const r of expected.results) Object.assign(r, { totalBytes: -1, usableBytes: -1 });
      expect(back).toEqual(expected);
      // Fields left out take their defaults: -1 for the volume sizes.
      expect(roundTrip(DescribeLogDirsResponse, v, { results: [{ logDir: 'd' }] })).toEqual({
        throttleTimeMs: 0,
        errorCode: 0,
        results: [{ errorCode: 0, logDir: 'd', topics: [], totalBytes: -1, usableBytes: -1 }],
      });
    });
  }

  it('v3 carries the top-level errorCode; v4 the volume sizes', () => {
    const v3 = roundTrip(DescribeLogDirsResponse, 3, { errorCode: 31, results: [] }) as { errorCode: number };
    expect(v3.errorCode).toBe(31);
    const v2 = roundTrip(DescribeLogDirsResponse, 2, { errorCode: 31, results: [] }) as { errorCode: number };
    expect(v2.errorCode).toBe(0);
  });

  it('reads and writes a hand-written v0 request', () => {
    // header v1: apiKey 35, version 0, correlation id 9, client id 'cli'
    // body: topics int32 count 2 | 'orders' int16 length, partitions [0, 2] | 'audit', partitions []
    const frame = bytes("0023 0000 | 00000009 | 0003 'cli' | 00000002 | 0006 'orders' 00000002 00000000 00000002 | 0005 'audit' 00000000");
    const d = decodeRequest(frame);
    expect(d.apiKey).toBe(ApiKey.DescribeLogDirs);
    expect(d.header).toMatchObject({ apiVersion: 0, correlationId: 9, clientId: 'cli' });
    expect(d.body).toEqual({ topics: [{ topic: 'orders', partitions: [0, 2] }, { topic: 'audit', partitions: [] }] });
    expect(join(encodeRequest(ApiKey.DescribeLogDirs, 0, 9, 'cli', { topics: [{ topic: 'orders', partitions: [0, 2] }, { topic: 'audit', partitions: [] }] }))).toEqual(frame);

    // Null topics (every topic): int32 -1.
    const all = bytes("0023 0000 | 0000000a | 0003 'cli' | ffffffff");
    expect(decodeRequest(all).body).toEqual({ topics: null });
    expect(join(encodeRequest(ApiKey.DescribeLogDirs, 0, 10, 'cli', { topics: null }))).toEqual(all);
  });

  it('reads and writes a hand-written v2 request (compact, tagged sections)', () => {
    // header v2 (tagged 00) | compact array 1+1 | compact string 6+1 'orders' | compact int32 array 1+1 [1] | tags 00 | tags 00
    const frame = bytes("0023 0002 | 00000003 | 0001 'c' 00 | 02 | 07 'orders' 02 00000001 00 | 00");
    expect(decodeRequest(frame).body).toEqual({ topics: [{ topic: 'orders', partitions: [1] }] });
    expect(join(encodeRequest(ApiKey.DescribeLogDirs, 2, 3, 'c', { topics: [{ topic: 'orders', partitions: [1] }] }))).toEqual(frame);
    // Null is compact length 0.
    expect(decodeRequest(bytes("0023 0004 | 00000004 | 0001 'c' 00 | 00 | 00")).body).toEqual({ topics: null });
  });

  it('writes and reads a hand-written v0 and v4 response', () => {
    const body = {
      throttleTimeMs: 0,
      errorCode: 0,
      results: [
        { errorCode: 0, logDir: '/data', topics: [{ name: 'orders', partitions: [{ partitionIndex: 1, partitionSize: 1024, offsetLag: 0, isFutureKey: false }] }], totalBytes: 4096, usableBytes: 2048 },
      ],
    };
    // v0: correlation id | throttle | results int32 1 | errorCode | '/data' | topics 1 | 'orders'
    //     | partitions 1 | index, size int64, lag int64, isFuture bool
    const v0 = bytes(
      "00000005 | 00000000 | 00000001 | 0000 | 0005 '/data' | 00000001 | 0006 'orders' | 00000001 | 00000001 0000000000000400 0000000000000000 00",
    );
    expect(join(encodeResponse(ApiKey.DescribeLogDirs, 0, 5, body))).toEqual(v0);
    expect(decodeResponse(ApiKey.DescribeLogDirs, 0, v0).body).toEqual({ ...body, results: [{ ...body.results[0]!, totalBytes: -1, usableBytes: -1 }] });
    // v4: header v1 (tags 00) | throttle | errorCode | compact arrays and strings, a tagged
    //     section closing each struct, totalBytes and usableBytes after the topics
    const v4 = bytes(
      "00000005 00 | 00000000 | 0000 | 02 | 0000 | 06 '/data' | 02 | 07 'orders' | 02 | 00000001 0000000000000400 0000000000000000 00 00 | 00 | 0000000000001000 0000000000000800 00 | 00",
    );
    expect(join(encodeResponse(ApiKey.DescribeLogDirs, 4, 5, body))).toEqual(v4);
    expect(decodeResponse(ApiKey.DescribeLogDirs, 4, v4).body).toEqual(body);
  });
});

describe('DescribeLogDirs against a broker process', () => {
  it('answers v0 and v4 with the data directory and each partition log size', async () => {
    const broker = await startBroker({ args: ['--auto-create-topics', 'false'] });
    const c = await WireClient.connect(broker.port);

    const versions = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    expect(versions.apiKeys.find((a) => a.apiKey === 35)).toMatchObject({ minVersion: 0, maxVersion: 4 });

    const created = await c.request(ApiKey.CreateTopics, 5, {
      topics: [{ name: 'orders', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }, { name: 'audit', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(created.topics.map((t) => t.errorCode)).toEqual([0, 0]);
    for (const [partition, n] of [[0, 3], [2, 1]] as const) {
      const records = buildBatch(Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `value ${i} of partition ${partition}` })));
      const p = await c.request(ApiKey.Produce, 7, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'orders', partitionData: [{ index: partition, records }] }] });
      expect(p.responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
    }

    // v0, topics named: unknown topics and partitions are left out, duplicates listed once.
    const v0 = await c.request(ApiKey.DescribeLogDirs, 0, {
      topics: [{ topic: 'orders', partitions: [0, 1, 2, 2, 9] }, { topic: 'ghost', partitions: [0] }],
    });
    expect(v0.throttleTimeMs).toBe(0);
    expect(v0.results).toHaveLength(1);
    const dir0 = v0.results[0]!;
    expect(dir0).toMatchObject({ errorCode: 0, logDir: path.resolve(broker.dir), totalBytes: -1, usableBytes: -1 });
    expect(dir0.topics.map((t) => t.name)).toEqual(['orders']);
    const orders = dir0.topics[0]!.partitions;
    expect(orders.map((p) => p.partitionIndex)).toEqual([0, 1, 2]);
    for (const p of orders) expect(p).toMatchObject({ offsetLag: 0, isFutureKey: false });
    const sizes = new Map(orders.map((p) => [p.partitionIndex, p.partitionSize]));
    expect(sizes.get(1)).toBe(0);
    expect(sizes.get(0)).toBeGreaterThan(sizes.get(2)!);
    expect(sizes.get(2)).toBeGreaterThan(0);

    // v4, every topic: volume sizes from statfs.
    const v4 = await c.request(ApiKey.DescribeLogDirs, 4, { topics: null });
    expect(v4.errorCode).toBe(0);
    const dir4 = v4.results[0]!;
    expect(dir4.errorCode).toBe(0);
    expect(dir4.logDir).toBe(path.resolve(broker.dir));
    const s = fs.statfsSync(broker.dir);
    expect(dir4.totalBytes).toBe(s.blocks * s.bsize);
    expect(dir4.usableBytes).toBeGreaterThanOrEqual(0);
    expect(dir4.usableBytes).toBeLessThanOrEqual(dir4.totalBytes);
    const byTopic = new Map(dir4.topics.map((t) => [t.name, new Map(t.partitions.map((p) => [p.partitionIndex, p.partitionSize]))]));
    expect([...byTopic.keys()].sort()).toEqual(['audit', 'orders']);
    expect(byTopic.get('audit')).toEqual(new Map([[0, 0]]));
    expect(byTopic.get('orders')).toEqual(sizes);

    // The sizes are the bytes of the partitions' .log files on disk.
    c.close();
    expect(await broker.stop()).toBe(0);
    for (const [p, size] of sizes) {
      const partDir = path.join(broker.dir, `orders-${p}`);
      const onDisk = fs.readdirSync(partDir).filter((f) => f.endsWith('.log')).reduce((n, f) => n + fs.statSync(path.join(partDir, f)).size, 0);
      expect(onDisk, `orders-${p}`).toBe(size);
    }
  });
});
