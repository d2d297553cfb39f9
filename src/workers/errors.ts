/**
 * Errors across the thread boundary.
 *
 * postMessage's clone of an Error keeps its message and stack but drops its class and
 * every own property (`code`, `position`, `errno`, ...), and callers tell Sluice's errors
 * apart by class and `code`. So a task never lets an Error out as is: the worker turns it
 * into a plain WireError (toWire), and the pool rebuilds the class from `code` on the
 * calling side (fromWire), keeping the message and appending the worker's stack.
 *
 * Also the pool's own errors. Stateless and thread-safe.
 */
import { CorruptRecordError, InvalidRecordError, UnsupportedCompressionError } from '../record/errors.js';
import {
  InvalidBatchError,
  InvalidConfigError,
  LogCleanerError,
  LogClosedError,
  OffsetOutOfRangeError,
  RecordBatchTooLargeError,
  StorageError,
  StorageIOError,
} from '../storage/errors.js';

const WIRE = 'sluiceWorkerError';

/** An error as it crosses postMessage: plain data only. */
export interface WireError {
  [WIRE]: true;
  name: string;
  message: string;
  stack: string | undefined;
  /** Own enumerable properties with primitive values: code, position, errno, dir, ... */
  props: Record<string, string | number | boolean | null>;
}

/** The pool was used after close(). */
export class WorkerPoolClosedError extends Error {
  override readonly name = 'WorkerPoolClosedError';
  readonly code = 'ERR_SLUICE_POOL_CLOSED';
}

/** The compiled worker entry (dist/src/workers/tasks.js) is not there. */
export class WorkerEntryMissingError extends Error {
  override readonly name = 'WorkerEntryMissingError';
  readonly code = 'ERR_SLUICE_WORKER_ENTRY_MISSING';
}

/** Worker side: any thrown value as a WireError. */
export function toWire(err: unknown): WireError {
  if (!(err instanceof Error)) {
    return { [WIRE]: true, name: 'Error', message: String(err), stack: undefined, props: {} };
  }
  const props: WireError['props'] = {};
  for (const [k, v] of Object.entries(err)) {
    if (k === 'name' || k === 'message' || k === 'stack') continue;
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') props[k] = v;
  }
  return { [WIRE]: true, name: err.name, message: err.message, stack: err.stack, props };
}

export function isWire(value: unknown): value is WireError {
  return typeof value === 'object' && value !== null && (value as Record<string, unknown>)[WIRE] === true;
}

// Storage errors take structured constructor arguments (dir, offsets): rebuilt by
// prototype, their fields copied from the wire, so instanceof and `code` both hold.
const STORAGE_CLASSES: Record<string, { prototype: StorageError }> = {
  ERR_OFFSET_OUT_OF_RANGE: OffsetOutOfRangeError,
  ERR_RECORD_BATCH_TOO_LARGE: RecordBatchTooLargeError,
  ERR_CORRUPT_MESSAGE: InvalidBatchError,
  ERR_LOG_CLOSED: LogClosedError,
  ERR_INVALID_CONFIG: InvalidConfigError,
  ERR_KAFKA_STORAGE: StorageIOError,
  ERR_LOG_CLEANER: LogCleanerError,
};

/** Calling side: a rejection value from a task as the Error the caller would have got inline. */
export function fromWire(value: unknown): unknown {
  if (!isWire(value)) return value;
  const { name, message, props } = value;
  const code = props.code;
  let err: Error;
  if (code === 'ERR_SLUICE_CORRUPT_RECORD') {
    err = new CorruptRecordError(message, typeof props.position === 'number' ? props.position : undefined);
  } else if (code === 'ERR_SLUICE_UNSUPPORTED_COMPRESSION') {
    err = new UnsupportedCompressionError(message);
  } else if (code === 'ERR_SLUICE_INVALID_RECORD') {
    err = new InvalidRecordError(message);
  } else if (typeof code === 'string' && STORAGE_CLASSES[code] !== undefined) {
    err = new StorageError(code, message);
    Object.setPrototypeOf(err, STORAGE_CLASSES[code]!.prototype);
    assignProps(err, props);
    err.name = name;
  } else {
    err = name === 'RangeError' ? new RangeError(message) : name === 'TypeError' ? new TypeError(message) : new Error(message);
    assignProps(err, props);
    if (err.name !== name) err.name = name;
  }
  if (value.stack) err.stack = `${err.stack}\n    --- thrown in a worker thread ---\n${workerFrames(value.stack)}`;
  return err;
}

function assignProps(err: Error, props: WireError['props']): void {
  for (const [k, v] of Object.entries(props)) {
    // Class fields (code, name) may be read-only on the instance: define, do not assign.
    Object.defineProperty(err, k, { value: v, enumerable: true, configurable: true, writable: true });
  }
}

/** The `at ...` lines of a stack. */
function workerFrames(stack: string): string {
  return stack
    .split('\n')
    .filter((l) => /^\s+at /.test(l))
    .join('\n');
}
