/**
 * Errors of the embedded broker. Each is a KafkaError, so the wire protocol server can answer
 * with its code, and each message names the topic, partition or key and what to do instead.
 */
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';

export class UnknownTopicError extends KafkaError {
  constructor(readonly topic: string, partition?: number) {
    super(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      partition === undefined
        ? `topic '${topic}' does not exist; create it first (or enable auto-creation)`
        : `partition ${partition} of topic '${topic}' does not exist`,
    );
    this.name = 'UnknownTopicError';
  }
}

export class TopicExistsError extends KafkaError {
  constructor(readonly topic: string) {
    super(ErrorCode.TOPIC_ALREADY_EXISTS, `topic '${topic}' already exists`);
    this.name = 'TopicExistsError';
  }
}

export class InvalidTopicError extends KafkaError {
  constructor(readonly topic: string, why: string) {
    super(ErrorCode.INVALID_TOPIC_EXCEPTION, `invalid topic name '${topic}': ${why}`);
    this.name = 'InvalidTopicError';
  }
}

export class InvalidPartitionsError extends KafkaError {
  constructor(message: string) {
    super(ErrorCode.INVALID_PARTITIONS, message);
    this.name = 'InvalidPartitionsError';
  }
}

export class TopicConfigError extends KafkaError {
  constructor(readonly key: string, message: string) {
    super(ErrorCode.INVALID_CONFIG, message);
    this.name = 'TopicConfigError';
  }
}

export class SluiceClosedError extends KafkaError {
  constructor(what: string) {
    super(ErrorCode.BROKER_NOT_AVAILABLE, `${what} is closed`);
    this.name = 'SluiceClosedError';
  }
}

export class DataDirLockedError extends Error {
  readonly code = 'ERR_SLUICE_DIR_LOCKED';
  constructor(readonly dir: string) {
    super(
      `data directory ${dir} is in use by another Sluice process (its .lock is held); ` +
        `stop that process or choose another directory`,
    );
    this.name = 'DataDirLockedError';
  }
}

/** The data directory cannot be used: it is a file, cannot be created, or is not writable. */
export class DataDirError extends Error {
  readonly code = 'ERR_SLUICE_DIR';
  constructor(
    readonly dir: string,
    problem: string,
    fix: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot use ${dir} as the data directory: ${problem}; ${fix}`, options);
    this.name = 'DataDirError';
  }
}
