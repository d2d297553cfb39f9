/**
 * Structured logs with pino: JSON lines (one object per event, with level, time, msg and the
 * fields), or a human-readable form on a terminal. Every layer takes the same
 * `info(obj, msg)` / `warn(obj, msg)` shape, so this logger plugs into all of them.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };
export type LogFormat = 'auto' | 'json' | 'pretty';

export function createLogger(options: { level?: string; format?: LogFormat; stream?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? 'info';
  const format = options.format ?? 'auto';
  const out = options.stream ?? process.stdout;
  const human = format === 'pretty' || (format === 'auto' && (out as NodeJS.WriteStream).isTTY === true);
  if (human) {
    return pino({ level }, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', destination: out, sync: true }));
  }
  return pino({ level, base: { pid: process.pid } }, pino.destination({ dest: (out as { fd?: number }).fd ?? 1, sync: false }));
}
