/**
 * The partition checkpoint file, `partition.checkpoint`, in the partition directory:
 *
 *   sluice-partition-checkpoint 1
 *   logStartOffset <n>
 *   recoveryPoint <n>
 *   cleanedOffset <n>        (only once the log has been compacted)
 *
 * logStartOffset survives deleteRecords; recoveryPoint is the offset below which every
 * record is known to be on disk, so an unclean open only checks the segments from the one
 * holding it. Written to a temporary file and renamed, so a reader sees the old or the new
 * whole. A checkpoint that cannot be parsed counts as absent (recovery then checks more).
 * cleanedOffset is Kafka's cleaner checkpoint: every sealed segment below it has been
 * compacted. Files without it (written before compaction existed, or never compacted) read
 * as before; readers that do not know a key ignore it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { replaceFile } from './write-fully.js';

export const CHECKPOINT_FILE = 'partition.checkpoint';
const MAGIC = 'sluice-partition-checkpoint 1';

export interface PartitionCheckpoint {
  logStartOffset: number;
  recoveryPoint: number;
  /** The log is compacted below this offset; absent when it never was. */
  cleanedOffset?: number;
}

export function readCheckpoint(dir: string): PartitionCheckpoint | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, CHECKPOINT_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const lines = text.split('\n');
  if (lines[0] !== MAGIC) return null;
  const values = new Map<string, number>();
  for (const line of lines.slice(1)) {
    const m = /^(\w+) (\d+)$/.exec(line);
    if (m) values.set(m[1]!, Number(m[2]));
  }
  const logStartOffset = values.get('logStartOffset');
  const recoveryPoint = values.get('recoveryPoint');
  if (logStartOffset === undefined || recoveryPoint === undefined) return null;
  const cleanedOffset = values.get('cleanedOffset');
  return cleanedOffset === undefined ? { logStartOffset, recoveryPoint } : { logStartOffset, recoveryPoint, cleanedOffset };
}

/** Throws the fs error (ENOSPC, EIO, ...) when it cannot write; the old file then stays whole. */
export function writeCheckpoint(dir: string, c: PartitionCheckpoint): void {
  const cleaned = c.cleanedOffset === undefined ? '' : `cleanedOffset ${c.cleanedOffset}\n`;
  replaceFile(path.join(dir, CHECKPOINT_FILE), `${MAGIC}\nlogStartOffset ${c.logStartOffset}\nrecoveryPoint ${c.recoveryPoint}\n${cleaned}`);
}
