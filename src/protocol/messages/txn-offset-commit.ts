/**
 * TxnOffsetCommit (key 28), v0-4, flexible from v3. Offsets committed inside a transaction:
 * the group coordinator holds them pending until the transaction's marker.
 *
 *   request   transactionalId | groupId | producerId int64 | producerEpoch int16
 *             | generationId int32 (v3+) | memberId (v3+) | groupInstanceId nullable (v3+)
 *             | topics [name | partitions [partitionIndex | committedOffset int64
 *             | committedLeaderEpoch int32 (v2+) | committedMetadata nullable]]
 *   response  throttleTimeMs | topics [name | partitions [partitionIndex | errorCode]]
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const TxnOffsetCommitRequest = message({
  apiKey: 28,
  name: 'TxnOffsetCommitRequest',
  validVersions: [0, 4],
  flexibleVersions: 3,
  fields: [
    { name: 'transactionalId', type: 'string', versions: [0] },
    { name: 'groupId', type: 'string', versions: [0] },
    { name: 'producerId', type: 'int64', versions: [0] },
    { name: 'producerEpoch', type: 'int16', versions: [0] },
    { name: 'generationId', type: 'int32', versions: [3], default: -1 },
    { name: 'memberId', type: 'string', versions: [3], default: '' },
    { name: 'groupInstanceId', type: 'string', versions: [3], nullableVersions: [3], default: null },
    {
      name: 'topics', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        {
          name: 'partitions', versions: [0],
          type: { array: [
            { name: 'partitionIndex', type: 'int32', versions: [0] },
            { name: 'committedOffset', type: 'int64', versions: [0] },
            { name: 'committedLeaderEpoch', type: 'int32', versions: [2], default: -1 },
            { name: 'committedMetadata', type: 'string', versions: [0], nullableVersions: [0] },
          ] },
        },
      ] },
    },
  ],
});

export const TxnOffsetCommitResponse = message({
  apiKey: 28,
  name: 'TxnOffsetCommitResponse',
  validVersions: [0, 4],
  flexibleVersions: 3,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [0] },
    {
      name: 'topics', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        {
          name: 'partitions', versions: [0],
          type: { array: [
            { name: 'partitionIndex', type: 'int32', versions: [0] },
            { name: 'errorCode', type: 'int16', versions: [0] },
          ] },
        },
      ] },
    },
  ],
});

export type TxnOffsetCommitRequestData = MessageValue<typeof TxnOffsetCommitRequest>;
export type TxnOffsetCommitRequestInput = MessageInput<typeof TxnOffsetCommitRequest>;
export type TxnOffsetCommitResponseData = MessageValue<typeof TxnOffsetCommitResponse>;
export type TxnOffsetCommitResponseInput = MessageInput<typeof TxnOffsetCommitResponse>;
