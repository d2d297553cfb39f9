/**
 * A sparse index kept in memory and persisted beside its segment in bulk (on flush, roll
 * and close), as a sorted array of fixed-size entries, each a (key, value) pair of numbers.
 * The offset and time indexes are its two subclasses. Indexes are derived data: after an
 * unclean shutdown, or when a file fails its sanity check, they are rebuilt from the log,
 * so they are never fsynced. Not thread-safe.
 */
import fs from 'node:fs';
import { writeFully } from './write-fully.js';

export abstract class IndexFile {
  /** Bytes of one entry on disk. */
  protected abstract readonly entrySize: number;
  protected keys: Float64Array;
  protected values: Float64Array;
  /** Entries in memory. */
  count = 0;
  /** Entries known to be on disk (a prefix of the ones in memory). */
  private persisted = 0;
  /** Entries the file is known to hold, or -1 when unknown (or no file): lets reset skip rewriting an empty file. */
  private fileEntries = -1;
  /**
   * The file's entries past the ones in memory are still true of the data (recovery rebuilt
   * the index in memory and cut nothing): persist need not truncate them away.
   */
  private fileTailValid = false;

  constructor(
    readonly path: string,
    /** Most entries the index may hold (segment.index.bytes / entrySize); then the log rolls. */
    readonly maxEntries: number,
  ) {
    this.keys = new Float64Array(16);
    this.values = new Float64Array(16);
  }

  protected abstract encode(buf: Buffer, pos: number, key: number, value: number): void;
  protected abstract decodeKey(buf: Buffer, pos: number): number;
  protected abstract decodeValue(buf: Buffer, pos: number): number;
  /** Why the entries read from disk are not a valid index, or null when they are. */
  protected abstract check(logSize: number): string | null;

  get isFull(): boolean {
    return this.count >= this.maxEntries;
  }

  get lastKey(): number {
    return this.count > 0 ? this.keys[this.count - 1]! : -1;
  }

  get lastValue(): number {
    return this.count > 0 ? this.values[this.count - 1]! : -1;
  }

  key(i: number): number {
    return this.keys[i]!;
  }

  value(i: number): number {
    return this.values[i]!;
  }

  protected push(key: number, value: number): void {
    // A rebuild that finds the entry the file already holds at this place keeps it as persisted.
    if (this.fileTailValid && this.persisted === this.count && this.count < this.fileEntries && this.keys[this.count] === key && this.values[this.count] === value) {
      this.persisted++;
    }
    if (this.count === this.keys.length) {
      const keys = new Float64Array(this.keys.length * 2);
      const values = new Float64Array(this.values.length * 2);
      keys.set(this.keys);
      values.set(this.values);
      this.keys = keys;
      this.values = values;
    }
    this.keys[this.count] = key;
    this.values[this.count] = value;
    this.count++;
  }

  /** Index of the last entry whose key is <= target (< target when strict), or -1. */
  protected floor(target: number, strict: boolean): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    const keys = this.keys;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[mid]!;
      if (k < target || (!strict && k === target)) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /**
   * Reads the file into memory and checks it against a log of `logSize` bytes. Returns
   * null when it loaded, or the reason it cannot be trusted (missing, torn, out of order):
   * the caller then rebuilds it from the log.
   */
  load(logSize: number): string | null {
    let data: Buffer;
    try {
      data = fs.readFileSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'index file is missing';
      throw err;
    }
    this.fileEntries = data.length % this.entrySize === 0 ? data.length / this.entrySize : -1;
    if (data.length % this.entrySize !== 0) {
      return `index file has ${data.length} bytes, not a multiple of the ${this.entrySize}-byte entry`;
    }
    const n = data.length / this.entrySize;
    if (n > this.maxEntries) return `index file has ${n} entries, more than the ${this.maxEntries} allowed`;
    this.reset(false);
    for (let i = 0; i < n; i++) {
      const pos = i * this.entrySize;
      this.push(this.decodeKey(data, pos), this.decodeValue(data, pos));
    }
    this.persisted = n;
    const problem = this.check(logSize);
    if (problem !== null) {
      this.reset(false);
      this.fileEntries = -1;
    }
    return problem;
  }

  /**
   * Writes the entries not yet on disk. All or nothing as far as this object knows: on a
   * failure (ENOSPC) it throws and counts none of them as written, so the next call writes
   * them again from the same place (a torn tail left in the file is cut by that call, or
   * fails the size check on the next open and the index is rebuilt).
   */
  persist(): void {
    if (this.persisted === this.count && (this.fileEntries === this.count || this.fileTailValid)) return;
    this.fileTailValid = false;
    const from = this.persisted;
    const buf = Buffer.allocUnsafe((this.count - from) * this.entrySize);
    for (let i = from; i < this.count; i++) this.encode(buf, (i - from) * this.entrySize, this.keys[i]!, this.values[i]!);
    const fd = fs.openSync(this.path, fs.constants.O_WRONLY | fs.constants.O_CREAT);
    try {
      const had = this.fileEntries;
      this.fileEntries = -1;
      if (had !== from) fs.ftruncateSync(fd, from * this.entrySize);
      writeFully(fd, buf, from * this.entrySize);
    } finally {
      fs.closeSync(fd);
    }
    this.persisted = this.count;
    this.fileEntries = this.count;
  }

  /** Keeps the first `n` entries. */
  truncateEntries(n: number): void {
    this.fileTailValid = false;
    if (n >= this.count) return;
    this.count = Math.max(0, n);
    if (this.persisted > this.count) {
      this.persisted = this.count;
      this.fileEntries = -1;
      if (fs.existsSync(this.path)) fs.truncateSync(this.path, this.count * this.entrySize);
      this.fileEntries = this.count;
    }
  }

  /** Drops every entry; with `onDisk` also empties the file (unless it is known to be empty: recovery of thousands of small logs). */
  reset(onDisk = true): void {
    this.count = 0;
    this.persisted = 0;
    this.fileTailValid = false;
    if (!onDisk || this.fileEntries === 0) return;
    this.fileEntries = -1;
    fs.writeFileSync(this.path, Buffer.alloc(0));
    this.fileEntries = 0;
  }

  /**
   * Drops the entries in memory for a rebuild over data that did not change (recovery that
   * cut nothing): the file keeps its entries, all still true, and the rebuilt entries that
   * match them count as persisted, so a rebuild of unchanged data writes nothing.
   */
  resetForRebuild(): void {
    const onDisk = this.fileEntries;
    this.count = 0;
    this.persisted = 0;
    this.fileTailValid = onDisk >= 0;
  }

  /** The data changed under the file's entries (a cut): the next persist rewrites the file. */
  fileIsStale(): void {
    this.fileTailValid = false;
    this.fileEntries = -1;
  }

  delete(): void {
    this.fileEntries = -1;
    fs.rmSync(this.path, { force: true });
  }
}
