/**
 * `sluice cluster --describe`: the brokers of a cluster (id, address, rack), which one is the
 * controller, and how many partitions each leads and holds replicas of. Works against any
 * Kafka-compatible cluster (from Metadata).
 */
import { COMMON_HELP, COMMON_OPTIONS, parse, UsageError } from './args.js';
import { withCluster } from './connect.js';
import { table } from './table.js';

export const CLUSTER_HELP = `Usage: sluice cluster --describe [options]

Describes a cluster: its id, its brokers (id, host:port, rack), the controller, and per
broker the partitions it leads, the replicas it holds, and how many of its replicas are out
of sync; then the partitions without a leader (offline), if any.

  --describe                 describe the cluster (the only action)
${COMMON_HELP}
Example:
  sluice cluster --describe --bootstrap-server 127.0.0.1:9092,127.0.0.1:9093
`;

const OPTIONS = { ...COMMON_OPTIONS, describe: { type: 'boolean' } } as const;

export async function clusterCommand(argv: string[]): Promise<number> {
  const flags = parse(argv, OPTIONS);
  if (flags.help) {
    process.stdout.write(CLUSTER_HELP);
    return 0;
  }
  if (!flags.describe) throw new UsageError('say what to do: --describe');
  return withCluster(flags, 'sluice-cluster', async (c) => {
    const m = await c.metadata(null);
    const rows = [...m.brokers.values()]
      .sort((a, b) => a.nodeId - b.nodeId)
      .map((b) => ({ b, leaders: 0, replicas: 0, outOfSync: 0 }));
    const byId = new Map(rows.map((r) => [r.b.nodeId, r]));
    const offline: string[] = [];
    for (const t of m.topics.values()) {
      for (const p of t.partitions) {
        if (p.leader < 0) offline.push(`${t.name}-${p.partition}`);
        const l = byId.get(p.leader);
        if (l) l.leaders++;
        for (const r of p.replicas) {
          const row = byId.get(r);
          if (!row) continue;
          row.replicas++;
          if (!p.isr.includes(r)) row.outOfSync++;
        }
      }
    }
    process.stdout.write(`Cluster id: ${m.clusterId ?? '(none)'}   Controller: ${m.controllerId < 0 ? 'none' : m.controllerId}   Brokers: ${rows.length}\n`);
    process.stdout.write(
      table(
        ['BROKER', 'HOST:PORT', 'RACK', 'CONTROLLER', 'LEADERS', 'REPLICAS', 'OUT-OF-SYNC'],
        rows.map((r) => [r.b.nodeId, `${r.b.host}:${r.b.port}`, r.b.rack ?? '-', r.b.nodeId === m.controllerId ? 'yes' : '', r.leaders, r.replicas, r.outOfSync]),
      ),
    );
    if (offline.length > 0) process.stdout.write(`Offline partitions (no leader): ${offline.sort().join(', ')}\n`);
    return 0;
  });
}
