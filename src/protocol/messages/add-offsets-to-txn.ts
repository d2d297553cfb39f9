/**
 * AddOffsetsToTxn (key 25), v0-4, flexible from v3. Adds a group's offsets partition to a
 * transaction, before TxnOffsetCommit.
 *
 *   request   transactionalId | producerId int64 | producerEpoch int16 | groupId
 *   response  throttleTimeMs | errorCode
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const AddOffsetsToTxnRequest = message({
  apiKey: 25,
  name: 'AddOffsetsToTxnRequest',
  validVersions: [0, 4],
  flexibleVersions: 3,
  fields: [
    { name: 'transactionalId', type: 'string', versions: [0] },
    { name: 'producerId', type: 'int64', versions: [0] },
    { name: 'producerEpoch', type: 'int16', versions: [0] },
    { name: 'groupId', type: 'string', versions: [0] },
  ],
});

export const AddOffsetsToTxnResponse = message({
  apiKey: 25,
  name: 'AddOffsetsToTxnResponse',
  validVersions: [0, 4],
  flexibleVersions: 3,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [0] },
    { name: 'errorCode', type: 'int16', versions: [0] },
  ],
});

export type AddOffsetsToTxnRequestData = MessageValue<typeof AddOffsetsToTxnRequest>;
export type AddOffsetsToTxnRequestInput = MessageInput<typeof AddOffsetsToTxnRequest>;
export type AddOffsetsToTxnResponseData = MessageValue<typeof AddOffsetsToTxnResponse>;
export type AddOffsetsToTxnResponseInput = MessageInput<typeof AddOffsetsToTxnResponse>;
