/**
 * Message formats 0 and 1 at the broker's edge (Kafka's down-/up-conversion): Produce v0-2
 * bring legacy message sets, converted to one RecordBatch v2 before anything else sees
 * them; Fetch v0-3 get the v2 batches the log serves converted to magic 0 (v0-1) or 1
 * (v2-3). The converters are record/legacy/; large inputs go to the worker pool.
 *
 * Memory: an up-conversion is bounded by the request frame and the decompression cap; a
 * down-conversion by the fetch's byte budgets (whole messages while they fit, the first
 * one whatever its size, as KIP-74 has it for batches).
 */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import { DEFAULT_MAX_DECOMPRESSED_SIZE, InvalidRecordError } from '../../record/index.js';
import { countMessages } from '../../record/legacy/message-set.js';
import type { BrokerContext } from './context.js';
import { errorCodeOf } from './errors.js';
import type { FetchPartitionData } from './fetch.js';

/** Message format (magic) a Fetch version reads: 0 for v0-1, 1 for v2-3. */
export function fetchMagic(version: number): 0 | 1 {
  return version <= 1 ? 0 : 1;
}

/**
 * A Produce v0-2 partition's message set as one RecordBatch v2. Throws a KafkaError:
 * CORRUPT_MESSAGE for a set that fails its checks (CRC32, sizes, truncation, magic,
 * codecs), MESSAGE_TOO_LARGE when its records do not fit one batch.
 */
export async function upConvertProduce(ctx: BrokerContext, records: Buffer | null, where: string): Promise<Buffer> {
  if (records === null || records.length === 0) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `empty message set for ${where}`);
  try {
    return await ctx.sluice.pool.upConvert(records, DEFAULT_MAX_DECOMPRESSED_SIZE);
  } catch (err) {
    if (err instanceof KafkaError) throw err;
    const why = err instanceof Error ? err.message : String(err);
    // INVALID_RECORD is unknown to clients of Produce v0-2; the builder's only refusal here is size.
    if (err instanceof InvalidRecordError) throw new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, `${where}: ${why}`);
    const code = errorCodeOf(err);
    throw new KafkaError(code === ErrorCode.UNKNOWN_SERVER_ERROR ? code : ErrorCode.CORRUPT_MESSAGE, `${where}: ${why}`);
  }
}

/**
 * Converts, in place and in response order, each partition's records to the message format
 * of `version` (a Fetch v0-3). `maxBytes` bounds the converted response, each
 * partitionMaxBytes its partition; the first non-empty partition's first message goes
 * out whatever its size. Returns the messages per partition (for traffic counters).
 */
export async function downConvertFetch(
  ctx: BrokerContext,
  data: FetchPartitionData[],
  requests: { fetchOffset: number; partitionMaxBytes: number }[],
  maxBytes: number,
  version: number,
): Promise<number[]> {
  const magic = fetchMagic(version);
  const counts = new Array<number>(data.length).fill(0);
  let total = 0;
  for (let i = 0; i < data.length; i++) {
    const d = data[i]!;
    const chain = d.records;
    if (chain === null || chain.length === 0) continue;
    const budget = Math.max(0, Math.min(requests[i]!.partitionMaxBytes, maxBytes - total));
    try {
      const set = await ctx.sluice.pool.downConvert(chain, { magic, fromOffset: requests[i]!.fetchOffset, maxBytes: budget, minOne: total === 0, maxDecompressedSize: DEFAULT_MAX_DECOMPRESSED_SIZE });
      d.records = set;
      total += set.length;
      counts[i] = countMessages(set);
    } catch (err) {
      ctx.logger?.warn({ err, partition: d.partitionIndex, fetchOffset: requests[i]!.fetchOffset }, 'fetch: down-conversion to message format failed');
      d.records = Buffer.alloc(0);
      d.errorCode = errorCodeOf(err);
    }
  }
  return counts;
}
