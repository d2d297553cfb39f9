/**
 * The produce path's hook to Kafka's LogValidator rules (record/log-validator.ts): builds the
 * checks' settings from the topic's config, runs them on the worker pool when the chain is
 * large (workers/thresholds.ts), and turns a refusal into the error Kafka answers with:
 * INVALID_RECORD (87) or INVALID_TIMESTAMP (32), with recordErrors naming each bad record
 * by its index in the batch, so a client can drop those and retry the rest.
 */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import { DEFAULT_MAX_DECOMPRESSED_SIZE } from '../../record/compression.js';
import type { LogValidatorConfig, RecordError } from '../../record/log-validator.js';
import type { WorkerPool } from '../../workers/index.js';
import type { TopicConfig } from '../topic-config.js';

/** A produce refused by the record checks; recordErrors go into ProduceResponse v8+. */
export class RecordValidationError extends KafkaError {
  readonly recordErrors: RecordError[];
  constructor(errorCode: number, message: string, recordErrors: RecordError[]) {
    super(errorCode, message);
    this.name = 'RecordValidationError';
    this.recordErrors = recordErrors;
  }
}

/** The checks' settings for a topic, at broker time `now`. */
export function logValidatorConfig(config: TopicConfig, now: number): LogValidatorConfig {
  return {
    compacted: config['cleanup.policy']!.includes('compact'),
    logAppendTime: config['message.timestamp.type'] === 'LogAppendTime',
    timestampBeforeMaxMs: Number(config['message.timestamp.before.max.ms'] ?? Number.MAX_VALUE),
    timestampAfterMaxMs: Number(config['message.timestamp.after.max.ms'] ?? Number.MAX_VALUE),
    now,
    maxDecompressedSize: DEFAULT_MAX_DECOMPRESSED_SIZE,
  };
}

/**
 * Checks a produced chain; resolves with the bytes to append (headers fixed where Kafka fixes
 * them), or rejects with a RecordValidationError naming the topic-partition.
 */
export async function validateProduced(pool: WorkerPool, records: Buffer, config: TopicConfig, topic: string, partition: number): Promise<Buffer> {
  const r = await pool.validateForAppend(records, logValidatorConfig(config, Date.now()));
  if (r.ok) return r.data;
  const code = r.kind === 'invalid-timestamp' ? ErrorCode.INVALID_TIMESTAMP : ErrorCode.INVALID_RECORD;
  throw new RecordValidationError(code, `${topic}-${partition}: ${r.message}`, r.recordErrors);
}

/** The recordErrors of a refusal, [] for any other error. */
export function recordErrorsOf(err: unknown): RecordError[] {
  return err instanceof RecordValidationError ? err.recordErrors : [];
}
