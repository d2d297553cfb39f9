import { describe, expect, it } from 'vitest';
import { encodeAssignment, encodeSubscription } from '../src/group/index.js';
import {
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeOffsetsTopicKey,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  javaStringHashCode,
  offsetsPartitionFor,
  OffsetsRecordError,
  type GroupMetadataRecord,
} from '../src/group/offset-record.js';
import { parseOffsetsRecord } from '../src/group/offsets-message-parser.js';

// Expected bytes are written out from the schemas (OffsetCommitKey.json, OffsetCommitValue.json,
// GroupMetadataKey.json, GroupMetadataValue.json of Kafka 3.8): big-endian ints, int16-length
// strings, int32-length bytes and arrays, each key and value led by its int16 version.
const i16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(v);
  return b;
};
const i32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
const i64 = (v: number) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(v));
  return b;
};
const str = (s: string | null) => (s === null ? i16(-1) : Buffer.concat([i16(Buffer.byteLength(s)), Buffer.from(s)]));
const bytes = (b: Buffer) => Buffer.concat([i32(b.length), b]);
const uvarint = (n: number) => {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
};
const cstr = (s: string | null) => (s === null ? uvarint(0) : Buffer.concat([uvarint(Buffer.byteLength(s) + 1), Buffer.from(s)]));

describe('OffsetCommitKey / OffsetCommitValue', () => {
  it('writes key version 1 byte for byte and reads it back', () => {
    const key = encodeOffsetCommitKey({ groupId: 'billing', topic: 'orders', partition: 7 });
    expect(key).toEqual(Buffer.concat([i16(1), str('billing'), str('orders'), i32(7)]));
    expect(key.toString('hex')).toBe('0001' + '0007' + Buffer.from('billing').toString('hex') + '0006' + Buffer.from('orders').toString('hex') + '00000007');
    expect(decodeOffsetsTopicKey(key)).toEqual({ type: 'offset', version: 1, groupId: 'billing', topic: 'orders', partition: 7 });
    // Key version 0 has the same layout (older Kafka wrote it).
    expect(decodeOffsetsTopicKey(Buffer.concat([i16(0), str('g'), str('t'), i32(0)]))).toMatchObject({ type: 'offset', version: 0, groupId: 'g' });
  });

  it('writes value version 3 (with the leader epoch) when there is no expire timestamp, as Kafka 3.8 does', () => {
    const v = { offset: 123456789012, leaderEpoch: 5, metadata: 'ünï', commitTimestamp: 1_700_000_000_123, expireTimestamp: -1 };
    const b = encodeOffsetCommitValue(v);
    expect(b).toEqual(Buffer.concat([i16(3), i64(123456789012), i32(5), str('ünï'), i64(1_700_000_000_123)]));
    expect(decodeOffsetCommitValue(b)).toEqual({ version: 3, ...v });
  });

  it('writes value version 1 (expireTimestamp, no leader epoch) when the commit set a retention', () => {
    const v = { offset: 42, leaderEpoch: 9, metadata: '', commitTimestamp: 1000, expireTimestamp: 86_401_000 };
    const b = encodeOffsetCommitValue(v);
    expect(b).toEqual(Buffer.concat([i16(1), i64(42), str(''), i64(1000), i64(86_401_000)]));
    // v1 cannot hold the leader epoch: it reads back as unknown, as Kafka reads it.
    expect(decodeOffsetCommitValue(b)).toEqual({ version: 1, ...v, leaderEpoch: -1 });
  });

  it('reads versions 0, 2 and the flexible 4', () => {
    expect(decodeOffsetCommitValue(Buffer.concat([i16(0), i64(3), str('m'), i64(77)]))).toEqual({ version: 0, offset: 3, leaderEpoch: -1, metadata: 'm', commitTimestamp: 77, expireTimestamp: -1 });
    expect(decodeOffsetCommitValue(Buffer.concat([i16(2), i64(4), str(''), i64(78)]))).toMatchObject({ version: 2, offset: 4, commitTimestamp: 78 });
    // v4: compact metadata and a tagged-field section (one unknown tag, skipped).
    const v4 = Buffer.concat([i16(4), i64(5), i32(2), cstr('meta'), i64(79), uvarint(1), uvarint(9), uvarint(2), Buffer.from([1, 2])]);
    expect(decodeOffsetCommitValue(v4)).toEqual({ version: 4, offset: 5, leaderEpoch: 2, metadata: 'meta', commitTimestamp: 79, expireTimestamp: -1 });
  });

  it('refuses damaged or unknown records with OffsetsRecordError, never a crash', () => {
    const good = encodeOffsetCommitValue({ offset: 1, leaderEpoch: 0, metadata: 'abc', commitTimestamp: 2, expireTimestamp: -1 });
    for (let cut = 0; cut < good.length; cut++) expect(() => decodeOffsetCommitValue(good.subarray(0, cut))).toThrow(OffsetsRecordError);
    expect(() => decodeOffsetCommitValue(Buffer.concat([i16(5), good.subarray(2)]))).toThrow(/unknown OffsetCommitValue version 5/);
    expect(() => decodeOffsetsTopicKey(Buffer.concat([i16(3), str('g')]))).toThrow(/unknown __consumer_offsets key version 3/);
    expect(() => decodeOffsetsTopicKey(Buffer.concat([i16(1), i16(50), Buffer.from('short')]))).toThrow(OffsetsRecordError);
    expect(() => decodeOffsetsTopicKey(Buffer.from([0x83, 0xa1, 0x67]))).toThrow(OffsetsRecordError);
  });
});

describe('GroupMetadataKey / GroupMetadataValue', () => {
  const subscription = encodeSubscription({ topics: ['orders'] });
  const assignment = encodeAssignment({ assignedPartitions: [{ topic: 'orders', partitions: [0, 2] }] });
  const group: GroupMetadataRecord = {
    protocolType: 'consumer',
    generation: 4,
    protocol: 'range',
    leader: 'm-1',
    currentStateTimestamp: 1_700_000_000_000,
    members: [
      { memberId: 'm-1', groupInstanceId: null, clientId: 'c1', clientHost: '/127.0.0.1', rebalanceTimeoutMs: 300_000, sessionTimeoutMs: 45_000, subscription, assignment },
      { memberId: 'm-2', groupInstanceId: 'static-2', clientId: 'c2', clientHost: '/127.0.0.2', rebalanceTimeoutMs: 60_000, sessionTimeoutMs: 10_000, subscription, assignment: Buffer.alloc(0) },
    ],
  };

  it('writes key version 2 and value version 3 byte for byte', () => {
    expect(encodeGroupMetadataKey('billing')).toEqual(Buffer.concat([i16(2), str('billing')]));
    expect(decodeOffsetsTopicKey(encodeGroupMetadataKey('billing'))).toEqual({ type: 'group', version: 2, groupId: 'billing' });
    const member = (m: GroupMetadataRecord['members'][number]) =>
      Buffer.concat([str(m.memberId), str(m.groupInstanceId), str(m.clientId), str(m.clientHost), i32(m.rebalanceTimeoutMs), i32(m.sessionTimeoutMs), bytes(m.subscription), bytes(m.assignment)]);
    const expected = Buffer.concat([i16(3), str('consumer'), i32(4), str('range'), str('m-1'), i64(1_700_000_000_000), i32(2), member(group.members[0]!), member(group.members[1]!)]);
    const b = encodeGroupMetadataValue(group);
    expect(b).toEqual(expected);
    expect(decodeGroupMetadataValue(b)).toEqual({ version: 3, ...group });
  });

  it('writes an Empty group with null protocol and leader', () => {
    const empty: GroupMetadataRecord = { protocolType: 'consumer', generation: 5, protocol: null, leader: null, currentStateTimestamp: 12, members: [] };
    const b = encodeGroupMetadataValue(empty);
    expect(b).toEqual(Buffer.concat([i16(3), str('consumer'), i32(5), i16(-1), i16(-1), i64(12), i32(0)]));
    expect(decodeGroupMetadataValue(b)).toEqual({ version: 3, ...empty });
  });

  it('reads versions 0 (no rebalance timeout, no state timestamp) and the flexible 4', () => {
    const v0 = Buffer.concat([i16(0), str('consumer'), i32(1), str('range'), str('a'), i32(1), str('a'), str('cid'), str('/h'), i32(30_000), bytes(Buffer.from([1])), bytes(Buffer.from([2]))]);
    expect(decodeGroupMetadataValue(v0)).toEqual({
      version: 0,
      protocolType: 'consumer',
      generation: 1,
      protocol: 'range',
      leader: 'a',
      currentStateTimestamp: -1,
      members: [{ memberId: 'a', groupInstanceId: null, clientId: 'cid', clientHost: '/h', rebalanceTimeoutMs: -1, sessionTimeoutMs: 30_000, subscription: Buffer.from([1]), assignment: Buffer.from([2]) }],
    });
    const v4 = Buffer.concat([
      i16(4), cstr('consumer'), i32(2), cstr(null), cstr(null), i64(9), uvarint(2),
      cstr('m'), cstr(null), cstr('c'), cstr('/h'), i32(5), i32(6), uvarint(2), Buffer.from([7]), uvarint(1), uvarint(0),
      uvarint(0),
    ]);
    expect(decodeGroupMetadataValue(v4)).toEqual({
      version: 4,
      protocolType: 'consumer',
      generation: 2,
      protocol: null,
      leader: null,
      currentStateTimestamp: 9,
      members: [{ memberId: 'm', groupInstanceId: null, clientId: 'c', clientHost: '/h', rebalanceTimeoutMs: 5, sessionTimeoutMs: 6, subscription: Buffer.from([7]), assignment: Buffer.alloc(0) }],
    });
  });

  it('prints records as kafka-dump-log.sh --offsets-decoder does', () => {
    const key = encodeOffsetCommitKey({ groupId: 'g', topic: 't', partition: 1 });
    expect(parseOffsetsRecord(0, key, encodeOffsetCommitValue({ offset: 10, leaderEpoch: 2, metadata: 'm', commitTimestamp: 99, expireTimestamp: -1 }))).toEqual({
      key: '{"type":"1","data":{"group":"g","topic":"t","partition":1}}',
      payload: '{"version":"3","data":{"offset":10,"leaderEpoch":2,"metadata":"m","commitTimestamp":99}}',
    });
    expect(parseOffsetsRecord(1, key, encodeOffsetCommitValue({ offset: 10, leaderEpoch: 2, metadata: '', commitTimestamp: 99, expireTimestamp: 100 })).payload).toBe(
      '{"version":"1","data":{"offset":10,"metadata":"","commitTimestamp":99,"expireTimestamp":100}}',
    );
    expect(parseOffsetsRecord(2, key, null).payload).toBe('<DELETE>');
    const g = parseOffsetsRecord(3, encodeGroupMetadataKey('billing'), encodeGroupMetadataValue(group));
    expect(g.key).toBe('{"type":"2","data":{"group":"billing"}}');
    const data = JSON.parse(g.payload!) as { version: string; data: { members: { subscription: unknown; assignment: unknown }[] } };
    expect(data.version).toBe('3');
    expect(data.data.members[0]!.subscription).toEqual({ topics: ['orders'], userData: null, ownedPartitions: [], generationId: -1, rackId: null });
    expect(data.data.members[0]!.assignment).toEqual({ assignedPartitions: [{ topic: 'orders', partitions: [0, 2] }], userData: null });
    // Bytes that do not decode stay bytes (base64 in JSON), as in Kafka.
    expect(data.data.members[1]!.assignment).toBe('');
    expect(parseOffsetsRecord(4, Buffer.from([0, 9]), null).key).toMatch(/^Error at offset 4, skipping\. unknown __consumer_offsets key version 9/);
  });
});

describe("a group's partition of __consumer_offsets", () => {
  it("is Java's String.hashCode, masked to 31 bits, modulo the partition count", () => {
    expect(javaStringHashCode('')).toBe(0);
    expect(javaStringHashCode('a')).toBe(97);
    expect(javaStringHashCode('hello')).toBe(99162322);
    // s[0]*31^(n-1) + ... with 32-bit wrap-around: "polygenelubricants" hashes to Integer.MIN_VALUE,
    // where Math.abs would stay negative; Kafka's Utils.abs (& 0x7fffffff) gives 0.
    expect(javaStringHashCode('polygenelubricants')).toBe(-2147483648);
    expect(offsetsPartitionFor('polygenelubricants', 50)).toBe(0);
    // UTF-16 code units, as Java sees them: a character outside the BMP is two (a surrogate pair).
    expect(javaStringHashCode('😀')).toBe(0xd83d * 31 + 0xde00);
    expect(javaStringHashCode('é')).toBe(0xe9);
    // A longer string wraps around 2^32 (computed here the slow way, without Math.imul).
    let h = 0;
    for (const c of 'hello world') h = (h * 31 + c.charCodeAt(0)) % 2 ** 32;
    const signed = h >= 2 ** 31 ? h - 2 ** 32 : h;
    expect(javaStringHashCode('hello world')).toBe(signed);
    expect(offsetsPartitionFor('hello world', 50)).toBe((signed & 0x7fffffff) % 50);
    expect(offsetsPartitionFor('hello', 50)).toBe(99162322 % 50);
  });
});
