/**
 * Malloc thresholds for a broker's request memory (glibc only; elsewhere nothing changes).
 *
 * Every produce request is a fresh ~1 MB Buffer (the assembled frame, server/framing.ts) plus
 * the 64 KiB chunks Node reads the socket into, all from malloc and all garbage once the
 * request is answered. V8 frees them in bulk, at each garbage collection its external-memory
 * accounting triggers (about every 64 MB). glibc's defaults then hand those pages back to the
 * OS and map them again: a chunk above the mmap threshold (128 KiB at start, raised only to the
 * largest size freed so far) is an mmap/munmap of its own, and a free top of the heap above the
 * trim threshold (twice that) is trimmed. Each request's memory is then fresh pages, one page
 * fault and a zeroed page per 4 KiB, in the broker's system CPU time.
 *
 * Set once, within the range glibc's dynamic thresholds move in anyway (up to 32 MiB / 64 MiB),
 * the pages stay mapped and are reused: allocations below RELEASABLE_FRAME_BYTES (16 MiB; larger
 * frames map their own memory, given back on close) come from the heap, and up to
 * TRIM_THRESHOLD of freed heap stays mapped for the next requests.
 *
 * Measured as bench/broker-cpu.ts runs it (100 B records, lz4, librdkafka, acks=1), produce
 * only, 7 runs of 3 each way on this shared 2-core machine: minor page faults per million
 * records went from 0-9,000 (3,000-9,000 in most runs) to 0-1,000, and the broker's system CPU
 * from 0.03-0.13 s per million records (median 0.105) to 0.025-0.05 (median 0.045).
 * The cost: up to TRIM_THRESHOLD of freed heap stays in the process's RSS after a burst.
 */
import { mallocThresholds } from '../native.js';
import { RELEASABLE_FRAME_BYTES } from './framing.js';

/** Allocations from this size up get pages of their own (frames this large have their own mapping anyway). */
export const MMAP_THRESHOLD = RELEASABLE_FRAME_BYTES;
/** Freed heap kept mapped before glibc trims it: more than what V8 frees in one collection of request buffers. */
export const TRIM_THRESHOLD = 64 * 1024 * 1024;

let applied: boolean | undefined;

/** Sets the thresholds once per process; true when the C library took them. */
export function keepRequestMemoryMapped(): boolean {
  applied ??= mallocThresholds(MMAP_THRESHOLD, TRIM_THRESHOLD);
  return applied;
}
