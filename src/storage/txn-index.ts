/**
 * The aborted-transaction index, Kafka's `.txnindex`: one file per segment, named after the
 * segment's base offset, holding an entry for each transaction whose abort marker lies in that
 * segment. Read committed fetches use it to tell clients which producers' records to drop.
 *
 *   entry (34 bytes, big-endian, appended in the order of the abort markers)
 *     offset  size  field
 *          0     2  version           0
 *          2     8  producerId
 *         10     8  firstOffset       first offset of the aborted transaction in this partition
 *         18     8  lastOffset        offset of its abort marker
 *         26     8  lastStableOffset  the partition's last stable offset once the marker was appended
 *
 * Like the offset and time indexes it is derived data: recovery after an unclean shutdown
 * rebuilds it from the batches, so it is never fsynced. A torn last entry (a crash mid-write)
 * is ignored on read. Stateless functions; not thread-safe per file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { replaceFile } from './write-fully.js';

export const TXN_INDEX_SUFFIX = '.txnindex';

const VERSION_OFFSET = 0;
const VERSION_LENGTH = 2;
const PRODUCER_ID_OFFSET = VERSION_OFFSET + VERSION_LENGTH; // 2
const PRODUCER_ID_LENGTH = 8;
const FIRST_OFFSET_OFFSET = PRODUCER_ID_OFFSET + PRODUCER_ID_LENGTH; // 10
const FIRST_OFFSET_LENGTH = 8;
const LAST_OFFSET_OFFSET = FIRST_OFFSET_OFFSET + FIRST_OFFSET_LENGTH; // 18
const LAST_OFFSET_LENGTH = 8;
const LAST_STABLE_OFFSET_OFFSET = LAST_OFFSET_OFFSET + LAST_OFFSET_LENGTH; // 26
const LAST_STABLE_OFFSET_LENGTH = 8;
export const ABORTED_TXN_SIZE = LAST_STABLE_OFFSET_OFFSET + LAST_STABLE_OFFSET_LENGTH; // 34
const CURRENT_VERSION = 0;

/** One aborted transaction of one partition. */
export interface AbortedTxn {
  producerId: number;
  firstOffset: number;
  /** The offset of the abort marker. */
  lastOffset: number;
  lastStableOffset: number;
}

export function txnIndexPath(dir: string, segmentBaseOffset: number): string {
  return path.join(dir, String(segmentBaseOffset).padStart(20, '0') + TXN_INDEX_SUFFIX);
}

export function encodeAbortedTxns(entries: readonly AbortedTxn[]): Buffer {
  const b = Buffer.alloc(entries.length * ABORTED_TXN_SIZE);
  entries.forEach((e, i) => {
    const pos = i * ABORTED_TXN_SIZE;
    b.writeInt16BE(CURRENT_VERSION, pos + VERSION_OFFSET);
    b.writeBigInt64BE(BigInt(e.producerId), pos + PRODUCER_ID_OFFSET);
    b.writeBigInt64BE(BigInt(e.firstOffset), pos + FIRST_OFFSET_OFFSET);
    b.writeBigInt64BE(BigInt(e.lastOffset), pos + LAST_OFFSET_OFFSET);
    b.writeBigInt64BE(BigInt(e.lastStableOffset), pos + LAST_STABLE_OFFSET_OFFSET);
  });
  return b;
}

/**
 * The entries of a `.txnindex` file (none when it does not exist). A trailing partial entry
 * is ignored; an entry of an unknown version, or whose offsets are not ordered, ends the read
 * there (the rest is garbage a recovery will rewrite).
 */
export function readTxnIndex(file: string): AbortedTxn[] {
  let b: Buffer;
  try {
    b = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const entries: AbortedTxn[] = [];
  for (let pos = 0; pos + ABORTED_TXN_SIZE <= b.length; pos += ABORTED_TXN_SIZE) {
    if (b.readInt16BE(pos + VERSION_OFFSET) !== CURRENT_VERSION) break;
    const e: AbortedTxn = {
      producerId: Number(b.readBigInt64BE(pos + PRODUCER_ID_OFFSET)),
      firstOffset: Number(b.readBigInt64BE(pos + FIRST_OFFSET_OFFSET)),
      lastOffset: Number(b.readBigInt64BE(pos + LAST_OFFSET_OFFSET)),
      lastStableOffset: Number(b.readBigInt64BE(pos + LAST_STABLE_OFFSET_OFFSET)),
    };
    if (e.firstOffset < 0 || e.lastOffset < e.firstOffset) break;
    entries.push(e);
  }
  return entries;
}

/** Appends one entry to the segment's `.txnindex` (page cache only: recovery rebuilds it). */
export function appendTxnIndex(file: string, entry: AbortedTxn): void {
  fs.appendFileSync(file, encodeAbortedTxns([entry]));
}

/** Replaces the file's entries (through a rename); removes the file when there are none. */
export function writeTxnIndex(file: string, entries: readonly AbortedTxn[]): void {
  if (entries.length === 0) fs.rmSync(file, { force: true });
  else replaceFile(file, encodeAbortedTxns(entries));
}

/** Base offsets of the segments that have a `.txnindex` file in `dir`. */
export function listTxnIndexes(dir: string): number[] {
  const bases: number[] = [];
  for (const name of fs.readdirSync(dir)) {
    const m = /^(\d{20})\.txnindex$/.exec(name);
    if (m) bases.push(Number(m[1]));
  }
  return bases.sort((a, b) => a - b);
}

/**
 * Moves the entries of the segments `from` into the `.txnindex` of segment `into` (the
 * cleaner merging a group of segments into its first one), in marker order, and removes
 * their files.
 */
export function mergeTxnIndexes(dir: string, into: number, from: readonly number[]): void {
  const others = from.filter((b) => b !== into);
  if (others.length === 0) return;
  const entries = [into, ...others].flatMap((b) => readTxnIndex(txnIndexPath(dir, b))).sort((a, b) => a.lastOffset - b.lastOffset);
  writeTxnIndex(txnIndexPath(dir, into), entries);
  for (const b of others) fs.rmSync(txnIndexPath(dir, b), { force: true });
}
