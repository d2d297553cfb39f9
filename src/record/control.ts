/**
 * Control records: the records of a batch whose attributes set isControl. Transaction
 * coordinators write them as end-transaction markers (commit or abort) into each partition
 * a transaction touched; consumers never see them as data.
 *
 *   key    0 int16 version (0)
 *          2 int16 type     0 abort, 1 commit (2.. are KRaft's, read but not built here)
 *   value  0 int16 version (0)          for abort and commit only
 *          2 int32 coordinatorEpoch
 *
 * A marker batch holds exactly one such record and is transactional and control, with the
 * producer id and epoch of the transaction it ends. Stateless and thread-safe.
 */
import { buildBatch } from './builder.js';
import { CorruptRecordError } from './errors.js';
import { readRecords } from './reader.js';
import { readBatchHeader } from './header.js';

export const ControlRecordType = {
  Abort: 0,
  Commit: 1,
  LeaderChange: 2,
  SnapshotHeader: 3,
  SnapshotFooter: 4,
  KRaftVersion: 5,
  KRaftVoters: 6,
} as const;
export type ControlRecordType = (typeof ControlRecordType)[keyof typeof ControlRecordType];

const CONTROL_KEY_VERSION = 0;
const CONTROL_KEY_SIZE = 4;
const END_TXN_MARKER_VERSION = 0;
const END_TXN_MARKER_SIZE = 6;

export interface ControlRecordKey {
  version: number;
  /** A ControlRecordType, or a newer type this code does not know. */
  type: number;
}

export interface EndTransactionMarkerValue {
  version: number;
  coordinatorEpoch: number;
}

/** Key codec of every control record. */
export const controlRecordKey = {
  encode(type: number): Buffer {
    const b = Buffer.allocUnsafe(CONTROL_KEY_SIZE);
    b.writeInt16BE(CONTROL_KEY_VERSION, 0);
    b.writeInt16BE(type, 2);
    return b;
  },
  decode(key: Uint8Array | null): ControlRecordKey {
    if (key === null || key.length < CONTROL_KEY_SIZE) {
      throw new CorruptRecordError(`control record key must be ${CONTROL_KEY_SIZE} bytes, got ${key === null ? 'null' : key.length}`);
    }
    const b = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
    const version = b.readInt16BE(0);
    if (version < 0) throw new CorruptRecordError(`control record key has a negative version ${version}`);
    return { version, type: b.readInt16BE(2) };
  },
};

/** Value codec of an abort or commit marker. */
export const endTransactionMarkerValue = {
  encode(coordinatorEpoch: number): Buffer {
    const b = Buffer.allocUnsafe(END_TXN_MARKER_SIZE);
    b.writeInt16BE(END_TXN_MARKER_VERSION, 0);
    b.writeInt32BE(coordinatorEpoch, 2);
    return b;
  },
  decode(value: Uint8Array | null): EndTransactionMarkerValue {
    if (value === null || value.length < END_TXN_MARKER_SIZE) {
      throw new CorruptRecordError(
        `end transaction marker value must be at least ${END_TXN_MARKER_SIZE} bytes, got ${value === null ? 'null' : value.length}`,
      );
    }
    const b = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const version = b.readInt16BE(0);
    if (version < 0) throw new CorruptRecordError(`end transaction marker has a negative version ${version}`);
    // Newer versions append fields; the first two keep their place.
    return { version, coordinatorEpoch: b.readInt32BE(2) };
  },
};

export interface EndTransactionMarkerOptions {
  /** Commit or abort. */
  committed: boolean;
  producerId: number;
  producerEpoch: number;
  coordinatorEpoch: number;
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  /** Default Date.now(). */
  timestamp?: number;
}

export interface EndTransactionMarker {
  committed: boolean;
  type: ControlRecordType;
  coordinatorEpoch: number;
  producerId: number;
  producerEpoch: number;
  offset: number;
  timestamp: number;
}

/** Builds the one-record control batch that ends a transaction in a partition. */
export function buildEndTransactionMarker(m: EndTransactionMarkerOptions): Buffer {
  const timestamp = m.timestamp ?? Date.now();
  return buildBatch(
    [
      {
        key: controlRecordKey.encode(m.committed ? ControlRecordType.Commit : ControlRecordType.Abort),
        value: endTransactionMarkerValue.encode(m.coordinatorEpoch),
        timestamp,
      },
    ],
    {
      baseOffset: m.baseOffset ?? 0,
      partitionLeaderEpoch: m.partitionLeaderEpoch ?? -1,
      producerId: m.producerId,
      producerEpoch: m.producerEpoch,
      transactional: true,
      control: true,
      now: timestamp,
    },
  );
}

/** Reads an end-transaction marker batch; throws CorruptRecordError if it is not one. */
export function readEndTransactionMarker(batch: Buffer): EndTransactionMarker {
  const header = readBatchHeader(batch, 0);
  if (!header.isControl) throw new CorruptRecordError(`batch at offset ${header.baseOffset} is not a control batch`, 0);
  const records = readRecords(batch);
  if (records.length !== 1) {
    throw new CorruptRecordError(`control batch at offset ${header.baseOffset} holds ${records.length} records, a marker holds 1`, 0);
  }
  const record = records[0]!;
  const { type } = controlRecordKey.decode(record.key);
  if (type !== ControlRecordType.Abort && type !== ControlRecordType.Commit) {
    throw new CorruptRecordError(`control record at offset ${record.offset} has type ${type}, not abort (0) or commit (1)`, 0);
  }
  const { coordinatorEpoch } = endTransactionMarkerValue.decode(record.value);
  return {
    committed: type === ControlRecordType.Commit,
    type,
    coordinatorEpoch,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    offset: record.offset,
    timestamp: record.timestamp,
  };
}
