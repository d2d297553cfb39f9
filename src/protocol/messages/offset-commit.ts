/**
 * OffsetCommit (key 8), v0-9, flexible from v8.
 *
 *   request   groupId | generationIdOrMemberEpoch (v1+) | memberId (v1+) | groupInstanceId
 *             (v7+) | retentionTimeMs int64 (v2-4) | topics [name | partitions
 *             [partitionIndex, committedOffset int64, committedLeaderEpoch (v6+),
 *             commitTimestamp int64 (v1 only), committedMetadata nullable]]
 *   response  throttleTimeMs (v3+) | topics [name | partitions [partitionIndex, errorCode]]
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const OffsetCommitRequest = message({
  apiKey: 8,
  name: 'OffsetCommitRequest',
  validVersions: [0, 9],
  flexibleVersions: 8,
  fields: [
    { name: 'groupId', type: 'string', versions: [0] },
    { name: 'generationIdOrMemberEpoch', type: 'int32', versions: [1], default: -1 },
    { name: 'memberId', type: 'string', versions: [1] },
    { name: 'groupInstanceId', type: 'string', versions: [7], nullableVersions: [7], default: null },
    { name: 'retentionTimeMs', type: 'int64', versions: [2, 4], default: -1 },
    {
      name: 'topics', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        {
          name: 'partitions', versions: [0],
          type: { array: [
            { name: 'partitionIndex', type: 'int32', versions: [0] },
            { name: 'committedOffset', type: 'int64', versions: [0] },
            { name: 'committedLeaderEpoch', type: 'int32', versions: [6], default: -1 },
            { name: 'commitTimestamp', type: 'int64', versions: [1, 1], default: -1 },
            { name: 'committedMetadata', type: 'string', versions: [0], nullableVersions: [0] },
          ] },
        },
      ] },
    },
  ],
});

export const OffsetCommitResponse = message({
  apiKey: 8,
  name: 'OffsetCommitResponse',
  validVersions: [0, 9],
  flexibleVersions: 8,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [3] },
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

export type OffsetCommitRequestData = MessageValue<typeof OffsetCommitRequest>;
export type OffsetCommitRequestInput = MessageInput<typeof OffsetCommitRequest>;
export type OffsetCommitResponseData = MessageValue<typeof OffsetCommitResponse>;
export type OffsetCommitResponseInput = MessageInput<typeof OffsetCommitResponse>;
