/**
 * One place that turns an error from any layer into the Kafka error code a response carries.
 * KafkaError subclasses carry their own; storage and record errors are mapped by class.
 */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import { CorruptRecordError, InvalidRecordError, UnsupportedCompressionError } from '../../record/index.js';
import {
  CorruptSegmentError,
  InvalidBatchError,
  InvalidConfigError,
  LogClosedError,
  OffsetOutOfRangeError,
  RecordBatchTooLargeError,
  StorageIOError,
} from '../../storage/index.js';
import { diskFullMessage } from '../log-dir-space.js';

export function errorCodeOf(err: unknown): number {
  if (err instanceof KafkaError) return err.errorCode;
  if (typeof (err as { errorCode?: unknown } | null)?.errorCode === 'number') return (err as { errorCode: number }).errorCode;
  if (err instanceof OffsetOutOfRangeError) return ErrorCode.OFFSET_OUT_OF_RANGE;
  if (err instanceof RecordBatchTooLargeError) return ErrorCode.MESSAGE_TOO_LARGE;
  if (err instanceof InvalidBatchError || err instanceof CorruptRecordError) return ErrorCode.CORRUPT_MESSAGE;
  if (err instanceof InvalidRecordError) return ErrorCode.INVALID_RECORD;
  if (err instanceof UnsupportedCompressionError) return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE;
  if (err instanceof InvalidConfigError) return ErrorCode.INVALID_CONFIG;
  if (err instanceof StorageIOError || err instanceof CorruptSegmentError) return ErrorCode.KAFKA_STORAGE_ERROR;
  if (err instanceof LogClosedError) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}

/** The message to put in a response's errorMessage field (null when there is nothing useful). */
export function errorMessageOf(err: unknown): string | null {
  return diskFullMessage(err) ?? (err instanceof Error ? err.message : null);
}
