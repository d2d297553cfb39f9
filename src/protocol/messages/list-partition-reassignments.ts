/**
 * ListPartitionReassignments (key 46), v0, flexible. The reassignments in progress (KIP-455):
 * per partition its current replicas and those being added and removed.
 *
 *   request   timeoutMs | topics nullable [name | partitionIndexes [int32]]   (null: all)
 *   response  throttleTimeMs | errorCode | errorMessage nullable | topics [name |
 *             partitions [partitionIndex | replicas | addingReplicas | removingReplicas]]
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const ListPartitionReassignmentsRequest = message({
  apiKey: 46,
  name: 'ListPartitionReassignmentsRequest',
  validVersions: [0, 0],
  flexibleVersions: 0,
  fields: [
    { name: 'timeoutMs', type: 'int32', versions: [0], default: 60000 },
    {
      name: 'topics', versions: [0], nullableVersions: [0], default: null,
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        { name: 'partitionIndexes', type: { array: 'int32' }, versions: [0] },
      ] },
    },
  ],
});

export const ListPartitionReassignmentsResponse = message({
  apiKey: 46,
  name: 'ListPartitionReassignmentsResponse',
  validVersions: [0, 0],
  flexibleVersions: 0,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [0] },
    { name: 'errorCode', type: 'int16', versions: [0] },
    { name: 'errorMessage', type: 'string', versions: [0], nullableVersions: [0] },
    {
      name: 'topics', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        {
          name: 'partitions', versions: [0],
          type: { array: [
            { name: 'partitionIndex', type: 'int32', versions: [0] },
            { name: 'replicas', type: { array: 'int32' }, versions: [0] },
            { name: 'addingReplicas', type: { array: 'int32' }, versions: [0] },
            { name: 'removingReplicas', type: { array: 'int32' }, versions: [0] },
          ] },
        },
      ] },
    },
  ],
});

export type ListPartitionReassignmentsRequestData = MessageValue<typeof ListPartitionReassignmentsRequest>;
export type ListPartitionReassignmentsRequestInput = MessageInput<typeof ListPartitionReassignmentsRequest>;
export type ListPartitionReassignmentsResponseData = MessageValue<typeof ListPartitionReassignmentsResponse>;
export type ListPartitionReassignmentsResponseInput = MessageInput<typeof ListPartitionReassignmentsResponse>;
