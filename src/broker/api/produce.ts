/**
 * Produce (api key 0). Each partition's batches are checked (bounds, magic 2, CRC32C in native
 * code; then Kafka's LogValidator rules on their records, log-validation.ts, which may fix
 * maxTimestamp or refuse with recordErrors), idempotent producers' sequences are checked (duplicates answered with their first
 * offsets, gaps refused), batches are recompressed only when the topic's compression.type
 * asks for another codec, and appended in request order. acks=-1 waits for the group-commit
 * fsync that covers the append (acksAllFsync); acks=0 gets no response.
 */
import { ErrorCode, errorName, KafkaError } from '../../protocol/error-codes.js';
import { readInt64 } from '../../record/header.js';
import { buildBatch, readBatchHeader, readRecords, type CompressionName } from '../../record/index.js';
import {
  ATTRIBUTE_COMPRESSION_MASK,
  ATTRIBUTE_CONTROL,
  ATTRIBUTE_TRANSACTIONAL,
  ATTRIBUTES_OFFSET,
  BASE_SEQUENCE_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
} from '../../record/layout.js';
import type { LogAppendInfo } from '../../storage/index.js';
import { UnknownTopicError } from '../errors.js';
import { isInternalTopic } from '../topic-name.js';
import type { Partition } from '../partition.js';
import type { BrokerContext } from './context.js';
import { errorCodeOf, errorMessageOf } from './errors.js';
import { recordErrorsOf, validateProduced } from './log-validation.js';
import { autoCreateBudget, ensureTopicError } from './topics.js';
import { leaderEpochOf, NotServedError, servedPartition } from './leadership.js';
import { upConvertProduce } from './legacy-format.js';
import type { VerificationGuard } from '../../txn/partition-txns.js';
import { needsRemoteVerification, verifyWithCoordinator } from '../../txn/verification.js';

export interface ProduceRequest {
  transactionalId: string | null;
  acks: number;
  timeoutMs: number;
  topicData: { name: string; partitionData: { index: number; records: Buffer | null }[] }[];
}

export interface PartitionProduceResponse {
  index: number;
  errorCode: number;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  recordErrors: { batchIndex: number; batchIndexErrorMessage: string | null }[];
  errorMessage: string | null;
}

export interface ProduceResponse {
  responses: { name: string; partitionResponses: PartitionProduceResponse[] }[];
  throttleTimeMs: number;
}

const CODECS: Record<string, number> = { uncompressed: 0, gzip: 1, snappy: 2, lz4: 3 };

/**
 * `applied` is called once every partition's batches are appended (or refused), before any
 * fsync wait: the next request of the connection may start then and still see this one's data.
 */
export async function handleProduce(ctx: BrokerContext, req: ProduceRequest, version = 3, applied: () => void = () => {}, clientId: string | null = null): Promise<ProduceResponse | null> {
  let pending = req.topicData.reduce((n, t) => n + t.partitionData.length, 0);
  const appended = () => {
    if (--pending === 0) applied();
  };
  if (pending === 0) applied();
  const acks = req.acks;
  let refuse: { code: number; message: string } | null = null;
  if (acks !== 0 && acks !== 1 && acks !== -1) refuse = { code: ErrorCode.INVALID_REQUIRED_ACKS, message: `acks must be 0, 1 or -1, not ${acks}` };
  else if (req.transactionalId != null && ctx.transactions === undefined) {
    refuse = { code: ErrorCode.COORDINATOR_NOT_AVAILABLE, message: 'this broker has no transaction coordinator' };
  }
  const autoCreate = autoCreateBudget(ctx, clientId);
  const responses = await Promise.all(
    req.topicData.map(async (t) => {
      let missing: number = ErrorCode.NONE;
      if (refuse === null) missing = await ensureTopicError(ctx, t.name, true, autoCreate);
      const partitionResponses = await Promise.all(
        t.partitionData.map(async (p) => {
          let called = false;
          const once = () => {
            if (!called) {
              called = true;
              appended();
            }
          };
          try {
            return await producePartitionOrRefuse(p, once);
          } finally {
            once();
          }
        }),
      );
      return { name: t.name, partitionResponses };

      async function producePartitionOrRefuse(p: { index: number; records: Buffer | null }, once: () => void): Promise<PartitionProduceResponse> {
          if (refuse !== null) return failed(p.index, refuse.code, refuse.message);
          // As Kafka: only the broker itself appends to its internal topics.
          if (isInternalTopic(t.name)) return failed(p.index, ErrorCode.INVALID_TOPIC_EXCEPTION, `Cannot append to internal topic ${t.name}`);
          if (missing === ErrorCode.KAFKA_STORAGE_ERROR) return failed(p.index, missing, `topic '${t.name}' could not be created: ${ctx.logDirSpace?.full ? 'the disk is full' : 'storage error (is the disk full?)'}`);
          if (missing !== ErrorCode.NONE) return failed(p.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${t.name}' does not exist`);
          let records = p.records;
          // v0-2 carry message sets of magic 0/1: converted to one RecordBatch v2 first (legacy-format.ts).
          if (version < 3) {
            try {
              records = await upConvertProduce(ctx, records, `${t.name}-${p.index}`);
            } catch (err) {
              return failed(p.index, errorCodeOf(err), errorMessageOf(err));
            }
          }
          return producePartition(ctx, t.name, p.index, records, acks, once, req.transactionalId ?? null, req.timeoutMs);
      }
    }),
  );
  return acks === 0 ? null : { responses, throttleTimeMs: 0 };
}

function failed(index: number, errorCode: number, errorMessage: string | null, recordErrors: PartitionProduceResponse['recordErrors'] = []): PartitionProduceResponse {
  return { index, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors, errorMessage };
}

async function producePartition(
  ctx: BrokerContext,
  topic: string,
  index: number,
  records: Buffer | null,
  acks: number,
  appended: () => void = () => {},
  transactionalId: string | null = null,
  timeoutMs = 30_000,
): Promise<PartitionProduceResponse> {
  let partition: Partition;
  try {
    partition = servedPartition(ctx, topic, index);
  } catch (err) {
    if (err instanceof UnknownTopicError) return failed(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, err.message);
    if (err instanceof NotServedError) return failed(index, err.errorCode, err.message);
    throw err;
  }
  try {
    if (records === null || records.length === 0) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `empty record set for ${topic}-${index}`);
    partition.log.validate(records);
    const config = ctx.sluice.topicConfig(topic);
    const codec = config['compression.type']!;
    let producerId = -1;
    let producerEpoch = -1;
    let transactional = false;
    for (let pos = 0; pos < records.length; pos += records.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD) {
      const attributes = records.readInt16BE(pos + ATTRIBUTES_OFFSET);
      if (attributes & ATTRIBUTE_CONTROL) throw new KafkaError(ErrorCode.INVALID_RECORD, 'clients may not write control batches');
      if (attributes & ATTRIBUTE_TRANSACTIONAL) {
        if (transactionalId === null) throw new KafkaError(ErrorCode.INVALID_RECORD, `transactional batch for ${topic}-${index} in a produce request without a transactional id`);
        transactional = true;
      }
      // Kafka's LogValidator: the header's record count must be positive and match its offset
      // range. A CRC only proves the client meant these bytes; a negative count would be stored
      // and then served, and would drive the per-topic record counters negative.
      const count = records.readInt32BE(pos + RECORDS_COUNT_OFFSET);
      const lastOffsetDelta = records.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
      if (count <= 0 || lastOffsetDelta + 1 !== count) {
        throw new KafkaError(ErrorCode.INVALID_RECORD, `batch at byte ${pos} of ${topic}-${index}: record count ${count} does not match its offset range (lastOffsetDelta ${lastOffsetDelta})`);
      }
      producerId = readInt64(records, pos + PRODUCER_ID_OFFSET);
      producerEpoch = records.readInt16BE(pos + PRODUCER_EPOCH_OFFSET);
    }
    // min.insync.replicas: an acks=all write is refused before the append when the ISR is too small.
    const minIsr = Number(config['min.insync.replicas'] ?? 1);
    if (acks === -1) ctx.replicas?.checkMinIsr(topic, index, minIsr);
    // KIP-890 part 1 with the coordinator on another broker: asked before the append, and its
    // guard checked at the append (txn/verification.ts).
    let guard: VerificationGuard | null = null;
    if (transactional && needsRemoteVerification(ctx, transactionalId!)) {
      guard = await verifyWithCoordinator(ctx, transactionalId!, producerId, producerEpoch, partition, ErrorCode.NOT_ENOUGH_REPLICAS);
    }
    const needsConversion = codec !== 'producer' && batchCodecs(records).some((c) => c !== CODECS[codec]);
    const state = producerId >= 0 ? ctx.producers.forPartition(partition) : null;
    // Each batch carries the leader epoch it was appended in (0 on a lone broker), as Kafka's.
    const leaderEpoch = leaderEpochOf(ctx, topic, index);
    // Kafka's LogValidator rules (records against their header, keys, timestamps, maxTimestamp),
    // maybe on a worker, while the append keeps its place in the partition's order. The
    // checked bytes replace `records`, which may have been moved to the worker. The check goes
    // straight to the append, which takes charge of its failure: nothing may throw in between
    // and leave it unhandled (Node ends the process on that).
    let checked = records;
    const prepared = validateProduced(ctx.sluice.pool, records, config, topic, index).then((r) => {
      checked = r;
      return needsConversion ? recompress(r, codec) : r;
    });
    const info = await partition.appendInOrder(prepared, false, { validate: false, leaderEpoch }, (batches) => {
      // Leadership may have moved while the batch was being checked: a follower never appends a client's batch.
      if (ctx.cluster) servedPartition(ctx, topic, index);
      // KIP-890 part 1, checked the moment before the append: a transactional batch goes in only
      // while its producer's transaction is ongoing and holds this partition, so a late produce
      // can never land after the transaction's marker.
      if (guard !== null && !partition.txns.guardHolds(producerId, guard)) {
        throw new KafkaError(ErrorCode.INVALID_TXN_STATE, `the transaction of '${transactionalId}' in ${topic}-${index} ended while this batch was being verified; a batch sent after EndTxn is refused`);
      }
      if (transactional && guard === null) verifyTransactional(ctx, transactionalId!, batches, topic, index);
      return state === null ? undefined : checkSequences(state, batches, topic, index);
    });
    if (state !== null && info.records >= 0) recordSequences(state, checked, info);
    if (info.records >= 0) ctx.sluice.traffic.in(topic, info.records, info.bytes);
    ctx.logDirSpace?.written();
    appended();
    if (acks === -1 && (ctx.settings.acksAllFsync || partition.log.config.durability === 'fsync')) await partition.log.flush();
    // In a cluster, acks=all is answered once every in-sync replica has the batch (the high
    // watermark passed it): replication is the durability, as in Kafka.
    if (acks === -1 && ctx.replicas) {
      const code = await ctx.replicas.awaitReplication(topic, index, info.lastOffset + 1, minIsr, timeoutMs);
      if (code !== ErrorCode.NONE) return failed(index, code, `${topic}-${index}: offsets ${info.firstOffset}..${info.lastOffset} were written on the leader but not acknowledged by the in-sync replicas (${errorName(code)})`);
    }
    return {
      index,
      errorCode: ErrorCode.NONE,
      baseOffset: info.firstOffset,
      logAppendTimeMs: config['message.timestamp.type'] === 'LogAppendTime' ? info.maxTimestamp : -1,
      logStartOffset: partition.logStartOffset,
      recordErrors: [],
      errorMessage: null,
    };
  } catch (err) {
    ctx.logDirSpace?.failed(err);
    return failed(index, errorCodeOf(err), errorMessageOf(err), recordErrorsOf(err));
  }
}

/** Throws the coordinator's error unless every transactional batch belongs to the ongoing transaction. */
function verifyTransactional(ctx: BrokerContext, transactionalId: string, batches: Buffer, topic: string, index: number): void {
  for (let pos = 0; pos < batches.length; pos += batches.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD) {
    if ((batches.readInt16BE(pos + ATTRIBUTES_OFFSET) & ATTRIBUTE_TRANSACTIONAL) === 0) continue;
    const pid = readInt64(batches, pos + PRODUCER_ID_OFFSET);
    const epoch = batches.readInt16BE(pos + PRODUCER_EPOCH_OFFSET);
    const code = ctx.transactions!.checkProduce(transactionalId, pid, epoch, topic, index);
    if (code === ErrorCode.NONE) continue;
    const why =
      code === ErrorCode.INVALID_TXN_STATE
        ? `${topic}-${index} is not in an ongoing transaction of '${transactionalId}' (add it with AddPartitionsToTxn first; a batch sent after EndTxn is refused)`
        : code === ErrorCode.INVALID_PRODUCER_EPOCH
          ? `producer ${pid} epoch ${epoch} of '${transactionalId}' is not the current one (a newer instance fenced it)`
          : `producer id ${pid} does not belong to transactional id '${transactionalId}'`;
    throw new KafkaError(code, why);
  }
}

/** Codec of each batch of a chain. */
function batchCodecs(records: Buffer): number[] {
  const out: number[] = [];
  for (let pos = 0; pos < records.length; pos += records.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD) {
    out.push(records.readInt16BE(pos + ATTRIBUTES_OFFSET) & ATTRIBUTE_COMPRESSION_MASK);
  }
  return out;
}

/** Rebuilds every batch with the topic's codec, keeping producer fields and timestamps. */
function recompress(records: Buffer, codec: string): Buffer {
  const out: Buffer[] = [];
  for (let pos = 0; pos < records.length; ) {
    const size = records.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD;
    const batch = records.subarray(pos, pos + size);
    const h = readBatchHeader(batch);
    const recs = readRecords(batch, { verifyCrc: false }).map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp }));
    out.push(
      buildBatch(recs, {
        compression: (codec === 'uncompressed' ? 'none' : codec) as CompressionName,
        producerId: h.producerId,
        producerEpoch: h.producerEpoch,
        baseSequence: h.baseSequence,
        timestampType: h.timestampType,
        transactional: h.isTransactional,
      }),
    );
    pos += size;
  }
  return out.length === 1 ? out[0]! : Buffer.concat(out);
}

/** Walks the idempotent batches: a duplicate of the whole request is answered without appending. */
function checkSequences(
  state: import('./producer-state.js').PartitionProducerState,
  batches: Buffer,
  topic: string,
  index: number,
): LogAppendInfo | undefined {
  let duplicate: { firstOffset: number; lastOffset: number } | null = null;
  let all = true;
  for (let pos = 0; pos < batches.length; pos += batches.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD) {
    const pid = readInt64(batches, pos + PRODUCER_ID_OFFSET);
    const seq = batches.readInt32BE(pos + BASE_SEQUENCE_OFFSET);
    if (pid < 0) continue;
    const epoch = batches.readInt16BE(pos + PRODUCER_EPOCH_OFFSET);
    const last = seq + batches.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
    const c = state.check(pid, epoch, seq, last);
    if (c.kind === 'error') throw new KafkaError(c.errorCode, `${topic}-${index}: ${c.message}`);
    if (c.kind === 'duplicate') duplicate ??= c;
    else all = false;
  }
  if (duplicate !== null && all) {
    return { firstOffset: duplicate.firstOffset, lastOffset: duplicate.lastOffset, maxTimestamp: -1, batches: 0, records: -1, bytes: 0 };
  }
  if (duplicate !== null) throw new KafkaError(ErrorCode.DUPLICATE_SEQUENCE_NUMBER, `${topic}-${index}: a request mixes new batches with a duplicate`);
  return undefined;
}

/** Remembers the sequence ranges just appended. */
function recordSequences(state: import('./producer-state.js').PartitionProducerState, records: Buffer, info: LogAppendInfo): void {
  let offset = info.firstOffset;
  for (let pos = 0; pos < records.length; pos += records.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD) {
    const delta = records.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
    const pid = readInt64(records, pos + PRODUCER_ID_OFFSET);
    const seq = records.readInt32BE(pos + BASE_SEQUENCE_OFFSET);
    if (pid >= 0) state.record(pid, records.readInt16BE(pos + PRODUCER_EPOCH_OFFSET), seq, seq + delta, offset, offset + delta);
    offset += delta + 1;
  }
}
