/**
 * Snappy as Kafka clients write it: snappy-java's "xerial" framing (the Java client) or one
 * raw snappy block (librdkafka). Both are read; xerial is written, since both read it.
 *
 *   0  8  magic 0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00
 *   8  4  version (1)
 *  12  4  compatible version (1)
 *  16  .  blocks: int32 big-endian compressed length, then a raw snappy block
 *
 * A raw block opens with its uncompressed length (unsigned varint); that is checked against
 * the limit and against the most the block could expand to before anything is allocated.
 * Stateless and thread-safe.
 */
import { compress as snappyCompress, compressSync as snappyCompressSync, uncompressSync as snappyUncompressSync } from 'snappy';
import { CorruptRecordError } from './errors.js';

export const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_LENGTH = 16;
const XERIAL_VERSION = 1;
const XERIAL_COMPATIBLE_VERSION = 1;
/** Uncompressed bytes per block, as snappy-java writes them. */
export const XERIAL_BLOCK_SIZE = 32 * 1024;
/** A raw snappy block never expands more than 64 output bytes per 3 input bytes. */
const SNAPPY_MAX_RATIO = 22;

export function isXerial(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_LENGTH && data.compare(XERIAL_MAGIC, 0, 8, 0, 8) === 0;
}

export function xerialCompress(data: Buffer): Buffer {
  const blocks: Buffer[] = [];
  for (let off = 0; off < data.length; off += XERIAL_BLOCK_SIZE) {
    blocks.push(snappyCompressSync(data.subarray(off, off + XERIAL_BLOCK_SIZE)));
  }
  return xerialFrame(blocks);
}

export function xerialFrame(blocks: Buffer[]): Buffer {
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

export function xerialDecompress(data: Buffer, maxSize: number): Buffer {
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

export function rawSnappyDecompress(data: Buffer, maxSize: number): Buffer {
  checkRawSnappy(data, 0, data.length, maxSize);
  return snappyUncompressSync(data) as Buffer;
}

/** Reads a raw snappy block's length preamble and bounds it; returns the length. */
export function checkRawSnappy(data: Buffer, start: number, end: number, maxSize: number): number {
  let n = 0;
  let pos = start;
  for (let shift = 0; ; shift += 7) {
    if (pos >= end || shift > 28) throw new CorruptRecordError(`bad snappy length preamble at byte ${start}`);
    const b = data[pos++]!;
    n += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (n > maxSize) throw new CorruptRecordError(`snappy records would decompress to ${n} bytes or more, over the limit of ${maxSize}`);
  if (n > (end - start) * SNAPPY_MAX_RATIO) {
    throw new CorruptRecordError(`snappy block of ${end - start} bytes claims ${n} bytes uncompressed`);
  }
  return n;
}

/** xerialCompress with the blocks compressed off the main thread. */
export async function xerialCompressAsync(data: Buffer): Promise<Buffer> {
  const blocks: Promise<Buffer>[] = [];
  for (let off = 0; off < data.length; off += XERIAL_BLOCK_SIZE) {
    blocks.push(snappyCompress(data.subarray(off, off + XERIAL_BLOCK_SIZE)));
  }
  return xerialFrame(await Promise.all(blocks));
}
