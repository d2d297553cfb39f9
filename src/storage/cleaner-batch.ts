/**
 * One RecordBatch v2 (layout in record/layout.ts) through the log cleaner: walking its
 * records for the offset map, and rebuilding it without the records compaction removes.
 *
 * A rebuilt batch keeps every header field as it was: baseOffset, lastOffsetDelta (so the
 * batch still covers the same offsets and the log stays dense batch by batch),
 * partitionLeaderEpoch, attributes (codec, timestamp type), baseTimestamp, maxTimestamp,
 * producerId, producerEpoch, baseSequence. Only recordsCount, the records and the CRC
 * change. The kept records are copied byte for byte from the (decompressed) section: each
 * record holds its offsetDelta and timestampDelta relative to the unchanged baseOffset and
 * baseTimestamp, so a copy is exact and nothing is re-encoded; the section is then
 * compressed again with the batch's codec. maxTimestamp is not lowered when the newest
 * record goes, so time-based retention, min.compaction.lag.ms and tombstone expiry see the
 * batch as it was written.
 *
 *   every record kept      the original bytes, untouched
 *   some removed           header as above, recordsCount = kept, kept records' bytes
 *   every record removed   an empty batch: recordsCount 0, no records bytes, codec none,
 *                          same baseOffset and lastOffsetDelta (as Kafka's cleaner writes)
 *
 * Left whole, and not looked into: control batches (transaction markers, kept so recovery
 * can always tell how a transaction ended), batches already empty, and batches with
 * attribute bits the rebuild does not carry over (the delete horizon flag). Transactional
 * batches are cleaned, keeping their bits. When the job knows the partition's aborted
 * transactions (CleanParams.aborted, with the map ending at the last stable offset, so every
 * transaction below it is decided), as Kafka's cleaner does: a batch of an aborted
 * transaction loses all its records, and a committed one is cleaned like any other batch.
 * Without them the cleaner cannot tell committed data from aborted, so transactional records
 * never enter the offset map (they supersede nothing) and their tombstones never expire.
 *
 * A zstd batch that would lose only some records is kept whole: zstd can be read but not
 * written here. Its superseded keys are then "pinned" for the rest of the run: an expired
 * tombstone of a pinned key stays, or the stale copy would come back to life for a reader
 * starting at the log start. Every run walks the whole cleanable range in offset order, so
 * a stale copy is always seen before the tombstone that would otherwise expire. Keeping a
 * record compaction could have dropped is otherwise always safe: the guarantee is that the
 * latest record of each key survives.
 *
 * Stateless (the map's pins aside) and thread-safe (each call owns what it allocates).
 */
import { assembleBatch } from '../record/builder.js';
import { compress, decompress } from '../record/compression.js';
import { CorruptRecordError } from '../record/errors.js';
import { readBatchHeader, type BatchHeader } from '../record/header.js';
import { verifyBatch } from '../record/reader.js';
import {
  ATTRIBUTE_COMPRESSION_MASK,
  ATTRIBUTE_CONTROL,
  ATTRIBUTE_TIMESTAMP_TYPE,
  ATTRIBUTE_TRANSACTIONAL,
  Compression,
  MIN_RECORD_SIZE,
  RECORDS_OFFSET,
} from '../record/layout.js';
import { readVarint, readVarlong, state } from '../record/varint.js';
import type { KeyMap } from './cleaner-map.js';

/**
 * Called for each record: its offset, where its key lies in `data` (keyLength -1: no key),
 * its value length (-1: a tombstone), and the record's whole bytes [recordStart, recordEnd).
 */
export type RecordVisitor = (
  offset: number,
  data: Buffer,
  keyStart: number,
  keyLength: number,
  valueLength: number,
  recordStart: number,
  recordEnd: number,
) => void;

/** Attribute bits a rebuilt batch can carry over; a batch with any other bit (the delete horizon flag, say) is left whole. */
const KNOWN_ATTRIBUTES = ATTRIBUTE_COMPRESSION_MASK | ATTRIBUTE_TIMESTAMP_TYPE | ATTRIBUTE_TRANSACTIONAL | ATTRIBUTE_CONTROL;

/** True when the cleaner looks at the records of a batch with this header (see the file comment). */
export function isCleanable(h: BatchHeader): boolean {
  return !h.isControl && h.recordsCount > 0 && (h.attributes & ~KNOWN_ATTRIBUTES) === 0;
}

/**
 * Tells whether a transactional batch (its producer id and base offset) belongs to an
 * aborted transaction; null when the cleaner does not know the transactions.
 */
export type AbortedCheck = ((producerId: number, offset: number) => boolean) | null;

/** True when the records of a batch with this header enter the offset map. */
export function entersMap(h: BatchHeader, aborted: AbortedCheck = null): boolean {
  return isCleanable(h) && (!h.isTransactional || (aborted !== null && !aborted(h.producerId, h.baseOffset)));
}

/** The check for a list of aborted transactions (each from its first offset to its abort marker). */
export function abortedCheck(list: readonly { producerId: number; firstOffset: number; lastOffset: number }[] | undefined): AbortedCheck {
  if (list === undefined) return null;
  const byProducer = new Map<number, { firstOffset: number; lastOffset: number }[]>();
  for (const a of list) {
    let l = byProducer.get(a.producerId);
    if (l === undefined) byProducer.set(a.producerId, (l = []));
    l.push(a);
  }
  return (producerId, offset) => byProducer.get(producerId)?.some((a) => a.firstOffset <= offset && offset <= a.lastOffset) ?? false;
}

/**
 * Walks the records of `batch` (one whole batch), checking its CRC first and decompressing
 * the section when the codec asks. Throws CorruptRecordError when the CRC fails or the bytes
 * do not hold the records the header declares.
 */
export function walkRecords(batch: Buffer, h: BatchHeader, maxDecompressedSize: number, visit: RecordVisitor): void {
  // A bad CRC must never be laundered into a fresh one by a rebuild, nor feed the map.
  verifyBatch(batch, 0);
  let data = batch;
  let start = RECORDS_OFFSET;
  let end = h.sizeInBytes;
  if (h.compression !== Compression.None) {
    data = decompress(h.compression, batch.subarray(RECORDS_OFFSET, end), { maxSize: maxDecompressedSize });
    start = 0;
    end = data.length;
  }
  const count = h.recordsCount;
  if (count > (end - start) / MIN_RECORD_SIZE) throw new CorruptRecordError(`${count} records cannot fit in ${end - start} bytes`);
  const s = state(data, start, end);
  for (let i = 0; i < count; i++) {
    const recordStart = s.start;
    s.end = end;
    const length = readVarint(s);
    const recordEnd = s.start + length;
    if (length < MIN_RECORD_SIZE - 1 || recordEnd > end) throw new CorruptRecordError(`record ${i} has a bad length ${length}`);
    s.end = recordEnd;
    s.start++; // attributes
    readVarlong(s); // timestampDelta
    const offsetDelta = readVarint(s);
    const keyLength = readVarint(s);
    const keyStart = s.start;
    if (keyLength < -1 || keyStart + Math.max(keyLength, 0) > recordEnd) throw new CorruptRecordError(`record ${i} has a bad key length ${keyLength}`);
    if (keyLength > 0) s.start += keyLength;
    const valueLength = readVarint(s);
    if (valueLength < -1 || s.start + Math.max(valueLength, 0) > recordEnd) {
      throw new CorruptRecordError(`record ${i} has a bad value length ${valueLength}`);
    }
    // Headers are copied with the record, never read.
    s.start = recordEnd;
    visit(h.baseOffset + offsetDelta, data, keyStart, keyLength, valueLength, recordStart, recordEnd);
  }
}

/** What the cleaner does with one batch. */
export interface CleanedBatch {
  /** The batch to write: the original bytes, a rebuilt batch, or an empty one. */
  bytes: Buffer;
  /** Records in `bytes`. */
  records: number;
  /** Records removed (tombstones included). */
  removed: number;
  /** Tombstones among the removed records (superseded or past delete.retention.ms). */
  tombstonesRemoved: number;
}

export interface CleanParams {
  /** Highest offset of each key in the part of the log after the clean part; also holds the pinned keys. */
  map: KeyMap;
  /** Tombstones in batches whose maxTimestamp is below this (now - delete.retention.ms) go. */
  tombstoneHorizon: number;
  maxDecompressedSize: number;
  /** The partition's aborted transactions, when known (see the file comment). */
  aborted?: AbortedCheck;
}

/**
 * Cleans one batch: a record goes when a later record has its key, or when it is a
 * tombstone in a batch older than the tombstone horizon. Records without a key stay.
 */
export function cleanBatch(batch: Buffer, p: CleanParams): CleanedBatch {
  const h = readBatchHeader(batch, 0);
  const whole: CleanedBatch = { bytes: batch, records: h.recordsCount, removed: 0, tombstonesRemoved: 0 };
  if (!isCleanable(h)) return whole;
  const aborted = p.aborted ?? null;
  const dropAll = h.isTransactional && aborted !== null && aborted(h.producerId, h.baseOffset);
  const expired = h.maxTimestamp < p.tombstoneHorizon && (!h.isTransactional || aborted !== null);
  const map = p.map;
  const kept: number[] = []; // start, end, start, end, ...
  const superseded: number[] = []; // keyStart, keyLength, ...
  let keptBytes = 0;
  let removed = 0;
  let tombstones = 0;
  let section: Buffer = batch;
  walkRecords(batch, h, p.maxDecompressedSize, (offset, data, keyStart, keyLength, valueLength, recordStart, recordEnd) => {
    section = data;
    let keep = !dropAll;
    if (keep && keyLength >= 0) {
      if (map.get(data, keyStart, keyLength) > offset) {
        keep = false;
        superseded.push(keyStart, keyLength);
      } else if (valueLength < 0 && expired && !map.isPinned(data, keyStart, keyLength)) {
        keep = false;
      }
    }
    if (keep) {
      kept.push(recordStart, recordEnd);
      keptBytes += recordEnd - recordStart;
    } else {
      removed++;
      if (valueLength < 0) tombstones++;
    }
  });
  if (removed === 0) return whole;
  const info = {
    baseOffset: h.baseOffset,
    partitionLeaderEpoch: h.partitionLeaderEpoch,
    timestampType: h.timestampType,
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    transactional: h.isTransactional,
    baseTimestamp: h.baseTimestamp,
    maxTimestamp: h.maxTimestamp,
    lastOffsetDelta: h.lastOffsetDelta,
  };
  const count = kept.length / 2;
  if (count === 0) {
    const bytes = assembleBatch(Buffer.alloc(0), { ...info, count: 0, compression: Compression.None });
    return { bytes, records: 0, removed, tombstonesRemoved: tombstones };
  }
  if (h.compression === Compression.Zstd) {
    for (let i = 0; i < superseded.length; i += 2) map.pin(section, superseded[i]!, superseded[i + 1]!);
    return whole;
  }
  const records = Buffer.allocUnsafe(keptBytes);
  let pos = 0;
  for (let i = 0; i < kept.length; i += 2) pos += section.copy(records, pos, kept[i]!, kept[i + 1]!);
  const bytes = assembleBatch(compress(h.compression, records), { ...info, count, compression: h.compression });
  return { bytes, records: count, removed, tombstonesRemoved: tombstones };
}
