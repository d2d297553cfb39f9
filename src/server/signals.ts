/**
 * SIGINT/SIGTERM for the broker process: the first signal starts a graceful shutdown
 * (server.close(), then the caller's onShutdown, e.g. closing the log engine so it syncs and
 * writes its clean-shutdown marker); a second signal while that runs exits at once, for the
 * operator who does not want to wait. When the shutdown is done the handlers are removed, so
 * the process ends by itself once nothing else keeps it alive.
 */
import os from 'node:os';
import type { KafkaServer } from './server.js';
import type { CloseOptions, Logger } from './types.js';

export interface SignalHandlerOptions extends CloseOptions {
  /** Runs first on a signal, while the server still serves (its failure does not stop the shutdown). */
  beforeClose?: () => Promise<void>;
  /** Default ['SIGINT', 'SIGTERM']. */
  signals?: NodeJS.Signals[];
  logger?: Logger;
  /** How to end the process on the second signal; default process.exit. Replaceable for tests. */
  exit?: (code: number) => void;
}

const installed = new WeakMap<KafkaServer, () => void>();

/**
 * Installs the handlers; returns a function that removes them. Calling it again for the same
 * server installs nothing and returns the same remover.
 */
export function installSignalHandlers(
  server: KafkaServer,
  onShutdown?: (signal: NodeJS.Signals) => void | Promise<void>,
  options: SignalHandlerOptions = {},
): () => void {
  const existing = installed.get(server);
  if (existing !== undefined) return existing;
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const log = (level: 'info' | 'warn', o: object, m: string): void => {
    try {
      options.logger?.[level](o, m);
    } catch {
      // logging must not stop a shutdown
    }
  };
  let shuttingDown = false;

  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      log('warn', { signal }, 'second signal during shutdown: exiting now');
      // Shell convention: 128 + signal number (130 for SIGINT, 143 for SIGTERM).
      exit(128 + (os.constants.signals[signal] ?? 0));
      return;
    }
    shuttingDown = true;
    log('info', { signal }, 'signal received: shutting down (send it again to exit at once)');
    void (async () => {
      try {
        // Work that needs the listener still open (a cluster broker moving its leaderships away).
        await options.beforeClose?.();
        await server.close(options.graceMs === undefined ? {} : { graceMs: options.graceMs });
        await onShutdown?.(signal);
        log('info', { signal }, 'shutdown complete');
      } catch (err) {
        process.exitCode = 1;
        log('warn', { signal, err: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
      } finally {
        uninstall();
      }
    })();
  };

  const uninstall = (): void => {
    for (const s of signals) process.off(s, onSignal);
    if (installed.get(server) === uninstall) installed.delete(server);
  };
  for (const s of signals) process.on(s, onSignal);
  installed.set(server, uninstall);
  return uninstall;
}
