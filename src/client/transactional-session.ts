/**
 * The transactional side of an embedded producer (Kafka's TransactionManager): the producer id
 * and epoch of its transactionalId, the partitions its transaction holds, the sequence numbers
 * of its batches, and the calls to the transaction coordinator it shares with the wire clients.
 *
 *   uninitialized --init--> ready --begin--> in-transaction --commit/abort--> ready
 *   any --fenced by a newer producer--> fatal (every later call throws)
 *
 * Not thread-safe: one producer, one event loop.
 */
import type { ClientHost } from '../broker/engine.js';
import { ErrorCode, errorName, KafkaError } from '../protocol/error-codes.js';
import { computeBatchCrc, writeInt64 } from '../record/header.js';
import {
  ATTRIBUTE_TRANSACTIONAL,
  ATTRIBUTES_OFFSET,
  BASE_SEQUENCE_OFFSET,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
} from '../record/layout.js';
import type { TransactionCoordinator } from '../txn/coordinator.js';

type State = 'uninitialized' | 'ready' | 'in-transaction' | 'fatal';

export class TransactionalSession {
  private coordinator: TransactionCoordinator | null = null;
  private producerId = -1;
  private producerEpoch = -1;
  private state: State = 'uninitialized';
  private fatal: KafkaError | null = null;
  /** Partitions added to the ongoing transaction (or being added), by "topic\0partition". */
  private readonly adding = new Map<string, Promise<void>>();
  /** Next sequence number per partition, for this producer id and epoch. */
  private readonly sequences = new Map<string, number>();
  /** A write of the ongoing transaction failed: it can only be aborted. */
  private failed: unknown = null;

  constructor(
    private readonly host: ClientHost,
    readonly transactionalId: string,
    private readonly timeoutMs: number,
  ) {}

  async init(): Promise<void> {
    this.checkNotFatal();
    if (this.state === 'in-transaction') throw new KafkaError(ErrorCode.INVALID_TXN_STATE, `transactional id '${this.transactionalId}': initTransactions during a transaction`);
    const c = (this.coordinator ??= await this.host.transactionCoordinator());
    const r = await c.initProducerId(this.transactionalId, this.timeoutMs, null);
    if (r.errorCode !== ErrorCode.NONE) throw this.error(r.errorCode, 'initTransactions');
    this.producerId = r.producerId;
    this.producerEpoch = r.producerEpoch;
    this.sequences.clear();
    this.state = 'ready';
  }

  async begin(): Promise<void> {
    this.checkNotFatal();
    if (this.state === 'uninitialized') await this.init();
    if (this.state === 'in-transaction') throw new KafkaError(ErrorCode.INVALID_TXN_STATE, `transactional id '${this.transactionalId}': a transaction is already open (commit or abort it first)`);
    this.adding.clear();
    this.failed = null;
    this.state = 'in-transaction';
  }

  /** Throws unless records may be sent now. */
  checkSend(): void {
    this.checkNotFatal();
    if (this.state !== 'in-transaction') {
      throw new KafkaError(ErrorCode.INVALID_TXN_STATE, `transactional id '${this.transactionalId}': send() needs an open transaction (call beginTransaction() first)`);
    }
  }

  /** Adds the partition to the ongoing transaction once; later batches wait for the same answer. */
  addPartition(topic: string, partition: number): Promise<void> {
    const key = `${topic}\u0000${partition}`;
    let added = this.adding.get(key);
    if (added === undefined) {
      added = this.coordinator!.addPartitions(this.transactionalId, this.producerId, this.producerEpoch, [{ name: topic, partitions: [partition] }]).then((codes) => {
        const code = codes.get(key) ?? ErrorCode.NONE;
        if (code !== ErrorCode.NONE) throw this.error(code, `adding ${topic}-${partition} to the transaction`);
      });
      this.adding.set(key, added);
      added.catch(() => {});
    }
    return added;
  }

  /**
   * Runs just before a batch chain is appended to `topic`-`partition`: checks the transaction
   * still holds it (as Produce does for wire clients) and stamps each batch with the producer
   * id, epoch, next sequence and the transactional attribute (the CRC is recomputed).
   */
  stamp(batches: Buffer, topic: string, partition: number): undefined {
    const code = this.coordinator!.checkProduce(this.transactionalId, this.producerId, this.producerEpoch, topic, partition);
    if (code !== ErrorCode.NONE) throw this.error(code, `appending to ${topic}-${partition}`);
    const key = `${topic}\u0000${partition}`;
    let seq = this.sequences.get(key) ?? 0;
    for (let pos = 0; pos < batches.length; ) {
      const size = batches.readInt32BE(pos + LENGTH_OFFSET) + LOG_OVERHEAD;
      writeInt64(batches, pos + PRODUCER_ID_OFFSET, this.producerId);
      batches.writeInt16BE(this.producerEpoch, pos + PRODUCER_EPOCH_OFFSET);
      batches.writeInt32BE(seq, pos + BASE_SEQUENCE_OFFSET);
      batches.writeInt16BE(batches.readInt16BE(pos + ATTRIBUTES_OFFSET) | ATTRIBUTE_TRANSACTIONAL, pos + ATTRIBUTES_OFFSET);
      batches.writeUInt32BE(computeBatchCrc(batches, pos, size), pos + CRC_OFFSET);
      seq = (seq + batches.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET) + 1) % 2 ** 31;
      pos += size;
    }
    this.sequences.set(key, seq);
    return undefined;
  }

  /** A write of the transaction failed: commit is refused from now on. */
  markFailed(err: unknown): void {
    if (this.state === 'in-transaction') this.failed ??= err;
  }

  async sendOffsets(offsets: readonly { topic: string; partition: number; offset: number; metadata?: string }[], groupId: string): Promise<void> {
    this.checkSend();
    const c = this.coordinator!;
    const added = await c.addOffsets(this.transactionalId, this.producerId, this.producerEpoch, groupId);
    if (added !== ErrorCode.NONE) throw this.error(added, `adding group '${groupId}' to the transaction`);
    const check = c.checkTxnOffsetCommit(this.transactionalId, this.producerId, this.producerEpoch, groupId);
    if (check !== ErrorCode.NONE) throw this.error(check, `committing offsets of group '${groupId}' in the transaction`);
    const byTopic = new Map<string, { partitionIndex: number; committedOffset: number; committedMetadata: string | null }[]>();
    for (const o of offsets) {
      let list = byTopic.get(o.topic);
      if (list === undefined) byTopic.set(o.topic, (list = []));
      list.push({ partitionIndex: o.partition, committedOffset: o.offset, committedMetadata: o.metadata ?? null });
    }
    const res = await this.host.groups.commitTransactionalOffsets({
      groupId,
      generationId: -1,
      memberId: '',
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    });
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== ErrorCode.NONE) throw this.error(p.errorCode, `committing the offset of ${t.name}-${p.partitionIndex} for group '${groupId}'`);
      }
    }
  }

  async end(commit: boolean): Promise<void> {
    this.checkNotFatal();
    if (this.state !== 'in-transaction') throw new KafkaError(ErrorCode.INVALID_TXN_STATE, `transactional id '${this.transactionalId}': no transaction to ${commit ? 'commit' : 'abort'}`);
    if (commit && this.failed !== null) {
      throw new KafkaError(ErrorCode.INVALID_TXN_STATE, `transactional id '${this.transactionalId}': a send of this transaction failed (${(this.failed as Error).message}); abort it`);
    }
    const code = await this.coordinator!.endTransaction(this.transactionalId, this.producerId, this.producerEpoch, commit);
    if (code !== ErrorCode.NONE && !(code === ErrorCode.INVALID_TXN_STATE && this.adding.size === 0)) throw this.error(code, commit ? 'commitTransaction' : 'abortTransaction');
    this.state = 'ready';
  }

  private checkNotFatal(): void {
    if (this.fatal !== null) throw this.fatal;
  }

  /** The error to throw for a coordinator's code; fencing makes the producer unusable, as in Kafka. */
  private error(code: number, what: string): KafkaError {
    if (code === ErrorCode.PRODUCER_FENCED || code === ErrorCode.INVALID_PRODUCER_EPOCH || code === ErrorCode.INVALID_PRODUCER_ID_MAPPING) {
      this.state = 'fatal';
      this.fatal = new KafkaError(ErrorCode.PRODUCER_FENCED, `transactional id '${this.transactionalId}': ${what} failed: a newer producer with the same transactionalId fenced this one (${errorName(code)}); close it`);
      return this.fatal;
    }
    return new KafkaError(code, `transactional id '${this.transactionalId}': ${what} failed with ${errorName(code)}`);
  }
}
