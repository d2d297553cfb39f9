/**
 * LZ4 frame decoding for the append-time record checks (log-validator.ts): the frame is
 * walked here (layout in frames.ts) and each block is decoded by the native addon
 * (native/lz4_block.cc). lz4-napi's frame decoder measured about 70 MB/s on a 1.1 MB
 * Kafka-style frame of JSON log lines (64 KiB blocks), 16 ms per batch; the native block
 * decoder is a memcpy loop. Checksums (block and content) are skipped: the batch's CRC32C
 * already covers these bytes.
 *
 * Output is bounded before anything is allocated: the sum over blocks of their largest
 * possible size (stored blocks: their size; compressed: the frame's block maximum) must stay
 * within maxSize. Stateless and thread-safe.
 */
import { lz4DecodeBlock } from '../native.js';
import { CorruptRecordError } from './errors.js';

const LZ4_MAGIC = 0x184d2204;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const LZ4_BLOCK_MAX = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024];
const BLOCK_STORED = 0x80000000;

/**
 * A scratch output kept per thread: a fresh 1 MB Buffer per batch cost more than the decoding
 * (a new mapping, page faults, GC pressure from external memory), about 4 ms against 0.4 ms.
 */
let scratch = Buffer.alloc(0);
/** Larger outputs get a Buffer of their own, so one huge batch does not pin memory forever. */
const SCRATCH_KEEP = 16 * 1024 * 1024;

/**
 * Decodes the LZ4 frames of data[start, end); throws CorruptRecordError on bad or oversized
 * input. With `transient` the result is a view of this thread's scratch buffer, valid only
 * until the next transient call: for a caller that reads it at once and keeps nothing.
 */
export function lz4FrameDecode(data: Buffer, start: number, end: number, maxSize: number, transient = false): Buffer {
  const bound = walk(data, start, end, maxSize, null);
  let out: Buffer;
  if (!transient || bound > SCRATCH_KEEP) out = Buffer.allocUnsafe(bound);
  else {
    if (scratch.length < bound) scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_KEEP, Math.max(bound, scratch.length * 2)));
    out = scratch;
  }
  const n = walk(data, start, end, maxSize, out);
  return out.subarray(0, n);
}

/**
 * One pass over the frames. Without `out` it returns the bound on the decoded size (and
 * checks the structure); with `out` it decodes into it and returns the bytes written.
 */
function walk(data: Buffer, start: number, end: number, maxSize: number, out: Buffer | null): number {
  let pos = start;
  let total = 0;
  if (end <= start) throw new CorruptRecordError('empty lz4 records section');
  while (pos < end) {
    if (pos + 8 > end) throw new CorruptRecordError(`lz4 frame header cut short at byte ${pos - start}`);
    const magic = data.readUInt32LE(pos);
    if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) {
      pos += 8 + data.readUInt32LE(pos + 4);
      continue;
    }
    if (magic !== LZ4_MAGIC) throw new CorruptRecordError(`not an lz4 frame at byte ${pos - start} (magic 0x${magic.toString(16)})`);
    const flg = data[pos + 4]!;
    const bd = data[pos + 5]!;
    if (flg >> 6 !== 1) throw new CorruptRecordError(`lz4 frame version ${flg >> 6} at byte ${pos - start}`);
    if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) throw new CorruptRecordError(`lz4 frame at byte ${pos - start} has reserved bits set`);
    const blockMax = LZ4_BLOCK_MAX[(bd >> 4) & 7]!;
    if (blockMax === 0) throw new CorruptRecordError(`lz4 frame at byte ${pos - start} has an invalid block size code`);
    const blockChecksum = (flg & 0x10) !== 0 ? 4 : 0;
    const descriptorEnd = pos + 6 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0);
    if (descriptorEnd + 1 > end) throw new CorruptRecordError(`lz4 frame header cut short at byte ${pos - start}`);
    // Kafka (KafkaLZ4BlockInputStream) and lz4-napi refuse a frame whose header checksum is wrong.
    if (data[descriptorEnd] !== ((xxh32(data, pos + 4, descriptorEnd) >>> 8) & 0xff)) {
      throw new CorruptRecordError(`lz4 frame at byte ${pos - start} has a wrong header checksum`);
    }
    let p = descriptorEnd + 1;
    for (;;) {
      if (p + 4 > end) throw new CorruptRecordError(`lz4 frame at byte ${pos - start} has no end mark`);
      const word = data.readUInt32LE(p);
      p += 4;
      if (word === 0) break;
      const size = (word & 0x7fffffff) >>> 0;
      if (size > blockMax) throw new CorruptRecordError(`lz4 block of ${size} bytes exceeds the frame's ${blockMax}`);
      if (p + size + blockChecksum > end) throw new CorruptRecordError(`lz4 block at byte ${p - start} runs past the end of the records`);
      if (out === null) {
        total += (word & BLOCK_STORED) !== 0 ? size : blockMax;
        if (total > maxSize) throw new CorruptRecordError(`lz4 records would decompress to ${total} bytes or more, over the limit of ${maxSize}`);
      } else if ((word & BLOCK_STORED) !== 0) {
        data.copy(out, total, p, p + size);
        total += size;
      } else {
        const n = lz4DecodeBlock(data.subarray(p, p + size), out, total);
        if (n < 0 || n > blockMax) throw new CorruptRecordError(`lz4 block at byte ${p - start} is malformed`);
        total += n;
      }
      p += size + blockChecksum;
    }
    if (flg & 0x04) p += 4;
    if (p > end) throw new CorruptRecordError(`lz4 content checksum cut short at byte ${p - 4 - start}`);
    pos = p;
  }
  return total;
}

const P1 = 2654435761;
const P2 = 2246822519;
const P3 = 3266489917;
const P4 = 668265263;
const P5 = 374761393;
const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));

/** XXH32 with seed 0 of data[start, end), for inputs under 16 bytes (an LZ4 frame descriptor). */
function xxh32(data: Buffer, start: number, end: number): number {
  let h = (P5 + (end - start)) | 0;
  let i = start;
  for (; i + 4 <= end; i += 4) h = Math.imul(rotl((h + Math.imul(data.readUInt32LE(i), P3)) | 0, 17), P4);
  for (; i < end; i++) h = Math.imul(rotl((h + Math.imul(data[i]!, P5)) | 0, 11), P1);
  h = Math.imul(h ^ (h >>> 15), P2);
  h = Math.imul(h ^ (h >>> 13), P3);
  return (h ^ (h >>> 16)) >>> 0;
}
