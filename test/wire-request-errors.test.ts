/**
 * Requests and errors against a real broker process (issue 13, item 4), with raw bytes over a
 * socket where the point is what arrives in one TCP write:
 * - every complete request received before a malformed one is answered, in order, before the
 *   connection closes (Kafka closes on a request it cannot parse, but not before that);
 * - a Fetch long-polling a topic that is deleted meanwhile answers UNKNOWN_TOPIC_OR_PARTITION,
 *   and the broker's log has no stack trace for it.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { buildBatch } from '../src/index.js';
import { ApiKey, decodeResponse, encodeRequest } from '../src/protocol/apis.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { startBroker } from './helpers/broker.js';
import { createTopic, freePort, metricSum, produce } from './helpers/fuzz-probe.js';
import { WireClient } from './helpers/wire-client.js';

function frame(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

/** Request header v1: api key, version, correlation id, client id 'raw'. */
function header(apiKey: number, version: number, correlationId: number): Buffer {
  const h = Buffer.alloc(8 + 2 + 3);
  h.writeInt16BE(apiKey, 0);
  h.writeInt16BE(version, 2);
  h.writeInt32BE(correlationId, 4);
  h.writeInt16BE(3, 8);
  h.write('raw', 10);
  return h;
}

function encoded(...args: Parameters<typeof encodeRequest>): Buffer {
  return Buffer.concat([...encodeRequest(...args).chunks]);
}

/** Writes `bytes` in one write; collects response frames until the broker closes the socket. */
function exchange(port: number, bytes: Buffer): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const frames: Buffer[] = [];
    let buffered = Buffer.alloc(0);
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    s.on('data', (d: Buffer) => {
      buffered = Buffer.concat([buffered, d]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        frames.push(buffered.subarray(4, 4 + buffered.readInt32BE(0)));
        buffered = buffered.subarray(4 + buffered.readInt32BE(0));
      }
    });
    s.on('error', () => {}); // a reset after the answers would still end in 'close'
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`the broker did not close the connection; ${frames.length} responses so far`));
    }, 60_000);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(frames);
    });
  });
}

describe('requests and errors', () => {
  it('answers every complete request before a malformed one in the same write, in order, then closes', async () => {
    const broker = await startBroker({ args: ['--max-request-bytes', '65536'] });
    const setup = await WireClient.connect(broker.port);
    await createTopic(setup, 'answered', 1);
    setup.close();

    const negative = Buffer.alloc(4);
    negative.writeInt32BE(-5);
    const malformed: [string, Buffer][] = [
      ['Metadata with a negative array length', frame(Buffer.concat([header(3, 1, 3), Buffer.from([0x80, 0, 0, 0])]))],
      ['Produce with a truncated body', frame(Buffer.concat([header(0, 7, 3), Buffer.from([0xff, 0xff, 0, 1])]))],
      ['a header whose client id runs past the end', frame(Buffer.from([0, 3, 0, 1, 0, 0, 0, 3, 0x7f, 0xff]))],
      ['a negative size prefix', negative],
    ];
    for (const [what, bad] of malformed) {
      // An acks=all produce first: its answer waits for an fsync, so the bad request behind it
      // fails while the good one is still in flight.
      const good = [
        encoded(ApiKey.Produce, 7, 1, 'raw', { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'answered', partitionData: [{ index: 0, records: buildBatch([{ value: what }]) }] }] }, { sizePrefix: true }),
        encoded(ApiKey.ApiVersions, 3, 2, 'raw', { clientSoftwareName: 'raw', clientSoftwareVersion: '1' }, { sizePrefix: true }),
      ];
      // A valid request after the bad one is never answered: nothing past it is read.
      const after = encoded(ApiKey.ApiVersions, 0, 4, 'raw', {} as never, { sizePrefix: true });
      const frames = await exchange(broker.port, Buffer.concat([...good, bad, after]));
      expect(frames.map((f) => f.readInt32BE(0)), what).toEqual([1, 2]);
      const produced = decodeResponse(ApiKey.Produce, 7, frames[0]!);
      expect(produced.body.responses[0]!.partitionResponses[0]!.errorCode, what).toBe(ErrorCode.NONE);
      expect(decodeResponse(ApiKey.ApiVersions, 3, frames[1]!).body.errorCode, what).toBe(ErrorCode.NONE);
    }
    expect(broker.proc.exitCode).toBeNull();
  });

  it('a fetch long-polling a topic deleted meanwhile answers UNKNOWN_TOPIC_OR_PARTITION, with no stack trace in the log', async () => {
    const metricsPort = await freePort();
    const broker = await startBroker({ args: ['--log-format', 'json', '--metrics-port', String(metricsPort)] });
    const admin = await WireClient.connect(broker.port);
    await createTopic(admin, 'doomed', 2);
    await produce(admin, 'doomed', 0, buildBatch([{ value: 'one' }]));
    const poller = await WireClient.connect(broker.port);
    // At the log end with max_wait 5 s: the fetch waits for data that never comes.
    const fetched = poller.request(ApiKey.Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 5000,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: 'doomed', partitions: [0, 1].map((partition) => ({ partition, fetchOffset: partition === 0 ? 1 : 0, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1 })) }],
      forgottenTopicsData: [],
      rackId: '',
    });
    // Delete only once the fetch is parked in the broker (in flight), not before it arrives.
    while ((await metricSum(metricsPort, 'sluice_requests_in_flight')) < 1) await new Promise((r) => setTimeout(r, 20));
    const deleted = await admin.request(ApiKey.DeleteTopics, 4, { topicNames: ['doomed'], timeoutMs: 5000 } as never);
    expect((deleted as { responses: { errorCode: number }[] }).responses[0]!.errorCode).toBe(ErrorCode.NONE);
    const r = await fetched;
    const partitions = r.responses[0]!.partitions;
    expect(partitions.map((p) => p.errorCode)).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    // The broker is fine and says nothing alarming about it.
    const meta = await admin.request(ApiKey.Metadata, 9, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    expect(meta.brokers).toHaveLength(1);
    admin.close();
    poller.close();
    const log = broker.output();
    expect(log).not.toMatch(/LogClosedError/);
    expect(log).not.toMatch(/"stack"|\n\s+at /);
    expect(log).not.toMatch(/fetch failed/);
  });
});
