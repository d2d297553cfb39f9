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
import { readVarint, readVarlong, state, type State } from './varint.js';
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
  new BatchDecoder(batch, options, make, fromOffset).take(out, Infinity, Infinity);
  return out;
}

/**
 * The records of one batch, decoded a few at a time: a consumer's poll decodes only as many
 * as it hands out, and keeps the rest as bytes rather than as record objects (which, kept
 * across polls for many partitions, made garbage collection most of a consumer's time).
 * The batch is checked (CRC, bounds) and decompressed when the decoder is made; records
 * are checked as they are decoded and a fault throws CorruptRecordError.
 */
export class BatchDecoder<T> {
  readonly header: BatchHeader;
  private readonly data: Buffer;
  private readonly end: number;
  private readonly s: State;
  private readonly mem: Mem;
  private pos: number;
  /** Records decoded so far (skipped ones included). */
  private i = 0;
  /** Bytes of keys and values of the records the last take() added. */
  takenBytes = 0;

  constructor(
    batch: Buffer,
    options: ReadOptions,
    private readonly make: RecordFactory<T>,
    private readonly fromOffset = -Infinity,
  ) {
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
    this.header = header;
    this.data = data;
    this.end = end;
    this.pos = start;
    this.s = state(data, start, end);
    this.mem = { buffer: memoryOf(data), base: data.byteOffset };
  }

  /** Records not decoded yet. */
  get remaining(): number {
    return this.header.recordsCount - this.i;
  }

  /**
   * Appends to `out` the next records, at most `max` of them, stopping after the record
   * that brings their keys and values to `maxBytes` (takenBytes says how many bytes that
   * was). Returns how many it added. Records below fromOffset are decoded and skipped.
   */
  take(out: T[], max: number, maxBytes: number): number {
    const { data, end, s, mem, make, fromOffset } = this;
    const header = this.header;
    const baseOffset = header.baseOffset;
    const count = header.recordsCount;
    const logAppendTime = header.timestampType === TimestampType.LogAppendTime;
    const baseTimestamp = header.baseTimestamp;
    const maxTimestamp = header.maxTimestamp;
    const first = out.length;
    let added = first;
    let bytes = 0;
    // One- and two-byte varints (nearly every length and delta) are decoded inline below from
    // a local position; anything longer goes through `s` to the full decoders. Helper
    // functions for the short cases did not get inlined in this loop, and their calls were
    // a tenth of a consumer's time.
    let pos = this.pos;
    let i = this.i;
    let b0 = 0;
    let b1 = 0;
    while (i < count && added - first < max && bytes < maxBytes) {
      if (pos >= end) throw corrupt(0, baseOffset, `declares ${count} records, the bytes end after ${i}`);
      let length: number;
      if ((b0 = data[pos]!) < 0x80) {
        length = (b0 >>> 1) ^ -(b0 & 1);
        pos += 1;
      } else if (pos + 1 < end && (b1 = data[pos + 1]!) < 0x80) {
        b0 = (b0 & 0x7f) | (b1 << 7);
        length = (b0 >>> 1) ^ -(b0 & 1);
        pos += 2;
      } else {
        s.start = pos;
        s.end = end;
        length = readVarint(s);
        pos = s.start;
      }
      const recordEnd = pos + length;
      if (length < MIN_RECORD_SIZE - 1 || recordEnd > end) {
        throw corrupt(0, baseOffset, `record ${i} has a bad length ${length} (${end - pos} bytes left)`);
      }
      pos++; // record attributes: unused (a record is at least MIN_RECORD_SIZE - 1 bytes)
      let timestampDelta: number;
      if ((b0 = data[pos]!) < 0x80) {
        timestampDelta = (b0 >>> 1) ^ -(b0 & 1);
        pos += 1;
      } else {
        s.start = pos;
        s.end = recordEnd;
        timestampDelta = readVarlong(s);
        pos = s.start;
      }
      let offsetDelta: number;
      if (pos < recordEnd && (b0 = data[pos]!) < 0x80) {
        offsetDelta = (b0 >>> 1) ^ -(b0 & 1);
        pos += 1;
      } else if (pos + 1 < recordEnd && (b1 = data[pos + 1]!) < 0x80) {
        b0 = (b0 & 0x7f) | (b1 << 7);
        offsetDelta = (b0 >>> 1) ^ -(b0 & 1);
        pos += 2;
      } else {
        s.start = pos;
        s.end = recordEnd;
        offsetDelta = readVarint(s);
        pos = s.start;
      }
      let key: Buffer | null = null;
      if (pos < recordEnd && data[pos] === 1) pos += 1; // null key
      else {
        s.start = pos;
        s.end = recordEnd;
        key = readBytes(s, mem, baseOffset, i, 'key');
        pos = s.start;
      }
      let n: number;
      if (pos < recordEnd && (b0 = data[pos]!) < 0x80) {
        n = (b0 >>> 1) ^ -(b0 & 1);
        pos += 1;
      } else if (pos + 1 < recordEnd && (b1 = data[pos + 1]!) < 0x80) {
        b0 = (b0 & 0x7f) | (b1 << 7);
        n = (b0 >>> 1) ^ -(b0 & 1);
        pos += 2;
      } else {
        s.start = pos;
        s.end = recordEnd;
        n = readVarint(s);
        pos = s.start;
      }
      let value: Buffer | null = null;
      if (n >= 0) {
        if (pos + n > recordEnd) throw corrupt(0, baseOffset, `record ${i} has a bad value length ${n}`);
        value = new ViewBuffer(mem.buffer, mem.base + pos, n) as unknown as Buffer;
        pos += n;
      } else if (n !== -1) throw corrupt(0, baseOffset, `record ${i} has a bad value length ${n}`);
      let headers = NO_HEADERS;
      if (pos < recordEnd && data[pos] === 0) pos += 1; // no headers
      else {
        s.start = pos;
        s.end = recordEnd;
        const headerCount = readVarint(s);
        if (headerCount < 0 || headerCount > (recordEnd - s.start) / 2) {
          throw corrupt(0, baseOffset, `record ${i} has a bad header count ${headerCount}`);
        }
        if (headerCount > 0) headers = readHeaders(s, mem, data, headerCount, baseOffset, i);
        pos = s.start;
      }
      if (pos !== recordEnd) {
        throw corrupt(0, baseOffset, `record ${i} has ${recordEnd - pos} bytes left over after its last field`);
      }
      i++;
      const offset = baseOffset + offsetDelta;
      if (offset >= fromOffset) {
        // An indexed store: `push` was a call into the runtime here, ~5% of a consumer's time.
        out[added++] = make(offset, logAppendTime ? maxTimestamp : baseTimestamp + timestampDelta, key, value, headers);
        bytes += (key === null ? 0 : key.length) + (n > 0 ? n : 0);
      }
    }
    this.pos = pos;
    this.i = i;
    if (i === count && pos !== end) throw corrupt(0, baseOffset, `${end - pos} bytes follow the last of ${count} records`);
    this.takenBytes = bytes;
    return added - first;
  }
}

/** The ArrayBuffer under a records section and where the section's Buffer starts in it. */
interface Mem {
  buffer: ArrayBuffer;
  base: number;
}

/** The headers of record `i` (out of the hot loop: most records have none). */
function readHeaders(s: State, mem: Mem, data: Buffer, count: number, baseOffset: number, i: number): RecordHeaderOutput[] {
  const recordEnd = s.end;
  const headers: RecordHeaderOutput[] = new Array(count);
  for (let j = 0; j < count; j++) {
    const kl = readVarint(s);
    if (kl < 0 || s.start + kl > recordEnd) throw corrupt(0, baseOffset, `record ${i} header ${j} has a bad key length ${kl}`);
    const hk = data.toString('utf8', s.start, s.start + kl);
    s.start += kl;
    headers[j] = { key: hk, value: readBytes(s, mem, baseOffset, i, 'header value') };
  }
  return headers;
}

function readBytes(
  s: State,
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
