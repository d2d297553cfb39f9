/**
 * DescribeTransactions (key 65), v0, flexible. The state of named transactional ids.
 *
 *   request   transactionalIds [string]
 *   response  throttleTimeMs | transactionStates [errorCode | transactionalId | transactionState
 *             | transactionTimeoutMs int32 | transactionStartTimeMs int64 | producerId int64
 *             | producerEpoch int16 | topics [topic | partitions [int32]]]
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const DescribeTransactionsRequest = message({
  apiKey: 65,
  name: 'DescribeTransactionsRequest',
  validVersions: [0, 0],
  flexibleVersions: 0,
  fields: [{ name: 'transactionalIds', type: { array: 'string' }, versions: [0] }],
});

export const DescribeTransactionsResponse = message({
  apiKey: 65,
  name: 'DescribeTransactionsResponse',
  validVersions: [0, 0],
  flexibleVersions: 0,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [0] },
    {
      name: 'transactionStates', versions: [0],
      type: { array: [
        { name: 'errorCode', type: 'int16', versions: [0] },
        { name: 'transactionalId', type: 'string', versions: [0] },
        { name: 'transactionState', type: 'string', versions: [0] },
        { name: 'transactionTimeoutMs', type: 'int32', versions: [0] },
        { name: 'transactionStartTimeMs', type: 'int64', versions: [0] },
        { name: 'producerId', type: 'int64', versions: [0] },
        { name: 'producerEpoch', type: 'int16', versions: [0] },
        {
          name: 'topics', versions: [0],
          type: { array: [
            { name: 'topic', type: 'string', versions: [0] },
            { name: 'partitions', type: { array: 'int32' }, versions: [0] },
          ] },
        },
      ] },
    },
  ],
});

export type DescribeTransactionsRequestData = MessageValue<typeof DescribeTransactionsRequest>;
export type DescribeTransactionsResponseInput = MessageInput<typeof DescribeTransactionsResponse>;
