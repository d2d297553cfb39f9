/**
 * The codecs of attributes bits 0-2. Each one turns the records section (everything after
 * the 61-byte header) into one compressed blob and back.
 *
 *   codec   write                             read
 *   none    as is                             as is
 *   gzip    node:zlib gzip                    node:zlib gunzip (all members)
 *   snappy  xerial framing (snappy-java)      xerial framing, or raw snappy (librdkafka)
 *   lz4     LZ4 frame, 64 KiB independent     any LZ4 frame (checksums, content size, ...)
 *           blocks (FLG 0x60, BD 0x40; lz4.ts)
 *   zstd    not supported: throws             fzstd (pure JS)
 *
 * Snappy framing lives in snappy.ts. Hostile input: before a blob reaches a decoder, its
 * frame structure is walked (frames.ts, cheap, no decoding) and the most it could
 * decompress to is compared with `maxSize`, so a ten-byte input can never make a decoder
 * allocate gigabytes. Decoder failures come out as CorruptRecordError. Stateless and
 * thread-safe.
 */
import { gunzip, gunzipSync, gzip, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { decompressFrame, decompressFrameSync } from 'lz4-napi';
import { lz4FrameCompress, lz4FrameCompressAsync } from './lz4.js';
import { uncompress as snappyUncompress } from 'snappy';
import { decompress as zstdDecompress } from 'fzstd';
import { CorruptRecordError, UnsupportedCompressionError } from './errors.js';
import { checkLz4Frames, checkZstdFrames } from './frames.js';
import { Compression } from './layout.js';
import { checkRawSnappy, isXerial, rawSnappyDecompress, xerialCompress, xerialCompressAsync, xerialDecompress } from './snappy.js';

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
      return lz4FrameCompress(data);
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
      return lz4FrameCompressAsync(data);
    case Compression.Snappy:
      return xerialCompressAsync(data);
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
