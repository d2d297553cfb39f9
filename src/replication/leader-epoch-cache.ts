/**
 * A partition's leader epochs (KIP-101 / KIP-279): for each leader epoch, the offset of the
 * first batch written in it. Kept in `<partition dir>/leader-epoch-checkpoint`, in Kafka's own
 * layout, so the file reads the same to an operator who knows Kafka's:
 *
 *   0                 version
 *   3                 number of entries
 *   0 0               epoch startOffset, oldest first
 *   2 1500
 *   5 1873
 *
 * A follower asks its leader where its log diverges (OffsetForLeaderEpoch with its latest
 * epoch); the leader answers with endOffsetFor, the start of the next epoch it knows. Entries
 * only grow in epoch and start offset; truncation removes them from the end, retention from
 * the start. The file is replaced atomically on every change (a change is rare: once per
 * leader change). Not thread-safe.
 */
import fs from 'node:fs';
import path from 'node:path';
import { replaceFile } from '../storage/write-fully.js';

export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';
const VERSION = 0;

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

/** The answer to OffsetForLeaderEpoch: epoch -1 and offset -1 when the epoch is older than any known. */
export interface EpochEndOffset {
  epoch: number;
  endOffset: number;
}

export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export class LeaderEpochCache {
  private entries: EpochEntry[];

  private constructor(
    readonly file: string,
    entries: EpochEntry[],
  ) {
    this.entries = entries;
  }

  /**
   * Reads the checkpoint in `dir`, or, when there is none (a log from before replication),
   * builds it from `scan`: the (epoch, base offset) of each batch of the log, oldest first.
   */
  static open(dir: string, scan: () => Iterable<EpochEntry>): LeaderEpochCache {
    const file = path.join(dir, LEADER_EPOCH_CHECKPOINT);
    let text: string | null = null;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== null) {
      const entries = parse(text);
      if (entries !== null) return new LeaderEpochCache(file, entries);
    }
    const cache = new LeaderEpochCache(file, []);
    for (const e of scan()) cache.assign(e.epoch, e.startOffset, false);
    cache.save();
    return cache;
  }

  get latestEpoch(): number {
    return this.entries.at(-1)?.epoch ?? UNDEFINED_EPOCH;
  }

  /** Start offset of `epoch`, or -1 when it is not known. */
  startOffsetOf(epoch: number): number {
    return this.entries.find((e) => e.epoch === epoch)?.startOffset ?? -1;
  }

  list(): readonly EpochEntry[] {
    return this.entries;
  }

  /**
   * Notes that `epoch` starts at `startOffset`, when it is newer than the latest known. An
   * entry whose start offset is not below it is from a divergent history and goes.
   */
  assign(epoch: number, startOffset: number, persist = true): void {
    if (epoch < 0) return;
    const last = this.entries.at(-1);
    if (last !== undefined && epoch <= last.epoch) return;
    let cut = this.entries.length;
    while (cut > 0 && this.entries[cut - 1]!.startOffset >= startOffset) cut--;
    this.entries.length = cut;
    this.entries.push({ epoch, startOffset });
    if (persist) this.save();
  }

  /**
   * Kafka's endOffsetFor: for the newest epoch, the log end offset; for an older one, the
   * start offset of the first epoch after it, with the newest epoch at or below it. An epoch
   * older than all known gets (-1, -1).
   */
  endOffsetFor(requested: number, logEndOffset: number): EpochEndOffset {
    const latest = this.latestEpoch;
    if (requested === latest && latest !== UNDEFINED_EPOCH) return { epoch: latest, endOffset: logEndOffset };
    if (requested > latest) return { epoch: latest, endOffset: latest === UNDEFINED_EPOCH ? UNDEFINED_EPOCH_OFFSET : logEndOffset };
    let floor: EpochEntry | undefined;
    for (const e of this.entries) {
      if (e.epoch > requested) {
        if (floor === undefined) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
        return { epoch: floor.epoch, endOffset: e.startOffset };
      }
      floor = e;
    }
    return { epoch: latest, endOffset: logEndOffset };
  }

  /** Drops epochs that start at or after `offset` (the log was truncated to it). */
  truncateFromEnd(offset: number): void {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => e.startOffset < offset);
    if (this.entries.length !== before) this.save();
  }

  /** Drops epochs that end before `offset` (the log now starts there); the first kept one starts there. */
  truncateFromStart(offset: number): void {
    let i = 0;
    while (i + 1 < this.entries.length && this.entries[i + 1]!.startOffset <= offset) i++;
    const first = this.entries[i];
    if (i === 0 && (first === undefined || first.startOffset >= offset)) return;
    this.entries = this.entries.slice(i);
    this.entries[0] = { epoch: this.entries[0]!.epoch, startOffset: Math.max(this.entries[0]!.startOffset, offset) };
    this.save();
  }

  /** Forgets everything (the log was emptied). */
  clear(): void {
    if (this.entries.length === 0) return;
    this.entries = [];
    this.save();
  }

  private save(): void {
    const lines = [String(VERSION), String(this.entries.length), ...this.entries.map((e) => `${e.epoch} ${e.startOffset}`)];
    replaceFile(this.file, `${lines.join('\n')}\n`);
  }
}

/** The entries of a checkpoint file, or null when it is not one this code can read (rebuilt then). */
function parse(text: string): EpochEntry[] | null {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length < 2 || Number(lines[0]) !== VERSION) return null;
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count !== lines.length - 2) return null;
  const entries: EpochEntry[] = [];
  for (const line of lines.slice(2)) {
    const [e, o] = line.trim().split(/\s+/).map(Number);
    if (!Number.isInteger(e) || !Number.isInteger(o) || e! < 0 || o! < 0) return null;
    const last = entries.at(-1);
    if (last && (e! <= last.epoch || o! < last.startOffset)) return null;
    entries.push({ epoch: e!, startOffset: o! });
  }
  return entries;
}
