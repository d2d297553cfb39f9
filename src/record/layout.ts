/**
 * The RecordBatch v2 layout (magic 2), as Kafka writes it. All integers big-endian.
 *
 *   offset  size  field
 *        0     8  baseOffset            patched by the broker on append (outside the CRC)
 *        8     4  batchLength           bytes after this field: sizeInBytes - 12
 *       12     4  partitionLeaderEpoch  patched by the broker on append (outside the CRC)
 *       16     1  magic                 2
 *       17     4  crc                   CRC32C (unsigned) of bytes [21, end of batch)
 *       21     2  attributes            see ATTRIBUTE_* below
 *       23     4  lastOffsetDelta       count - 1 for a freshly built batch
 *       27     8  baseTimestamp         timestamp of the first record
 *       35     8  maxTimestamp          largest record timestamp (or the log append time)
 *       43     8  producerId            -1 when not idempotent
 *       51     2  producerEpoch         -1 when not idempotent
 *       53     4  baseSequence          -1 when not idempotent
 *       57     4  recordsCount
 *       61     .  records               compressed as one blob when the codec is not none
 *
 * A record (all varints zigzag, see varint.ts):
 *
 *   length varint (bytes after this field) | attributes int8 (unused, 0)
 *   timestampDelta varlong | offsetDelta varint
 *   keyLength varint (-1 = null) | key | valueLength varint (-1 = null) | value
 *   headerCount varint | headers: keyLength varint, key (utf8), valueLength varint (-1 = null), value
 *
 * The constants chain one into the next, as in Kafka's DefaultRecordBatch, so a reader can
 * check each offset against the one before it.
 */

export const BASE_OFFSET_OFFSET = 0;
export const BASE_OFFSET_LENGTH = 8;
export const LENGTH_OFFSET = BASE_OFFSET_OFFSET + BASE_OFFSET_LENGTH; // 8
export const LENGTH_LENGTH = 4;
export const PARTITION_LEADER_EPOCH_OFFSET = LENGTH_OFFSET + LENGTH_LENGTH; // 12
export const PARTITION_LEADER_EPOCH_LENGTH = 4;
export const MAGIC_OFFSET = PARTITION_LEADER_EPOCH_OFFSET + PARTITION_LEADER_EPOCH_LENGTH; // 16
export const MAGIC_LENGTH = 1;
export const CRC_OFFSET = MAGIC_OFFSET + MAGIC_LENGTH; // 17
export const CRC_LENGTH = 4;
export const ATTRIBUTES_OFFSET = CRC_OFFSET + CRC_LENGTH; // 21
export const ATTRIBUTES_LENGTH = 2;
export const LAST_OFFSET_DELTA_OFFSET = ATTRIBUTES_OFFSET + ATTRIBUTES_LENGTH; // 23
export const LAST_OFFSET_DELTA_LENGTH = 4;
export const BASE_TIMESTAMP_OFFSET = LAST_OFFSET_DELTA_OFFSET + LAST_OFFSET_DELTA_LENGTH; // 27
export const BASE_TIMESTAMP_LENGTH = 8;
export const MAX_TIMESTAMP_OFFSET = BASE_TIMESTAMP_OFFSET + BASE_TIMESTAMP_LENGTH; // 35
export const MAX_TIMESTAMP_LENGTH = 8;
export const PRODUCER_ID_OFFSET = MAX_TIMESTAMP_OFFSET + MAX_TIMESTAMP_LENGTH; // 43
export const PRODUCER_ID_LENGTH = 8;
export const PRODUCER_EPOCH_OFFSET = PRODUCER_ID_OFFSET + PRODUCER_ID_LENGTH; // 51
export const PRODUCER_EPOCH_LENGTH = 2;
export const BASE_SEQUENCE_OFFSET = PRODUCER_EPOCH_OFFSET + PRODUCER_EPOCH_LENGTH; // 53
export const BASE_SEQUENCE_LENGTH = 4;
export const RECORDS_COUNT_OFFSET = BASE_SEQUENCE_OFFSET + BASE_SEQUENCE_LENGTH; // 57
export const RECORDS_COUNT_LENGTH = 4;
export const RECORDS_OFFSET = RECORDS_COUNT_OFFSET + RECORDS_COUNT_LENGTH; // 61

/** baseOffset + batchLength: the bytes in front of what batchLength counts. */
export const LOG_OVERHEAD = LENGTH_OFFSET + LENGTH_LENGTH; // 12
/** A batch with no records: the whole header. */
export const RECORD_BATCH_OVERHEAD = RECORDS_OFFSET; // 61
/** The smallest legal batchLength (a batch of zero records). */
export const MIN_BATCH_LENGTH = RECORD_BATCH_OVERHEAD - LOG_OVERHEAD; // 49
/** The CRC covers [CRC_START, end of batch). */
export const CRC_START = ATTRIBUTES_OFFSET;

/** The smallest record: length, attributes, timestampDelta, offsetDelta, keyLength, valueLength, headerCount, one byte each. */
export const MIN_RECORD_SIZE = 7;

export const MAGIC = 2;

// attributes (int16)
export const ATTRIBUTE_COMPRESSION_MASK = 0x07;
export const ATTRIBUTE_TIMESTAMP_TYPE = 0x08;
export const ATTRIBUTE_TRANSACTIONAL = 0x10;
export const ATTRIBUTE_CONTROL = 0x20;
export const ATTRIBUTE_DELETE_HORIZON = 0x40;

/** Codec ids in bits 0-2 of attributes. 5, 6 and 7 are not assigned. */
export const Compression = {
  None: 0,
  Gzip: 1,
  Snappy: 2,
  Lz4: 3,
  Zstd: 4,
} as const;
export type Compression = (typeof Compression)[keyof typeof Compression];

/** The codec names Kafka uses in `compression.type`. */
export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

const COMPRESSION_NAMES: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export function compressionName(codec: Compression): CompressionName {
  return COMPRESSION_NAMES[codec]!;
}

/** Accepts a Compression id or its Kafka name; throws RangeError on anything else. */
export function toCompression(codec: Compression | CompressionName | undefined): Compression {
  if (codec === undefined) return Compression.None;
  if (typeof codec === 'number') {
    if (codec >= 0 && codec <= 4 && (codec | 0) === codec) return codec;
  } else {
    const id = COMPRESSION_NAMES.indexOf(codec);
    if (id >= 0) return id as Compression;
  }
  throw new RangeError(`unknown compression codec ${JSON.stringify(codec)} (expected none, gzip, snappy, lz4 or zstd)`);
}

/** Bit 3 of attributes. */
export const TimestampType = {
  CreateTime: 0,
  LogAppendTime: 1,
} as const;
export type TimestampType = (typeof TimestampType)[keyof typeof TimestampType];

/** Values that mean "none" in the header: no producer id, epoch, sequence, leader epoch. */
export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;
