/**
 * Conversion between legacy message sets (magic 0/1, message-set.ts) and RecordBatch v2,
 * so the log keeps one format whatever the client speaks:
 *
 *   up     (Produce v0-2)  a producer's message set -> one RecordBatch v2, compressed with
 *                          the codec of its wrappers (Kafka's "source codec"), timestamps
 *                          kept (magic 0 has none: -1, as Kafka stores them), CreateTime
 *   down   (Fetch v0-3)    a chain of v2 batches -> magic 0 (Fetch v0-1) or magic 1 (v2-3)
 *                          messages, uncompressed, one per record at its own absolute offset;
 *                          records below the fetch offset, control batches and headers
 *                          (formats 0/1 have none) are left out, as Kafka's down-conversion does
 *
 * Both are pure functions of bytes, so the worker pool can run them (workers/tasks.ts).
 * Stateless and thread-safe.
 */
import { buildBatch, type RecordInput } from '../builder.js';
import { BatchDecoder, type RecordHeaderOutput } from '../reader.js';
import { readBatchHeader } from '../header.js';
import { ATTRIBUTE_CONTROL, ATTRIBUTES_OFFSET, Compression, LENGTH_OFFSET, LOG_OVERHEAD, RECORD_BATCH_OVERHEAD, TimestampType } from '../layout.js';
import { DEFAULT_MAX_DECOMPRESSED_SIZE } from '../compression.js';
import { messageSize, MESSAGE_TIMESTAMP_TYPE_BIT, readMessageSet, writeMessage } from './message-set.js';

export interface UpConvertOptions {
  /** Bound on what the set's compressed wrappers may decompress to, together (default 64 MiB). */
  maxDecompressedSize?: number;
}

/**
 * One RecordBatch v2 (baseOffset 0; the log assigns offsets) holding every message of a
 * producer's message set in order. Throws CorruptRecordError for a set that is not valid
 * (message-set.ts lists the checks), InvalidRecordError when it does not fit one batch.
 */
export function messageSetToBatch(set: Buffer, options: UpConvertOptions = {}): Buffer {
  const contents = readMessageSet(set, { maxDecompressedSize: options.maxDecompressedSize ?? DEFAULT_MAX_DECOMPRESSED_SIZE });
  const records: RecordInput[] = contents.records;
  return buildBatch(records, { compression: contents.codec as Compression, timestampType: TimestampType.CreateTime });
}

export interface DownConvertOptions {
  /** 0 for Fetch v0-1, 1 for Fetch v2-3. */
  magic: 0 | 1;
  /** Records below this offset are left out (the chain starts with the batch that holds it). */
  fromOffset: number;
  /** The most bytes the result may take, except that... */
  maxBytes: number;
  /** ...with minOne the first message is included whatever its size (KIP-74). */
  minOne: boolean;
  /** Bound on each batch's decompressed records (default 64 MiB). */
  maxDecompressedSize?: number;
}

export interface DownConverted {
  /** The message set: whole messages only. */
  data: Buffer;
  messages: number;
}

interface Pending {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  logAppendTime: boolean;
}

const NO_RECORDS: Pending[] = [];
/** Records decoded per step, so a large compressed batch is decoded only as far as the budget reaches. */
const STEP = 256;

/**
 * The records of a chain of v2 batches (as the log serves them: whole batches from the one
 * holding fromOffset) as a legacy message set, whole messages while they fit in maxBytes.
 * Throws CorruptRecordError for a batch that fails its checks (the log never serves one).
 */
export function batchesToMessageSet(chain: Buffer, options: DownConvertOptions): DownConverted {
  const { magic, fromOffset, maxBytes, minOne } = options;
  const maxSize = options.maxDecompressedSize ?? DEFAULT_MAX_DECOMPRESSED_SIZE;
  const picked: Pending[] = [];
  let total = 0;
  let full = false;
  for (let pos = 0; pos + RECORD_BATCH_OVERHEAD <= chain.length && !full; ) {
    const size = chain.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD;
    const batch = chain.subarray(pos, pos + size);
    pos += size;
    if ((batch.readInt16BE(ATTRIBUTES_OFFSET) & ATTRIBUTE_CONTROL) !== 0) continue;
    const h = readBatchHeader(batch, 0);
    if (h.baseOffset + h.lastOffsetDelta < fromOffset) continue;
    const logAppendTime = h.timestampType === TimestampType.LogAppendTime;
    const decoder = new BatchDecoder<Pending>(batch, { maxDecompressedSize: maxSize }, (offset: number, timestamp: number, key: Buffer | null, value: Buffer | null, _headers: RecordHeaderOutput[]) => ({ offset, timestamp, key, value, logAppendTime }), fromOffset);
    const step: Pending[] = [];
    while (decoder.remaining > 0 && !full) {
      step.length = 0;
      decoder.take(step, STEP, Infinity);
      for (const r of step) {
        const bytes = messageSize(magic, r.key?.length ?? 0, r.value?.length ?? 0);
        if (total + bytes > maxBytes && !(minOne && picked.length === 0)) {
          full = true;
          break;
        }
        picked.push(r);
        total += bytes;
      }
    }
  }
  return { data: writeMessages(picked.length === 0 ? NO_RECORDS : picked, magic, total), messages: picked.length };
}

function writeMessages(picked: Pending[], magic: 0 | 1, total: number): Buffer {
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const r of picked) {
    const attributes = magic === 1 && r.logAppendTime ? MESSAGE_TIMESTAMP_TYPE_BIT : 0;
    pos = writeMessage(out, pos, r.offset, magic, attributes, r.timestamp, r.key, r.value);
  }
  return out;
}

