/**
 * The shapes that cross the thread boundary, and the pool's public option and result types.
 *
 * Everything in a Task is structured-cloneable: Buffers arrive on the other side as plain
 * Uint8Arrays (the clone drops Buffer's prototype), so each side re-wraps what it receives
 * with `asBuffer` (transfer.ts) before use.
 */
import type { LogValidatorConfig } from '../record/log-validator.js';
import type { BatchInfo } from '../record/builder.js';
import type { Compression } from '../record/layout.js';
import type { DownConvertOptions } from '../record/legacy/convert.js';
import type { CompactionJob } from '../storage/cleaner.js';
import type { LogOptions, LogRecoveryReport } from '../storage/log.js';

export interface CompressTask {
  kind: 'compress';
  codec: Compression;
  data: Uint8Array;
}

export interface DecompressTask {
  kind: 'decompress';
  codec: number;
  data: Uint8Array;
  maxSize: number;
}

export interface BuildBatchTask {
  kind: 'buildBatch';
  /** An uncompressed records section (encodeRecords' data). */
  section: Uint8Array;
  /** Header fields; `compression` is the codec to apply to the section. */
  info: BatchInfo;
}

export interface ValidateTask {
  kind: 'validate';
  batches: Uint8Array;
  maxSize: number;
}

/** Kafka's LogValidator rules on a produced chain (record/log-validator.ts); headers fixed in place. */
export interface LogValidateTask {
  kind: 'logValidate';
  batches: Uint8Array;
  config: LogValidatorConfig;
}

/** What crosses to a worker for one log: LogOptions without functions (they cannot be cloned). */
export type CloneableLogOptions = Omit<LogOptions, 'time' | 'logger' | 'damagePolicy'>;

export interface RecoverLogsTask {
  kind: 'recoverLogs';
  logs: { dir: string; config: CloneableLogOptions }[];
}

/** One log's compaction: build the offset map, write the .cleaned files (storage/cleaner.ts). */
export interface CompactSegmentsTask {
  kind: 'compactSegments';
  job: CompactionJob;
}

/** A producer's legacy message set -> one RecordBatch v2 (record/legacy/convert.ts). */
export interface UpConvertTask {
  kind: 'upConvert';
  set: Uint8Array;
  maxSize: number;
}

/** v2 batches -> a legacy message set for Fetch v0-3 (record/legacy/convert.ts). */
export interface DownConvertTask {
  kind: 'downConvert';
  chain: Uint8Array;
  options: DownConvertOptions;
}

export type Task = CompressTask | DecompressTask | BuildBatchTask | ValidateTask | LogValidateTask | RecoverLogsTask | CompactSegmentsTask | UpConvertTask | DownConvertTask;

/**
 * Result of deep validation of a chain of batches, as a producer sent it. `data` is the
 * validated bytes handed back: use it, not the Buffer passed in, which may have been moved
 * to a worker (and is then empty on the calling thread).
 */
export type ValidationResult =
  | { ok: true; data: Buffer; batches: number; records: number }
  | {
      ok: false;
      data: Buffer;
      /** What is wrong, naming the batch's byte position (and baseOffset when readable). */
      error: string;
      /** Byte position in `data` of the first batch that failed. */
      position: number;
    };

/** Per log: the report of Log.open (recovery), or the error that stopped it. */
export type RecoverOutcome = { report: LogRecoveryReport } | { error: unknown };

export interface WorkerPoolOptions {
  /** Worker threads (default os.availableParallelism()). */
  threads?: number;
  /** Never use workers: every call runs on the calling thread (for side-by-side benchmarks). */
  inline?: boolean;
  /** Records sections smaller than this (bytes, uncompressed) are compressed inline. Default per codec, see thresholds.ts. */
  compressInlineBelow?: number;
  /** Compressed sections smaller than this (bytes) are decompressed inline. Default per codec, see thresholds.ts. */
  decompressInlineBelow?: number;
  /** Chains smaller than this (bytes) are validated inline. Default by the first batch's codec, see thresholds.ts. */
  validateInlineBelow?: number;
  /** Idle workers exit after this many ms (default 60 s); the next task starts them again. */
  idleTimeout?: number;
}

export interface PoolStats {
  /** Configured worker threads (0 when inline). */
  threads: number;
  /** Tasks waiting for a free worker. */
  queueSize: number;
  /** Piscina's utilization: share of the pool's capacity spent running tasks, 0..1. */
  utilization: number;
  /** Tasks the workers finished. */
  completed: number;
  /** Calls that ran on the calling thread (below a threshold, codec none, or inline mode). */
  inlineRuns: number;
  /** Calls handed to a worker. */
  pooledRuns: number;
}
