import { describe, expect, it } from 'vitest';
import { crc32c } from '../src/native.js';
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  buildBatch,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  readBatchHeader,
  readRecords,
  RECORDS_COUNT_OFFSET,
  RECORDS_OFFSET,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  TimestampType,
  verifyBatch,
} from '../src/record/index.js';

/** Bitwise CRC32C (reflected Castagnoli polynomial 0x82F63B78), straight from the definition. */
function crc32cReference(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Hex with `// comments` to the end of each line. */
const hex = (s: string): Buffer => Buffer.from(s.replace(/\/\/.*$/gm, '').replace(/\s+/g, ''), 'hex');

describe('CRC32C', () => {
  it('has the standard check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32cReference(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('agrees with the bitwise definition, also on a subarray', () => {
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 131 + 7) & 0xff));
    expect(crc32c(data)).toBe(crc32cReference(data));
    expect(crc32c(data.subarray(13, 977))).toBe(crc32cReference(data.subarray(13, 977)));
  });
});

describe('RecordBatch v2 layout', () => {
  // Two records assembled by hand from Kafka's documented layout.
  //   record 0: key "k", value "v", timestamp T0, no headers
  //   record 1: key null, value "hi", timestamp T0+5, one header "h" -> null
  const T0 = 1_700_000_000_000; // 0x0000018BCFE56800
  const expected = hex(`
    0000000000000000   // baseOffset 0
    00000046           // batchLength 70 (= 82 - 12)
    ffffffff           // partitionLeaderEpoch -1
    02                 // magic
    3291c928           // crc (CRC32C of bytes 21..81, checked below against the bitwise definition)
    0000               // attributes: no compression, CreateTime, not transactional, not control
    00000001           // lastOffsetDelta 1
    0000018bcfe56800   // baseTimestamp T0
    0000018bcfe56805   // maxTimestamp T0 + 5
    ffffffffffffffff   // producerId -1
    ffff               // producerEpoch -1
    ffffffff           // baseSequence -1
    00000002           // recordsCount 2
    10                 // record 0 length 8 (zigzag)
      00 00 00         // attributes, timestampDelta 0, offsetDelta 0
      02 6b            // keyLength 1, "k"
      02 76            // valueLength 1, "v"
      00               // headerCount 0
    16                 // record 1 length 11
      00 0a 02         // attributes, timestampDelta 5, offsetDelta 1
      01               // keyLength -1 (null)
      04 6869          // valueLength 2, "hi"
      02               // headerCount 1
      02 68 01         // header key length 1, "h", value length -1 (null)
  `);

  const records = [
    { key: 'k', value: 'v', timestamp: T0 },
    { key: null, value: Buffer.from('hi'), timestamp: T0 + 5, headers: [{ key: 'h', value: null }] },
  ];

  it('the hand-assembled bytes are self-consistent', () => {
    expect(expected.length).toBe(82);
    expect(expected.readUInt32BE(17)).toBe(crc32cReference(expected.subarray(21)));
  });

  it('buildBatch produces exactly the hand-assembled bytes', () => {
    expect(buildBatch(records).toString('hex')).toBe(expected.toString('hex'));
  });

  it('reads the hand-assembled bytes back', () => {
    expect(verifyBatch(expected)).toBe(82);
    const out = readRecords(expected);
    expect(out.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString() ?? null])).toEqual([
      [0, T0, 'k', 'v'],
      [1, T0 + 5, null, 'hi'],
    ]);
    expect(out[1]!.headers).toEqual([{ key: 'h', value: null }]);
  });

  it('puts every header field at its documented offset', () => {
    expect([
      BASE_OFFSET_OFFSET,
      LENGTH_OFFSET,
      PARTITION_LEADER_EPOCH_OFFSET,
      MAGIC_OFFSET,
      CRC_OFFSET,
      ATTRIBUTES_OFFSET,
      LAST_OFFSET_DELTA_OFFSET,
      BASE_TIMESTAMP_OFFSET,
      MAX_TIMESTAMP_OFFSET,
      PRODUCER_ID_OFFSET,
      PRODUCER_EPOCH_OFFSET,
      BASE_SEQUENCE_OFFSET,
      RECORDS_COUNT_OFFSET,
      RECORDS_OFFSET,
    ]).toEqual([0, 8, 12, 16, 17, 21, 23, 27, 35, 43, 51, 53, 57, 61]);

    const b = buildBatch([{ value: 'x', timestamp: 1000 }, { value: 'y', timestamp: 3000 }, { value: 'z', timestamp: 2000 }], {
      baseOffset: 0x0102030405,
      partitionLeaderEpoch: 0x0a0b0c0d,
      producerId: 0x1122334455,
      producerEpoch: 0x6677,
      baseSequence: 0x01020304,
      transactional: true,
      compression: 'lz4',
    });
    expect(b.subarray(0, 8).toString('hex')).toBe('0000000102030405');
    expect(b.readInt32BE(8)).toBe(b.length - 12);
    expect(b.readInt32BE(12)).toBe(0x0a0b0c0d);
    expect(b[16]).toBe(2);
    expect(b.readUInt32BE(17)).toBe(crc32cReference(b.subarray(21)));
    expect(b.readInt16BE(21)).toBe(0x10 | 3); // transactional, lz4
    expect(b.readInt32BE(23)).toBe(2);
    expect(b.subarray(27, 35).toString('hex')).toBe('00000000000003e8');
    expect(b.subarray(35, 43).toString('hex')).toBe('0000000000000bb8');
    expect(b.subarray(43, 51).toString('hex')).toBe('0000001122334455');
    expect(b.readInt16BE(51)).toBe(0x6677);
    expect(b.readInt32BE(53)).toBe(0x01020304);
    expect(b.readInt32BE(57)).toBe(3);
    expect(b.readUInt32LE(61)).toBe(0x184d2204); // the LZ4 frame starts right after the header

    expect(readBatchHeader(b)).toEqual({
      baseOffset: 0x0102030405,
      batchLength: b.length - 12,
      partitionLeaderEpoch: 0x0a0b0c0d,
      magic: 2,
      crc: b.readUInt32BE(17),
      attributes: 0x13,
      lastOffsetDelta: 2,
      baseTimestamp: 1000,
      maxTimestamp: 3000,
      producerId: 0x1122334455,
      producerEpoch: 0x6677,
      baseSequence: 0x01020304,
      recordsCount: 3,
      compression: 3,
      timestampType: TimestampType.CreateTime,
      isTransactional: true,
      isControl: false,
      hasDeleteHorizonMs: false,
      lastOffset: 0x0102030405 + 2,
      sizeInBytes: b.length,
    });
  });
});

describe('patching a stored batch', () => {
  const batch = (): Buffer => buildBatch([{ key: 'a', value: 'b', timestamp: 5 }, { value: 'c', timestamp: 6 }]);

  it('setBaseOffset changes only bytes 0-7 and keeps the CRC valid', () => {
    const b = batch();
    const before = Buffer.from(b);
    setBaseOffset(b, 0, 2 ** 40 + 17);
    expect(b.subarray(8).equals(before.subarray(8))).toBe(true);
    expect(verifyBatch(b)).toBe(b.length);
    expect(readBatchHeader(b).baseOffset).toBe(2 ** 40 + 17);
    expect(readRecords(b).map((r) => r.offset)).toEqual([2 ** 40 + 17, 2 ** 40 + 18]);
    expect(() => setBaseOffset(b, 0, -1)).toThrow(RangeError);
    expect(() => setBaseOffset(b, 0, 1.5)).toThrow(RangeError);
  });

  it('patches a batch in the middle of a larger buffer', () => {
    const one = batch();
    const chain = Buffer.concat([Buffer.alloc(7), one, one]);
    setBaseOffset(chain, 7 + one.length, 123);
    setPartitionLeaderEpoch(chain, 7 + one.length, 9);
    expect(verifyBatch(chain, 7 + one.length)).toBe(one.length);
    expect(readBatchHeader(chain, 7 + one.length)).toMatchObject({ baseOffset: 123, partitionLeaderEpoch: 9 });
    expect(readBatchHeader(chain, 7)).toMatchObject({ baseOffset: 0, partitionLeaderEpoch: -1 });
  });

  it('setPartitionLeaderEpoch keeps the CRC valid', () => {
    const b = batch();
    setPartitionLeaderEpoch(b, 0, 42);
    expect(verifyBatch(b)).toBe(b.length);
    expect(readBatchHeader(b).partitionLeaderEpoch).toBe(42);
  });

  it('setLogAppendTime stamps the batch and recomputes the CRC', () => {
    const b = batch();
    setLogAppendTime(b, 0, 1_700_000_000_123);
    expect(verifyBatch(b)).toBe(b.length);
    const h = readBatchHeader(b);
    expect(h.timestampType).toBe(TimestampType.LogAppendTime);
    expect(h.maxTimestamp).toBe(1_700_000_000_123);
    expect(readRecords(b).map((r) => r.timestamp)).toEqual([1_700_000_000_123, 1_700_000_000_123]);
  });
});
