// Child process for the group crash test: commits offsets of group 'g' in a loop, one
// OffsetCommit at a time (commit k sets partition k % 3 of topic 't' to k), and prints k once
// the commit has resolved, until it is killed. A small compaction threshold makes the offsets
// log compact (and swap directories) many times while it runs.
// Usage: node group-commit-child.mjs <dir> <durability>
import { GroupCoordinator } from '../../dist/src/group/index.js';

const [dir, durability] = process.argv.slice(2);
const coordinator = await GroupCoordinator.open({ dir, durability, offsetsCompactionMinBytes: 32 * 1024, offsetsRetentionCheckIntervalMs: 0 });
const fetched = coordinator.fetchOffsets({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 1, 2] }] });
let k = 0;
for (const p of fetched.topics[0].partitions) k = Math.max(k, p.committedOffset + 1);
process.stdout.write(`ready ${k}\n`);
for (;;) {
  const r = await coordinator.commitOffsets({
    groupId: 'g',
    generationId: -1,
    memberId: '',
    topics: [{ name: 't', partitions: [{ partitionIndex: k % 3, committedOffset: k, committedMetadata: 'x'.repeat(k % 40) }] }],
  });
  const code = r.topics[0].partitions[0].errorCode;
  if (code !== 0) {
    process.stderr.write(`commit ${k} failed with error ${code}\n`);
    process.exit(1);
  }
  process.stdout.write(`${k}\n`);
  k++;
}
