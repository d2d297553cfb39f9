/**
 * Records of `__transaction_state` in Kafka's own format (TransactionLogKey/Value, Kafka 3.8),
 * so kafka-dump-log.sh --transaction-log-decoder reads Sluice's files. Each record's key is the
 * transactional id and its value the whole state after a change; a null value (tombstone)
 * removes the id. Key and value carry their version in front, as Kafka's do.
 *
 *   key    int16 version (0) | string transactionalId
 *   value  int16 version (0 written; 1 read: flexible) | int64 producerId | int16 producerEpoch
 *          | int32 transactionTimeoutMs | int8 transactionStatus
 *          | nullable array transactionPartitions [string topic | array int32 partitionIds]
 *          | int64 transactionLastUpdateTimestampMs | int64 transactionStartTimestampMs
 *          (v1: compact strings and arrays, tagged fields after each struct)
 *
 * Stateless: thread-safe.
 */
import { Reader, Writer } from '../protocol/primitives.js';
import { javaStringHashCode } from '../group/offset-record.js';
import type { TransactionStateName } from './transaction-state.js';
import { TRANSACTION_STATES } from './transaction-state.js';

/** Kafka's internal topic name. */
export const TRANSACTION_STATE_TOPIC = '__transaction_state';

export class TransactionLogRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransactionLogRecordError';
  }
}

/** The value of one transactional id (TransactionLogValue). */
export interface TransactionLogValue {
  producerId: number;
  producerEpoch: number;
  transactionTimeoutMs: number;
  state: TransactionStateName;
  /** topic -> partitions. */
  partitions: { topic: string; partitionIds: number[] }[];
  lastUpdateTimestampMs: number;
  startTimestampMs: number;
}

export function encodeTransactionLogKey(transactionalId: string): Buffer {
  const w = new Writer(32);
  w.int16(0);
  w.string(transactionalId, false);
  return w.toBuffer();
}

export function decodeTransactionLogKey(b: Buffer): string {
  return decoding('TransactionLogKey', b, (r) => {
    const version = r.int16('version');
    if (version !== 0) throw new TransactionLogRecordError(`unknown TransactionLogKey version ${version} (this broker reads 0)`);
    return r.string('transactionalId')!;
  });
}

/** Version 0, which every Kafka since 0.11 reads. */
export function encodeTransactionLogValue(v: TransactionLogValue): Buffer {
  const w = new Writer(64);
  w.int16(0);
  w.int64(v.producerId);
  w.int16(v.producerEpoch);
  w.int32(v.transactionTimeoutMs);
  w.int8(TRANSACTION_STATES.indexOf(v.state));
  w.int32(v.partitions.length);
  for (const t of v.partitions) {
    w.string(t.topic, false);
    w.int32(t.partitionIds.length);
    for (const p of t.partitionIds) w.int32(p);
  }
  w.int64(v.lastUpdateTimestampMs);
  w.int64(v.startTimestampMs);
  return w.toBuffer();
}

export function decodeTransactionLogValue(b: Buffer): TransactionLogValue {
  return decoding('TransactionLogValue', b, (r) => {
    const version = r.int16('version');
    if (version !== 0 && version !== 1) throw new TransactionLogRecordError(`unknown TransactionLogValue version ${version} (this broker reads 0-1)`);
    const flexible = version === 1;
    const producerId = r.int64('producerId');
    const producerEpoch = r.int16('producerEpoch');
    const transactionTimeoutMs = r.int32('transactionTimeoutMs');
    const status = r.int8('transactionStatus');
    const state = TRANSACTION_STATES[status];
    if (state === undefined) throw new TransactionLogRecordError(`unknown transaction status ${status}`);
    const partitions: TransactionLogValue['partitions'] = [];
    const count = r.arrayLength('transactionPartitions', true, flexible);
    for (let i = 0; i < count; i++) {
      const topic = (flexible ? r.compactString('topic') : r.string('topic'))!;
      const n = r.arrayLength('partitionIds', false, flexible);
      const partitionIds: number[] = [];
      for (let j = 0; j < n; j++) partitionIds.push(r.int32('partitionId'));
      if (flexible) r.skipTaggedFields();
      partitions.push({ topic, partitionIds });
    }
    const lastUpdateTimestampMs = r.int64('transactionLastUpdateTimestampMs');
    const startTimestampMs = r.int64('transactionStartTimestampMs');
    if (flexible) r.skipTaggedFields();
    return { producerId, producerEpoch, transactionTimeoutMs, state, partitions, lastUpdateTimestampMs, startTimestampMs };
  });
}

/** Kafka's partitionFor(transactionalId): abs(hashCode) % transaction.state.log.num.partitions. */
export function transactionStatePartitionFor(transactionalId: string, partitions: number): number {
  return (javaStringHashCode(transactionalId) & 0x7fffffff) % partitions;
}

function decoding<T>(what: string, b: Buffer, f: (r: Reader) => T): T {
  try {
    return f(new Reader(b));
  } catch (err) {
    if (err instanceof TransactionLogRecordError) throw err;
    throw new TransactionLogRecordError(`cannot decode the ${what} (${b.length} bytes): ${(err as Error).message}`);
  }
}
