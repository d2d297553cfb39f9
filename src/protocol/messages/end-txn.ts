/**
 * EndTxn (key 26), v0-4, flexible from v3. Commits or aborts a producer's transaction.
 *
 *   request   transactionalId | producerId int64 | producerEpoch int16 | committed bool
 *   response  throttleTimeMs | errorCode
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const EndTxnRequest = message({
  apiKey: 26,
  name: 'EndTxnRequest',
  validVersions: [0, 4],
  flexibleVersions: 3,
  fields: [
    { name: 'transactionalId', type: 'string', versions: [0] },
    { name: 'producerId', type: 'int64', versions: [0] },
    { name: 'producerEpoch', type: 'int16', versions: [0] },
    { name: 'committed', type: 'bool', versions: [0] },
  ],
});

export const EndTxnResponse = message({
  apiKey: 26,
  name: 'EndTxnResponse',
  validVersions: [0, 4],
  flexibleVersions: 3,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [0] },
    { name: 'errorCode', type: 'int16', versions: [0] },
  ],
});

export type EndTxnRequestData = MessageValue<typeof EndTxnRequest>;
export type EndTxnRequestInput = MessageInput<typeof EndTxnRequest>;
export type EndTxnResponseData = MessageValue<typeof EndTxnResponse>;
export type EndTxnResponseInput = MessageInput<typeof EndTxnResponse>;
