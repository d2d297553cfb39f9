/**
 * File access of the log cleaner: walking the batches of a segment file in chunks with plain
 * reads, writing a `.cleaned` file, and syncing a directory.
 *
 * The cleaner reads with pread, never through a MappedFile: it may run in a worker thread
 * beside the owner of the same files, and opening a second MappedFile on a segment would give
 * that thread a handle whose close trims the file (see native/mapped_file.cc). The active
 * segment's file is appended to while it is read: its file size is its data size (disk is
 * reserved with FALLOC_FL_KEEP_SIZE), and the walk stops at the byte count snapshotted when
 * the compaction was planned. Stateless and thread-safe.
 */
import fs from 'node:fs';
import { LENGTH_OFFSET, LOG_OVERHEAD, MIN_BATCH_LENGTH } from '../record/layout.js';

/** Bytes read at a time; a larger batch gets a read of its own size. */
const READ_CHUNK = 1024 * 1024;
/** Cleaned output is written in pieces of about this size. */
const WRITE_CHUNK = 1024 * 1024;

/** Where a walk over a file's batches stopped early, and why. */
export interface WalkProblem {
  position: number;
  reason: string;
}

/**
 * Calls `visit` with each whole batch in the first `size` bytes of `file`, in order, as a
 * Buffer of its own chunk (valid after the call: chunks are not reused). `visit` returns
 * false to stop. Returns null when the walk ended normally (at `size`, at a short read, or
 * when told to stop), 'missing' when the file is gone, or the problem when the bytes are
 * not a chain of batches.
 */
export function walkBatchesInFile(
  file: string,
  size: number,
  visit: (batch: Buffer, position: number) => boolean,
): WalkProblem | 'missing' | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  try {
    let pos = 0;
    while (pos < size) {
      const want = Math.min(READ_CHUNK, size - pos);
      const chunk = readAt(fd, pos, want);
      let p = 0;
      while (chunk.length - p >= LOG_OVERHEAD) {
        const length = chunk.readInt32BE(p + LENGTH_OFFSET);
        if (length < MIN_BATCH_LENGTH) return { position: pos + p, reason: `batchLength ${length} is below ${MIN_BATCH_LENGTH}` };
        const batchSize = length + LOG_OVERHEAD;
        if (pos + p + batchSize > size) {
          return { position: pos + p, reason: `a batch of ${batchSize} bytes runs past the ${size} bytes of data` };
        }
        if (p + batchSize > chunk.length) break;
        if (!visit(chunk.subarray(p, p + batchSize), pos + p)) return null;
        p += batchSize;
      }
      if (p === 0) {
        if (chunk.length < LOG_OVERHEAD) {
          // A short read means the file shrank under us (truncated): the walk just ends.
          return chunk.length < want ? null : { position: pos, reason: `the last ${size - pos} bytes are not a whole batch` };
        }
        // One batch larger than the chunk: read it whole.
        const batchSize = chunk.readInt32BE(LENGTH_OFFSET) + LOG_OVERHEAD;
        const batch = readAt(fd, pos, batchSize);
        if (batch.length < batchSize) return null;
        if (!visit(batch, pos)) return null;
        p = batchSize;
      }
      pos += p;
    }
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** Up to `length` bytes at `position` (fewer when the file ends first). */
function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/**
 * Writes a cleaned segment: batches are queued and written in ~1 MiB pieces; finish()
 * fsyncs and closes. Not thread-safe (one writer per file).
 */
export class CleanedFileWriter {
  private readonly fd: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes written (or queued) so far. */
  size = 0;

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'w');
  }

  write(batch: Buffer): void {
    this.pending.push(batch);
    this.pendingBytes += batch.length;
    this.size += batch.length;
    if (this.pendingBytes >= WRITE_CHUNK) this.drain();
  }

  /** Writes what is queued, fsyncs and closes: the file is durable on return. */
  finish(): void {
    try {
      this.drain();
      fs.fsyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
    }
  }

  /** Closes and removes the file (after a failure). */
  abort(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed by finish()
    }
    fs.rmSync(this.path, { force: true });
  }

  private drain(): void {
    if (this.pendingBytes === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    let done = 0;
    while (done < data.length) done += fs.writeSync(this.fd, data, done, data.length - done);
    this.pending = [];
    this.pendingBytes = 0;
  }
}

/** fsyncs a directory, so renames and unlinks in it are durable. */
export function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
