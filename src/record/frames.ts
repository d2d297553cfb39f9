/**
 * Bounds for LZ4 and zstd input, found by walking frame and block headers without decoding.
 * The decoders allocate from what the headers claim (fzstd allocates the frame content size,
 * or the window size, up front), so hostile headers are refused here first: the most a blob
 * could decompress to must stay under the caller's limit.
 *
 *   LZ4 frame   magic 0x184D2204 LE | FLG | BD | [content size 8] | [dict id 4] | HC
 *               blocks: size uint32 LE (high bit: stored uncompressed), data, [checksum 4]
 *               end mark 0 | [content checksum 4]
 *   zstd frame  magic 0xFD2FB528 LE | FHD | [window descriptor] | [dict id] | [content size]
 *               blocks: 3-byte LE header (last bit, type 2 bits, size 21 bits), data
 *               [checksum 4]
 *   either      skippable frames: magic 0x184D2A5? LE, size uint32 LE, data
 *
 * Stateless and thread-safe.
 */
import { CorruptRecordError } from './errors.js';

function tooLarge(codec: string, size: number, maxSize: number): CorruptRecordError {
  return new CorruptRecordError(`${codec} records would decompress to ${size} bytes or more, over the limit of ${maxSize}`);
}

const LZ4_MAGIC = 0x184d2204;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const LZ4_BLOCK_MAX = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024];

export function checkLz4Frames(data: Buffer, maxSize: number): void {
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

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_BLOCK_MAX = 128 * 1024;

export function checkZstdFrames(data: Buffer, maxSize: number): void {
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
