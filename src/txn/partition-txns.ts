/**
 * The transactions of one partition, as its log shows them (Kafka's producer-state view of
 * the log, reduced to what read_committed needs):
 *
 * - the ongoing transactions: a transactional data batch opens the transaction of its
 *   producer id at its base offset (or continues the one open); a commit or abort marker
 *   (a control batch, record/control.ts) of that producer id ends it;
 * - the first unstable offset: the lowest first offset of an ongoing transaction. The last
 *   stable offset is min(first unstable offset, high watermark): a read_committed consumer
 *   reads only below it;
 * - the aborted transactions (producer id, first offset, marker offset, LSO after the
 *   marker), kept in memory and per segment in Kafka's `.txnindex` files
 *   (storage/txn-index.ts), which the segment's deletion removes with it.
 *
 * It observes every batch appended to the log (Partition calls onAppend), so whatever
 * appends (a produce, the embedded producer, a transaction marker, a follower copying its
 * leader) keeps it right.
 *
 * Snapshot (`txn-state.snapshot`, Kafka's producer snapshot reduced to this): the ongoing
 * transactions at an offset where a batch starts, written at each segment roll, at clean
 * close and after a rebuild. It always describes a prefix of the log: a truncation below it
 * rewrites it, and an open that finds the log ending before it (recovery cut a torn tail)
 * drops it. On open the state is the snapshot's, the aborted transactions of the `.txnindex`
 * files below it, and then a walk of the batch headers from the snapshot's offset to the log
 * end (nothing to walk after a clean shutdown), which rewrites the `.txnindex` files past it.
 * Without a usable snapshot the walk starts at the log start. A truncation (a follower
 * matching its leader) rebuilds from the log start, if the log ever held transactional data.
 * Not thread-safe: it runs on the broker's event loop.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readInt64 } from '../record/header.js';
import { ATTRIBUTE_CONTROL, ATTRIBUTE_TRANSACTIONAL, ATTRIBUTES_OFFSET, LENGTH_OFFSET, LOG_OVERHEAD, PRODUCER_ID_OFFSET, RECORDS_OFFSET } from '../record/layout.js';
import { readEndTransactionMarker } from '../record/control.js';
import type { Log } from '../storage/index.js';
import { appendTxnIndex, listTxnIndexes, readTxnIndex, txnIndexPath, writeTxnIndex, type AbortedTxn } from '../storage/txn-index.js';
import { replaceFile } from '../storage/write-fully.js';

export const TXN_SNAPSHOT_FILE = 'txn-state.snapshot';
const SNAPSHOT_VERSION = 1;
/** Bytes read per step when walking the log's batch headers. */
const SCAN_CHUNK = 1 << 20;

/** What a read_committed fetch tells a client to drop. */
export interface FetchAbortedTxn {
  producerId: number;
  firstOffset: number;
}

interface Snapshot {
  version: number;
  /** The log end offset the snapshot describes. */
  endOffset: number;
  /** [producerId, firstOffset] of each ongoing transaction. */
  ongoing: [number, number][];
  /** Whether the log below endOffset holds any transactional batch (a truncation then rebuilds). */
  transactional: boolean;
}

/**
 * KIP-890 part 1 on a partition whose transaction coordinator is another broker: the token of
 * one producer's verification (src/txn/verification.ts). It holds from before the question goes
 * to the coordinator until a marker of that producer lands here; a batch verified under a guard
 * that no longer holds came after its transaction ended and is refused.
 */
export interface VerificationGuard {
  readonly producerEpoch: number;
  /** The coordinator said the partition is in the producer's ongoing transaction. */
  verified: boolean;
}

export class PartitionTxns {
  /** producerId -> its verification guard (see VerificationGuard). */
  private readonly guards = new Map<number, VerificationGuard>();
  /** producerId -> first offset of its ongoing transaction. */
  private readonly ongoing = new Map<number, number>();
  /** Lowest value of `ongoing` (Infinity when none): the first unstable offset. */
  private firstUnstable = Infinity;
  /** Aborted transactions in marker order (ascending lastOffset). */
  private aborted: AbortedTxn[] = [];
  /** The log holds (or held) a transactional batch: truncation must rebuild. */
  private seenTransactional = false;
  /**
   * A `.txnindex` write failed (a full disk): the files may miss entries the memory has, so no
   * snapshot may vouch for them until a rebuild rewrites them; the next open walks the log.
   */
  private indexWriteFailed = false;
  /** The last walk of the log stopped at a read error: no snapshot until a rebuild completes. */
  private scanIncomplete = false;
  /** The offset the snapshot on disk describes (-1: none): an unchanged log end needs no new one. */
  private snapshotAt = -1;
  /** Segments of the log at the last append: a change is a roll, which writes a snapshot. */
  private segmentCount: number;

  private constructor(private readonly log: Log) {
    this.segmentCount = log.segmentCount;
  }

  /** Loads the state of `log` (see the file comment). */
  static open(log: Log): PartitionTxns {
    const t = new PartitionTxns(log);
    const from = t.loadSnapshot();
    if (from === null) t.rebuild();
    else if (from < log.logEndOffset) {
      t.scan(from);
      t.rewriteIndexes(from);
      t.writeSnapshot();
    }
    return t;
  }

  /** The first offset of the oldest ongoing transaction, or Infinity when none is open. */
  get firstUnstableOffset(): number {
    return this.firstUnstable;
  }

  /** min(first unstable offset, highWatermark), never below the log start offset. */
  lastStableOffset(highWatermark: number): number {
    return Math.min(Math.max(this.firstUnstable, this.log.logStartOffset), highWatermark);
  }

  /** The first offset of `producerId`'s ongoing transaction here, or -1 (DescribeProducers' currentTxnStartOffset). */
  ongoingFirstOffset(producerId: number): number {
    return this.ongoing.get(producerId) ?? -1;
  }

  /** Producer ids with an ongoing transaction and its first offset (for tools and tests). */
  ongoingTransactions(): { producerId: number; firstOffset: number }[] {
    return [...this.ongoing].map(([producerId, firstOffset]) => ({ producerId, firstOffset }));
  }

  /** Every aborted transaction still in the log (for tools and tests). */
  abortedTransactionsAll(): readonly AbortedTxn[] {
    this.prune();
    return this.aborted;
  }

  /**
   * The aborted transactions a fetch of [fetchOffset, upperBound) must report: those whose
   * range overlaps it. Entries are in marker order; once an entry's LSO reaches upperBound no
   * later transaction can start below it (Kafka's TransactionIndex.collectAbortedTxns).
   */
  abortedTransactions(fetchOffset: number, upperBound: number): FetchAbortedTxn[] {
    return this.abortedIn(fetchOffset, upperBound).map((e) => ({ producerId: e.producerId, firstOffset: e.firstOffset }));
  }

  /** The aborted transactions overlapping [fetchOffset, upperBound), whole (see abortedTransactions). */
  abortedIn(fetchOffset: number, upperBound: number): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    const a = this.aborted;
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]!.lastOffset < fetchOffset) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < a.length; i++) {
      const e = a[i]!;
      if (e.firstOffset < upperBound) out.push(e);
      if (e.lastStableOffset >= upperBound) break;
    }
    return out;
  }

  /** The guard of `producerId` at `producerEpoch`: the one that holds, or a new one. */
  verificationGuard(producerId: number, producerEpoch: number): VerificationGuard {
    const g = this.guards.get(producerId);
    if (g !== undefined && g.producerEpoch === producerEpoch) return g;
    const fresh: VerificationGuard = { producerEpoch, verified: false };
    this.guards.set(producerId, fresh);
    return fresh;
  }

  /** True while `guard` is still the producer's: no marker of it landed since it was made. */
  guardHolds(producerId: number, guard: VerificationGuard): boolean {
    return this.guards.get(producerId) === guard;
  }

  /**
   * Observes batches just appended (their base offsets assigned). Only the attributes of a
   * non-transactional batch are read: nothing is allocated for it.
   */
  onAppend(batches: Buffer): void {
    for (let pos = 0; pos + RECORDS_OFFSET <= batches.length; pos += batches.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD) {
      const attributes = batches.readInt16BE(pos + ATTRIBUTES_OFFSET);
      if ((attributes & ATTRIBUTE_TRANSACTIONAL) === 0) continue;
      this.observe(batches, pos, attributes, true);
    }
    if (this.log.segmentCount !== this.segmentCount) {
      this.segmentCount = this.log.segmentCount;
      this.writeSnapshot();
    }
  }

  /**
   * The log was cut back to `logEndOffset` (a follower truncating to its leader): transactions
   * ended past it are open again, ones begun past it never were.
   */
  onTruncated(logEndOffset: number): void {
    this.guards.clear();
    if (this.seenTransactional || this.aborted.some((e) => e.lastOffset >= logEndOffset)) return this.rebuild();
    // No transactions, but a snapshot past the cut would describe a log that is no more.
    if (this.snapshotAt > logEndOffset) {
      this.snapshotAt = -1;
      this.writeSnapshot();
    }
  }

  /** Writes the snapshot of the state at the log end (see the file comment); also call after the last append, before the log closes. */
  writeSnapshot(): void {
    if (this.indexWriteFailed || this.scanIncomplete) {
      removeQuietly(path.join(this.log.dir, TXN_SNAPSHOT_FILE));
      this.snapshotAt = -1;
      return;
    }
    if (this.snapshotAt === this.log.logEndOffset) return; // the same log, so the same state
    const s: Snapshot = { version: SNAPSHOT_VERSION, endOffset: this.log.logEndOffset, ongoing: [...this.ongoing], transactional: this.seenTransactional };
    try {
      replaceFile(path.join(this.log.dir, TXN_SNAPSHOT_FILE), JSON.stringify(s));
      this.snapshotAt = s.endOffset;
    } catch {
      // Without it the next open walks the log: slower, never wrong.
      this.snapshotAt = -1;
    }
  }

  private observe(batches: Buffer, pos: number, attributes: number, live: boolean): void {
    this.seenTransactional = true;
    const producerId = readInt64(batches, pos + PRODUCER_ID_OFFSET);
    const baseOffset = readInt64(batches, pos);
    if ((attributes & ATTRIBUTE_CONTROL) === 0) {
      if (!this.ongoing.has(producerId)) {
        this.ongoing.set(producerId, baseOffset);
        if (baseOffset < this.firstUnstable) this.firstUnstable = baseOffset;
      }
      return;
    }
    let committed: boolean;
    try {
      const size = batches.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD;
      committed = readEndTransactionMarker(batches.subarray(pos, pos + size)).committed;
    } catch {
      return; // a control record that is not a commit or abort marker ends nothing
    }
    this.guards.delete(producerId);
    const firstOffset = this.ongoing.get(producerId);
    if (firstOffset === undefined) return; // a marker with no data here: nothing to skip
    this.ongoing.delete(producerId);
    if (firstOffset === this.firstUnstable) {
      this.firstUnstable = Infinity;
      for (const f of this.ongoing.values()) if (f < this.firstUnstable) this.firstUnstable = f;
    }
    if (committed) return;
    const entry: AbortedTxn = {
      producerId,
      firstOffset,
      lastOffset: baseOffset,
      lastStableOffset: Number.isFinite(this.firstUnstable) ? this.firstUnstable : baseOffset + 1,
    };
    if (live) this.prune(); // entries of segments retention deleted go as new ones come
    this.aborted.push(entry);
    if (live) {
      const bases = this.log.segmentBaseOffsets;
      try {
        appendTxnIndex(txnIndexPath(this.log.dir, bases[bases.length - 1]!), entry);
      } catch {
        // The append itself succeeded and memory is right; never fail it for derived data.
        this.indexWriteFailed = true;
      }
    }
  }

  /** Drops aborted entries wholly below the log start offset (their segments are gone). */
  private prune(): void {
    const start = this.log.logStartOffset;
    let n = 0;
    while (n < this.aborted.length && this.aborted[n]!.lastOffset < start) n++;
    if (n > 0) this.aborted = this.aborted.slice(n);
  }

  /**
   * Loads the snapshot and the `.txnindex` entries below its offset; returns that offset (where
   * the walk of the log goes on), or null when there is no usable snapshot (it is removed then).
   */
  private loadSnapshot(): number | null {
    const file = path.join(this.log.dir, TXN_SNAPSHOT_FILE);
    let snapshot: Snapshot;
    try {
      snapshot = JSON.parse(fs.readFileSync(file, 'utf8')) as Snapshot;
    } catch {
      removeQuietly(file);
      return null;
    }
    const end = snapshot?.endOffset;
    if (snapshot?.version !== SNAPSHOT_VERSION || !Array.isArray(snapshot.ongoing) || !Number.isInteger(end) || !this.startsBatch(end)) {
      removeQuietly(file);
      return null;
    }
    for (const [producerId, firstOffset] of snapshot.ongoing) {
      this.ongoing.set(producerId, firstOffset);
      if (firstOffset < this.firstUnstable) this.firstUnstable = firstOffset;
    }
    const bases = new Set(this.log.segmentBaseOffsets);
    try {
      for (const b of listTxnIndexes(this.log.dir)) {
        if (bases.has(b)) this.aborted.push(...readTxnIndex(txnIndexPath(this.log.dir, b)).filter((e) => e.lastOffset < end));
      }
    } catch {
      this.ongoing.clear();
      this.firstUnstable = Infinity;
      this.aborted = [];
      return null; // unreadable: the walk of the whole log rebuilds them
    }
    this.aborted.sort((a, b) => a.lastOffset - b.lastOffset);
    this.seenTransactional = snapshot.transactional !== false || this.ongoing.size > 0 || this.aborted.length > 0;
    this.prune();
    this.snapshotAt = end;
    return end;
  }

  /**
   * Whether the walk can go on from `offset`: the log end, or the base offset of a batch at or
   * after the log start (a snapshot past the log end, or below the log start, where markers
   * may be gone, is not usable).
   */
  private startsBatch(offset: number): boolean {
    if (offset === this.log.logEndOffset) return true;
    if (offset < this.log.logStartOffset || offset > this.log.logEndOffset) return false;
    try {
      return this.log.read(offset, 1).firstOffset === offset;
    } catch {
      return false;
    }
  }

  /** Walks every batch header of the log and rewrites the `.txnindex` files and the snapshot to match. */
  private rebuild(): void {
    this.snapshotAt = -1; // it describes a log that is no more (a truncation) or none at all
    this.scanIncomplete = false;
    this.ongoing.clear();
    this.firstUnstable = Infinity;
    this.aborted = [];
    this.seenTransactional = false;
    this.scan(this.log.logStartOffset);
    this.rewriteIndexes(0);
    if (this.log.logEndOffset > this.log.logStartOffset) this.writeSnapshot();
    else removeQuietly(path.join(this.log.dir, TXN_SNAPSHOT_FILE));
  }

  /**
   * Observes the batches from `from` (a batch's base offset) to the log end. A read that fails
   * (damage the log could not set aside, reported by the log itself) ends the walk there: the
   * partition still opens, and no snapshot vouches for what was not seen.
   */
  private scan(from: number): void {
    try {
      this.log.forEachBatch(
        from,
        (view, pos) => {
          const attributes = view.readInt16BE(pos + ATTRIBUTES_OFFSET);
          if ((attributes & ATTRIBUTE_TRANSACTIONAL) !== 0) this.observe(view, pos, attributes, false);
        },
        SCAN_CHUNK,
      );
    } catch {
      // A range that cannot be read (damage, a closing log): the state is incomplete, and says so.
      this.scanIncomplete = true;
    }
  }

  /**
   * Makes the `.txnindex` of each segment that holds offsets at or after `from` hold exactly
   * the in-memory entries whose marker lies in it.
   */
  private rewriteIndexes(from: number): void {
    const all = this.log.segmentBaseOffsets;
    // The segment holding `from` and those after it.
    let first = 0;
    while (first + 1 < all.length && all[first + 1]! <= from) first++;
    const bases = all.slice(first);
    if (bases.length === 0) return;
    const bySegment = new Map<number, AbortedTxn[]>();
    for (const e of this.aborted) {
      if (e.lastOffset < bases[0]!) continue;
      let lo = 0;
      let hi = bases.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (bases[mid]! <= e.lastOffset) lo = mid;
        else hi = mid - 1;
      }
      const b = bases[lo]!;
      let list = bySegment.get(b);
      if (list === undefined) bySegment.set(b, (list = []));
      list.push(e);
    }
    try {
      for (const b of new Set([...listTxnIndexes(this.log.dir).filter((b) => b >= bases[0]!), ...bySegment.keys()])) {
        writeTxnIndex(txnIndexPath(this.log.dir, b), bySegment.get(b) ?? []);
      }
      this.indexWriteFailed = false;
    } catch {
      this.indexWriteFailed = true; // memory is right; the next open walks the log again
    }
  }
}

/** Removes a derived file; a failure (a read-only or failing disk) only costs a walk of the log at the next open. */
function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // nothing to do: see above
  }
}
