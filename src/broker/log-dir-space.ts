/**
 * The free space of the broker's log directory, and full-disk incidents told clearly (the part
 * of Kafka's LogDirFailureChannel a single broker needs: Sluice does not take the directory
 * offline, it refuses writes until space comes back).
 *
 * An incident starts with the first write that fails with ENOSPC: one error line names the
 * path, the errno and the free bytes of the directory. Later failures only count. It ends with
 * one info line at the first write that works once RESUME_FREE_BYTES are free again: on a
 * nearly full disk small appends still fit in space reserved earlier while larger ones fail,
 * and that flapping is one incident, not one per write. Producers meanwhile get
 * KAFKA_STORAGE_ERROR with a message that says the disk is full (`diskFullMessage`).
 * Not thread-safe: the broker's event loop only.
 */
import fs from 'node:fs';
import type { StorageLogger } from '../storage/index.js';
import { StorageIOError } from '../storage/index.js';

/** Free space that ends a full-disk incident (with a write that works). */
export const RESUME_FREE_BYTES = 1024 * 1024;

interface ErrnoLike {
  code?: string;
  path?: string;
}

/** The errno of a storage error (ENOSPC, EIO, ...), or undefined when it is not one. */
export function storageErrno(err: unknown): string | undefined {
  if (err instanceof StorageIOError) return err.errno ?? (err.cause as ErrnoLike | undefined)?.code;
  return undefined;
}

/** The text a producer gets for a write refused on a full disk, or null for other errors. */
export function diskFullMessage(err: unknown): string | null {
  if (storageErrno(err) !== 'ENOSPC') return null;
  return `the disk is full (ENOSPC): ${(err as Error).message}; writes work again once space is freed`;
}

/** Bytes an unprivileged writer may still use on the file system holding `dir`, or -1. */
export function freeBytes(dir: string): number {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return -1;
  }
}

/** The broker's logger (pino fits); `error` is used when it has one, else `warn`. */
export type LogDirLogger = StorageLogger & { error?(obj: object, msg: string): void };

export class LogDirSpace {
  private incident: { since: number; failedWrites: number } | null = null;
  /** Failed writes since start, by errno; read by the metrics. */
  readonly errors = new Map<string, number>();

  constructor(
    readonly dir: string,
    private readonly logger: LogDirLogger | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** True while writes fail for a full disk (from the first ENOSPC to the next write that works). */
  get full(): boolean {
    return this.incident !== null;
  }

  freeBytes(): number {
    return freeBytes(this.dir);
  }

  /** A write failed: counted when it is a disk error, and an ENOSPC opens an incident. */
  failed(err: unknown): void {
    const errno = storageErrno(err);
    if (errno === undefined) return;
    this.errors.set(errno, (this.errors.get(errno) ?? 0) + 1);
    if (errno !== 'ENOSPC') return;
    if (this.incident !== null) {
      this.incident.failedWrites++;
      return;
    }
    this.incident = { since: this.now(), failedWrites: 1 };
    const free = this.freeBytes();
    const cause = (err as Error).cause as ErrnoLike | undefined;
    const log = this.logger?.error?.bind(this.logger) ?? this.logger?.warn.bind(this.logger);
    log?.(
      { dir: this.dir, path: cause?.path ?? this.dir, errno, freeBytes: free, detail: (err as Error).message },
      `disk full: a write to ${cause?.path ?? this.dir} failed with ENOSPC, ${free} bytes free in log dir ${this.dir}; ` +
        'producers get KAFKA_STORAGE_ERROR until space is freed (reads go on)',
    );
  }

  /** A write worked: ends an incident once space is back, with one line. Cheap when there is none (the hot path). */
  written(): void {
    if (this.incident === null) return;
    const free = this.freeBytes();
    if (free >= 0 && free < RESUME_FREE_BYTES) return;
    const { since, failedWrites } = this.incident;
    this.incident = null;
    this.logger?.info(
      { dir: this.dir, freeBytes: free, failedWrites, fullForMs: this.now() - since },
      `disk space is back: writes to log dir ${this.dir} work again (${free} bytes free) after ${failedWrites} failed write(s)`,
    );
  }
}
