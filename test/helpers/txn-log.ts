import fs from 'node:fs';
import path from 'node:path';
import { readBatchHeader, readEndTransactionMarker, readRecords } from '../../src/record/index.js';

/** One batch of a partition as the segment files hold it: data, or a commit/abort marker. */
export interface StoredBatch {
  baseOffset: number;
  lastOffset: number;
  transactional: boolean;
  producerId: number;
  producerEpoch: number;
  /** 'commit' or 'abort' for a marker, null for data. */
  marker: 'commit' | 'abort' | null;
  values: string[];
}

/**
 * Reads `<dir>/<topic>-<partition>/*.log` straight from the files (what is on disk, page cache
 * included, with no broker in between), batch by batch up to the first empty length (the
 * preallocated tail).
 */
export function storedBatches(dir: string, topic: string, partition: number): StoredBatch[] {
  const pdir = path.join(dir, `${topic}-${partition}`);
  const out: StoredBatch[] = [];
  for (const f of fs.readdirSync(pdir).filter((n) => n.endsWith('.log')).sort()) {
    const buf = fs.readFileSync(path.join(pdir, f));
    let pos = 0;
    while (pos + 61 <= buf.length) {
      const len = buf.readInt32BE(pos + 8);
      if (len <= 0 || pos + 12 + len > buf.length) break;
      const batch = buf.subarray(pos, pos + 12 + len);
      const h = readBatchHeader(batch, 0);
      out.push({
        baseOffset: h.baseOffset,
        lastOffset: h.baseOffset + h.lastOffsetDelta,
        transactional: h.isTransactional,
        producerId: h.producerId,
        producerEpoch: h.producerEpoch,
        marker: h.isControl ? (readEndTransactionMarker(batch).committed ? 'commit' : 'abort') : null,
        values: h.isControl ? [] : readRecords(batch).map((r) => (r.value === null ? '' : Buffer.from(r.value).toString())),
      });
      pos += 12 + len;
    }
  }
  return out;
}

/** The values of a partition in order with each marker as `<commit>` / `<abort>`. */
export function storedSequence(dir: string, topic: string, partition: number): string[] {
  return storedBatches(dir, topic, partition).flatMap((b) => (b.marker === null ? b.values : [`<${b.marker}>`]));
}
