/**
 * Recovery of partition logs at start, one Log.open + closeAfterRecovery per directory.
 *
 * Log.open does the recovery (scan, truncate an invalid tail, rebuild indexes);
 * closeAfterRecovery then writes the indexes without an fdatasync or a clean-shutdown
 * marker, and the owner's own Log.open afterwards, with `recovered: true`, is a cheap clean
 * open (a crash in between only means recovering again). Run in a worker, the expensive part happens off the main thread and many
 * partitions recover at once.
 *
 * What does not cross threads: LogOptions.time and .logger are functions. Recovery reads
 * the clock only to date a new empty segment, so the worker's Date.now is fine; the
 * logger's calls are recorded here and replayed on the calling thread (replayLogLines),
 * so an operator sees the same lines as from an inline open. Background timers are off
 * in the worker: the log lives only until close.
 *
 * Stateless and thread-safe; each call owns the Log it opens. The caller must not have
 * the same directory open meanwhile.
 */
import { Log, type LogOptions, type LogRecoveryReport, type StorageLogger } from '../storage/log.js';
import { toWire, type WireError } from './errors.js';
import type { CloneableLogOptions } from './types.js';

export interface LogLine {
  level: 'info' | 'warn' | 'error' | 'debug';
  obj: object;
  msg: string;
}

/** One log's outcome as it crosses back: the report and the lines its logger got, or the error. */
export type WireRecoverOutcome = { report: LogRecoveryReport; lines: LogLine[] } | { error: WireError; lines: LogLine[] };

/** Opens and closes each log in turn; never throws (errors are per log). The config's logger is replaced by a recorder. */
export async function recoverLogDirs(logs: { dir: string; config: LogOptions }[]): Promise<WireRecoverOutcome[]> {
  const out: WireRecoverOutcome[] = [];
  for (const { dir, config } of logs) {
    const lines: LogLine[] = [];
    const logger: StorageLogger = {
      info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
      warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
      error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
      debug: (obj, msg) => lines.push({ level: 'debug', obj, msg }),
    };
    try {
      const log = Log.open(dir, { ...config, logger, background: false });
      log.closeAfterRecovery();
      out.push({ report: log.recovery, lines });
    } catch (err) {
      out.push({ error: toWire(err), lines });
    }
  }
  return out;
}

/** The part of LogOptions a worker can receive. */
export function cloneableLogOptions(options: LogOptions): CloneableLogOptions {
  const { time: _time, logger: _logger, damagePolicy: _damagePolicy, segmentHandles: _handles, ...rest } = options;
  return rest;
}

/** Sends the recorded lines to the caller's logger, as an inline Log.open would have. */
export function replayLogLines(lines: LogLine[], logger: StorageLogger | undefined): void {
  if (logger === undefined) return;
  for (const l of lines) {
    if (l.level === 'error') (logger.error ?? logger.warn).call(logger, l.obj, l.msg);
    else logger[l.level]?.(l.obj, l.msg);
  }
}
