/**
 * `sluice transactions`: list and describe the transactions of transactional producers on any
 * Kafka-compatible broker, like Kafka's kafka-transactions.sh (same action names and columns).
 */
import { ApiKey } from '../protocol/apis.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { brokerError } from '../wire-client/errors.js';
import { COMMON_HELP, COMMON_OPTIONS, oneAction, parse, required } from './args.js';
import { withCluster } from './connect.js';
import { table } from './table.js';

export const TRANSACTIONS_HELP = `Usage: sluice transactions (--list | --describe --transactional-id ID) [options]

Lists and describes transactions, as kafka-transactions.sh does.

Actions:
  --list                     every transactional id each broker coordinates, with its producer
                             id and state (Empty, Ongoing, PrepareCommit, PrepareAbort,
                             CompleteCommit, CompleteAbort)
  --describe --transactional-id ID
                             the id's producer id and epoch, state, timeout, when the ongoing
                             transaction started and how long it has run, and its partitions

Options:
  --transactional-id <id>    the transactional id to describe
${COMMON_HELP}
Examples:
  sluice transactions --list
  sluice transactions --describe --transactional-id orders-app-1
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  list: { type: 'boolean' },
  describe: { type: 'boolean' },
  'transactional-id': { type: 'string' },
} as const;

export async function transactions(argv: string[]): Promise<number> {
  const v = parse(argv, OPTIONS);
  if (v.help) {
    process.stdout.write(TRANSACTIONS_HELP);
    return 0;
  }
  const action = oneAction(v, ['list', 'describe'] as const);
  const id = action === 'describe' ? required(v['transactional-id'], 'transactional-id', 'with --describe') : undefined;
  return withCluster(v, 'sluice-transactions', async (cluster) => {
    if (action === 'list') {
      const rows: (string | number)[][] = [];
      const md = await cluster.metadata([]);
      for (const brokerId of md.brokers.keys()) {
        const conn = await cluster.broker(brokerId);
        const res = await conn.request(ApiKey.ListTransactions, { stateFilters: [], producerIdFilters: [] });
        if (res.errorCode !== ErrorCode.NONE) throw brokerError(res.errorCode, `listing the transactions of broker ${brokerId}`);
        for (const t of res.transactionStates) rows.push([t.transactionalId, brokerId, t.producerId, t.transactionState]);
      }
      rows.sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1));
      process.stdout.write(table(['TransactionalId', 'Coordinator', 'ProducerId', 'TransactionState'], rows));
      return 0;
    }
    const conn = await cluster.coordinator(id!, 1);
    const md = await cluster.metadata([]);
    const coordinatorId = [...md.brokers.values()].find((b) => `${b.host}:${b.port}` === conn.address)?.nodeId ?? '-';
    const res = await conn.request(ApiKey.DescribeTransactions, { transactionalIds: [id!] });
    const t = res.transactionStates[0];
    if (t === undefined) throw brokerError(ErrorCode.UNKNOWN_SERVER_ERROR, `describing transactional id '${id}': empty answer`);
    if (t.errorCode !== ErrorCode.NONE) throw brokerError(t.errorCode, `describing transactional id '${id}'`);
    const started = t.transactionStartTimeMs >= 0 && t.transactionState === 'Ongoing';
    const partitions = t.topics.flatMap((tp) => tp.partitions.map((p) => `${tp.topic}-${p}`)).join(',');
    process.stdout.write(
      table(
        ['CoordinatorId', 'TransactionalId', 'ProducerId', 'ProducerEpoch', 'TransactionState', 'TransactionTimeoutMs', 'CurrentTransactionStartTimeMs', 'TransactionDurationMs', 'TopicPartitions'],
        [[coordinatorId, id!, t.producerId, t.producerEpoch, t.transactionState, t.transactionTimeoutMs, started ? t.transactionStartTimeMs : 'None', started ? Date.now() - t.transactionStartTimeMs : 'None', partitions || '-']],
      ),
    );
    return 0;
  });
}
