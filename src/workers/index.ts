/**
 * The worker pool: codec work (compress, decompress, build, validate) and log recovery off
 * the main thread, inline below measured thresholds.
 *
 *   pool.ts        WorkerPool, the public facade over Piscina
 *   tasks.ts       the worker entry (compiled to dist/src/workers/tasks.js)
 *   validate.ts    deep validation of a chain of batches (inline or in a worker)
 *   recover.ts     Log.open + close of many partition logs
 *   (compaction)   task 'compactSegments' runs storage/cleaner.ts: map + .cleaned files
 *   transfer.ts    moving Buffers between threads without copies
 *   errors.ts      errors across the boundary; the pool's own errors
 *   thresholds.ts  measured inline/pooled crossovers
 *   entry.ts       where the compiled worker entry is
 *   types.ts       tasks, options, results
 */
export { WorkerPool } from './pool.js';
export { WorkerEntryMissingError, WorkerPoolClosedError } from './errors.js';
export { validateChain } from './validate.js';
export type { PoolStats, RecoverOutcome, ValidationResult, WorkerPoolOptions } from './types.js';
