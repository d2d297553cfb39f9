/** The storage engine: partition logs of segments with offset and time indexes. */
export { Log, CLEAN_SHUTDOWN_FILE } from './log.js';
export type {
  AppendOptions,
  CompactionResult,
  CompactionRunner,
  CompactOptions,
  LogAppendInfo,
  LogOptions,
  LogReadResult,
  LogRecoveryReport,
  RetentionResult,
  StorageLogger,
} from './log.js';
export { DEFAULT_LOG_CONFIG, KAFKA_NAMES, resolveLogConfig } from './config.js';
export type { Durability, LogConfig } from './config.js';
export {
  CorruptSegmentError,
  InvalidBatchError,
  InvalidConfigError,
  LogCleanerError,
  LogClosedError,
  OffsetOutOfRangeError,
  RecordBatchTooLargeError,
  StorageError,
  StorageIOError,
} from './errors.js';
export { segmentFileName } from './segment.js';
export { DEFAULT_MAX_OPEN_SEGMENTS, SegmentHandles } from './segment-handles.js';
export type { SegmentRecovery } from './segment.js';
export { runCompactionJob } from './cleaner.js';
export type { CleanedGroup, CompactionJob, CompactionJobResult, CompactionSource } from './cleaner.js';
