/**
 * OffsetFetch (key 9), v0-9, flexible from v6.
 *
 *   request   v0-7: groupId | topics nullable [name, partitionIndexes [int32]] (null = all,
 *             v2+) | requireStable bool (v7+)
 *             v8+:  groups [groupId, memberId (v9+), memberEpoch (v9+), topics nullable
 *             [name, partitionIndexes]] | requireStable
 *   response  throttleTimeMs (v3+) | v0-7: topics [name | partitions [partitionIndex,
 *             committedOffset, committedLeaderEpoch (v5+), metadata, errorCode]]
 *             | errorCode (v2-7) | v8+: groups [groupId, topics [...], errorCode]
 *
 * committedOffset -1 with errorCode NONE means "no offset committed".
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const OffsetFetchRequest = message({
  apiKey: 9,
  name: 'OffsetFetchRequest',
  validVersions: [0, 9],
  flexibleVersions: 6,
  fields: [
    { name: 'groupId', type: 'string', versions: [0, 7] },
    {
      name: 'topics', versions: [0, 7], nullableVersions: [2, 7],
      type: { array: [
        { name: 'name', type: 'string', versions: [0, 7] },
        { name: 'partitionIndexes', type: { array: 'int32' }, versions: [0, 7] },
      ] },
    },
    {
      name: 'groups', versions: [8],
      type: { array: [
        { name: 'groupId', type: 'string', versions: [8] },
        { name: 'memberId', type: 'string', versions: [9], nullableVersions: [9], default: null },
        { name: 'memberEpoch', type: 'int32', versions: [9], default: -1 },
        {
          name: 'topics', versions: [8], nullableVersions: [8],
          type: { array: [
            { name: 'name', type: 'string', versions: [8] },
            { name: 'partitionIndexes', type: { array: 'int32' }, versions: [8] },
          ] },
        },
      ] },
    },
    { name: 'requireStable', type: 'bool', versions: [7], default: false },
  ],
});

export const OffsetFetchResponse = message({
  apiKey: 9,
  name: 'OffsetFetchResponse',
  validVersions: [0, 9],
  flexibleVersions: 6,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [3] },
    {
      name: 'topics', versions: [0, 7],
      type: { array: [
        { name: 'name', type: 'string', versions: [0, 7] },
        {
          name: 'partitions', versions: [0, 7],
          type: { array: [
            { name: 'partitionIndex', type: 'int32', versions: [0, 7] },
            { name: 'committedOffset', type: 'int64', versions: [0, 7] },
            { name: 'committedLeaderEpoch', type: 'int32', versions: [5, 7], default: -1 },
            { name: 'metadata', type: 'string', versions: [0, 7], nullableVersions: [0, 7] },
            { name: 'errorCode', type: 'int16', versions: [0, 7] },
          ] },
        },
      ] },
    },
    { name: 'errorCode', type: 'int16', versions: [2, 7], default: 0 },
    {
      name: 'groups', versions: [8],
      type: { array: [
        { name: 'groupId', type: 'string', versions: [8] },
        {
          name: 'topics', versions: [8],
          type: { array: [
            { name: 'name', type: 'string', versions: [8] },
            {
              name: 'partitions', versions: [8],
              type: { array: [
                { name: 'partitionIndex', type: 'int32', versions: [8] },
                { name: 'committedOffset', type: 'int64', versions: [8] },
                { name: 'committedLeaderEpoch', type: 'int32', versions: [8], default: -1 },
                { name: 'metadata', type: 'string', versions: [8], nullableVersions: [8] },
                { name: 'errorCode', type: 'int16', versions: [8] },
              ] },
            },
          ] },
        },
        { name: 'errorCode', type: 'int16', versions: [8], default: 0 },
      ] },
    },
  ],
});

export type OffsetFetchRequestData = MessageValue<typeof OffsetFetchRequest>;
export type OffsetFetchRequestInput = MessageInput<typeof OffsetFetchRequest>;
export type OffsetFetchResponseData = MessageValue<typeof OffsetFetchResponse>;
export type OffsetFetchResponseInput = MessageInput<typeof OffsetFetchResponse>;
