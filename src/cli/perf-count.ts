/**
 * Counting consumed records for `sluice perf consume` without building them: a fetched batch
 * is checked (CRC32C, as Kafka's consumer does with check.crcs), decompressed into a reused
 * scratch buffer (lz4) and its records walked for their offset delta and key and value
 * lengths. No object is made per record: building 3 M record objects (views of key, value,
 * headers) cost most of the tool's CPU time, in decoding and in garbage collection.
 */
import { crc32c } from '../native.js';
import { decompress } from '../record/compression.js';
import { CorruptRecordError } from '../record/errors.js';
import { readInt64 } from '../record/header.js';
import {
  ATTRIBUTE_COMPRESSION_MASK,
  ATTRIBUTE_CONTROL,
  ATTRIBUTE_TIMESTAMP_TYPE,
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  Compression,
  CRC_OFFSET,
  CRC_START,
  MAX_TIMESTAMP_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORDS_OFFSET,
} from '../record/layout.js';
import { lz4FrameDecode } from '../record/lz4-decode.js';

/** What countBatch found; reused between calls (one per thread). */
export interface BatchCount {
  /** Records at or after the position (and within the limit). */
  records: number;
  /** Their key and value bytes, as kafka-consumer-perf-test counts them. */
  bytes: number;
  /** The offset after the last record counted. */
  next: number;
  /** False when the limit stopped the count before the batch's end. */
  complete: boolean;
}

const MAX_DECOMPRESSED = 64 * 1024 * 1024;

let at = 0;
/** A zigzag varint at data[at], advancing `at`; bounds are checked by the caller's record end. */
function varint(data: Uint8Array): number {
  let z = 0;
  let shift = 0;
  for (;;) {
    const b = data[at++]!;
    if (shift === 28) {
      z |= (b & 0x0f) << 28;
      break;
    }
    z |= (b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7;
  }
  return (z >>> 1) ^ -(z & 1);
}

/** Skips a varint of up to 10 bytes (a varlong) at data[at]. */
function skipVarlong(data: Uint8Array): void {
  for (let i = 0; i < 10 && data[at++]! >= 0x80; i++);
}

/**
 * Counts the records of `batch` with offsets from `position`, at most `limit` of them, into
 * `out`. Control batches (transaction markers) count nothing. Throws CorruptRecordError when
 * the CRC or a record's framing is wrong.
 */
export function countBatch(batch: Buffer, position: number, limit: number, out: BatchCount): BatchCount {
  const baseOffset = readInt64(batch, BASE_OFFSET_OFFSET);
  out.records = 0;
  out.bytes = 0;
  out.next = position;
  out.complete = limit > 0;
  if (batch.readUInt32BE(CRC_OFFSET) !== crc32c(batch.subarray(CRC_START))) {
    throw new CorruptRecordError(`batch at offset ${baseOffset}: CRC32C mismatch`);
  }
  const attributes = batch.readInt16BE(ATTRIBUTES_OFFSET);
  const count = batch.readInt32BE(RECORDS_COUNT_OFFSET);
  if ((attributes & ATTRIBUTE_CONTROL) !== 0 || limit <= 0) return out;
  const codec = attributes & ATTRIBUTE_COMPRESSION_MASK;
  let data: Buffer = batch;
  let start = RECORDS_OFFSET;
  let end = batch.length;
  if (codec === Compression.Lz4) {
    data = lz4FrameDecode(batch, start, end, MAX_DECOMPRESSED, true);
    start = 0;
    end = data.length;
  } else if (codec !== Compression.None) {
    data = decompress(codec, batch.subarray(start, end), { maxSize: MAX_DECOMPRESSED });
    start = 0;
    end = data.length;
  }
  at = start;
  let records = 0;
  let bytes = 0;
  let i = 0;
  for (; i < count && records < limit; i++) {
    if (at >= end) throw new CorruptRecordError(`batch at offset ${baseOffset}: the records end after ${i} of ${count}`);
    const length = varint(data);
    const recordEnd = at + length;
    if (length <= 0 || recordEnd > end) throw new CorruptRecordError(`batch at offset ${baseOffset}: record ${i} has a bad length ${length}`);
    at++; // attributes
    skipVarlong(data); // timestampDelta
    const offset = baseOffset + varint(data);
    const keyLength = varint(data);
    if (keyLength > 0) at += keyLength;
    const valueLength = varint(data);
    if (at > recordEnd || (valueLength > 0 && at + valueLength > recordEnd)) throw new CorruptRecordError(`batch at offset ${baseOffset}: record ${i} runs past its length`);
    if (offset >= position) {
      records++;
      bytes += (keyLength > 0 ? keyLength : 0) + (valueLength > 0 ? valueLength : 0);
      out.next = offset + 1;
    }
    at = recordEnd;
  }
  out.records = records;
  out.bytes = bytes;
  out.complete = i === count;
  return out;
}

const STAMP_KEY = Buffer.from('perf.sent');

/**
 * Calls `visit` with the send time each record of `batch` (from offset `position` on) carries
 * in its 8-byte `perf.sent` header, the batch's LogAppendTime (or -1 under CreateTime) and its value's length,
 * reading the bytes in place: end-to-end timing without an object per record. Returns the
 * records walked (stamped or not). Throws CorruptRecordError as countBatch does.
 */
export function forEachStamp(batch: Buffer, position: number, visit: (sentMs: number, appendMs: number, valueBytes: number) => void): number {
  const baseOffset = readInt64(batch, BASE_OFFSET_OFFSET);
  if (batch.readUInt32BE(CRC_OFFSET) !== crc32c(batch.subarray(CRC_START))) {
    throw new CorruptRecordError(`batch at offset ${baseOffset}: CRC32C mismatch`);
  }
  const attributes = batch.readInt16BE(ATTRIBUTES_OFFSET);
  if ((attributes & ATTRIBUTE_CONTROL) !== 0) return 0;
  const appendMs = (attributes & ATTRIBUTE_TIMESTAMP_TYPE) !== 0 ? readInt64(batch, MAX_TIMESTAMP_OFFSET) : -1;
  const count = batch.readInt32BE(RECORDS_COUNT_OFFSET);
  const codec = attributes & ATTRIBUTE_COMPRESSION_MASK;
  let data: Buffer = batch;
  let end = batch.length;
  at = RECORDS_OFFSET;
  if (codec !== Compression.None) {
    data = codec === Compression.Lz4 ? lz4FrameDecode(batch, RECORDS_OFFSET, end, MAX_DECOMPRESSED, true) : decompress(codec, batch.subarray(RECORDS_OFFSET), { maxSize: MAX_DECOMPRESSED });
    at = 0;
    end = data.length;
  }
  let walked = 0;
  for (let i = 0; i < count; i++) {
    if (at >= end) throw new CorruptRecordError(`batch at offset ${baseOffset}: the records end after ${i} of ${count}`);
    const length = varint(data);
    const recordEnd = at + length;
    if (length <= 0 || recordEnd > end) throw new CorruptRecordError(`batch at offset ${baseOffset}: record ${i} has a bad length ${length}`);
    at++;
    skipVarlong(data);
    const offset = baseOffset + varint(data);
    const keyLength = varint(data);
    if (keyLength > 0) at += keyLength;
    const valueLength = varint(data);
    if (valueLength > 0) at += valueLength;
    if (offset >= position) {
      walked++;
      const headers = at < recordEnd ? varint(data) : 0;
      for (let h = 0; h < headers && at < recordEnd; h++) {
        const k = varint(data);
        const keyAt = at;
        at += Math.max(0, k);
        const v = varint(data);
        if (k === STAMP_KEY.length && v === 8 && at + 8 <= recordEnd && data.compare(STAMP_KEY, 0, k, keyAt, keyAt + k) === 0) {
          visit(data.readDoubleLE(at), appendMs, valueLength > 0 ? valueLength : 0);
          break;
        }
        if (v > 0) at += v;
      }
    }
    at = recordEnd;
  }
  return walked;
}
