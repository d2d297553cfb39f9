/**
 * Reads RecordBatch v2 bytes (layout in layout.ts): walk a chain of batches, check one,
 * decode its records.
 *
 * Every length read from the bytes is checked against the bytes that hold it before it is
 * used, and every count is bounded by the bytes that would have to hold it, so hostile
 * input ends in CorruptRecordError: never an out-of-range read, an endless loop, or an
 * allocation larger than the input (or the decompression limit) justifies.
 *
 * Stateless and thread-safe. Records of an uncompressed batch are views (view.ts, no
 * copy) of the batch's Buffer: they live as long as it does, and if that Buffer views a
 * mapped segment, they read whatever the mapping holds.
 */
import { crc32c } from '../native.js';
import { decompress, DEFAULT_MAX_DECOMPRESSED_SIZE } from './compression.js';
import { CorruptRecordError } from './errors.js';
import { readBatchHeader, readInt64, type BatchHeader } from './header.js';
import {
  ATTRIBUTES_OFFSET,
  ATTRIBUTE_COMPRESSION_MASK,
  BASE_OFFSET_OFFSET,
  Compression,
  CRC_OFFSET,
  CRC_START,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC,
  MAGIC_OFFSET,
  MIN_BATCH_LENGTH,
  MIN_RECORD_SIZE,
  RECORDS_COUNT_OFFSET,
  RECORDS_OFFSET,
  TimestampType,
} from './layout.js';
import { readVarint, readVarlong, state } from './varint.js';
import { memoryOf, ViewBuffer } from './view.js';

export interface RecordHeaderOutput {
  key: string;
  value: Buffer | null;
}

export interface RecordOutput {
  offset: number;
  /** CreateTime: baseTimestamp + delta. LogAppendTime: the batch's maxTimestamp. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeaderOutput[];
}

export interface ReadOptions {
  /** Check the CRC before decoding (default true). */
  verifyCrc?: boolean;
  /** Bound on the decompressed records section (default 64 MiB). */
  maxDecompressedSize?: number;
  /** The batch's records section, already decompressed (for example on the worker pool). */
  decompressed?: Buffer;
}

export { readBatchHeader, type BatchHeader };

function corrupt(pos: number, baseOffset: number | undefined, what: string): CorruptRecordError {
  const at = baseOffset === undefined ? `batch at byte ${pos}` : `batch at byte ${pos} (baseOffset ${baseOffset})`;
  return new CorruptRecordError(`${at}: ${what}`, pos);
}

/**
 * Checks the batch at `pos`: length bounds, magic, CRC, codec bits, record count. Returns
 * its size in bytes; throws CorruptRecordError naming the position and the fault.
 */
export function verifyBatch(buf: Buffer, pos = 0): number {
  const left = buf.length - pos;
  if (pos < 0 || left < RECORDS_OFFSET) {
    throw corrupt(pos, undefined, `${Math.max(left, 0)} bytes left, a batch header needs ${RECORDS_OFFSET}`);
  }
  const baseOffset = readInt64(buf, pos + BASE_OFFSET_OFFSET);
  const batchLength = buf.readInt32BE(pos + LENGTH_OFFSET);
  if (batchLength < MIN_BATCH_LENGTH) {
    throw corrupt(pos, baseOffset, `batchLength ${batchLength} is below the minimum of ${MIN_BATCH_LENGTH}`);
  }
  const size = batchLength + LOG_OVERHEAD;
  if (size > left) throw corrupt(pos, baseOffset, `batch claims ${size} bytes but only ${left} are there`);
  const magic = buf.readInt8(pos + MAGIC_OFFSET);
  if (magic !== MAGIC) throw corrupt(pos, baseOffset, `magic is ${magic}, expected ${MAGIC}`);
  const stored = buf.readUInt32BE(pos + CRC_OFFSET);
  const computed = crc32c(buf.subarray(pos + CRC_START, pos + size));
  if (stored !== computed) {
    throw corrupt(pos, baseOffset, `CRC32C mismatch: stored 0x${hex(stored)}, computed 0x${hex(computed)}`);
  }
  const codec = buf.readInt16BE(pos + ATTRIBUTES_OFFSET) & ATTRIBUTE_COMPRESSION_MASK;
  if (codec > Compression.Zstd) throw corrupt(pos, baseOffset, `unknown compression codec ${codec}`);
  const count = buf.readInt32BE(pos + RECORDS_COUNT_OFFSET);
  if (count < 0) throw corrupt(pos, baseOffset, `negative record count ${count}`);
  if (codec === Compression.None && count > (size - RECORDS_OFFSET) / MIN_RECORD_SIZE) {
    throw corrupt(pos, baseOffset, `${count} records cannot fit in ${size - RECORDS_OFFSET} bytes`);
  }
  return size;
}

/** verifyBatch as a boolean. */
export function isValidBatch(buf: Buffer, pos = 0): boolean {
  try {
    verifyBatch(buf, pos);
    return true;
  } catch (err) {
    if (err instanceof CorruptRecordError) return false;
    throw err;
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/**
 * Iterates the batches of a chain in buf[start, end) as views (no copy), as a fetch
 * response or a segment slice holds them. A trailing partial batch ends the walk quietly
 * (Kafka's fetch semantics); a length below the minimum or a magic other than 2 throws
 * CorruptRecordError. CRCs are not checked here: see verifyBatch and readRecords.
 */
export function* batchesIn(buf: Buffer, start = 0, end = buf.length): Generator<Buffer, void, undefined> {
  if (end > buf.length) end = buf.length;
  let pos = start;
  while (end - pos >= LOG_OVERHEAD) {
    const batchLength = buf.readInt32BE(pos + LENGTH_OFFSET);
    if (batchLength < MIN_BATCH_LENGTH) {
      throw corrupt(pos, undefined, `batchLength ${batchLength} is below the minimum of ${MIN_BATCH_LENGTH}`);
    }
    const size = batchLength + LOG_OVERHEAD;
    if (end - pos < size) return;
    const magic = buf.readInt8(pos + MAGIC_OFFSET);
    if (magic !== MAGIC) throw corrupt(pos, undefined, `magic is ${magic}, expected ${MAGIC}`);
    yield buf.subarray(pos, pos + size);
    pos += size;
  }
}

/** Builds the caller's record object straight from the decoded fields (no intermediate object). */
export type RecordFactory<T> = (offset: number, timestamp: number, key: Buffer | null, value: Buffer | null, headers: RecordHeaderOutput[]) => T;

/** Shared by every record without headers (most of them): never mutate it. */
export const NO_HEADERS: RecordHeaderOutput[] = Object.freeze([]) as unknown as RecordHeaderOutput[];

const makeOutput: RecordFactory<RecordOutput> = (offset, timestamp, key, value, headers) => ({ offset, timestamp, key, value, headers });

/**
 * Decodes every record of the batch at the start of `batch`. Keys and values are views of
 * `batch` (uncompressed) or of the decompressed section. With `make`, each record becomes
 * whatever it returns, and records below `fromOffset` are skipped (not built). With `out`,
 * records are appended to it (and it is returned) instead of to a new array.
 */
export function readRecords(batch: Buffer, options?: ReadOptions): RecordOutput[];
export function readRecords<T>(batch: Buffer, options: ReadOptions, make: RecordFactory<T>, fromOffset?: number, out?: T[]): T[];
export function readRecords<T>(
  batch: Buffer,
  options: ReadOptions = {},
  make: RecordFactory<T> = makeOutput as unknown as RecordFactory<T>,
  fromOffset = -Infinity,
  out: T[] = [],
): T[] {
  let header: BatchHeader;
  if (options.verifyCrc ?? true) {
    verifyBatch(batch, 0);
    header = readBatchHeader(batch, 0);
  } else {
    header = readBatchHeader(batch, 0);
    if (header.batchLength < MIN_BATCH_LENGTH || header.sizeInBytes > batch.length) {
      throw corrupt(0, header.baseOffset, `batch claims ${header.sizeInBytes} bytes but ${batch.length} are there`);
    }
  }
  const baseOffset = header.baseOffset;
  const codec = header.compression;
  const count = header.recordsCount;
  let data = batch;
  let start = RECORDS_OFFSET;
  let end = header.sizeInBytes;
  if (codec !== Compression.None) {
    if (codec > Compression.Zstd) throw corrupt(0, baseOffset, `unknown compression codec ${codec}`);
    data =
      options.decompressed ??
      decompress(codec, batch.subarray(RECORDS_OFFSET, end), {
        maxSize: options.maxDecompressedSize ?? DEFAULT_MAX_DECOMPRESSED_SIZE,
      });
    start = 0;
    end = data.length;
  }
  if (count < 0 || count > (end - start) / MIN_RECORD_SIZE) {
    throw corrupt(0, baseOffset, `${count} records cannot fit in ${end - start} bytes of records`);
  }
  const logAppendTime = header.timestampType === TimestampType.LogAppendTime;
  const baseTimestamp = header.baseTimestamp;
  const maxTimestamp = header.maxTimestamp;
  const s = state(data, start, end);
  const mem: Mem = { buffer: memoryOf(data), base: data.byteOffset };
  for (let i = 0; i < count; i++) {
    s.end = end;
    if (s.start >= end) throw corrupt(0, baseOffset, `declares ${count} records, the bytes end after ${i}`);
    const length = readVarint(s);
    const recordEnd = s.start + length;
    if (length < MIN_RECORD_SIZE - 1 || recordEnd > end) {
      throw corrupt(0, baseOffset, `record ${i} has a bad length ${length} (${end - s.start} bytes left)`);
    }
    s.end = recordEnd;
    s.start++; // record attributes: unused
    const timestampDelta = readVarlong(s);
    const offsetDelta = readVarint(s);
    const key = readBytes(s, mem, baseOffset, i, 'key');
    const value = readBytes(s, mem, baseOffset, i, 'value');
    const headerCount = readVarint(s);
    if (headerCount < 0 || headerCount > (recordEnd - s.start) / 2) {
      throw corrupt(0, baseOffset, `record ${i} has a bad header count ${headerCount}`);
    }
    const headers: RecordHeaderOutput[] = headerCount === 0 ? NO_HEADERS : new Array(headerCount);
    for (let j = 0; j < headerCount; j++) {
      const kl = readVarint(s);
      if (kl < 0 || s.start + kl > recordEnd) throw corrupt(0, baseOffset, `record ${i} header ${j} has a bad key length ${kl}`);
      const hk = data.toString('utf8', s.start, s.start + kl);
      s.start += kl;
      headers[j] = { key: hk, value: readBytes(s, mem, baseOffset, i, 'header value') };
    }
    if (s.start !== recordEnd) {
      throw corrupt(0, baseOffset, `record ${i} has ${recordEnd - s.start} bytes left over after its last field`);
    }
    const offset = baseOffset + offsetDelta;
    if (offset >= fromOffset) out.push(make(offset, logAppendTime ? maxTimestamp : baseTimestamp + timestampDelta, key, value, headers));
  }
  if (s.start !== end) throw corrupt(0, baseOffset, `${end - s.start} bytes follow the last of ${count} records`);
  return out;
}

/** The ArrayBuffer under a records section and where the section's Buffer starts in it. */
interface Mem {
  buffer: ArrayBuffer;
  base: number;
}

function readBytes(
  s: { buffer: Uint8Array; start: number; end: number },
  mem: Mem,
  baseOffset: number,
  i: number,
  what: string,
): Buffer | null {
  const n = readVarint(s);
  if (n === -1) return null;
  if (n < -1 || s.start + n > s.end) throw corrupt(0, baseOffset, `record ${i} has a bad ${what} length ${n}`);
  const v = new ViewBuffer(mem.buffer, mem.base + s.start, n) as unknown as Buffer;
  s.start += n;
  return v;
}
