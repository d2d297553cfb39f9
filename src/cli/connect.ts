/** Connecting a client command to the cluster named by its common flags. */
import { Cluster, parseBootstrap } from '../wire-client/cluster.js';
import { bootstrapOf, intFlag, UsageError } from './args.js';

export async function connect(values: { 'bootstrap-server'?: string; 'request-timeout-ms'?: string }, clientId: string): Promise<Cluster> {
  const bootstrap = bootstrapOf(values);
  try {
    parseBootstrap(bootstrap);
  } catch (err) {
    throw new UsageError(`invalid value for --bootstrap-server: ${(err as Error).message}`);
  }
  const requestTimeoutMs = intFlag(values['request-timeout-ms'], 'request-timeout-ms', 1, 2 ** 31 - 1);
  return Cluster.connect({ bootstrap, clientId, requestTimeoutMs });
}

/** Runs `fn` with a connected cluster and closes it afterwards. */
export async function withCluster<T>(values: { 'bootstrap-server'?: string; 'request-timeout-ms'?: string }, clientId: string, fn: (c: Cluster) => Promise<T>): Promise<T> {
  const cluster = await connect(values, clientId);
  try {
    return await fn(cluster);
  } finally {
    cluster.close();
  }
}
