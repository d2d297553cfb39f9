/**
 * DescribeLogDirs (api key 35): a lone broker has one log directory, its data directory. Each
 * partition asked for (every partition of every topic when `topics` is null) is listed with
 * the bytes of data its log segments hold; offsetLag is 0 (no future logs, no replicas to
 * catch up with). Topics and partitions that do not exist are left out, as Kafka does.
 * v4+ adds the size and free space of the volume the directory is on (-1 when unknown).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerContext } from './context.js';

export interface DescribeLogDirsRequest {
  topics: { topic: string; partitions: number[] }[] | null;
}

interface PartitionResult {
  partitionIndex: number;
  partitionSize: number;
  offsetLag: number;
  isFutureKey: boolean;
}

export function handleDescribeLogDirs(ctx: BrokerContext, req: DescribeLogDirsRequest, version: number) {
  const sluice = ctx.sluice;
  const wanted =
    req.topics ??
    sluice.listTopics().map((topic) => ({ topic, partitions: Array.from({ length: sluice.partitionCount(topic) }, (_, i) => i) }));
  // topic -> partition index -> result (a topic or partition named twice is listed once).
  const byTopic = new Map<string, Map<number, PartitionResult>>();
  for (const t of wanted) {
    if (!sluice.hasTopic(t.topic)) continue;
    const count = sluice.partitionCount(t.topic);
    let partitions = byTopic.get(t.topic);
    for (const index of t.partitions) {
      if (index < 0 || index >= count) continue;
      if (partitions === undefined) byTopic.set(t.topic, (partitions = new Map()));
      if (partitions.has(index)) continue;
      partitions.set(index, { partitionIndex: index, partitionSize: sluice.partition(t.topic, index).log.size, offsetLag: 0, isFutureKey: false });
    }
  }
  const dir = path.resolve(sluice.dir);
  const { totalBytes, usableBytes } = version >= 4 ? volumeOf(dir) : { totalBytes: -1, usableBytes: -1 };
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    results: [
      {
        errorCode: ErrorCode.NONE,
        logDir: dir,
        topics: [...byTopic].map(([name, partitions]) => ({ name, partitions: [...partitions.values()] })),
        totalBytes,
        usableBytes,
      },
    ],
  };
}

/** Size and space available to this process on the volume holding `dir`, or -1 / -1. */
function volumeOf(dir: string): { totalBytes: number; usableBytes: number } {
  try {
    const s = fs.statfsSync(dir);
    return { totalBytes: s.blocks * s.bsize, usableBytes: s.bavail * s.bsize };
  } catch {
    return { totalBytes: -1, usableBytes: -1 };
  }
}
