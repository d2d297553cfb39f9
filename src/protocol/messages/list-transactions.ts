/**
 * ListTransactions (key 66), v0-1, flexible from v0. The transactions a coordinator holds.
 *
 *   request   stateFilters [string] | producerIdFilters [int64] | durationFilter int64 (v1+)
 *   response  throttleTimeMs | errorCode | unknownStateFilters [string]
 *             | transactionStates [transactionalId | producerId int64 | transactionState]
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const ListTransactionsRequest = message({
  apiKey: 66,
  name: 'ListTransactionsRequest',
  validVersions: [0, 1],
  flexibleVersions: 0,
  fields: [
    { name: 'stateFilters', type: { array: 'string' }, versions: [0] },
    { name: 'producerIdFilters', type: { array: 'int64' }, versions: [0] },
    { name: 'durationFilter', type: 'int64', versions: [1], default: -1 },
  ],
});

export const ListTransactionsResponse = message({
  apiKey: 66,
  name: 'ListTransactionsResponse',
  validVersions: [0, 1],
  flexibleVersions: 0,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [0] },
    { name: 'errorCode', type: 'int16', versions: [0] },
    { name: 'unknownStateFilters', type: { array: 'string' }, versions: [0] },
    {
      name: 'transactionStates', versions: [0],
      type: { array: [
        { name: 'transactionalId', type: 'string', versions: [0] },
        { name: 'producerId', type: 'int64', versions: [0] },
        { name: 'transactionState', type: 'string', versions: [0] },
      ] },
    },
  ],
});

export type ListTransactionsRequestData = MessageValue<typeof ListTransactionsRequest>;
export type ListTransactionsResponseInput = MessageInput<typeof ListTransactionsResponse>;
