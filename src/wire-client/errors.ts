/**
 * Errors of the wire client. Each says which broker and what failed, in words an operator can
 * act on; Kafka error codes travel as KafkaError (protocol/error-codes.ts), whose message
 * starts with the code's name (UNKNOWN_TOPIC_OR_PARTITION: ...).
 */
import { errorName, KafkaError } from '../protocol/error-codes.js';

/** The TCP connection could not be made (refused, unresolvable, timed out). */
export class BrokerUnreachableError extends Error {
  override readonly name = 'BrokerUnreachableError';
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(`cannot reach broker ${address}: ${reason} (is it running? start one with \`npm start\`)`);
  }
}

/** The connection closed or failed while requests were waiting for answers. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** No answer within the request timeout; the connection is closed (answers come in order). */
export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
}

/** The broker does not speak any version of an API that this client speaks. */
export class UnsupportedApiError extends Error {
  override readonly name = 'UnsupportedApiError';
}

/** A Kafka error code from a response, with what was being done: `KafkaError` naming the code. */
export function brokerError(errorCode: number, what: string, serverMessage?: string | null): KafkaError {
  // Brokers often start their message with the code's name too: say it once.
  const detail = serverMessage?.replace(new RegExp(`^${errorName(errorCode)}:\\s*`), '');
  return new KafkaError(errorCode, detail ? `${what}: ${detail}` : what);
}

/** Throws brokerError unless `errorCode` is 0 (NONE). */
export function check(errorCode: number, what: string, serverMessage?: string | null): void {
  if (errorCode !== 0) throw brokerError(errorCode, what, serverMessage);
}

export { KafkaError };
