/**
 * Deep validation of a chain of RecordBatch v2, as a producer sends it: more than the
 * append path checks (bounds, magic, CRC) and what Kafka's broker checks on produce.
 *
 *   per batch   verifyBatch (length, magic, CRC32C, codec bits); at least one record;
 *               lastOffsetDelta = recordsCount - 1
 *   records     decompressed (bounded by maxSize), then walked one by one: every length
 *               inside its record, every record inside the section, offsetDelta = 0, 1,
 *               ..., n - 1 in order, exactly recordsCount records and no byte after them
 *   chain       no partial batch at the end, at least one batch
 *
 * The walk reads lengths and skips bytes: no record objects, no key or value views, so it
 * costs a few ns per record beyond decompression. Batches from a compacted log (gaps in
 * offset deltas) fail here by design: this is for producer input, not replication.
 *
 * Stateless and thread-safe; the same function runs inline and in a worker.
 */
import { decompress } from '../record/compression.js';
import { CorruptRecordError } from '../record/errors.js';
import { readBatchHeader, verifyBatch } from '../record/reader.js';
import { Compression, MIN_RECORD_SIZE, RECORDS_OFFSET } from '../record/layout.js';
import { readVarint, readVarlong, state, type State } from '../record/varint.js';
import type { ValidationResult } from './types.js';

/** Validates every batch of `chain`; never throws for bad bytes (ok: false names the batch). */
export function validateChain(chain: Buffer, maxSize: number): ValidationResult {
  if (chain.length === 0) return { ok: false, data: chain, error: 'no record batches to validate', position: 0 };
  let pos = 0;
  let batches = 0;
  let records = 0;
  while (pos < chain.length) {
    let size: number;
    try {
      size = verifyBatch(chain, pos);
      records += checkRecords(chain, pos, size, maxSize);
    } catch (err) {
      if (err instanceof CorruptRecordError) return { ok: false, data: chain, error: err.message, position: pos };
      throw err;
    }
    pos += size;
    batches++;
  }
  return { ok: true, data: chain, batches, records };
}

/** Checks the records of the verified batch at `pos`; returns how many there are. */
function checkRecords(chain: Buffer, pos: number, size: number, maxSize: number): number {
  const header = readBatchHeader(chain, pos);
  const where = `batch at byte ${pos} (baseOffset ${header.baseOffset})`;
  const fail = (what: string) => new CorruptRecordError(`${where}: ${what}`, pos);
  const count = header.recordsCount;
  if (count < 1) throw fail('holds no records');
  if (header.lastOffsetDelta !== count - 1) {
    throw fail(`lastOffsetDelta ${header.lastOffsetDelta} does not match its ${count} records (expected ${count - 1})`);
  }
  let data = chain;
  let start = pos + RECORDS_OFFSET;
  let end = pos + size;
  if (header.compression !== Compression.None) {
    try {
      data = decompress(header.compression, chain.subarray(start, end), { maxSize });
    } catch (err) {
      if (err instanceof CorruptRecordError) throw fail(err.message);
      throw err;
    }
    start = 0;
    end = data.length;
  }
  if (count > (end - start) / MIN_RECORD_SIZE) throw fail(`${count} records cannot fit in ${end - start} bytes of records`);
  const s = state(data, start, end);
  for (let i = 0; i < count; i++) {
    try {
      walkRecord(s, end, i);
    } catch (err) {
      if (err instanceof CorruptRecordError) throw fail(`record ${i}: ${err.message}`);
      throw err;
    }
  }
  if (s.start !== end) throw fail(`${end - s.start} bytes follow the last of its ${count} records`);
  return count;
}

/** Steps over record `i` at s.start, checking every length against the record's bounds. */
function walkRecord(s: State, end: number, i: number): void {
  s.end = end;
  if (s.start >= end) throw new CorruptRecordError(`the records end before it`);
  const length = readVarint(s);
  const recordEnd = s.start + length;
  if (length < MIN_RECORD_SIZE - 1 || recordEnd > end) {
    throw new CorruptRecordError(`bad length ${length} (${end - s.start} bytes left)`);
  }
  s.end = recordEnd;
  s.start++; // attributes: unused in v2
  readVarlong(s); // timestampDelta: any value is a valid timestamp here
  const offsetDelta = readVarint(s);
  if (offsetDelta !== i) throw new CorruptRecordError(`offsetDelta is ${offsetDelta}, expected ${i}`);
  skipBytes(s, 'key', -1);
  skipBytes(s, 'value', -1);
  const headers = readVarint(s);
  // Each header takes at least two bytes (two length varints).
  if (headers < 0 || headers > (recordEnd - s.start) / 2) throw new CorruptRecordError(`bad header count ${headers}`);
  for (let j = 0; j < headers; j++) {
    skipBytes(s, `header ${j} key`, 0); // header keys cannot be null
    skipBytes(s, `header ${j} value`, -1);
  }
  if (s.start !== recordEnd) throw new CorruptRecordError(`${recordEnd - s.start} bytes left over after its last field`);
}

/** Reads a length varint (>= min, -1 meaning null) and skips that many bytes within s.end. */
function skipBytes(s: State, what: string, min: number): void {
  const n = readVarint(s);
  if (n === -1 && min === -1) return;
  if (n < Math.max(min, 0) || s.start + n > s.end) throw new CorruptRecordError(`bad ${what} length ${n}`);
  s.start += n;
}
