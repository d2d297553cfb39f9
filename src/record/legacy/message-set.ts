/**
 * Kafka's legacy message sets: message format v0 (magic 0, Kafka 0.8-0.9) and v1 (magic 1,
 * Kafka 0.10), which Produce v0-2 carry and Fetch v0-3 answer with. Sluice never stores them:
 * convert.ts turns them into RecordBatch v2 and back.
 *
 *   message set   entries back to back, no count and no header of its own
 *   entry         offset int64 | message_size int32 | message (message_size bytes)
 *   message       byte  0  crc         uint32  CRC32 (IEEE, as zlib; not CRC32C) of bytes 4..end
 *                      4  magic       int8    0 or 1
 *                      5  attributes  int8    bits 0-2 codec (0 none, 1 gzip, 2 snappy, 3 lz4),
 *                                             bit 3 timestamp type (magic 1: 1 = LogAppendTime)
 *                      6  timestamp   int64   magic 1 only
 *                 6 / 14  key         int32 length (-1: null) | bytes
 *                         value       int32 length (-1: null) | bytes
 *
 * A compressed message (a "wrapper") has a null key and, as its value, a whole message set
 * of "inner" messages compressed with its codec. Magic 1 inner offsets are relative
 * (0..n-1) and the wrapper carries the absolute offset of the last one; magic 0 inner
 * offsets are absolute. Producers' offsets mean nothing (the broker assigns them), so the
 * reader keeps only their order. Old Kafka clients wrote LZ4 wrappers of magic 0 with a
 * wrong frame header checksum (hashed from the frame's magic number on, KAFKA-3160);
 * Kafka ignores that byte for magic 0, and so does this reader (it recomputes it).
 *
 * Stateless and thread-safe.
 */
import { crc32 } from 'node:zlib';
import { decompress } from '../compression.js';
import { CorruptRecordError } from '../errors.js';
import { Compression } from '../layout.js';
import { readInt64, writeInt64 } from '../header.js';

export const MESSAGE_OFFSET_OFFSET = 0;
export const MESSAGE_SIZE_OFFSET = MESSAGE_OFFSET_OFFSET + 8; // 8
/** offset + message_size: what comes before each message. */
export const MESSAGE_LOG_OVERHEAD = MESSAGE_SIZE_OFFSET + 4; // 12
// Byte positions inside a message (after the log overhead).
export const MESSAGE_CRC_OFFSET = 0;
export const MESSAGE_MAGIC_OFFSET = MESSAGE_CRC_OFFSET + 4; // 4
export const MESSAGE_ATTRIBUTES_OFFSET = MESSAGE_MAGIC_OFFSET + 1; // 5
export const MESSAGE_TIMESTAMP_OFFSET = MESSAGE_ATTRIBUTES_OFFSET + 1; // 6 (magic 1)
/** crc | magic | attributes | key length | value length. */
export const MESSAGE_V0_HEADER = MESSAGE_TIMESTAMP_OFFSET + 4 + 4; // 14
/** MESSAGE_V0_HEADER plus the timestamp. */
export const MESSAGE_V1_HEADER = MESSAGE_V0_HEADER + 8; // 22

export const MESSAGE_CODEC_MASK = 0x07;
export const MESSAGE_TIMESTAMP_TYPE_BIT = 0x08;

/** One message of a set as the reader hands it out; key and value view the input (or its decompressed copy). */
export interface LegacyRecord {
  /** The offset as written (relative inside magic 1 wrappers); the broker assigns its own. */
  offset: number;
  magic: 0 | 1;
  /** -1 for magic 0 (it has no timestamp). */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
}

export interface ReadMessageSetOptions {
  /** Bound on the bytes all compressed wrappers of the set may decompress to, together. */
  maxDecompressedSize: number;
}

export interface MessageSetContents {
  records: LegacyRecord[];
  /** The codec of the compressed wrappers (the first one's when they differ), Compression.None when there are none. */
  codec: number;
  /** The highest magic seen. */
  magic: 0 | 1;
}

/**
 * Every message of a producer's message set, inner messages of wrappers in place of the
 * wrapper, in order. Throws CorruptRecordError naming the byte position for a bad CRC, a
 * size that does not fit, a truncated entry, a magic other than 0/1, a nested wrapper, an
 * unknown codec, or decompression past the bound.
 */
export function readMessageSet(set: Buffer, options: ReadMessageSetOptions): MessageSetContents {
  const out: MessageSetContents = { records: [], codec: Compression.None, magic: 0 };
  const budget = { left: options.maxDecompressedSize };
  walk(set, out, budget, null);
  if (out.records.length === 0) throw new CorruptRecordError('the message set holds no messages');
  return out;
}

function walk(set: Buffer, out: MessageSetContents, budget: { left: number }, wrapper: { magic: number; timestamp: number; logAppendTime: boolean } | null): void {
  const where = wrapper === null ? 'message set' : 'compressed message set';
  let pos = 0;
  while (pos < set.length) {
    if (set.length - pos < MESSAGE_LOG_OVERHEAD) throw new CorruptRecordError(`${where}: the entry at byte ${pos} is cut short (${set.length - pos} bytes, its offset and size take 12)`, pos);
    const size = set.readInt32BE(pos + MESSAGE_SIZE_OFFSET);
    const start = pos + MESSAGE_LOG_OVERHEAD;
    if (size < MESSAGE_V0_HEADER) throw new CorruptRecordError(`${where}: message at byte ${pos} has size ${size}, below the smallest message (${MESSAGE_V0_HEADER})`, pos);
    if (size > set.length - start) throw new CorruptRecordError(`${where}: message at byte ${pos} has size ${size} but only ${set.length - start} bytes follow (truncated message set)`, pos);
    const end = start + size;
    const magic = set[start + MESSAGE_MAGIC_OFFSET]!;
    if (magic !== 0 && magic !== 1) throw new CorruptRecordError(`${where}: message at byte ${pos} has magic ${magic}; Produce v0-2 carry message format 0 or 1 only`, pos);
    if (magic === 1 && size < MESSAGE_V1_HEADER) throw new CorruptRecordError(`${where}: magic 1 message at byte ${pos} has size ${size}, below the smallest (${MESSAGE_V1_HEADER})`, pos);
    const stored = set.readUInt32BE(start + MESSAGE_CRC_OFFSET);
    const computed = crc32(set.subarray(start + MESSAGE_MAGIC_OFFSET, end));
    if (stored !== computed) {
      throw new CorruptRecordError(`${where}: message at byte ${pos} fails its CRC32 (stored ${stored.toString(16)}, computed ${computed.toString(16)})`, pos);
    }
    const attributes = set[start + MESSAGE_ATTRIBUTES_OFFSET]!;
    const codec = attributes & MESSAGE_CODEC_MASK;
    let p = start + MESSAGE_TIMESTAMP_OFFSET;
    let timestamp = -1;
    if (magic === 1) {
      timestamp = readInt64(set, p);
      p += 8;
    }
    const key = bytesAt(set, p, end, pos, 'key', where);
    p += 4 + (key === null ? 0 : key.length);
    const value = bytesAt(set, p, end, pos, 'value', where);
    p += 4 + (value === null ? 0 : value.length);
    if (p !== end) throw new CorruptRecordError(`${where}: message at byte ${pos} has ${end - p} bytes after its value`, pos);
    if (codec !== Compression.None) {
      if (wrapper !== null) throw new CorruptRecordError(`${where}: message at byte ${pos} is compressed inside a compressed message (nested compression)`, pos);
      if (codec !== Compression.Gzip && codec !== Compression.Snappy && codec !== Compression.Lz4) {
        throw new CorruptRecordError(`${where}: message at byte ${pos} has unknown codec ${codec} (message formats 0/1 know gzip, snappy and lz4)`, pos);
      }
      if (value === null) throw new CorruptRecordError(`${where}: compressed message at byte ${pos} has a null value`, pos);
      const inner = inflate(codec, magic, value, budget, pos);
      if (out.codec === Compression.None) out.codec = codec;
      if (magic > out.magic) out.magic = magic;
      walk(inner, out, budget, { magic, timestamp, logAppendTime: (attributes & MESSAGE_TIMESTAMP_TYPE_BIT) !== 0 });
    } else {
      if (magic > out.magic) out.magic = magic;
      // A magic 1 wrapper stamped LogAppendTime speaks for all its inner messages.
      const ts = wrapper !== null && wrapper.magic === 1 && wrapper.logAppendTime ? wrapper.timestamp : timestamp;
      out.records.push({ offset: readInt64(set, pos + MESSAGE_OFFSET_OFFSET), magic, timestamp: ts, key, value });
    }
    pos = end;
  }
}

function bytesAt(set: Buffer, p: number, end: number, pos: number, what: string, where: string): Buffer | null {
  if (end - p < 4) throw new CorruptRecordError(`${where}: message at byte ${pos}: its ${what} length runs past the message`, pos);
  const len = set.readInt32BE(p);
  if (len === -1) return null;
  if (len < -1 || len > end - p - 4) throw new CorruptRecordError(`${where}: message at byte ${pos} has ${what} length ${len}, outside the message`, pos);
  return set.subarray(p + 4, p + 4 + len);
}

function inflate(codec: number, magic: number, value: Buffer, budget: { left: number }, pos: number): Buffer {
  let data = value;
  if (codec === Compression.Lz4 && magic === 0) data = withLz4HeaderChecksum(value);
  let inner: Buffer;
  try {
    inner = decompress(codec, data, { maxSize: budget.left });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new CorruptRecordError(`compressed message at byte ${pos} does not decompress: ${why}`, pos, { cause: err });
  }
  budget.left -= inner.length;
  return inner;
}

// ---------------------------------------------------------------------------------------
// LZ4 frame header checksum (magic 0 quirk)

const LZ4_MAGIC = 0x184d2204;

/**
 * A copy of an LZ4 frame with its header checksum (HC) set right: HC is the second byte of
 * xxh32(FLG..end of descriptor, seed 0), which old clients computed over the magic number
 * too. Input that is not an LZ4 frame is returned as is (the decoder reports it).
 */
export function withLz4HeaderChecksum(frame: Buffer): Buffer {
  if (frame.length < 7 || frame.readUInt32LE(0) !== LZ4_MAGIC) return frame;
  const flg = frame[4]!;
  const descriptorEnd = 6 + ((flg & 0x08) !== 0 ? 8 : 0) + ((flg & 0x01) !== 0 ? 4 : 0);
  if (frame.length <= descriptorEnd) return frame;
  const hc = (xxh32(frame.subarray(4, descriptorEnd)) >>> 8) & 0xff;
  if (frame[descriptorEnd] === hc) return frame;
  const fixed = Buffer.from(frame);
  fixed[descriptorEnd] = hc;
  return fixed;
}

/** The same LZ4 frame with the header checksum old Kafka clients wrote for magic 0 (hashed from byte 0). */
export function withOldKafkaLz4HeaderChecksum(frame: Buffer): Buffer {
  if (frame.length < 7 || frame.readUInt32LE(0) !== LZ4_MAGIC) return frame;
  const flg = frame[4]!;
  const descriptorEnd = 6 + ((flg & 0x08) !== 0 ? 8 : 0) + ((flg & 0x01) !== 0 ? 4 : 0);
  const fixed = Buffer.from(frame);
  fixed[descriptorEnd] = (xxh32(frame.subarray(0, descriptorEnd)) >>> 8) & 0xff;
  return fixed;
}

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

/** xxHash32 with seed 0, for inputs under 16 bytes (an LZ4 frame descriptor is 2 to 18). */
export function xxh32(input: Uint8Array): number {
  if (input.length >= 16) throw new RangeError('xxh32 here covers inputs under 16 bytes only');
  let h = (P5 + input.length) >>> 0;
  let i = 0;
  for (; i + 4 <= input.length; i += 4) {
    const word = (input[i]! | (input[i + 1]! << 8) | (input[i + 2]! << 16) | (input[i + 3]! << 24)) >>> 0;
    h = (h + Math.imul(word, P3)) >>> 0;
    h = Math.imul(rotl(h, 17), P4) >>> 0;
  }
  for (; i < input.length; i++) {
    h = (h + Math.imul(input[i]!, P5)) >>> 0;
    h = Math.imul(rotl(h, 11), P1) >>> 0;
  }
  h ^= h >>> 15;
  h = Math.imul(h, P2) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, P3) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

function rotl(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

// ---------------------------------------------------------------------------------------
// writing

/** Bytes one message takes in a set, log overhead included. */
export function messageSize(magic: 0 | 1, keyLength: number, valueLength: number): number {
  return MESSAGE_LOG_OVERHEAD + (magic === 0 ? MESSAGE_V0_HEADER : MESSAGE_V1_HEADER) + keyLength + valueLength;
}

/**
 * Writes one entry (offset, size, message) at `pos` of `out`, which must have room for
 * messageSize(...) bytes; returns the position after it. `attributes` carries the codec
 * (for a wrapper) and, for magic 1, the timestamp type bit.
 */
export function writeMessage(
  out: Buffer,
  pos: number,
  offset: number,
  magic: 0 | 1,
  attributes: number,
  timestamp: number,
  key: Uint8Array | null,
  value: Uint8Array | null,
): number {
  const start = pos + MESSAGE_LOG_OVERHEAD;
  writeInt64(out, pos + MESSAGE_OFFSET_OFFSET, offset);
  let p = start + MESSAGE_MAGIC_OFFSET;
  out[p++] = magic;
  out[p++] = attributes;
  if (magic === 1) {
    writeInt64(out, p, timestamp);
    p += 8;
  }
  p = writeBytes(out, p, key);
  p = writeBytes(out, p, value);
  out.writeInt32BE(p - start, pos + MESSAGE_SIZE_OFFSET);
  out.writeUInt32BE(crc32(out.subarray(start + MESSAGE_MAGIC_OFFSET, p)), start + MESSAGE_CRC_OFFSET);
  return p;
}

function writeBytes(out: Buffer, p: number, b: Uint8Array | null): number {
  if (b === null) {
    out.writeInt32BE(-1, p);
    return p + 4;
  }
  out.writeInt32BE(b.length, p);
  out.set(b, p + 4);
  return p + 4 + b.length;
}

/** Messages in a set of whole messages (from their size fields; no CRC check). */
export function countMessages(set: Buffer): number {
  let n = 0;
  for (let pos = 0; pos + MESSAGE_LOG_OVERHEAD <= set.length; pos += MESSAGE_LOG_OVERHEAD + set.readInt32BE(pos + MESSAGE_SIZE_OFFSET)) n++;
  return n;
}
