/**
 * Errors of the storage layer. Each names the partition directory and the offsets or bytes
 * involved, and carries a `code` that the broker maps to a Kafka error code.
 */

export class StorageError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A read or delete asked for an offset outside [logStartOffset, logEndOffset]. Kafka: OFFSET_OUT_OF_RANGE. */
export class OffsetOutOfRangeError extends StorageError {
  constructor(
    readonly dir: string,
    readonly offset: number,
    readonly logStartOffset: number,
    readonly logEndOffset: number,
  ) {
    super(
      'ERR_OFFSET_OUT_OF_RANGE',
      `offset ${offset} is out of range for ${dir}: the log holds [${logStartOffset}, ${logEndOffset})`,
    );
  }
}

/** A batch is bigger than max.message.bytes. Kafka: MESSAGE_TOO_LARGE. */
export class RecordBatchTooLargeError extends StorageError {
  constructor(dir: string, size: number, max: number) {
    super(
      'ERR_RECORD_BATCH_TOO_LARGE',
      `a record batch of ${size} bytes exceeds max.message.bytes (${max}) of ${dir}; ` +
        `send smaller batches or raise max.message.bytes`,
    );
  }
}

/** Appended bytes are not a valid chain of RecordBatch v2. Kafka: CORRUPT_MESSAGE. */
export class InvalidBatchError extends StorageError {
  constructor(dir: string, detail: string) {
    super('ERR_CORRUPT_MESSAGE', `refused to append to ${dir}: ${detail}`);
  }
}

/** The log was used after close(). */
export class LogClosedError extends StorageError {
  constructor(dir: string) {
    super('ERR_LOG_CLOSED', `the log at ${dir} is closed`);
  }
}

/** A configuration value is out of its range; names the key and what is allowed. */
export class InvalidConfigError extends StorageError {
  constructor(key: string, value: unknown, allowed: string) {
    super('ERR_INVALID_CONFIG', `invalid value ${JSON.stringify(value)} for ${key}: ${allowed}`);
  }
}

/** A disk operation failed (ENOSPC, EIO, ...). Kafka: KAFKA_STORAGE_ERROR. */
export class StorageIOError extends StorageError {
  constructor(dir: string, what: string, cause: unknown) {
    const c = cause as NodeJS.ErrnoException;
    super('ERR_KAFKA_STORAGE', `${what} failed in ${dir}: ${c?.message ?? String(cause)}`, { cause });
    this.errno = c?.code;
  }
  readonly errno: string | undefined;
}

/**
 * A batch already in a segment fails its check when it is about to be served (CRC32C, bounds,
 * or offsets that do not follow on): bit rot in data that recovery does not rescan (sealed
 * segments after a clean shutdown, segments below the recovery point). The batch is never
 * served; the rest of the log is. Kafka: KAFKA_STORAGE_ERROR.
 */
export class CorruptSegmentError extends StorageError {
  constructor(
    readonly dir: string,
    readonly file: string,
    readonly position: number,
    readonly offset: number,
    detail: string,
  ) {
    super('ERR_CORRUPT_SEGMENT', `refused to serve offset ${offset} from ${file} in ${dir}: the batch at byte ${position} ${detail}`);
  }
}

/**
 * Log compaction could not go on: a segment holds bytes that are not a chain of batches, or
 * a cleaned file does not line up with the segments it replaces. Names the directory and
 * the offsets or byte positions involved. Nothing is swapped when it is thrown before the
 * swap; the segments stay as they were.
 */
export class LogCleanerError extends StorageError {
  constructor(
    readonly dir: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_LOG_CLEANER', `log compaction of ${dir}: ${detail}`, options);
  }
}
