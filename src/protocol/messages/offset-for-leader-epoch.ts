/**
 * OffsetForLeaderEpoch (key 23), v0-4, flexible from v4. End offset of a leader epoch
 * (clients use it to detect log truncation after a leader change).
 *
 *   request   replicaId int32 (v3+) | topics [topic | partitions [partition,
 *             currentLeaderEpoch (v2+), leaderEpoch]]
 *   response  throttleTimeMs (v2+) | topics [topic | partitions [errorCode, partition,
 *             leaderEpoch (v1+), endOffset int64]]
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const OffsetForLeaderEpochRequest = message({
  apiKey: 23,
  name: 'OffsetForLeaderEpochRequest',
  validVersions: [0, 4],
  flexibleVersions: 4,
  fields: [
    { name: 'replicaId', type: 'int32', versions: [3], default: -2 },
    {
      name: 'topics', versions: [0],
      type: { array: [
        { name: 'topic', type: 'string', versions: [0] },
        {
          name: 'partitions', versions: [0],
          type: { array: [
            { name: 'partition', type: 'int32', versions: [0] },
            { name: 'currentLeaderEpoch', type: 'int32', versions: [2], default: -1 },
            { name: 'leaderEpoch', type: 'int32', versions: [0] },
          ] },
        },
      ] },
    },
  ],
});

export const OffsetForLeaderEpochResponse = message({
  apiKey: 23,
  name: 'OffsetForLeaderEpochResponse',
  validVersions: [0, 4],
  flexibleVersions: 4,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [2] },
    {
      name: 'topics', versions: [0],
      type: { array: [
        { name: 'topic', type: 'string', versions: [0] },
        {
          name: 'partitions', versions: [0],
          type: { array: [
            { name: 'errorCode', type: 'int16', versions: [0] },
            { name: 'partition', type: 'int32', versions: [0] },
            { name: 'leaderEpoch', type: 'int32', versions: [1], default: -1 },
            { name: 'endOffset', type: 'int64', versions: [0], default: -1 },
          ] },
        },
      ] },
    },
  ],
});

export type OffsetForLeaderEpochRequestData = MessageValue<typeof OffsetForLeaderEpochRequest>;
export type OffsetForLeaderEpochRequestInput = MessageInput<typeof OffsetForLeaderEpochRequest>;
export type OffsetForLeaderEpochResponseData = MessageValue<typeof OffsetForLeaderEpochResponse>;
export type OffsetForLeaderEpochResponseInput = MessageInput<typeof OffsetForLeaderEpochResponse>;
