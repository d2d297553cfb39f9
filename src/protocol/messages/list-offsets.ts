/**
 * ListOffsets (key 2), v0-8, flexible from v6. Offset for a timestamp, or the first / last.
 *
 *   request   replicaId int32 | isolationLevel int8 (v2+) | topics [name | partitions
 *             [partitionIndex, currentLeaderEpoch (v4+), timestamp int64, maxNumOffsets (v0)]]
 *   response  throttleTimeMs (v2+) | topics [name | partitions [partitionIndex, errorCode,
 *             oldStyleOffsets [int64] (v0), timestamp (v1+), offset (v1+), leaderEpoch (v4+)]]
 *
 * timestamp -1 = latest (high watermark), -2 = earliest, -3 = max timestamp (v7+), -4 = local
 * log start (v8+). v0 returns a list of offsets instead of one.
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const ListOffsetsRequest = message({
  apiKey: 2,
  name: 'ListOffsetsRequest',
  validVersions: [0, 8],
  flexibleVersions: 6,
  fields: [
    { name: 'replicaId', type: 'int32', versions: [0] },
    { name: 'isolationLevel', type: 'int8', versions: [2] },
    {
      name: 'topics', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        {
          name: 'partitions', versions: [0],
          type: { array: [
            { name: 'partitionIndex', type: 'int32', versions: [0] },
            { name: 'currentLeaderEpoch', type: 'int32', versions: [4], default: -1 },
            { name: 'timestamp', type: 'int64', versions: [0] },
            { name: 'maxNumOffsets', type: 'int32', versions: [0, 0], default: 1 },
          ] },
        },
      ] },
    },
  ],
});

export const ListOffsetsResponse = message({
  apiKey: 2,
  name: 'ListOffsetsResponse',
  validVersions: [0, 8],
  flexibleVersions: 6,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [2] },
    {
      name: 'topics', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        {
          name: 'partitions', versions: [0],
          type: { array: [
            { name: 'partitionIndex', type: 'int32', versions: [0] },
            { name: 'errorCode', type: 'int16', versions: [0] },
            { name: 'oldStyleOffsets', type: { array: 'int64' }, versions: [0, 0] },
            { name: 'timestamp', type: 'int64', versions: [1], default: -1 },
            { name: 'offset', type: 'int64', versions: [1], default: -1 },
            { name: 'leaderEpoch', type: 'int32', versions: [4], default: -1 },
          ] },
        },
      ] },
    },
  ],
});

export type ListOffsetsRequestData = MessageValue<typeof ListOffsetsRequest>;
export type ListOffsetsRequestInput = MessageInput<typeof ListOffsetsRequest>;
export type ListOffsetsResponseData = MessageValue<typeof ListOffsetsResponse>;
export type ListOffsetsResponseInput = MessageInput<typeof ListOffsetsResponse>;
