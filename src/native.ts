/**
 * Typed loader for the C++ addon (native/). The addon is small and synchronous: mapped
 * files, CRC32C and batch-chain scans. Policy (when to roll, sync, truncate) lives in
 * TypeScript; this file only gives the native pieces their types.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Raised by native code for every failed system call. */
export interface NativeError extends Error {
  code: string; // 'ENOSPC', 'ENOENT', ... or 'ERR_SLUICE_NATIVE' for a non-errno failure
  errno?: number;
  syscall?: string;
  path?: string;
}

/**
 * A file mapped into memory over a virtual range of `capacity` bytes. Not thread-safe:
 * one owner appends; any number of views may be read.
 *
 * Disk space is allocated (fallocate) in chunks ahead of `size`, so a full disk is an
 * ENOSPC thrown by append, never a SIGBUS. The mapping is released only when the file
 * has been closed AND every view over it has been garbage collected.
 */
export interface MappedFile {
  /** Path the file was opened with. */
  readonly path: string;
  /** OS file descriptor (valid until close), for fs.fdatasync on the libuv pool. */
  readonly fd: number;
  /** Bytes of data: the append position. */
  readonly size: number;
  /** Length of the mapped virtual range: the most `size` can ever reach. */
  readonly capacity: number;
  /** Bytes of disk allocated so far (>= size, until trim or close). */
  readonly allocated: number;
  /** True once close() has run. */
  readonly closed: boolean;
  /** Copies the buffers, in order, to the tail; returns the position of the first byte. */
  append(...buffers: Uint8Array[]): number;
  /** Overwrites bytes already written (position + length <= size). */
  write(position: number, data: Uint8Array): void;
  /** A Buffer that views the mapping (no copy). It stays valid after close or truncate. */
  view(position: number, length: number): Buffer;
  /** Returns the end of the longest valid RecordBatch v2 chain in [start, end). */
  scan(start: number, end: number): number;
  /** fdatasync: data and size are durable on return. Blocks; see Log for the async path. */
  sync(): void;
  /** Cuts the data (and the file) to `size` bytes; views over the cut range read zeros. */
  truncate(size: number): void;
  /** Gives back disk allocated past `size` (done by close too). */
  trim(): void;
  /** Trims, closes the descriptor; the mapping lives on while views do. */
  close(): void;
}

export interface MappedFileOptions {
  /** Create the file when missing (default true). */
  create?: boolean;
  /** Largest step of disk reserved ahead of the tail (default 16 MiB; steps start at 64 KiB). */
  allocationChunk?: number;
}

interface NativeAddon {
  MappedFile: new (path: string, capacity: number, options?: MappedFileOptions) => MappedFile;
  crc32c(data: Uint8Array, initial?: number): number;
  crc32cIsHardware(): boolean;
  scanBatches(data: Uint8Array, start: number, end: number): number;
  lz4DecodeBlock(src: Uint8Array, dst: Uint8Array, dstStart: number): number;
  walkRecords(data: Uint8Array, start: number, end: number, count: number, out: Float64Array): boolean;
  liveMappings(): number;
  mallocThresholds(mmapThreshold: number, trimThreshold: number): boolean;
  lockFile(path: string): number;
  unlockFile(fd: number): void;
  syncFilesystem(path: string): void;
  openFileLimit(raise: boolean): { soft: number; hard: number };
}

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

function load(): NativeAddon {
  // src/native.ts runs from src/ (vitest) or dist/src/ (compiled); build/ sits at the root.
  const candidates = [
    path.join(here, '..', 'build', 'Release', 'sluice_native.node'),
    path.join(here, '..', '..', 'build', 'Release', 'sluice_native.node'),
  ];
  let lastError: unknown;
  for (const file of candidates) {
    try {
      return require(file) as NativeAddon;
    } catch (err) {
      lastError = err;
      if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    }
  }
  throw new Error(
    `Sluice's native addon is not built (looked for build/Release/sluice_native.node). ` +
      `Run \`npm install\` (or \`npx node-gyp rebuild\`) in the package directory. Cause: ${String(lastError)}`,
  );
}

const addon = load();

export const MappedFile = addon.MappedFile;
/** CRC32C (Castagnoli) of `data`, continuing from `initial` (default 0). */
export const crc32c = addon.crc32c;
/** True when CRC32C runs on the SSE4.2 instruction rather than the table fallback. */
export const crc32cIsHardware = addon.crc32cIsHardware;
/**
 * Walks a chain of RecordBatch v2 in `data` from `start`, checking length bounds, magic 2
 * and CRC32C; returns where the last valid batch ends (== start when the first is bad).
 */
export const scanBatches = addon.scanBatches;
/** Decodes one LZ4 block into dst at dstStart; returns the bytes written, or -1 when malformed or too large for dst. */
export const lz4DecodeBlock = addon.lz4DecodeBlock;
/**
 * The fast path of the produce-time record checks: true when the `count` records in data[start, end)
 * are well formed (record/log-validator.ts has the rules); out = [max timestampDelta, min
 * timestampDelta, keyless records]. False says only "look closer": the TypeScript walk names the problem.
 */
export const walkRecords = addon.walkRecords;
/** Mappings not yet released (open files plus closed ones with live views). For tests. */
export const liveMappings = addon.liveMappings;
/**
 * glibc's M_MMAP_THRESHOLD and M_TRIM_THRESHOLD (mallopt), in bytes; true when both were taken,
 * false on a C library without mallopt. See server/malloc-thresholds.ts.
 */
export const mallocThresholds = addon.mallocThresholds;
/** Takes an exclusive flock on `path` (created when missing); returns the descriptor to unlock. */
export const lockFile = addon.lockFile;
/** Releases a lock taken by lockFile. */
export const unlockFile = addon.unlockFile;
/** syncfs(2): makes every file on the filesystem holding `path` durable (blocks). */
export const syncFilesystem = addon.syncFilesystem;
/**
 * RLIMIT_NOFILE of this process ({ soft, hard }; Infinity when unlimited). With `raise`, the
 * soft limit is first raised to the hard one (Node's own binary does that at start, an
 * embedder may not); a refused raise is not an error.
 */
export const openFileLimit = addon.openFileLimit;
