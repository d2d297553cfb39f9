/**
 * Helpers for the replication tests: broker processes of one etcd cluster with short timeouts,
 * a partition's bytes as written on each broker's disk, and Metadata's view of a partition.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startBroker, type BrokerProcess } from './broker.js';
import { freePort } from './etcd.js';
import { Kafka, logLevel } from 'kafkajs';
import { WireClient } from './wire-client.js';
import { ApiKey } from '../../src/protocol/apis.js';

export const TTL_MS = 2000;
export const LAG_MAX_MS = 3000;

export interface Node {
  id: number;
  dir: string;
  broker: BrokerProcess | null;
}

/** Starts (or restarts on its data directory, and on `port` when given) broker `id` of the cluster on `etcd`. */
export async function startNode(etcd: string, id: number, dir?: string, extra: string[] = [], port?: number): Promise<BrokerProcess> {
  return startBroker({
    dir,
    port,
    args: [
      '--node-id', String(id), '--etcd', etcd,
      '--broker-session-timeout-ms', String(TTL_MS),
      '--replica-lag-time-max-ms', String(LAG_MAX_MS),
      '--replica-fetch-wait-max-ms', '200',
      '--controlled-shutdown-timeout-ms', '8000',
      '--log-format', 'json',
      '--metrics-port', String(await freePort()),
      ...extra,
    ],
  });
}

/** Brokers 1, 2 and 3 of the cluster on `etcd`; broker 1 starts first, so it is the controller. */
export async function startThree(etcd: string): Promise<BrokerProcess[]> {
  const nodes = [await startNode(etcd, 1)];
  nodes.push(...(await Promise.all([2, 3].map((id) => startNode(etcd, id)))));
  return nodes;
}

/** kafkajs with retries long enough to ride through a leader change. */
export function kafka(bootstrap: string[]): Kafka {
  return new Kafka({ brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 15, initialRetryTime: 100, maxRetryTime: 1000 } });
}

/** The bytes of every batch of a partition on one broker, in offset order (segments joined). */
export function partitionBytes(dataDir: string, topic: string, partition: number): Buffer {
  const dir = path.join(dataDir, `${topic}-${partition}`);
  const parts: Buffer[] = [];
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.log')).sort()) {
    const b = fs.readFileSync(path.join(dir, f));
    let pos = 0;
    while (pos + 12 <= b.length) {
      const len = b.readInt32BE(pos + 8);
      if (len <= 0 || pos + 12 + len > b.length) break;
      pos += 12 + len;
    }
    parts.push(b.subarray(0, pos));
  }
  return Buffer.concat(parts);
}

export interface PartitionView {
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
}

/** Leader, epoch, replicas and ISR of every partition of `topic`, as `broker` answers Metadata. */
export async function describe(broker: BrokerProcess, topic: string): Promise<PartitionView[]> {
  const c = await WireClient.connect(broker.port);
  try {
    const r = (await c.request(ApiKey.Metadata, 9, { topics: [{ name: topic }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })) as {
      topics: { name: string; partitions: { partitionIndex: number; leaderId: number; leaderEpoch: number; replicaNodes: number[]; isrNodes: number[] }[] }[];
    };
    const t = r.topics.find((x) => x.name === topic);
    if (!t) return [];
    return t.partitions
      .sort((a, b) => a.partitionIndex - b.partitionIndex)
      .map((p) => ({ leader: p.leaderId, leaderEpoch: p.leaderEpoch, replicas: p.replicaNodes, isr: [...p.isrNodes].sort() }));
  } finally {
    c.close();
  }
}

export async function eventually<T>(fn: () => Promise<T> | T, ok: (v: T) => boolean, timeoutMs: number, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not met within ${timeoutMs} ms; last value ${JSON.stringify(last)} ${lastErr ? String(lastErr) : ''}`);
}
