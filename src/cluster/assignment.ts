/**
 * Replica assignment for new topics and partitions, Kafka's way: partitions go round-robin
 * over the brokers from a start point, and the followers of a partition sit at a shift from
 * its leader that grows every full turn over the brokers, so the replicas of one broker's
 * partitions spread over all the others. With racks, brokers are first ordered so that racks
 * alternate, and a partition takes a broker of a rack it already has only when every rack
 * has one of its replicas. Pure functions: the controller calls them.
 */

export interface AssignableBroker {
  id: number;
  rack?: string | null;
}

export class AssignmentError extends Error {
  readonly code = 'ERR_SLUICE_ASSIGNMENT';
  constructor(message: string) {
    super(message);
    this.name = 'AssignmentError';
  }
}

/**
 * Replica lists for partitions [firstPartition, firstPartition + count) with `replicationFactor`
 * replicas each; the first replica is the preferred leader. `start` fixes the round-robin's
 * start (tests); by default it is random, so topics do not all start on the same broker.
 */
export function assignReplicas(
  brokers: AssignableBroker[],
  count: number,
  replicationFactor: number,
  options: { firstPartition?: number; start?: number } = {},
): number[][] {
  if (brokers.length === 0) throw new AssignmentError('no broker is alive to take the partitions');
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    throw new AssignmentError(`the replication factor must be a whole number of at least 1, not ${replicationFactor}`);
  }
  if (replicationFactor > brokers.length) {
    throw new AssignmentError(
      `replication factor ${replicationFactor} is larger than the ${brokers.length} live broker${brokers.length === 1 ? '' : 's'}; ` +
        `start more brokers or ask for at most ${brokers.length}`,
    );
  }
  const racked = brokers.some((b) => b.rack);
  if (racked && brokers.some((b) => !b.rack)) {
    const missing = brokers.filter((b) => !b.rack).map((b) => b.id);
    throw new AssignmentError(`brokers ${missing.join(', ')} have no rack while others do: give every broker a --rack, or none`);
  }
  const ordered = racked ? rackAlternated(brokers) : [...brokers].sort((a, b) => a.id - b.id);
  const n = ordered.length;
  const start = options.start ?? Math.floor(Math.random() * n);
  let shift = options.start ?? Math.floor(Math.random() * n);
  const first = options.firstPartition ?? 0;
  const rackCount = new Set(ordered.map((b) => b.rack)).size;
  const out: number[][] = [];
  for (let p = first; p < first + count; p++) {
    if (p > 0 && p % n === 0) shift++;
    const lead = (p + start) % n;
    const replicas = [ordered[lead]!];
    if (!racked) {
      for (let j = 0; j < replicationFactor - 1; j++) replicas.push(ordered[followerIndex(lead, shift, j, n)]!);
    } else {
      const racksTaken = new Set([ordered[lead]!.rack]);
      for (let k = 0; replicas.length < replicationFactor && k < n * n; k++) {
        const candidate = ordered[followerIndex(lead, shift, k, n)]!;
        if (replicas.includes(candidate)) continue;
        // A rack already holding a replica is taken only once every rack holds one.
        if (racksTaken.has(candidate.rack) && racksTaken.size < rackCount) continue;
        replicas.push(candidate);
        racksTaken.add(candidate.rack);
      }
    }
    out.push(replicas.map((b) => b.id));
  }
  return out;
}

/** The j-th follower of a partition led by `lead`: never the leader itself. */
function followerIndex(lead: number, shift: number, j: number, n: number): number {
  if (n === 1) return lead;
  return (lead + 1 + ((shift + j) % (n - 1))) % n;
}

/** Brokers ordered so that consecutive ones are on different racks where possible: a1, b1, c1, a2, b2, ... */
function rackAlternated(brokers: AssignableBroker[]): AssignableBroker[] {
  const byRack = new Map<string, AssignableBroker[]>();
  for (const b of [...brokers].sort((x, y) => x.id - y.id)) {
    const list = byRack.get(b.rack!) ?? [];
    list.push(b);
    byRack.set(b.rack!, list);
  }
  const racks = [...byRack.keys()].sort();
  const out: AssignableBroker[] = [];
  for (let i = 0; out.length < brokers.length; i++) {
    for (const r of racks) {
      const b = byRack.get(r)![i];
      if (b) out.push(b);
    }
  }
  return out;
}
