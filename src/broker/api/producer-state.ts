/**
 * Idempotent producers (KIP-98): producer ids handed out by InitProducerId, and per partition
 * the epoch and the last five batches (sequence ranges and offsets) of each producer, so a
 * retried batch is acknowledged with its first offsets instead of being written twice and a
 * gap in sequence numbers is refused with OUT_OF_ORDER_SEQUENCE_NUMBER.
 *
 * The state is rebuilt from batch headers (producerId, producerEpoch, baseSequence and
 * lastOffsetDelta are all in RecordBatch v2's header) the first time a partition sees an
 * idempotent batch after open, so it survives restarts and crashes with the log itself.
 * Producer ids come from `<dir>/producer-ids`, reserved in blocks so none is ever reused.
 * Not thread-safe.
 */
import fs from 'node:fs';
import { StorageIOError } from '../../storage/index.js';
import { replaceFile } from '../../storage/write-fully.js';
import path from 'node:path';
import type { Partition } from '../partition.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { readInt64 } from '../../record/header.js';
import {
  BASE_SEQUENCE_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
} from '../../record/layout.js';

/** Batches remembered per producer for duplicate detection (Kafka's max.in.flight limit for idempotence). */
export const RETAINED_BATCHES = 5;
const ID_BLOCK = 1000;
const ID_FILE = 'producer-ids';

interface BatchMeta {
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
}

interface ProducerEntry {
  epoch: number;
  batches: BatchMeta[];
}

/** What to do with an incoming idempotent batch. */
export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; firstOffset: number; lastOffset: number }
  | { kind: 'error'; errorCode: number; message: string };

/** The state of the producers writing to one partition. */
export class PartitionProducerState {
  private readonly producers = new Map<number, ProducerEntry>();

  check(producerId: number, epoch: number, firstSeq: number, lastSeq: number): SequenceCheck {
    const e = this.producers.get(producerId);
    if (e === undefined) {
      if (firstSeq === 0) return { kind: 'append' };
      return { kind: 'error', errorCode: ErrorCode.UNKNOWN_PRODUCER_ID, message: `producer ${producerId} is unknown here and its first sequence is ${firstSeq}, not 0` };
    }
    if (epoch < e.epoch) {
      return { kind: 'error', errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, message: `producer ${producerId} epoch ${epoch} is older than ${e.epoch}` };
    }
    if (epoch > e.epoch) {
      if (firstSeq === 0) return { kind: 'append' };
      return { kind: 'error', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, message: `producer ${producerId} starts epoch ${epoch} at sequence ${firstSeq}, not 0` };
    }
    for (const b of e.batches) {
      if (b.firstSeq === firstSeq && b.lastSeq === lastSeq) return { kind: 'duplicate', firstOffset: b.firstOffset, lastOffset: b.lastOffset };
    }
    const last = e.batches[e.batches.length - 1];
    const expected = last === undefined ? 0 : (last.lastSeq + 1) % 2 ** 31;
    if (firstSeq !== expected) {
      return { kind: 'error', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, message: `producer ${producerId} sent sequence ${firstSeq}, expected ${expected}` };
    }
    return { kind: 'append' };
  }

  record(producerId: number, epoch: number, firstSeq: number, lastSeq: number, firstOffset: number, lastOffset: number): void {
    let e = this.producers.get(producerId);
    if (e === undefined || epoch > e.epoch) {
      e = { epoch, batches: [] };
      this.producers.set(producerId, e);
    }
    e.batches.push({ firstSeq, lastSeq, firstOffset, lastOffset });
    if (e.batches.length > RETAINED_BATCHES) e.batches.shift();
  }

  /** Each producer with batches here: id, epoch and the last sequence number (DescribeProducers). */
  describe(): { producerId: number; producerEpoch: number; lastSequence: number }[] {
    return [...this.producers].map(([producerId, e]) => ({ producerId, producerEpoch: e.epoch, lastSequence: e.batches[e.batches.length - 1]?.lastSeq ?? -1 }));
  }

  /** Replays every idempotent batch header of the partition's log, oldest first. */
  rebuild(partition: Partition): void {
    // Up to the log end, not the high watermark: a new leader holds batches its followers
    // have not confirmed yet, and a producer's retry of one of them is a duplicate.
    partition.log.forEachBatch(
      partition.logStartOffset,
      (v, pos) => {
        const producerId = readInt64(v, pos + PRODUCER_ID_OFFSET);
        const seq = v.readInt32BE(pos + BASE_SEQUENCE_OFFSET);
        if (producerId < 0 || seq < 0) return;
        const delta = v.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
        const base = readInt64(v, pos);
        this.record(producerId, v.readInt16BE(pos + PRODUCER_EPOCH_OFFSET), seq, seq + delta, base, base + delta);
      },
      16 * 1024 * 1024,
    );
  }
}

/** Producer ids for the broker and the per-partition states. */
export class ProducerStateManager {
  private readonly states = new Map<Partition, PartitionProducerState>();
  private nextId: number;
  private reservedUpTo: number;

  constructor(private readonly dir: string) {
    let start = 0;
    try {
      start = Number(fs.readFileSync(path.join(dir, ID_FILE), 'utf8').trim()) || 0;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // Everything below the stored mark may have been handed out before a crash: start above it.
    this.nextId = start;
    this.reservedUpTo = start;
  }

  /** A fresh producer id (InitProducerId without a transactional id). */
  allocate(): number {
    if (this.nextId >= this.reservedUpTo) {
      // The mark moves in memory only once it is on disk: ids handed out after a failed
      // write (a full disk) could otherwise be handed out again after a restart.
      const reserve = this.nextId + ID_BLOCK;
      try {
        replaceFile(path.join(this.dir, ID_FILE), `${reserve}\n`, true);
      } catch (err) {
        throw new StorageIOError(this.dir, `reserving producer ids in ${ID_FILE}`, err);
      }
      this.reservedUpTo = reserve;
    }
    return this.nextId++;
  }

  /** The partition's producer state, rebuilt from its log on first use. */
  forPartition(partition: Partition): PartitionProducerState {
    let s = this.states.get(partition);
    if (s === undefined) {
      s = new PartitionProducerState();
      s.rebuild(partition);
      this.states.set(partition, s);
    }
    return s;
  }

  /** Forgets a partition (its topic was deleted). */
  drop(partition: Partition): void {
    this.states.delete(partition);
  }
}
