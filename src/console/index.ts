/** Starts and stops the web console of a broker: the sampler behind its charts and its HTTP server. */
import type { Sluice } from '../broker/sluice.js';
import type { ClusterNode } from '../cluster/node.js';
import type { ConsoleSetting } from './api.js';
import { ConsoleSampler } from './sampler.js';
import { createConsoleServer, listenConsole } from './server.js';

export type { ConsoleSetting } from './api.js';

export interface ConsoleOptions {
  /** Interface (default 127.0.0.1). */
  host?: string;
  /** Port (0 picks a free one). */
  port: number;
  /** How often throughput and lag are sampled for the charts, ms (default 5000). */
  sampleIntervalMs?: number;
  /** The broker's settings as the Settings page lists them. */
  settings?: ConsoleSetting[];
}

export interface RunningConsole {
  address: { host: string; port: number };
  close(): Promise<void>;
}

export async function startConsole(
  options: ConsoleOptions,
  from: { sluice: Sluice; cluster: ClusterNode | null; nodeId: number; clusterId: () => string; advertised: () => { host: string; port: number } },
): Promise<RunningConsole> {
  const host = options.host ?? '127.0.0.1';
  const sampler = new ConsoleSampler(from.sluice, options.sampleIntervalMs ?? 5000);
  const server = createConsoleServer({ ...from, sampler, settings: options.settings ?? [] });
  const port = await listenConsole(server, host, options.port);
  sampler.start();
  return {
    address: { host, port },
    async close() {
      sampler.stop();
      // A browser keeps its connections open: end them, or close would wait for them.
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}
