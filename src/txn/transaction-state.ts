/**
 * The states of a transactional id (Kafka's TransactionState), in the order of their int8
 * status in TransactionLogValue, and the transitions the coordinator may make:
 *
 *   Empty / CompleteCommit / CompleteAbort --AddPartitions/AddOffsets--> Ongoing
 *   Ongoing --EndTxn(commit)--> PrepareCommit --markers written--> CompleteCommit
 *   Ongoing --EndTxn(abort), timeout, new instance--> PrepareAbort --markers written--> CompleteAbort
 *   Empty / Complete* / Ongoing --InitProducerId--> Empty (epoch bumped; an Ongoing one is aborted first)
 *
 * PrepareCommit and PrepareAbort are the decision: once one is in the log the outcome is fixed,
 * and a coordinator that restarts finishes writing the markers. Dead and PrepareEpochFence are
 * Kafka's too; Sluice reads them but never writes them. Stateless: thread-safe.
 */
export const TRANSACTION_STATES = [
  'Empty',
  'Ongoing',
  'PrepareCommit',
  'PrepareAbort',
  'CompleteCommit',
  'CompleteAbort',
  'Dead',
  'PrepareEpochFence',
] as const;

export type TransactionStateName = (typeof TRANSACTION_STATES)[number];

const LEGAL: Record<TransactionStateName, readonly TransactionStateName[]> = {
  Empty: ['Empty', 'Ongoing', 'PrepareAbort'],
  Ongoing: ['Ongoing', 'PrepareCommit', 'PrepareAbort'],
  PrepareCommit: ['CompleteCommit'],
  PrepareAbort: ['CompleteAbort'],
  CompleteCommit: ['Empty', 'Ongoing', 'PrepareAbort'],
  CompleteAbort: ['Empty', 'Ongoing', 'PrepareAbort'],
  Dead: [],
  PrepareEpochFence: ['PrepareAbort'],
};

export function isLegalTransition(from: TransactionStateName, to: TransactionStateName): boolean {
  return LEGAL[from].includes(to);
}

/** Kafka's names in ListTransactions/DescribeTransactions (TransactionState.name). */
export function kafkaStateName(s: TransactionStateName): string {
  return s;
}

/** The coordinator's record of one transactional id. Not thread-safe. */
export interface TransactionMetadata {
  transactionalId: string;
  producerId: number;
  /** The previous producer id and epoch, so a retried InitProducerId (v3+) is recognised. */
  lastProducerId: number;
  lastProducerEpoch: number;
  producerEpoch: number;
  timeoutMs: number;
  state: TransactionStateName;
  /** "topic\0partition" of every partition in the ongoing transaction. */
  partitions: Set<string>;
  startTimestampMs: number;
  lastUpdateTimestampMs: number;
}

export const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export function splitPartitionKey(key: string): [string, number] {
  const cut = key.lastIndexOf('\u0000');
  return [key.slice(0, cut), Number(key.slice(cut + 1))];
}

/** The partitions as TransactionLogValue lists them: grouped by topic, sorted. */
export function partitionsByTopic(keys: Iterable<string>): { topic: string; partitionIds: number[] }[] {
  const byTopic = new Map<string, number[]>();
  for (const k of keys) {
    const [t, p] = splitPartitionKey(k);
    let list = byTopic.get(t);
    if (list === undefined) byTopic.set(t, (list = []));
    list.push(p);
  }
  return [...byTopic].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([topic, ids]) => ({ topic, partitionIds: ids.sort((a, b) => a - b) }));
}
