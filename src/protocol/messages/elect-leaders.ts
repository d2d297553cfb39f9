/**
 * ElectLeaders (key 43), v0-2, flexible from v2. Asks the controller to elect leaders:
 * preferred (0, the first replica) or unclean (1, any live replica of a partition with no
 * live in-sync replica). v0 has no election type (preferred) and no top-level error code.
 *
 *   request   electionType int8 (v1+) | topicPartitions nullable [topic | partitions [int32]]
 *             | timeoutMs
 *   response  throttleTimeMs | errorCode (v1+) | replicaElectionResults [topic |
 *             partitionResult [partitionId | errorCode | errorMessage nullable]]
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const ElectLeadersRequest = message({
  apiKey: 43,
  name: 'ElectLeadersRequest',
  validVersions: [0, 2],
  flexibleVersions: 2,
  fields: [
    { name: 'electionType', type: 'int8', versions: [1] },
    {
      name: 'topicPartitions', versions: [0], nullableVersions: [0],
      type: { array: [
        { name: 'topic', type: 'string', versions: [0] },
        { name: 'partitions', type: { array: 'int32' }, versions: [0] },
      ] },
    },
    { name: 'timeoutMs', type: 'int32', versions: [0], default: 60000 },
  ],
});

export const ElectLeadersResponse = message({
  apiKey: 43,
  name: 'ElectLeadersResponse',
  validVersions: [0, 2],
  flexibleVersions: 2,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [0] },
    { name: 'errorCode', type: 'int16', versions: [1] },
    {
      name: 'replicaElectionResults', versions: [0],
      type: { array: [
        { name: 'topic', type: 'string', versions: [0] },
        {
          name: 'partitionResult', versions: [0],
          type: { array: [
            { name: 'partitionId', type: 'int32', versions: [0] },
            { name: 'errorCode', type: 'int16', versions: [0] },
            { name: 'errorMessage', type: 'string', versions: [0], nullableVersions: [0] },
          ] },
        },
      ] },
    },
  ],
});

export type ElectLeadersRequestData = MessageValue<typeof ElectLeadersRequest>;
export type ElectLeadersRequestInput = MessageInput<typeof ElectLeadersRequest>;
export type ElectLeadersResponseData = MessageValue<typeof ElectLeadersResponse>;
export type ElectLeadersResponseInput = MessageInput<typeof ElectLeadersResponse>;
