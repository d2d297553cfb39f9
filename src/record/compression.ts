/**
 * The codecs of attributes bits 0-2. Each one turns the records section (everything after
 * the 61-byte header) into one compressed blob and back.
 *
 *   codec   write                             read
 *   none    as is                             as is
 *   gzip    node:zlib gzip                    node:zlib gunzip (all members)
 *   snappy  xerial framing (snappy-java)      xerial framing, or raw snappy (librdkafka)
 *   lz4     LZ4 frame, 64 KiB independent     any LZ4 frame (checksums, content size, ...)
 *           blocks (FLG 0x60, BD 0x40)
 *   zstd    not supported: throws             fzstd (pure JS)
 *
 * Xerial snappy framing (what Kafka's Java client writes):
 *
 *   0  8  magic 0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00
 *   8  4  version (1)
 *  12  4  compatible version (1)
 *  16  .  blocks: int32 big-endian compressed length, then a raw snappy block
 *
 * Hostile input: before handing a blob to a decoder, the frame structure is walked (cheap,
 * no decoding) and the most it could decompress to is compared with `maxSize`, so a ten
 * byte input can never make a decoder allocate gigabytes. Decoder failures come out as
 * CorruptRecordError. Stateless and thread-safe.
 */
import { gunzip, gunzipSync, gzip, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { compressFrame, compressFrameSync, decompressFrame, decompressFrameSync } from 'lz4-napi';
import {
  compress as snappyCompress,
  compressSync as snappyCompressSync,
  uncompress as snappyUncompress,
  uncompressSync as snappyUncompressSync,
} from 'snappy';
import { decompress as zstdDecompress } from 'fzstd';
import { CorruptRecordError, UnsupportedCompressionError } from './errors.js';
import { Compression } from './layout.js';

/** Default bound on a decompressed records section. */
export const DEFAULT_MAX_DECOMPRESSED_SIZE = 64 * 1024 * 1024;

export interface DecompressOptions {
  /** Refuse (CorruptRecordError) anything that could decompress to more bytes than this. */
  maxSize?: number;
}

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

// ---------------------------------------------------------------------------------------
// compress

/** Compresses a records section with `codec`. Throws UnsupportedCompressionError for zstd. */
export function compress(codec: Compression, data: Buffer): Buffer {
  switch (codec) {
    case Compression.None:
      return data;
    case Compression.Gzip:
      return gzipSync(data);
    case Compression.Snappy:
      return xerialCompress(data);
    case Compression.Lz4:
      return compressFrameSync(data);
    case Compression.Zstd:
      throw zstdUnsupported();
    default:
      throw new RangeError(`unknown compression codec ${String(codec)}`);
  }
}

/** compress() off the main thread where the codec allows (gzip, lz4, snappy). */
export async function compressAsync(codec: Compression, data: Buffer): Promise<Buffer> {
  switch (codec) {
    case Compression.Gzip:
      return gzipAsync(data);
    case Compression.Lz4:
      return compressFrame(data);
    case Compression.Snappy: {
      const blocks: Promise<Buffer>[] = [];
      for (let off = 0; off < data.length; off += XERIAL_BLOCK_SIZE) {
        blocks.push(snappyCompress(data.subarray(off, off + XERIAL_BLOCK_SIZE)));
      }
      return xerialFrame(await Promise.all(blocks));
    }
    default:
      return compress(codec, data);
  }
}

function zstdUnsupported(): UnsupportedCompressionError {
  return new UnsupportedCompressionError(
    'zstd batches can be read but not written by Sluice (no zstd encoder is bundled); use lz4, gzip or snappy',
  );
}

// ---------------------------------------------------------------------------------------
// decompress

/** Decompresses a records section; throws CorruptRecordError for bad input or codec ids 5-7. */
export function decompress(codec: number, data: Buffer, options?: DecompressOptions): Buffer {
  const maxSize = options?.maxSize ?? DEFAULT_MAX_DECOMPRESSED_SIZE;
  try {
    switch (codec) {
      case Compression.None:
        return data;
      case Compression.Gzip:
        return gunzipSync(data, { maxOutputLength: maxSize });
      case Compression.Snappy:
        return isXerial(data) ? xerialDecompress(data, maxSize) : rawSnappyDecompress(data, maxSize);
      case Compression.Lz4:
        checkLz4Frames(data, maxSize);
        return decompressFrameSync(data);
      case Compression.Zstd: {
        checkZstdFrames(data, maxSize);
        const out = zstdDecompress(data);
        return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
      }
      default:
        throw unknownCodec(codec);
    }
  } catch (err) {
    throw asCorrupt(codec, err);
  }
}

/** decompress() off the main thread where the codec allows (gzip, lz4, snappy). */
export async function decompressAsync(codec: number, data: Buffer, options?: DecompressOptions): Promise<Buffer> {
  const maxSize = options?.maxSize ?? DEFAULT_MAX_DECOMPRESSED_SIZE;
  try {
    switch (codec) {
      case Compression.Gzip:
        return await gunzipAsync(data, { maxOutputLength: maxSize });
      case Compression.Lz4:
        checkLz4Frames(data, maxSize);
        return await decompressFrame(data);
      case Compression.Snappy:
        if (isXerial(data)) return xerialDecompress(data, maxSize);
        checkRawSnappy(data, 0, data.length, maxSize);
        return (await snappyUncompress(data)) as Buffer;
      default:
        return decompress(codec, data, options);
    }
  } catch (err) {
    throw asCorrupt(codec, err);
  }
}

function unknownCodec(codec: number): CorruptRecordError {
  return new CorruptRecordError(`unknown compression codec ${codec} in batch attributes (known: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)`);
}

function asCorrupt(codec: number, err: unknown): CorruptRecordError {
  if (err instanceof CorruptRecordError) return err;
  const name = ['none', 'gzip', 'snappy', 'lz4', 'zstd'][codec] ?? String(codec);
  const why = err instanceof Error ? err.message : String(err);
  return new CorruptRecordError(`cannot decompress ${name} records: ${why}`, undefined, { cause: err });
}

function tooLarge(codec: string, size: number, maxSize: number): CorruptRecordError {
  return new CorruptRecordError(`${codec} records would decompress to ${size} bytes or more, over the limit of ${maxSize}`);
}

// ---------------------------------------------------------------------------------------
// snappy

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_LENGTH = 16;
const XERIAL_VERSION = 1;
const XERIAL_COMPATIBLE_VERSION = 1;
/** Uncompressed bytes per block, as snappy-java writes them. */
const XERIAL_BLOCK_SIZE = 32 * 1024;
/** A raw snappy block never expands more than 64 output bytes per 3 input bytes. */
const SNAPPY_MAX_RATIO = 22;

function isXerial(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_LENGTH && data.compare(XERIAL_MAGIC, 0, 8, 0, 8) === 0;
}

function xerialCompress(data: Buffer): Buffer {
  const blocks: Buffer[] = [];
  for (let off = 0; off < data.length; off += XERIAL_BLOCK_SIZE) {
    blocks.push(snappyCompressSync(data.subarray(off, off + XERIAL_BLOCK_SIZE)));
  }
  return xerialFrame(blocks);
}

function xerialFrame(blocks: Buffer[]): Buffer {
  let size = XERIAL_HEADER_LENGTH;
  for (const b of blocks) size += 4 + b.length;
  const out = Buffer.allocUnsafe(size);
  XERIAL_MAGIC.copy(out, 0);
  out.writeInt32BE(XERIAL_VERSION, 8);
  out.writeInt32BE(XERIAL_COMPATIBLE_VERSION, 12);
  let pos = XERIAL_HEADER_LENGTH;
  for (const b of blocks) {
    out.writeInt32BE(b.length, pos);
    out.set(b, pos + 4);
    pos += 4 + b.length;
  }
  return out;
}

function xerialDecompress(data: Buffer, maxSize: number): Buffer {
  const parts: Buffer[] = [];
  let total = 0;
  let pos = XERIAL_HEADER_LENGTH;
  while (pos < data.length) {
    if (pos + 4 > data.length) throw new CorruptRecordError(`xerial snappy block length cut short at byte ${pos}`);
    const n = data.readInt32BE(pos);
    pos += 4;
    if (n < 0 || pos + n > data.length) {
      throw new CorruptRecordError(`xerial snappy block at byte ${pos - 4} claims ${n} bytes, ${data.length - pos} left`);
    }
    total += checkRawSnappy(data, pos, pos + n, maxSize - total);
    parts.push(snappyUncompressSync(data.subarray(pos, pos + n)) as Buffer);
    pos += n;
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
}

function rawSnappyDecompress(data: Buffer, maxSize: number): Buffer {
  checkRawSnappy(data, 0, data.length, maxSize);
  return snappyUncompressSync(data) as Buffer;
}

/** Reads a raw snappy block's length preamble and bounds it; returns the length. */
function checkRawSnappy(data: Buffer, start: number, end: number, maxSize: number): number {
  let n = 0;
  let pos = start;
  for (let shift = 0; ; shift += 7) {
    if (pos >= end || shift > 28) throw new CorruptRecordError(`bad snappy length preamble at byte ${start}`);
    const b = data[pos++]!;
    n += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (n > maxSize) throw tooLarge('snappy', n, maxSize);
  if (n > (end - start) * SNAPPY_MAX_RATIO) {
    throw new CorruptRecordError(`snappy block of ${end - start} bytes claims ${n} bytes uncompressed`);
  }
  return n;
}

// ---------------------------------------------------------------------------------------
// lz4: walk the frames (magic, FLG, BD, [content size], [dict id], HC, blocks, end mark,
// [content checksum]) and bound the output without decoding anything.

const LZ4_MAGIC = 0x184d2204;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const LZ4_BLOCK_MAX = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024];

function checkLz4Frames(data: Buffer, maxSize: number): void {
  const len = data.length;
  let pos = 0;
  let bound = 0;
  if (len === 0) throw new CorruptRecordError('empty lz4 records section');
  while (pos < len) {
    if (pos + 8 > len) throw new CorruptRecordError(`lz4 frame header cut short at byte ${pos}`);
    const magic = data.readUInt32LE(pos);
    if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) {
      pos += 8 + data.readUInt32LE(pos + 4);
      continue;
    }
    if (magic !== LZ4_MAGIC) throw new CorruptRecordError(`not an lz4 frame at byte ${pos} (magic 0x${magic.toString(16)})`);
    const flg = data[pos + 4]!;
    const bd = data[pos + 5]!;
    if (flg >> 6 !== 1) throw new CorruptRecordError(`lz4 frame version ${flg >> 6} at byte ${pos}`);
    const blockMax = LZ4_BLOCK_MAX[(bd >> 4) & 7]!;
    if (blockMax === 0) throw new CorruptRecordError(`lz4 frame at byte ${pos} has an invalid block size code`);
    const hasBlockChecksum = (flg & 0x10) !== 0;
    let p = pos + 6;
    if (flg & 0x08) {
      if (p + 8 > len) throw new CorruptRecordError(`lz4 frame header cut short at byte ${pos}`);
      const contentSize = data.readUInt32LE(p + 4) * 4294967296 + data.readUInt32LE(p);
      if (contentSize > maxSize) throw tooLarge('lz4', contentSize, maxSize);
      p += 8;
    }
    if (flg & 0x01) p += 4;
    p += 1; // header checksum
    for (;;) {
      if (p + 4 > len) throw new CorruptRecordError(`lz4 frame starting at byte ${pos} has no end mark`);
      const word = data.readUInt32LE(p);
      p += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (size > blockMax) throw new CorruptRecordError(`lz4 block of ${size} bytes exceeds the frame's ${blockMax}`);
      p += size + (hasBlockChecksum ? 4 : 0);
      if (p > len) throw new CorruptRecordError(`lz4 block at byte ${p - size} runs past the end of the records`);
      bound += word & 0x80000000 ? size : blockMax;
      if (bound > maxSize) throw tooLarge('lz4', bound, maxSize);
    }
    if (flg & 0x04) p += 4;
    if (p > len) throw new CorruptRecordError(`lz4 content checksum cut short at byte ${p - 4}`);
    pos = p;
  }
}

// ---------------------------------------------------------------------------------------
// zstd: walk frames and block headers; fzstd allocates the frame content size (or the
// window size when the size is unknown) up front, so both are bounded first.

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_BLOCK_MAX = 128 * 1024;

function checkZstdFrames(data: Buffer, maxSize: number): void {
  const len = data.length;
  let pos = 0;
  let total = 0;
  if (len === 0) throw new CorruptRecordError('empty zstd records section');
  while (pos < len) {
    if (pos + 8 > len) throw new CorruptRecordError(`zstd frame header cut short at byte ${pos}`);
    const magic = data.readUInt32LE(pos);
    if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) {
      pos += 8 + data.readUInt32LE(pos + 4);
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw new CorruptRecordError(`not a zstd frame at byte ${pos} (magic 0x${magic.toString(16)})`);
    const fhd = data[pos + 4]!;
    if (fhd & 0x08) throw new CorruptRecordError(`zstd frame at byte ${pos} sets a reserved bit`);
    const fcsFlag = fhd >> 6;
    const singleSegment = (fhd >> 5) & 1;
    const hasChecksum = (fhd >> 2) & 1;
    let p = pos + 5;
    let windowSize = 0;
    if (!singleSegment) {
      const wd = data[p++]!;
      const base = 2 ** (10 + (wd >> 3));
      windowSize = base + (base / 8) * (wd & 7);
    }
    p += [0, 1, 2, 4][fhd & 3]!;
    const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
    if (p + fcsBytes > len) throw new CorruptRecordError(`zstd frame header cut short at byte ${pos}`);
    let contentSize = 0;
    for (let i = fcsBytes - 1; i >= 0; i--) contentSize = contentSize * 256 + data[p + i]!;
    if (fcsBytes === 2) contentSize += 256;
    p += fcsBytes;
    if (singleSegment) windowSize = contentSize;
    const allocation = fcsBytes > 0 && contentSize > 0 ? contentSize : windowSize;
    if (allocation > maxSize) throw tooLarge('zstd', allocation, maxSize);
    let bound = 0;
    const blockMax = Math.min(ZSTD_BLOCK_MAX, Math.max(windowSize, 1));
    for (;;) {
      if (p + 3 > len) throw new CorruptRecordError(`zstd block header cut short at byte ${p}`);
      const bh = data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16);
      p += 3;
      const type = (bh >> 1) & 3;
      const size = bh >>> 3;
      if (type === 3) throw new CorruptRecordError(`zstd block at byte ${p - 3} has the reserved type`);
      p += type === 1 ? 1 : size;
      if (p > len) throw new CorruptRecordError(`zstd block at byte ${p} runs past the end of the records`);
      bound += type === 2 ? blockMax : size;
      if (bh & 1) break;
    }
    p += hasChecksum * 4;
    if (p > len) throw new CorruptRecordError(`zstd checksum cut short at byte ${p - 4}`);
    total += fcsBytes > 0 ? Math.min(bound, contentSize) : bound;
    if (total > maxSize) throw tooLarge('zstd', total, maxSize);
    pos = p;
  }
}
