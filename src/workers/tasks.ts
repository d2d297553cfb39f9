/**
 * The worker entry: Piscina loads the compiled file (dist/src/workers/tasks.js) in each
 * worker thread and calls its default export with every task.
 *
 *   compress     {codec, data}            -> compressed records section
 *   decompress   {codec, data, maxSize}   -> records section
 *   buildBatch   {section, info}          -> whole batch: compress the section, add header + CRC
 *   validate     {batches, maxSize}       -> ValidationResult (bytes handed back)
 *   upConvert    {set, maxSize}           -> RecordBatch v2 from a legacy message set
 *   downConvert  {chain, options}         -> legacy message set from v2 batches
 *   logValidate  {batches, config}        -> LogValidation (bytes handed back, headers fixed)
 *   recoverLogs  {logs}                   -> per log: recovery report or error
 *   compactSegments {job}                 -> offset map built, .cleaned files written and
 *                                            fsynced; per group stats (the swap is the Log's)
 *
 * Buffer results are moved back (moveResult), never cloned. Errors leave as WireErrors so
 * the calling side can rebuild their class (errors.ts). Each worker has its own module
 * instances, so the builder's scratch is per thread: one handler call runs at a time per
 * worker and nothing here is shared.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { assembleBatch } from '../record/builder.js';
import { compress, decompress } from '../record/compression.js';
import { runCompactionJob, type CompactionJobResult } from '../storage/cleaner.js';
import { toCompression } from '../record/layout.js';
import { toWire } from './errors.js';
import { recoverLogDirs, type WireRecoverOutcome } from './recover.js';
import { asBuffer, moveResult, ownsArrayBuffer } from './transfer.js';
import type { Task, ValidationResult } from './types.js';
import { validateChain } from './validate.js';
import { batchesToMessageSet, messageSetToBatch } from '../record/legacy/convert.js';
import { validateForAppend, type LogValidation } from '../record/log-validator.js';

type Result = Buffer | ValidationResult | LogValidation | WireRecoverOutcome[] | CompactionJobResult;

export default async function run(task: Task): Promise<Result> {
  try {
    return await dispatch(task);
  } catch (err) {
    throw toWire(err);
  }
}

async function dispatch(task: Task): Promise<Result> {
  switch (task.kind) {
    case 'compress':
      return moveResult(compress(task.codec, asBuffer(task.data)));
    case 'decompress':
      return moveResult(decompress(task.codec, asBuffer(task.data), { maxSize: task.maxSize }));
    case 'buildBatch': {
      const compressed = compress(toCompression(task.info.compression), asBuffer(task.section));
      return moveResult(assembleBatch(compressed, task.info));
    }
    case 'validate': {
      const result = validateChain(asBuffer(task.batches), task.maxSize);
      // Whatever arrived (moved, or cloned when it could not move) is this thread's own
      // ArrayBuffer now: move it back rather than clone it a second time.
      if (!ownsArrayBuffer(result.data)) return result;
      const movable = { [transferableSymbol]: [result.data.buffer], [valueSymbol]: result };
      return move(movable) as unknown as ValidationResult;
    }
    case 'upConvert':
      return moveResult(messageSetToBatch(asBuffer(task.set), { maxDecompressedSize: task.maxSize }));
    case 'downConvert':
      return moveResult(batchesToMessageSet(asBuffer(task.chain), task.options).data);
    case 'logValidate': {
      const result = validateForAppend(asBuffer(task.batches), task.config);
      if (!ownsArrayBuffer(result.data)) return result;
      const movable = { [transferableSymbol]: [result.data.buffer], [valueSymbol]: result };
      return move(movable) as unknown as LogValidation;
    }
    case 'recoverLogs':
      return recoverLogDirs(task.logs);
    case 'compactSegments':
      return runCompactionJob(task.job);
    default:
      throw new TypeError(`unknown worker task ${JSON.stringify((task as { kind?: unknown }).kind)}`);
  }
}
