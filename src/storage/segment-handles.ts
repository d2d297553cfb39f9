/**
 * The open segment files of a broker: a least-recently-used list of segment handles (each an
 * open .log file: one descriptor and one mapping) with a bound, `sluice.max.open.segments`.
 * Opening one more file past the bound closes the least recently used one that can close,
 * so ten thousand quiet partitions hold no descriptors and the process stays under its
 * RLIMIT_NOFILE. A closed segment opens its file again, transparently, on its next append,
 * read or fdatasync.
 *
 * What closing may not break: views handed out before stay valid (the native mapping lives
 * on while a view holds it: native/mapped_file.h), and a segment refuses to close while an
 * fdatasync runs on its descriptor. An append or a read is synchronous, so nothing else can
 * close a file under it; and the file being opened is never the one closed to make room.
 * So the bound can be exceeded only by files pinned by fdatasyncs in flight.
 *
 * Not thread-safe: one event loop owns it (each worker thread has its own default).
 */

/** A segment whose open file the list may close. */
export interface SegmentHandle {
  /** Closes the file, keeping views valid; false when it cannot close now (an fdatasync runs). */
  evict(): boolean;
}

/** Files open at once when nothing says otherwise: 4096 fits under common hard limits together with 10,000 connections. */
export const DEFAULT_MAX_OPEN_SEGMENTS = 4096;

export class SegmentHandles {
  /** Insertion order is recency: the first key is the least recently used. */
  private readonly open = new Map<SegmentHandle, true>();
  /** The handle touched last, so repeated use of one segment (the hot path) costs a compare. */
  private last: SegmentHandle | null = null;
  private _evictions = 0;

  constructor(readonly maxOpen: number = DEFAULT_MAX_OPEN_SEGMENTS) {
    if (!(maxOpen >= 1)) throw new RangeError(`max open segments must be at least 1, not ${maxOpen}`);
  }

  /** Files open now. */
  get size(): number {
    return this.open.size;
  }

  /** Files closed to make room since this list was made. */
  get evictions(): number {
    return this._evictions;
  }

  /** Marks `h` as just used. */
  touch(h: SegmentHandle): void {
    if (this.last === h) return;
    this.last = h;
    if (this.open.delete(h)) this.open.set(h, true);
  }

  /** `h` has just opened its file: it becomes the most recently used, and the oldest close while over the bound. */
  opened(h: SegmentHandle): void {
    this.open.delete(h);
    this.open.set(h, true);
    this.last = h;
    if (this.open.size <= this.maxOpen) return;
    for (const old of this.open.keys()) {
      if (this.open.size <= this.maxOpen) break;
      if (old === h || !old.evict()) continue;
      this.open.delete(old);
      this._evictions++;
    }
  }

  /** `h` closed its file by itself (close, delete, idle release). */
  closed(h: SegmentHandle): void {
    this.open.delete(h);
    if (this.last === h) this.last = null;
  }
}

/** The list of Logs opened without one (a Log used on its own, a worker's recovery). */
export const defaultSegmentHandles = new SegmentHandles();
