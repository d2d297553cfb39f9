/**
 * AlterPartitionReassignments (key 45), v0, flexible. Starts reassignments (KIP-455), or
 * cancels them (replicas null).
 *
 *   request   timeoutMs | topics [name | partitions [partitionIndex | replicas nullable [int32]]]
 *   response  throttleTimeMs | errorCode | errorMessage nullable | responses [name |
 *             partitions [partitionIndex | errorCode | errorMessage nullable]]
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const AlterPartitionReassignmentsRequest = message({
  apiKey: 45,
  name: 'AlterPartitionReassignmentsRequest',
  validVersions: [0, 0],
  flexibleVersions: 0,
  fields: [
    { name: 'timeoutMs', type: 'int32', versions: [0], default: 60000 },
    {
      name: 'topics', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        {
          name: 'partitions', versions: [0],
          type: { array: [
            { name: 'partitionIndex', type: 'int32', versions: [0] },
            { name: 'replicas', type: { array: 'int32' }, versions: [0], nullableVersions: [0], default: null },
          ] },
        },
      ] },
    },
  ],
});

export const AlterPartitionReassignmentsResponse = message({
  apiKey: 45,
  name: 'AlterPartitionReassignmentsResponse',
  validVersions: [0, 0],
  flexibleVersions: 0,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [0] },
    { name: 'errorCode', type: 'int16', versions: [0] },
    { name: 'errorMessage', type: 'string', versions: [0], nullableVersions: [0] },
    {
      name: 'responses', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        {
          name: 'partitions', versions: [0],
          type: { array: [
            { name: 'partitionIndex', type: 'int32', versions: [0] },
            { name: 'errorCode', type: 'int16', versions: [0] },
            { name: 'errorMessage', type: 'string', versions: [0], nullableVersions: [0] },
          ] },
        },
      ] },
    },
  ],
});

export type AlterPartitionReassignmentsRequestData = MessageValue<typeof AlterPartitionReassignmentsRequest>;
export type AlterPartitionReassignmentsRequestInput = MessageInput<typeof AlterPartitionReassignmentsRequest>;
export type AlterPartitionReassignmentsResponseData = MessageValue<typeof AlterPartitionReassignmentsResponse>;
export type AlterPartitionReassignmentsResponseInput = MessageInput<typeof AlterPartitionReassignmentsResponse>;
