/**
 * Hand-written byte fixtures, spelled out from the schemas' layouts (not produced by the
 * encoder): the decoder must read them, and the encoder must write the same bytes.
 * Frames here are what follows the int32 size prefix.
 */
import { describe, expect, it } from 'vitest';
import {
  UUID_ZERO,
  Writer,
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  decodeResponseHeader,
  encodeRequest,
  encodeResponse,
  encodeResponseHeader,
  type DecodedRequest,
} from '../src/protocol/index.js';

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

const join = (c: { chunks: Buffer[]; length: number }) => Buffer.concat(c.chunks, c.length);

function reqBody<K extends DecodedRequest['apiKey']>(frame: Buffer, apiKey: K): Extract<DecodedRequest, { apiKey: K }> {
  const d = decodeRequest(frame);
  expect(d.apiKey).toBe(apiKey);
  return d as Extract<DecodedRequest, { apiKey: K }>;
}

describe('headers', () => {
  it('request header v1: apiKey, apiVersion, correlationId, int16-length clientId', () => {
    const frame = bytes("0003 0001 | 0000002a | 0007 'rdkafka' | ffffffff");
    expect(decodeRequestHeader(frame)).toEqual({
      apiKey: 3,
      apiVersion: 1,
      correlationId: 42,
      clientId: 'rdkafka',
      headerVersion: 1,
      headerLength: 17,
    });
    const nullClient = decodeRequestHeader(bytes('0003 0001 0000002a ffff'));
    expect(nullClient.clientId).toBeNull();
    expect(nullClient.headerLength).toBe(10);
  });

  it('request header v2: clientId stays non-compact; tagged fields (unknown ones skipped)', () => {
    // Metadata v9: flexible. Tagged section: 2 fields, tag 0 size 1, tag 5 size 3.
    const frame = bytes("0003 0009 | 00000007 | 0003 'cli' | 02 00 01 ff 05 03 'abc' | 00 01 00 00 00");
    const h = decodeRequestHeader(frame);
    expect(h).toEqual({ apiKey: 3, apiVersion: 9, correlationId: 7, clientId: 'cli', headerVersion: 2, headerLength: 22 });
  });

  it('unknown API or version: header read as v1 (no tagged fields)', () => {
    expect(decodeRequestHeader(bytes("03e7 0004 00000001 0001 'x' 00")).headerLength).toBe(11);
    // ApiVersions v9 (from the future) is read as v1, so the v0 fallback can answer it.
    const h = decodeRequestHeader(bytes("0012 0009 00000001 0001 'x' 00"));
    expect([h.apiVersion, h.headerVersion, h.headerLength]).toEqual([9, 1, 11]);
  });

  it('response header v0 and v1', () => {
    const w0 = new Writer();
    encodeResponseHeader(3, 8, 0x01020304, w0); // Metadata v8: not flexible
    expect(w0.toBuffer()).toEqual(bytes('01020304'));
    const w1 = new Writer();
    encodeResponseHeader(3, 9, 0x01020304, w1); // Metadata v9: flexible
    expect(w1.toBuffer()).toEqual(bytes('01020304 00'));
    expect(decodeResponseHeader(3, 9, bytes('01020304 01 02 01 ee | 99'))).toEqual({ correlationId: 0x01020304, headerLength: 8 });
  });

  it('ApiVersions responses always use response header v0', () => {
    const w = new Writer();
    encodeResponseHeader(18, 3, 5, w);
    expect(w.toBuffer()).toEqual(bytes('00000005'));
  });
});

describe('ApiVersions', () => {
  it('request v0: header only, empty body', () => {
    const frame = bytes("0012 0000 | 00000001 | 0007 'rdkafka'");
    const d = reqBody(frame, 18);
    expect(d.header.correlationId).toBe(1);
    expect(d.body).toEqual({ clientSoftwareName: '', clientSoftwareVersion: '' });
    expect(join(encodeRequest(18, 0, 1, 'rdkafka', {}))).toEqual(frame);
  });

  it('request v3: compact strings, tagged sections in header and body', () => {
    const frame = bytes(
      "0012 0003 | 00000002 | 0003 'cli' | 00 | 12 'apache-kafka-java' | 06 '3.8.0' | 00",
    );
    const d = reqBody(frame, 18);
    expect(d.body).toEqual({ clientSoftwareName: 'apache-kafka-java', clientSoftwareVersion: '3.8.0' });
    expect(join(encodeRequest(18, 3, 2, 'cli', d.body))).toEqual(frame);
  });

  it('request v3 with an unknown body tag: skipped', () => {
    const frame = bytes("0012 0003 00000002 0003 'cli' 00 | 02 'a' 02 'b' | 01 07 03 'xyz'");
    expect(reqBody(frame, 18).body).toEqual({ clientSoftwareName: 'a', clientSoftwareVersion: 'b' });
  });

  it('response v0: int32 array count, no throttle time', () => {
    const frame = bytes('00000001 | 0000 | 00000002 | 0000 0003 000b | 0012 0000 0003');
    const body = {
      errorCode: 0,
      apiKeys: [
        { apiKey: 0, minVersion: 3, maxVersion: 11 },
        { apiKey: 18, minVersion: 0, maxVersion: 3 },
      ],
    };
    expect(join(encodeResponse(18, 0, 1, body))).toEqual(frame);
    const back = decodeResponse(18, 0, frame);
    expect(back.correlationId).toBe(1);
    expect(back.body).toMatchObject({ ...body, throttleTimeMs: 0, supportedFeatures: [], finalizedFeaturesEpoch: -1 });
  });

  it('response v3: header v0, compact array, tagged finalizedFeaturesEpoch', () => {
    const frame = bytes(
      '00000002 | 0000 | 03 | 0000 0003 000b 00 | 0012 0000 0003 00 | 00000000 | 01 | 01 08 0000000000000005',
    );
    const body = {
      errorCode: 0,
      apiKeys: [
        { apiKey: 0, minVersion: 3, maxVersion: 11 },
        { apiKey: 18, minVersion: 0, maxVersion: 3 },
      ],
      throttleTimeMs: 0,
      finalizedFeaturesEpoch: 5,
    };
    expect(join(encodeResponse(18, 3, 2, body))).toEqual(frame);
    expect(decodeResponse(18, 3, frame).body).toEqual({
      ...body,
      supportedFeatures: [],
      finalizedFeatures: [],
      zkMigrationReady: false,
    });
  });
});

describe('Metadata', () => {
  it('request v1: topic names; null means all topics', () => {
    const frame = bytes("0003 0001 | 00000007 | 0003 'cli' | 00000002 | 0003 'foo' | 0003 'bar'");
    const d = reqBody(frame, 3);
    expect(d.body).toEqual({
      topics: [
        { topicId: UUID_ZERO, name: 'foo' },
        { topicId: UUID_ZERO, name: 'bar' },
      ],
      allowAutoTopicCreation: true, // v4+, default true
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(join(encodeRequest(3, 1, 7, 'cli', d.body))).toEqual(frame);
    expect(reqBody(bytes("0003 0001 00000007 0003 'cli' ffffffff"), 3).body.topics).toBeNull();
  });

  it('request v9: compact array, per-topic and top-level tagged sections', () => {
    const frame = bytes("0003 0009 | 00000008 | 0003 'cli' | 00 | 02 | 04 'foo' 00 | 01 | 00 | 00 | 00");
    const d = reqBody(frame, 3);
    expect(d.body).toEqual({
      topics: [{ topicId: UUID_ZERO, name: 'foo' }],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(join(encodeRequest(3, 9, 8, 'cli', d.body))).toEqual(frame);
    // Compact null array (0) = all topics.
    expect(reqBody(bytes("0003 0009 00000008 0003 'cli' 00 | 00 | 01 00 00 00"), 3).body.topics).toBeNull();
  });
});

describe('Produce', () => {
  const batch = bytes('00 11 22 33 44 55 66 77 88 99 aa bb');

  it('request v3: records as a view into the frame', () => {
    const frame = bytes(
      "0000 0003 | 0000000a | 0003 'cli' | ffff | ffff | 00007530 | 00000001 | 0005 'topic' | 00000001 | 00000000 | 0000000c 00112233445566778899aabb",
    );
    const d = reqBody(frame, 0);
    expect(d.body).toEqual({
      transactionalId: null,
      acks: -1,
      timeoutMs: 30000,
      topicData: [{ name: 'topic', partitionData: [{ index: 0, records: batch }] }],
    });
    const records = d.body.topicData[0]!.partitionData[0]!.records!;
    expect(records.buffer).toBe(frame.buffer); // zero copy
    expect(records.byteOffset).toBe(frame.byteOffset + frame.length - 12);
    expect(join(encodeRequest(0, 3, 10, 'cli', d.body))).toEqual(frame);
  });

  it('request v9: compact strings and records, null records, tagged sections', () => {
    const frame = bytes(
      "0000 0009 | 0000000b | 0003 'cli' | 00 | 00 | 0001 | 00001388 | 02 | 06 'topic' | 03 | 00000000 0d 00112233445566778899aabb 00 | 00000001 00 00 | 00 | 00",
    );
    const d = reqBody(frame, 0);
    expect(d.body).toEqual({
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topicData: [
        {
          name: 'topic',
          partitionData: [
            { index: 0, records: batch },
            { index: 1, records: null },
          ],
        },
      ],
    });
    expect(join(encodeRequest(0, 9, 11, 'cli', d.body))).toEqual(frame);
  });
});

describe('Fetch', () => {
  const records = bytes('de ad be ef 01 02 03 04');

  it('response v4: header v0, aborted transactions, int32 records length', () => {
    const frame = bytes(
      "0000000c | 00000000 | 00000001 | 0005 'topic' | 00000001 | 00000000 | 0000 | 0000000000000064 | 0000000000000064 | 00000001 0000000000000007 0000000000000032 | 00000008 deadbeef01020304",
    );
    const body = {
      throttleTimeMs: 0,
      responses: [
        {
          topic: 'topic',
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 0,
              highWatermark: 100,
              lastStableOffset: 100,
              abortedTransactions: [{ producerId: 7, firstOffset: 50 }],
              records,
            },
          ],
        },
      ],
    };
    expect(join(encodeResponse(1, 4, 12, body))).toEqual(frame);
    const back = decodeResponse(1, 4, frame);
    expect(back.correlationId).toBe(12);
    expect(back.body.responses[0]!.partitions[0]).toMatchObject({ ...body.responses[0]!.partitions[0], logStartOffset: -1 });
  });

  it('response v12: header v1, compact encodings, tagged currentLeader', () => {
    const frame = bytes(
      "0000000d 00 | 00000000 | 0000 | 00000000 | 02 | 06 'topic' | 02 | 00000000 | 0000 | 0000000000000064 | 0000000000000064 | 0000000000000000 | 00 | ffffffff | 09 deadbeef01020304 | 01 01 09 00000001 00000005 00 | 00 | 00",
    );
    const partition = {
      partitionIndex: 0,
      errorCode: 0,
      highWatermark: 100,
      lastStableOffset: 100,
      logStartOffset: 0,
      currentLeader: { leaderId: 1, leaderEpoch: 5 },
      abortedTransactions: null,
      preferredReadReplica: -1,
      records,
    };
    const body = { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [{ topic: 'topic', partitions: [partition] }] };
    expect(join(encodeResponse(1, 12, 13, body))).toEqual(frame);
    expect(decodeResponse(1, 12, frame).body).toEqual({
      ...body,
      responses: [
        {
          topic: 'topic',
          topicId: UUID_ZERO,
          partitions: [
            {
              ...partition,
              divergingEpoch: { epoch: -1, endOffset: -1 },
              snapshotId: { endOffset: -1, epoch: -1 },
            },
          ],
        },
      ],
      nodeEndpoints: [],
    });
  });

  it('response v12: unknown tags skipped, known tag read inside its size', () => {
    const frame = bytes(
      "0000000d 00 | 00000000 0000 00000000 | 02 06 'topic' | 02 | 00000000 0000 0000000000000064 0000000000000064 0000000000000000 00 ffffffff 01 | 02 01 09 00000003 00000004 00 | 07 02 abcd | 00 | 01 09 00",
    );
    const p = decodeResponse(1, 12, frame).body.responses[0]!.partitions[0]!;
    expect(p.currentLeader).toEqual({ leaderId: 3, leaderEpoch: 4 });
    expect(p.records).toEqual(Buffer.alloc(0));
  });

  it('response encode: large records go by reference, several views back to back', () => {
    const a = Buffer.alloc(4096, 1);
    const b = Buffer.alloc(2048, 2);
    const out = encodeResponse(1, 12, 1, { responses: [{ topic: 't', partitions: [{ partitionIndex: 0, records: [a, b] }] }] });
    expect(out.chunks).toContain(a);
    expect(out.chunks).toContain(b);
    const p = decodeResponse(1, 12, join(out)).body.responses[0]!.partitions[0]!;
    expect(p.records).toEqual(Buffer.concat([a, b]));
  });
});

describe('encodeResponse with the size prefix', () => {
  it('puts int32 length of header + body first', () => {
    const plain = join(encodeResponse(12, 0, 9, { errorCode: 0 }));
    const prefixed = join(encodeResponse(12, 0, 9, { errorCode: 0 }, { sizePrefix: true }));
    expect(plain).toEqual(bytes('00000009 0000'));
    expect(prefixed).toEqual(bytes('00000006 00000009 0000'));
  });
});
