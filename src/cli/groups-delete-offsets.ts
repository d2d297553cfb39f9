/**
 * `sluice groups --delete-offsets`: removes a group's committed offsets for topics (or some of
 * their partitions) with OffsetDelete, like kafka-consumer-groups.sh --delete-offsets. The
 * broker refuses while the group has members subscribed to the topic.
 */
import { ErrorCode } from '../protocol/error-codes.js';
import { deleteOffsets } from '../wire-client/records-admin.js';
import { brokerError } from '../wire-client/errors.js';
import { UsageError } from './args.js';
import { withCluster } from './connect.js';
import { topicSpec } from './groups-reset.js';
import { table } from './table.js';

export async function deleteGroupOffsets(v: { topic?: string[]; 'bootstrap-server'?: string; 'request-timeout-ms'?: string }, groupId: string): Promise<number> {
  if (v.topic === undefined || v.topic.length === 0) throw new UsageError('--delete-offsets needs --topic T or T:P,P (repeatable)');
  const specs = v.topic.map(topicSpec);
  return withCluster(v, 'sluice-groups', async (cluster) => {
    const wanted: { topic: string; partitions: number[] }[] = [];
    for (const s of specs) {
      const info = await cluster.topic(s.topic);
      const all = info.partitions.map((p) => p.partition);
      for (const p of s.partitions ?? []) {
        if (!all.includes(p)) throw brokerError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${s.topic}' has partitions 0-${all.length - 1}, not ${p}`);
      }
      wanted.push({ topic: s.topic, partitions: s.partitions ?? all });
    }
    const results = await deleteOffsets(cluster, groupId, wanted);
    const failed = results.filter((r) => r.error !== null);
    const topics = [...new Set(wanted.map((w) => w.topic))].join(', ');
    process.stdout.write(
      (failed.length === 0
        ? `Request succeeded for deleting offsets with topic ${topics} group ${groupId}\n\n`
        : `Error: some partitions failed, see their status below (group ${groupId})\n\n`) +
        table(
          ['TOPIC', 'PARTITION', 'STATUS'],
          results.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition)).map((r) => [r.topic, r.partition, r.error === null ? 'Successful' : `Error: ${r.error.message}`]),
        ),
    );
    return failed.length === 0 ? 0 : 1;
  });
}
