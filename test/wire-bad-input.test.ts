import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { buildBatch } from '../src/index.js';
import { ApiKey, decodeResponse, encodeRequest } from '../src/protocol/apis.js';
import { startBroker, type BrokerProcess } from './helpers/broker.js';
import { WireClient } from './helpers/wire-client.js';

/** Sends bytes on a fresh socket; resolves when the broker closes it (or after `waitMs` with 'open'). */
function sendRaw(port: number, bytes: Buffer, waitMs = 5000): Promise<'closed' | 'open'> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    s.on('data', () => {});
    s.on('error', () => {});
    const timer = setTimeout(() => {
      s.destroy();
      resolve('open');
    }, waitMs);
    s.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
  });
}

function frame(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

function header(apiKey: number, version: number, correlationId = 1): Buffer {
  const h = Buffer.alloc(10);
  h.writeInt16BE(apiKey, 0);
  h.writeInt16BE(version, 2);
  h.writeInt32BE(correlationId, 4);
  h.writeInt16BE(-1, 8); // null client id
  return h;
}

/** The broker still serves a well-behaved client, and the stored data is intact. */
async function stillHealthy(broker: BrokerProcess, expected: number) {
  const c = await WireClient.connect(broker.port);
  const r = await c.request(ApiKey.ListOffsets, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'safe', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }] });
  expect(r.topics[0]!.partitions[0]!.offset).toBe(expected);
  c.close();
  expect(broker.proc.exitCode).toBeNull();
}

describe('bad input never takes the broker down or harms data', () => {
  it('closes connections on malformed frames and keeps serving', async () => {
    const broker = await startBroker({ args: ['--max-request-bytes', '65536', '--request-timeout-ms', '500'] });
    const c = await WireClient.connect(broker.port);
    await c.request(ApiKey.Produce, 7, { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: 'safe', partitionData: [{ index: 0, records: buildBatch([{ value: 'keep me' }]) }] }] });
    c.close();

    const negative = Buffer.alloc(4);
    negative.writeInt32BE(-5);
    const huge = Buffer.alloc(4);
    huge.writeInt32BE(0x7fffffff);
    const oversized = Buffer.alloc(4);
    oversized.writeInt32BE(1_000_000);
    const cases: [string, Buffer][] = [
      ['negative size', negative],
      ['huge size (no allocation)', huge],
      ['over socket.request.max.bytes', Buffer.concat([oversized, Buffer.alloc(1000)])],
      ['too small for a header', frame(Buffer.alloc(3))],
      ['unknown api key', frame(Buffer.concat([header(9999, 0), Buffer.alloc(8)]))],
      ['Produce at an unsupported version', frame(Buffer.concat([header(0, 99), Buffer.alloc(8)]))],
      ['Produce with a truncated body', frame(Buffer.concat([header(0, 7), Buffer.from([0xff, 0xff, 0, 1])]))],
      ['Metadata with a negative array length', frame(Buffer.concat([header(3, 1), Buffer.from([0x80, 0, 0, 0])]))],
      ['Metadata with a string longer than the frame', frame(Buffer.concat([header(3, 1), Buffer.from([0, 0, 0, 1, 0x7f, 0xff])]))],
      ['header with a client id past the end', frame(Buffer.from([0, 3, 0, 1, 0, 0, 0, 1, 0x7f, 0xff]))],
      ['half a frame, then a stall', Buffer.from([0, 0, 0, 100, 0, 3])],
    ];
    for (const [what, bytes] of cases) {
      expect(await sendRaw(broker.port, bytes), what).toBe('closed');
      await stillHealthy(broker, 1);
    }
  });

  // librdkafka 2.3+ (its issue #5049): an all-topics Metadata v12 request with 3 spare bytes
  // after the body. Kafka reads by the frame size and answers; so must Sluice, keeping the
  // connection open (before issue 12 it was closed with "3 bytes after the body").
  it('answers a Metadata v12 request with bytes after the body and keeps the connection', async () => {
    const broker = await startBroker({ args: ['--log-level', 'debug'] });
    const c = await WireClient.connect(broker.port);
    await c.request(ApiKey.Produce, 7, { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: 'safe', partitionData: [{ index: 0, records: buildBatch([{ value: 'keep me' }]) }] }] });
    const f = encodeRequest(ApiKey.Metadata, 12, 4242, 'rdkafka', { topics: null, allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
    const body = Buffer.concat(f.chunks, f.length);
    const padded = Buffer.concat([body, Buffer.from([0, 0, 0])]);
    c.write(frame(padded));
    const answer = decodeResponse(ApiKey.Metadata, 12, await c.nextFrame());
    expect(answer.correlationId).toBe(4242);
    expect(answer.body.topics.map((t) => t.name)).toContain('safe');
    expect(answer.body.brokers).toHaveLength(1);
    // The same socket still serves the next request.
    const again = await c.request(ApiKey.ListOffsets, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'safe', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }] });
    expect(again.topics[0]!.partitions[0]!.offset).toBe(1);
    expect(c.socket.destroyed).toBe(false);
    c.close();
    await c.closed;
    expect(broker.output()).toMatch(/bytes after the request body ignored/);
    expect(broker.output()).not.toMatch(/after the body"|closing connection/);
    await stillHealthy(broker, 1);
  });

  it('answers a flood of pipelined requests in order while another client is served', async () => {
    const broker = await startBroker();
    const flood = await WireClient.connect(broker.port);
    const frames = [];
    for (let i = 0; i < 2000; i++) {
      const f = encodeRequest(ApiKey.ApiVersions, 3, i, 'flood', { clientSoftwareName: 'f', clientSoftwareVersion: '1' }, { sizePrefix: true });
      frames.push(...f.chunks);
    }
    const responses = Array.from({ length: 2000 }, () => flood.nextFrame());
    flood.write(Buffer.concat(frames));
    const other = await WireClient.connect(broker.port);
    const meta = await other.request(ApiKey.Metadata, 9, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    expect(meta.brokers).toHaveLength(1);
    const ids = (await Promise.all(responses)).map((f) => f.readInt32BE(0));
    expect(ids).toEqual([...Array(2000).keys()]);
    flood.close();
    other.close();
  });

  it('shuts down gracefully on SIGTERM and reopens cleanly', async () => {
    const broker = await startBroker();
    const c = await WireClient.connect(broker.port);
    await c.request(ApiKey.Produce, 7, { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: 'safe', partitionData: [{ index: 0, records: buildBatch([{ value: 'x' }, { value: 'y' }]) }] }] });
    c.close();
    expect(await broker.stop()).toBe(0);
    expect(broker.output()).toContain('Sluice stopped cleanly');
    const again = await startBroker({ dir: broker.dir });
    await stillHealthy(again, 2);
  });
});
