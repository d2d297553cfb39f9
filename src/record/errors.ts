/**
 * Errors raised by the RecordBatch codec. Each has a stable `code` so callers (the broker
 * maps them to Kafka error codes) never match on message text.
 *
 *   CorruptRecordError          bytes that are not a valid RecordBatch v2: bad magic, CRC,
 *                               a length that points outside the batch, an unknown codec.
 *                               Kafka: CORRUPT_MESSAGE (2).
 *   UnsupportedCompressionError a codec Sluice can read but not write (zstd).
 *                               Kafka: UNSUPPORTED_COMPRESSION_TYPE (76).
 *   InvalidRecordError          caller input the builder cannot encode (no records, a key
 *                               that is neither bytes nor a string, ...). Kafka: INVALID_RECORD (87).
 */

export class CorruptRecordError extends Error {
  override readonly name = 'CorruptRecordError';
  readonly code = 'ERR_SLUICE_CORRUPT_RECORD';
  /** Byte position of the batch in the buffer it was read from, when known. */
  readonly position: number | undefined;

  constructor(message: string, position?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.position = position;
  }
}

export class UnsupportedCompressionError extends Error {
  override readonly name = 'UnsupportedCompressionError';
  readonly code = 'ERR_SLUICE_UNSUPPORTED_COMPRESSION';
}

export class InvalidRecordError extends TypeError {
  override readonly name = 'InvalidRecordError';
  readonly code = 'ERR_SLUICE_INVALID_RECORD';
}
