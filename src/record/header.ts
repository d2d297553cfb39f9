/**
 * The 61-byte RecordBatch v2 header (layout in layout.ts): read it into a plain object,
 * write it, and patch the two fields a broker owns.
 *
 * int64 fields are read as hi * 2^32 + lo into a JS number (no BigInt on the hot path):
 * exact up to 2^53, which no offset, timestamp or producer id in practice reaches.
 *
 * Pure functions over the caller's Buffer; thread-safe as long as nobody else writes the
 * same bytes at the same time.
 */
import { crc32c } from '../native.js';
import { CorruptRecordError } from './errors.js';
import {
  ATTRIBUTES_OFFSET,
  ATTRIBUTE_COMPRESSION_MASK,
  ATTRIBUTE_CONTROL,
  ATTRIBUTE_DELETE_HORIZON,
  ATTRIBUTE_TIMESTAMP_TYPE,
  ATTRIBUTE_TRANSACTIONAL,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  CRC_OFFSET,
  CRC_START,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORD_BATCH_OVERHEAD,
  type Compression,
  type TimestampType,
} from './layout.js';

const TWO_32 = 4294967296;

/** Every header field, plus what follows from them. */
export interface BatchHeader {
  baseOffset: number;
  /** Bytes after the length field; the batch is batchLength + 12 bytes. */
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  /** As stored (uint32); not checked here, see verifyBatch. */
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
  // derived
  /** Codec id from attributes bits 0-2 (may be 5..7 in corrupt input: readers reject those). */
  compression: Compression;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  hasDeleteHorizonMs: boolean;
  /** baseOffset + lastOffsetDelta */
  lastOffset: number;
  /** batchLength + 12: the whole batch, header included. */
  sizeInBytes: number;
}

/** Reads a signed int64 as a number (exact within ±2^53). */
export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_32 + buf.readUInt32BE(pos + 4);
}

/** Writes a safe integer as a signed int64. */
export function writeInt64(buf: Buffer, pos: number, value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`int64 field must be a safe integer, got ${value}`);
  const hi = Math.floor(value / TWO_32);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(value - hi * TWO_32, pos + 4);
}

/**
 * Reads the header of the batch at `pos`. Throws CorruptRecordError when fewer than 61
 * bytes remain or magic is not 2; checks nothing else (see verifyBatch for that).
 */
export function readBatchHeader(buf: Buffer, pos = 0): BatchHeader {
  if (pos < 0 || pos + RECORD_BATCH_OVERHEAD > buf.length) {
    throw new CorruptRecordError(
      `batch at byte ${pos}: ${Math.max(0, buf.length - pos)} bytes left, a batch header needs ${RECORD_BATCH_OVERHEAD}`,
      pos,
    );
  }
  const magic = buf.readInt8(pos + MAGIC_OFFSET);
  if (magic !== MAGIC) {
    throw new CorruptRecordError(`batch at byte ${pos}: magic ${magic}, only RecordBatch v2 (magic 2) is supported`, pos);
  }
  const baseOffset = readInt64(buf, pos + BASE_OFFSET_OFFSET);
  const batchLength = buf.readInt32BE(pos + LENGTH_OFFSET);
  const attributes = buf.readInt16BE(pos + ATTRIBUTES_OFFSET);
  const lastOffsetDelta = buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
  return {
    baseOffset,
    batchLength,
    partitionLeaderEpoch: buf.readInt32BE(pos + PARTITION_LEADER_EPOCH_OFFSET),
    magic,
    crc: buf.readUInt32BE(pos + CRC_OFFSET),
    attributes,
    lastOffsetDelta,
    baseTimestamp: readInt64(buf, pos + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: readInt64(buf, pos + MAX_TIMESTAMP_OFFSET),
    producerId: readInt64(buf, pos + PRODUCER_ID_OFFSET),
    producerEpoch: buf.readInt16BE(pos + PRODUCER_EPOCH_OFFSET),
    baseSequence: buf.readInt32BE(pos + BASE_SEQUENCE_OFFSET),
    recordsCount: buf.readInt32BE(pos + RECORDS_COUNT_OFFSET),
    compression: (attributes & ATTRIBUTE_COMPRESSION_MASK) as Compression,
    timestampType: (attributes & ATTRIBUTE_TIMESTAMP_TYPE ? 1 : 0) as TimestampType,
    isTransactional: (attributes & ATTRIBUTE_TRANSACTIONAL) !== 0,
    isControl: (attributes & ATTRIBUTE_CONTROL) !== 0,
    hasDeleteHorizonMs: (attributes & ATTRIBUTE_DELETE_HORIZON) !== 0,
    lastOffset: baseOffset + lastOffsetDelta,
    sizeInBytes: batchLength + LOG_OVERHEAD,
  };
}

/** The header fields a writer chooses; the rest (length, magic, crc) follow from the bytes. */
export interface BatchHeaderFields {
  baseOffset: number;
  partitionLeaderEpoch: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
}

/**
 * Writes the header of a batch whose records already sit at [pos + 61, pos + sizeInBytes),
 * then its CRC. The caller has sized `buf`.
 */
export function writeBatchHeader(buf: Buffer, pos: number, sizeInBytes: number, h: BatchHeaderFields): void {
  writeInt64(buf, pos + BASE_OFFSET_OFFSET, h.baseOffset);
  buf.writeInt32BE(sizeInBytes - LOG_OVERHEAD, pos + LENGTH_OFFSET);
  buf.writeInt32BE(h.partitionLeaderEpoch, pos + PARTITION_LEADER_EPOCH_OFFSET);
  buf[pos + MAGIC_OFFSET] = MAGIC;
  buf.writeInt16BE(h.attributes, pos + ATTRIBUTES_OFFSET);
  buf.writeInt32BE(h.lastOffsetDelta, pos + LAST_OFFSET_DELTA_OFFSET);
  writeInt64(buf, pos + BASE_TIMESTAMP_OFFSET, h.baseTimestamp);
  writeInt64(buf, pos + MAX_TIMESTAMP_OFFSET, h.maxTimestamp);
  writeInt64(buf, pos + PRODUCER_ID_OFFSET, h.producerId);
  buf.writeInt16BE(h.producerEpoch, pos + PRODUCER_EPOCH_OFFSET);
  buf.writeInt32BE(h.baseSequence, pos + BASE_SEQUENCE_OFFSET);
  buf.writeInt32BE(h.recordsCount, pos + RECORDS_COUNT_OFFSET);
  buf.writeUInt32BE(computeBatchCrc(buf, pos, sizeInBytes), pos + CRC_OFFSET);
}

/** CRC32C of [pos + 21, pos + sizeInBytes): what the crc field must hold. */
export function computeBatchCrc(buf: Buffer, pos: number, sizeInBytes: number): number {
  return crc32c(buf.subarray(pos + CRC_START, pos + sizeInBytes));
}

/**
 * Sets baseOffset of the batch at `pos`. The field is outside the CRC, so the batch stays
 * valid: this is the broker's one write on the produce path.
 */
export function setBaseOffset(buf: Buffer, pos: number, baseOffset: number): void {
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) {
    throw new RangeError(`baseOffset must be a non-negative safe integer, got ${baseOffset}`);
  }
  writeInt64(buf, pos + BASE_OFFSET_OFFSET, baseOffset);
}

/** Sets partitionLeaderEpoch of the batch at `pos` (outside the CRC too). */
export function setPartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + PARTITION_LEADER_EPOCH_OFFSET);
}

/**
 * Turns the batch at `pos` into a LogAppendTime batch stamped `timestamp` (what a broker
 * with message.timestamp.type=LogAppendTime does). Both fields are inside the CRC, so this
 * recomputes it: a pass over the batch, unlike setBaseOffset.
 */
export function setLogAppendTime(buf: Buffer, pos: number, timestamp: number): void {
  const sizeInBytes = buf.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD;
  const attributes = buf.readInt16BE(pos + ATTRIBUTES_OFFSET) | ATTRIBUTE_TIMESTAMP_TYPE;
  buf.writeInt16BE(attributes, pos + ATTRIBUTES_OFFSET);
  writeInt64(buf, pos + MAX_TIMESTAMP_OFFSET, timestamp);
  buf.writeUInt32BE(computeBatchCrc(buf, pos, sizeInBytes), pos + CRC_OFFSET);
}
