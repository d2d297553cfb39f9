/**
 * Writes that either land whole or throw. fs.writeSync may write part of a buffer and
 * return the count (a disk that fills up mid-write does exactly that, before the next call
 * fails with ENOSPC); every small metadata file (checkpoints, indexes, topics.json) must
 * never be left torn by that. Stateless and thread-safe.
 */
import fs from 'node:fs';

/** Writes all of `data` at `position` (or the current position when null); throws on failure. */
export function writeFully(fd: number, data: Buffer, position: number | null = null): void {
  let done = 0;
  while (done < data.length) {
    const n = fs.writeSync(fd, data, done, data.length - done, position === null ? null : position + done);
    if (n <= 0) throw Object.assign(new Error(`write returned ${n} with ${data.length - done} bytes left`), { code: 'EIO' });
    done += n;
  }
}

/**
 * Replaces `file` by `data` through `file.tmp` and a rename, so readers see the old or the
 * new content whole. With `sync`, fsyncs the data before the rename. On failure the
 * temporary file is removed (it may hold the pages a full disk is missing) and the old
 * file is left as it was.
 */
export function replaceFile(file: string, data: Buffer | string, sync = false): void {
  const tmp = `${file}.tmp`;
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      writeFully(fd, bytes, 0);
      if (sync) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
