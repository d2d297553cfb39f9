/**
 * `sluice reassign`: move partition replicas between brokers, like Kafka's
 * kafka-reassign-partitions.sh, with its JSON files:
 *
 *   topics to move    {"version":1,"topics":[{"topic":"events"}]}
 *   reassignment      {"version":1,"partitions":[{"topic":"events","partition":0,"replicas":[2,3]}]}
 *                     ("log_dirs", when present, must be "any": Sluice has one log dir per broker)
 */
import fs from 'node:fs';
import { assignReplicas } from '../cluster/assignment.js';
import type { Cluster } from '../wire-client/cluster.js';
import { alterPartitionReassignments, listPartitionReassignments, type PartitionResult } from '../wire-client/reassignments.js';
import { errorName } from '../protocol/error-codes.js';
import { COMMON_HELP, COMMON_OPTIONS, oneAction, parse, required, UsageError } from './args.js';
import { withCluster } from './connect.js';

export const REASSIGN_HELP = `Usage: sluice reassign (--generate | --execute | --verify | --cancel) [options]

Moves partition replicas between the brokers of a cluster, like kafka-reassign-partitions.sh
(same actions, options and JSON files). New replicas copy the partition from its leader and
join its in-sync replicas; then the controller moves leadership into the new list if needed
and drops the replicas left out.

Actions:
  --generate --topics-to-move-json-file F --broker-list 1,2,3
                             print the current assignment of the topics in F and a proposed
                             one spreading them over the listed brokers (nothing changes)
  --execute --reassignment-json-file F [--additional]
                             start the reassignments in F; prints the current assignment
                             first (save it: it is the file to go back with). Refused while
                             other reassignments run, unless --additional
  --verify --reassignment-json-file F
                             say for each partition in F whether its reassignment is done;
                             exits with 1 while one is not (a script can wait on it)
  --cancel --reassignment-json-file F
                             cancel the reassignments of F still in progress: the partitions
                             go back to their replicas from before
  --list                     the reassignments in progress in the cluster

Options:
  --topics-to-move-json-file <file>   {"version":1,"topics":[{"topic":"events"}]}
  --broker-list <ids>        brokers to spread the topics over, such as 1,2,3
  --reassignment-json-file <file>     {"version":1,"partitions":[{"topic":"events","partition":0,"replicas":[2,3]}]}
${COMMON_HELP}
Example:
  sluice reassign --generate --topics-to-move-json-file move.json --broker-list 2,3 > plan.txt
  sluice reassign --execute --reassignment-json-file reassign.json
  sluice reassign --verify --reassignment-json-file reassign.json
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  generate: { type: 'boolean' },
  execute: { type: 'boolean' },
  verify: { type: 'boolean' },
  cancel: { type: 'boolean' },
  list: { type: 'boolean' },
  'topics-to-move-json-file': { type: 'string' },
  'broker-list': { type: 'string' },
  'reassignment-json-file': { type: 'string' },
  additional: { type: 'boolean' },
} as const;

const ACTIONS = ['generate', 'execute', 'verify', 'cancel', 'list'] as const;

export interface PartitionAssignment {
  topic: string;
  partition: number;
  replicas: number[];
}

export async function reassign(argv: string[]): Promise<number> {
  const v = parse(argv, OPTIONS);
  if (v.help) {
    process.stdout.write(REASSIGN_HELP);
    return 0;
  }
  const action = oneAction(v, ACTIONS);
  if (action === 'generate') {
    const topics = readTopicsToMove(required(v['topics-to-move-json-file'], 'topics-to-move-json-file', 'with --generate'));
    const brokers = brokerList(required(v['broker-list'], 'broker-list', 'with --generate'));
    return withCluster(v, 'sluice-reassign', (c) => generate(c, topics, brokers));
  }
  if (action === 'list') {
    return withCluster(v, 'sluice-reassign', async (c) => {
      const ongoing = await listPartitionReassignments(c);
      // Kafka's wording, so scripts written for its tool read ours.
      if (ongoing.length === 0) process.stdout.write('No partition reassignments found.\n');
      else process.stdout.write('Current partition reassignments:\n');
      for (const r of ongoing) {
        process.stdout.write(`${r.topic}-${r.partition}: replicas: ${r.replicas.join(',')}.${r.adding.length > 0 ? ` adding: ${r.adding.join(',')}.` : ''}${r.removing.length > 0 ? ` removing: ${r.removing.join(',')}.` : ''}\n`);
      }
      return 0;
    });
  }
  const plan = readReassignment(required(v['reassignment-json-file'], 'reassignment-json-file', `with --${action}`));
  return withCluster(v, 'sluice-reassign', async (c) => {
    switch (action) {
      case 'execute':
        return execute(c, plan, v.additional === true);
      case 'verify':
        return verify(c, plan);
      case 'cancel':
        return cancel(c, plan);
    }
  });
}

async function generate(c: Cluster, topics: string[], brokers: number[]): Promise<number> {
  const md = await c.metadata(topics);
  const unknownBrokers = brokers.filter((b) => !md.brokers.has(b));
  if (unknownBrokers.length > 0) {
    throw new UsageError(`--broker-list names broker${unknownBrokers.length > 1 ? 's' : ''} ${unknownBrokers.join(', ')}, not in the cluster (its brokers: ${[...md.brokers.keys()].sort((a, b) => a - b).join(', ')})`);
  }
  const current: PartitionAssignment[] = [];
  const proposed: PartitionAssignment[] = [];
  for (const name of topics) {
    const t = md.topics.get(name);
    if (!t || t.errorCode !== 0) throw new Error(`topic '${name}' does not exist${t && t.errorCode !== 3 ? ` (${errorName(t.errorCode)})` : ''}`);
    const rf = t.partitions[0]?.replicas.length ?? 1;
    const replicas = assignReplicas(brokers.map((id) => ({ id, rack: md.brokers.get(id)!.rack })), t.partitions.length, rf);
    for (const p of t.partitions) {
      current.push({ topic: name, partition: p.partition, replicas: p.replicas });
      proposed.push({ topic: name, partition: p.partition, replicas: replicas[p.partition]! });
    }
  }
  process.stdout.write(`Current partition replica assignment\n${formatAssignment(current)}\n\nProposed partition reassignment configuration\n${formatAssignment(proposed)}\n`);
  return 0;
}

async function execute(c: Cluster, plan: PartitionAssignment[], additional: boolean): Promise<number> {
  if (!additional && (await listPartitionReassignments(c)).length > 0) {
    throw new Error('cannot execute because there is an existing partition reassignment: wait for it (--verify, --list), or add --additional to start these as well (a partition already moving gets the new target)');
  }
  const md = await c.metadata([...new Set(plan.map((p) => p.topic))]);
  const current: PartitionAssignment[] = [];
  for (const p of plan) {
    const t = md.topics.get(p.topic);
    const info = t?.errorCode === 0 ? t.partitions.find((x) => x.partition === p.partition) : undefined;
    if (!info) throw new Error(`partition ${p.topic}-${p.partition} does not exist`);
    current.push({ topic: p.topic, partition: p.partition, replicas: info.replicas });
  }
  process.stdout.write(`Current partition replica assignment\n\n${formatAssignment(current)}\n\nSave this to use as the --reassignment-json-file option during rollback\n`);
  const results = await alterPartitionReassignments(c, plan);
  return report(results, 'Successfully started partition reassignment', 'starting the reassignment of');
}

async function verify(c: Cluster, plan: PartitionAssignment[]): Promise<number> {
  const [ongoing, md] = await Promise.all([listPartitionReassignments(c, plan), c.metadata([...new Set(plan.map((p) => p.topic))])]);
  const moving = new Set(ongoing.map((r) => `${r.topic}-${r.partition}`));
  process.stdout.write('Status of partition reassignment:\n');
  let pending = 0;
  for (const p of plan) {
    const tp = `${p.topic}-${p.partition}`;
    const replicas = md.topics.get(p.topic)?.partitions.find((x) => x.partition === p.partition)?.replicas;
    if (moving.has(tp)) {
      pending++;
      process.stdout.write(`Reassignment of partition ${tp} is still in progress.\n`);
    } else if (replicas && same(replicas, p.replicas)) {
      process.stdout.write(`Reassignment of partition ${tp} is completed.\n`);
    } else {
      pending++;
      process.stdout.write(`There is no active reassignment of partition ${tp}, but replica set is ${JSON.stringify(replicas ?? [])} rather than ${JSON.stringify(p.replicas)}.\n`);
    }
  }
  // Like the other checks of this CLI: a script can wait on the exit code.
  return pending === 0 ? 0 : 1;
}

async function cancel(c: Cluster, plan: PartitionAssignment[]): Promise<number> {
  const ongoing = new Set((await listPartitionReassignments(c, plan)).map((r) => `${r.topic}-${r.partition}`));
  const toCancel = plan.filter((p) => ongoing.has(`${p.topic}-${p.partition}`));
  if (toCancel.length === 0) {
    process.stdout.write('None of these partitions has a reassignment in progress: nothing to cancel.\n');
    return 0;
  }
  const results = await alterPartitionReassignments(
    c,
    toCancel.map((p) => ({ topic: p.topic, partition: p.partition, replicas: null })),
  );
  return report(results, 'Successfully cancelled partition reassignment', 'cancelling the reassignment of');
}

function report(results: PartitionResult[], success: string, failing: string): number {
  const ok = results.filter((r) => r.errorCode === 0).map((r) => `${r.topic}-${r.partition}`);
  const failed = results.filter((r) => r.errorCode !== 0);
  if (ok.length > 0) process.stdout.write(`${success}${ok.length > 1 ? 's' : ''} for ${ok.join(',')}\n`);
  for (const f of failed) process.stderr.write(`Error ${failing} ${f.topic}-${f.partition}: ${errorName(f.errorCode)}: ${f.errorMessage ?? ''}\n`);
  return failed.length === 0 ? 0 : 1;
}

/** Kafka's reassignment JSON (version 1), one partition per line as its tool prints it. */
export function formatAssignment(partitions: PartitionAssignment[]): string {
  return JSON.stringify({ version: 1, partitions: partitions.map((p) => ({ topic: p.topic, partition: p.partition, replicas: p.replicas, log_dirs: p.replicas.map(() => 'any') })) });
}

function readJson(file: string, flag: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--${flag} ${file} is not JSON: ${(err as Error).message}`);
  }
}

/** `{"version":1,"topics":[{"topic":"a"},...]}` -> topic names. */
export function readTopicsToMove(file: string): string[] {
  const flag = 'topics-to-move-json-file';
  const doc = readJson(file, flag) as { topics?: unknown };
  const bad = (why: string) => new UsageError(`--${flag} ${file}: ${why}; expected {"version":1,"topics":[{"topic":"events"}]}`);
  if (!Array.isArray(doc?.topics) || doc.topics.length === 0) throw bad('no "topics" list');
  const names = doc.topics.map((t: { topic?: unknown }, i: number) => {
    if (typeof t?.topic !== 'string' || t.topic === '') throw bad(`entry ${i} has no "topic" name`);
    return t.topic;
  });
  return [...new Set(names)];
}

/** `{"version":1,"partitions":[{"topic","partition","replicas"[,"log_dirs"]}]}`, checked. */
export function readReassignment(file: string): PartitionAssignment[] {
  const flag = 'reassignment-json-file';
  const doc = readJson(file, flag) as { partitions?: unknown };
  const bad = (why: string) => new UsageError(`--${flag} ${file}: ${why}; expected {"version":1,"partitions":[{"topic":"events","partition":0,"replicas":[2,3]}]}`);
  if (!Array.isArray(doc?.partitions) || doc.partitions.length === 0) throw bad('no "partitions" list');
  const seen = new Set<string>();
  return doc.partitions.map((e: { topic?: unknown; partition?: unknown; replicas?: unknown; log_dirs?: unknown }, i: number) => {
    if (typeof e?.topic !== 'string' || e.topic === '') throw bad(`entry ${i} has no "topic" name`);
    if (!Number.isInteger(e.partition) || (e.partition as number) < 0) throw bad(`entry ${i} (${e.topic}) has no "partition" number`);
    const tp = `${e.topic}-${e.partition as number}`;
    if (!Array.isArray(e.replicas) || e.replicas.length === 0 || !e.replicas.every((r) => Number.isInteger(r) && r >= 0)) throw bad(`${tp} needs "replicas", a list of broker ids`);
    if (new Set(e.replicas).size !== e.replicas.length) throw bad(`${tp} names a broker twice in "replicas"`);
    if (e.log_dirs !== undefined && !(Array.isArray(e.log_dirs) && e.log_dirs.length === e.replicas.length && e.log_dirs.every((d) => d === 'any'))) {
      throw bad(`${tp} has "log_dirs" other than "any": each Sluice broker has one log directory`);
    }
    if (seen.has(tp)) throw bad(`${tp} appears twice`);
    seen.add(tp);
    return { topic: e.topic, partition: e.partition as number, replicas: e.replicas as number[] };
  });
}

function brokerList(value: string): number[] {
  const ids = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (ids.length === 0 || !ids.every((s) => /^\d+$/.test(s))) throw new UsageError(`invalid value '${value}' for --broker-list: broker ids separated by commas, such as 1,2,3`);
  return [...new Set(ids.map(Number))];
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
