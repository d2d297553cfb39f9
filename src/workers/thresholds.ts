/**
 * Below these sizes a call runs inline: the hop to a worker (transfer, two messages, a
 * wake-up, the promise) costs the event loop more than the work it would take off it.
 *
 * Measured with bench/pool-threshold.ts on the 2-core box (Node 20, Piscina 5, atomics
 * 'async', 2 workers), JSON log lines: medians of 3 runs of 5. "main" is the event-loop
 * time of one pooled call with 4 in flight; the pool pays once main < inline. Sizes are
 * what the call takes in: the records section for compress, the compressed section for
 * decompress, the chain for validate.
 *
 *   op           codec  input bytes  inline us  main us (pooled)  pooled latency us
 *   compress     lz4          34837       46         87              235
 *   compress     lz4          69802       98         88              324   <- 64 KiB
 *   compress     lz4         139732      224         90              453
 *   compress     gzip          4251       48        151              271
 *   compress     gzip         17410      276        121              537   <- 16 KiB
 *   decompress   lz4          47104      107        112              391
 *   decompress   lz4          93474      284        230              497   <- 64 KiB
 *   decompress   gzip         15920      162        183              428
 *   decompress   gzip         28201      262        130              461   <- 24 KiB
 *   validate     none         69863       41         87              172
 *   validate     none        139793       81         71              230   <- 128 KiB
 *   validate     lz4          13204       71         97              270
 *   validate     lz4          25973      126         85              269   <- 24 KiB
 *   validate     gzip          8265      112        115              299
 *   validate     gzip         15981      167        113              339   <- 16 KiB
 *
 * A no-op round trip through Piscina costs 50-200 us here (noisy, shared host), so the
 * pool is for work of a tenth of a millisecond and up. Pooled latency is always above
 * inline: what the pool buys is a free event loop (and, once both cores are not already
 * busy, throughput: gzip compress 1.5x, lz4 1 MB 1.5x). Snappy was not measured: its
 * speed is lz4's, so it shares lz4's values; zstd (pure JS fzstd, read only) shares gzip's.
 */
import { Compression } from '../record/layout.js';

/** Records sections (uncompressed bytes) smaller than this are compressed inline. */
export const COMPRESS_INLINE_BELOW: Readonly<Record<number, number>> = {
  [Compression.Gzip]: 16 * 1024,
  [Compression.Snappy]: 64 * 1024,
  [Compression.Lz4]: 64 * 1024,
};

/** Compressed sections smaller than this are decompressed inline. */
export const DECOMPRESS_INLINE_BELOW: Readonly<Record<number, number>> = {
  [Compression.Gzip]: 24 * 1024,
  [Compression.Snappy]: 64 * 1024,
  [Compression.Lz4]: 64 * 1024,
  [Compression.Zstd]: 24 * 1024,
};

/** Chains smaller than this are validated inline, by the codec of their first batch. */
export const VALIDATE_INLINE_BELOW: Readonly<Record<number, number>> = {
  [Compression.None]: 128 * 1024,
  [Compression.Gzip]: 16 * 1024,
  [Compression.Snappy]: 24 * 1024,
  [Compression.Lz4]: 24 * 1024,
  [Compression.Zstd]: 16 * 1024,
};

/**
 * Legacy message-format conversions (Produce v0-2 up, Fetch v0-3 down) of inputs smaller
 * than this run inline. Converting decodes and re-encodes every record and computes a CRC
 * per message: inline it took 0.6-1.2 ms per 130-170 KB uncompressed and 1.4-8 ms per
 * 25-37 KB of gzip (bench/legacy-convert.ts, run while the host's load average was 18, so
 * only the order of magnitude holds). Until a quiet run says otherwise the threshold sits
 * at half of validate's uncompressed one, and compressed inputs count 4x their size.
 */
export const LEGACY_CONVERT_INLINE_BELOW = 64 * 1024;
/** A compressed input counts this many times its size against LEGACY_CONVERT_INLINE_BELOW. */
export const LEGACY_COMPRESSED_FACTOR = 4;
/**
 * Produced chains smaller than this get the append-time record checks (record/log-validator.ts)
 * inline. Measured with bench/validator-cost.ts (CPU time, 10,000 records of ~110 bytes, the
 * shared 2-core box): about 9 ns per record uncompressed (native walk) and about 55 ns per lz4
 * record (native block decoder + walk), against 40 ns and 700-1,000 ns for validate.ts above;
 * snappy and gzip cost what their decoders cost (250-600 ns). Set where the inline walk costs
 * the event loop about what a pooled call does (~85 us, table above): about 1 MiB of
 * uncompressed chain. lz4 is set higher, 1 MiB (up to about 1.5 ms inline for a chain of
 * max.message.bytes), because a pooled call costs more broker CPU than it moves: the chain is
 * copied out of the request frame and posted (a profile of bench/broker-cpu.ts showed
 * postMessage + the copy as the main thread's largest costs), and bench/broker-cpu.ts
 * (librdkafka, 100 B lz4, 2 M records, runs alternated with a broker without the checks)
 * measured about +0.15 s of broker CPU per million records with lz4 chains pooled above
 * 48 KiB against about +0.08 s inline. snappy, gzip and zstd keep validate.ts's values.
 */
export const APPEND_VALIDATE_INLINE_BELOW: Readonly<Record<number, number>> = {
  [Compression.None]: 1024 * 1024,
  [Compression.Gzip]: 16 * 1024,
  [Compression.Snappy]: 24 * 1024,
  [Compression.Lz4]: 1024 * 1024,
  [Compression.Zstd]: 16 * 1024,
};

/** Idle workers exit after this long; the next pooled call starts them again. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
