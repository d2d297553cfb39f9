/**
 * Kafka's LogValidator rules for a chain of RecordBatch v2 a producer sent, checked before
 * it is appended. The caller has already checked each batch's framing, magic and CRC32C
 * (Log.validate, native); this looks inside.
 *
 *   per batch   recordsCount >= 1 and lastOffsetDelta = recordsCount - 1; an idempotent
 *               batch (producerId >= 0) has baseSequence >= 0
 *   records     decompressed when the codec bits say so (gzip, snappy, lz4, zstd), bounded
 *               by maxDecompressedSize; then walked one by one: every varint well formed,
 *               every length inside its record, every record inside the section, offsetDelta
 *               = 0, 1, ..., n - 1 in order, header counts sane, exactly recordsCount records
 *               and no byte after them
 *   per record  (collected, each with its index: ProduceResponse recordErrors) a key on a
 *               compacted topic; with CreateTime, a timestamp within
 *               [now - message.timestamp.before.max.ms, now + message.timestamp.after.max.ms]
 *   header fix  with CreateTime, maxTimestamp is set to the records' largest timestamp and the
 *               timestamp-type bit cleared when the header says otherwise (Sarama writes -1),
 *               and the CRC32C recomputed, as Kafka's setMaxTimestamp does. LogAppendTime is
 *               stamped later, on append (Partition), under the partition's order.
 *
 * A lie in a header or in the record framing rejects the whole chain (INVALID_RECORD, no
 * recordErrors); per-record errors reject it too, listing every bad record (Kafka's
 * RecordValidationException). The walk reads lengths and skips bytes: no record objects,
 * nothing allocated per record. It runs in native code first (native/record_walk.cc, about
 * 5x faster); this file's walk is the reference, and runs when the native one finds anything
 * to report, to name it. Batch indexes count records across the chain (a v2 produce
 * request carries one batch per partition, so this is the index within the batch).
 *
 * Stateless and thread-safe: runs inline or on the worker pool (workers/tasks.ts).
 */
import { crc32c, walkRecords } from '../native.js';
import { decompress } from './compression.js';
import { CorruptRecordError } from './errors.js';
import { readInt64, writeInt64 } from './header.js';
import {
  ATTRIBUTE_COMPRESSION_MASK,
  ATTRIBUTE_TIMESTAMP_TYPE,
  ATTRIBUTES_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  Compression,
  CRC_OFFSET,
  CRC_START,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAX_TIMESTAMP_OFFSET,
  MIN_RECORD_SIZE,
  PRODUCER_ID_OFFSET,
  RECORD_BATCH_OVERHEAD,
  RECORDS_COUNT_OFFSET,
  RECORDS_OFFSET,
} from './layout.js';
import { lz4FrameDecode } from './lz4-decode.js';
import { readVarint, readVarlong, state, type State } from './varint.js';

/** The topic settings and clock the checks use; plain data, so it crosses to a worker. */
export interface LogValidatorConfig {
  /** cleanup.policy includes compact: every record needs a key. */
  compacted: boolean;
  /** message.timestamp.type=LogAppendTime: no timestamp checks, no maxTimestamp fix here. */
  logAppendTime: boolean;
  /** message.timestamp.before.max.ms / after.max.ms (Kafka's default, Long.MAX, never refuses). */
  timestampBeforeMaxMs: number;
  timestampAfterMaxMs: number;
  /** The broker clock for the timestamp range (ms). */
  now: number;
  /** Refuse compressed sections that could decompress to more than this. */
  maxDecompressedSize: number;
}

export interface RecordError {
  batchIndex: number;
  batchIndexErrorMessage: string;
}

export type LogValidation =
  | {
      ok: true;
      /** The chain, its headers fixed where needed (the same bytes as passed in, patched in place). */
      data: Buffer;
      batches: number;
      records: number;
      /** Batches whose maxTimestamp or timestamp type was fixed (CRC recomputed). */
      patched: number;
    }
  | {
      ok: false;
      data: Buffer;
      /** invalid-timestamp: Kafka's INVALID_TIMESTAMP (32); invalid-record: INVALID_RECORD (87). */
      kind: 'invalid-record' | 'invalid-timestamp';
      message: string;
      recordErrors: RecordError[];
    };

/** Kafka never lists more than this many record errors in its message (it lists all in recordErrors). */
const MESSAGE_ERRORS = 3;

/** Collects the per-record errors of one chain; created only once a record fails. */
class RecordErrors {
  readonly list: RecordError[] = [];
  timestamp = false;
}

/**
 * Checks `chain` against Kafka's rules and fixes headers in place (see the file comment).
 * Never throws for bad bytes: ok false says what is wrong.
 */
export function validateForAppend(chain: Buffer, config: LogValidatorConfig): LogValidation {
  let pos = 0;
  let batches = 0;
  let records = 0;
  let patched = 0;
  let errors: RecordErrors | null = null;
  try {
    while (pos < chain.length) {
      if (pos + RECORD_BATCH_OVERHEAD > chain.length) throw new CorruptRecordError(`batch at byte ${pos}: its header is cut short`);
      const size = chain.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD;
      if (size < RECORD_BATCH_OVERHEAD || pos + size > chain.length) throw new CorruptRecordError(`batch at byte ${pos}: length ${size} does not fit`);
      const r = checkBatch(chain, pos, size, config, records, errors);
      if (r.errors !== null) errors = r.errors;
      if (r.patched) patched++;
      records += r.count;
      pos += size;
      batches++;
    }
  } catch (err) {
    if (err instanceof CorruptRecordError) return { ok: false, data: chain, kind: 'invalid-record', message: err.message, recordErrors: [] };
    throw err;
  }
  if (errors !== null) {
    const shown = errors.list.slice(0, MESSAGE_ERRORS).map((e) => `record ${e.batchIndex}: ${e.batchIndexErrorMessage}`);
    const more = errors.list.length > MESSAGE_ERRORS ? `; ${errors.list.length - MESSAGE_ERRORS} more in recordErrors` : '';
    return {
      ok: false,
      data: chain,
      kind: errors.timestamp ? 'invalid-timestamp' : 'invalid-record',
      message: `${errors.list.length} of ${records} records rejected, so the batch was not stored: ${shown.join('; ')}${more}`,
      recordErrors: errors.list,
    };
  }
  return { ok: true, data: chain, batches, records, patched };
}

/** The native walk's answer: max and min timestampDelta, keyless records. */
const walk = new Float64Array(3);

/** Reused across calls: the walk's cursor (the validator is synchronous, one call at a time per thread). */
const cursor: State = state(Buffer.alloc(0));

function checkBatch(
  chain: Buffer,
  pos: number,
  size: number,
  config: LogValidatorConfig,
  firstIndex: number,
  errorsIn: RecordErrors | null,
): { count: number; patched: boolean; errors: RecordErrors | null } {
  const where = `batch at byte ${pos}`;
  const count = chain.readInt32BE(pos + RECORDS_COUNT_OFFSET);
  const lastOffsetDelta = chain.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
  if (count < 1) throw new CorruptRecordError(`${where} claims ${count} records`);
  if (lastOffsetDelta !== count - 1) {
    throw new CorruptRecordError(`${where}: record count ${count} does not match its offset range (lastOffsetDelta ${lastOffsetDelta}, expected ${count - 1})`);
  }
  if (readInt64(chain, pos + PRODUCER_ID_OFFSET) >= 0 && chain.readInt32BE(pos + BASE_SEQUENCE_OFFSET) < 0) {
    throw new CorruptRecordError(`${where}: an idempotent batch (producerId set) has baseSequence ${chain.readInt32BE(pos + BASE_SEQUENCE_OFFSET)}`);
  }
  const codec = chain.readInt16BE(pos + ATTRIBUTES_OFFSET) & ATTRIBUTE_COMPRESSION_MASK;
  let data = chain;
  let start = pos + RECORDS_OFFSET;
  let end = pos + size;
  if (codec !== Compression.None) {
    try {
      data = codec === Compression.Lz4 ? lz4FrameDecode(chain, start, end, config.maxDecompressedSize, true) : decompress(codec, chain.subarray(start, end), { maxSize: config.maxDecompressedSize });
    } catch (err) {
      if (err instanceof CorruptRecordError) throw new CorruptRecordError(`${where}: ${err.message}`);
      throw err;
    }
    start = 0;
    end = data.length;
  }
  if (count > (end - start) / MIN_RECORD_SIZE) throw new CorruptRecordError(`${where} claims ${count} records, which cannot fit in its ${end - start} bytes of records`);

  const baseTimestamp = readInt64(chain, pos + BASE_TIMESTAMP_OFFSET);
  const checkTime = !config.logAppendTime;
  const earliest = config.now - config.timestampBeforeMaxMs;
  const latest = config.now + config.timestampAfterMaxMs;
  // Fast path: the native walk checks the same rules; when all hold and no record needs an
  // error of its own, that is the answer. Anything else is walked again below, to name it.
  if (walkRecords(data, start, end, count, walk)) {
    const max = baseTimestamp + walk[0]!;
    const min = baseTimestamp + walk[1]!;
    const keysOk = !config.compacted || walk[2] === 0;
    const timesOk = !checkTime || (min >= earliest && max <= latest);
    if (keysOk && timesOk) return { count, patched: checkTime && fixMaxTimestamp(chain, pos, size, max), errors: errorsIn };
  }
  let maxTimestamp = -1;
  let errors = errorsIn;
  const s = cursor;
  s.buffer = data;
  s.start = start;
  let i = 0;
  try {
    for (; i < count; i++) {
      s.end = end;
      if (s.start >= end) throw new CorruptRecordError(`the records end after ${i} of ${count}`);
      const length = readVarint(s);
      const recordEnd = s.start + length;
      if (length < MIN_RECORD_SIZE - 1 || recordEnd > end) throw new CorruptRecordError(`bad length ${length} (${end - s.start} bytes left)`);
      s.end = recordEnd;
      s.start++; // attributes: unused in v2
      const timestamp = baseTimestamp + readVarlong(s);
      const offsetDelta = readVarint(s);
      if (offsetDelta !== i) throw new CorruptRecordError(`offsetDelta is ${offsetDelta}, expected ${i}`);
      const keyLength = readVarint(s);
      if (keyLength < -1 || s.start + keyLength > recordEnd) throw new CorruptRecordError(`bad key length ${keyLength}`);
      if (keyLength > 0) s.start += keyLength;
      const valueLength = readVarint(s);
      if (valueLength < -1 || s.start + valueLength > recordEnd) throw new CorruptRecordError(`bad value length ${valueLength}`);
      if (valueLength > 0) s.start += valueLength;
      const headers = readVarint(s);
      // Each header takes at least two bytes (two length varints).
      if (headers < 0 || headers > (recordEnd - s.start) / 2) throw new CorruptRecordError(`bad header count ${headers}`);
      for (let j = 0; j < headers; j++) {
        const k = readVarint(s);
        if (k < 0 || s.start + k > recordEnd) throw new CorruptRecordError(`bad length ${k} of header ${j}'s key`);
        s.start += k;
        const v = readVarint(s);
        if (v < -1 || s.start + v > recordEnd) throw new CorruptRecordError(`bad length ${v} of header ${j}'s value`);
        if (v > 0) s.start += v;
      }
      if (s.start !== recordEnd) throw new CorruptRecordError(`${recordEnd - s.start} bytes left over after its last field`);
      if (timestamp > maxTimestamp) maxTimestamp = timestamp;
      // Kafka checks the key first and reports one error per record.
      if (config.compacted && keyLength < 0) {
        errors ??= new RecordErrors();
        errors.list.push({ batchIndex: firstIndex + i, batchIndexErrorMessage: 'a compacted topic cannot accept a record without a key' });
      } else if (checkTime && (timestamp < earliest || timestamp > latest)) {
        errors ??= new RecordErrors();
        errors.timestamp = true;
        errors.list.push({
          batchIndex: firstIndex + i,
          batchIndexErrorMessage: `timestamp ${timestamp} is out of range: it must be within [${earliest}, ${latest}] (message.timestamp.before.max.ms / after.max.ms)`,
        });
      }
    }
  } catch (err) {
    if (err instanceof CorruptRecordError) throw new CorruptRecordError(`${where}, record ${i}: ${err.message}`);
    throw err;
  } finally {
    s.buffer = EMPTY; // do not keep a large decompressed section alive
  }
  if (s.start !== end) throw new CorruptRecordError(`${where}: ${end - s.start} bytes follow the last of its ${count} records`);
  return { count, patched: checkTime && fixMaxTimestamp(chain, pos, size, maxTimestamp), errors };
}

const EMPTY = Buffer.alloc(0);

/** CreateTime: maxTimestamp = the records' largest, type bit clear; CRC recomputed when anything changed. */
function fixMaxTimestamp(chain: Buffer, pos: number, size: number, maxTimestamp: number): boolean {
  if (!Number.isSafeInteger(maxTimestamp)) throw new CorruptRecordError(`batch at byte ${pos}: timestamps outside the range Sluice can hold (${maxTimestamp})`);
  const attributes = chain.readInt16BE(pos + ATTRIBUTES_OFFSET);
  if ((attributes & ATTRIBUTE_TIMESTAMP_TYPE) === 0 && readInt64(chain, pos + MAX_TIMESTAMP_OFFSET) === maxTimestamp) return false;
  chain.writeInt16BE(attributes & ~ATTRIBUTE_TIMESTAMP_TYPE, pos + ATTRIBUTES_OFFSET);
  writeInt64(chain, pos + MAX_TIMESTAMP_OFFSET, maxTimestamp);
  chain.writeUInt32BE(crc32c(chain.subarray(pos + CRC_START, pos + size)), pos + CRC_OFFSET);
  return true;
}
