/**
 * CreateTopics (key 19), v0-7, flexible from v5.
 *
 *   request   topics [name | numPartitions int32 | replicationFactor int16 | assignments
 *             [partitionIndex, brokerIds [int32]] | configs [name, value]] | timeoutMs
 *             | validateOnly bool (v1+)
 *   response  throttleTimeMs (v2+) | topics [name | topicId (v7+) | errorCode | errorMessage
 *             (v1+) | tagged 0: topicConfigErrorCode (v5+) | numPartitions, replicationFactor,
 *             configs [name, value, readOnly, configSource, isSensitive] (v5+)]
 *
 * numPartitions / replicationFactor -1 mean "broker default" (v4+).
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const CreateTopicsRequest = message({
  apiKey: 19,
  name: 'CreateTopicsRequest',
  validVersions: [0, 7],
  flexibleVersions: 5,
  fields: [
    {
      name: 'topics', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        { name: 'numPartitions', type: 'int32', versions: [0] },
        { name: 'replicationFactor', type: 'int16', versions: [0] },
        {
          name: 'assignments', versions: [0],
          type: { array: [
            { name: 'partitionIndex', type: 'int32', versions: [0] },
            { name: 'brokerIds', type: { array: 'int32' }, versions: [0] },
          ] },
        },
        {
          name: 'configs', versions: [0],
          type: { array: [
            { name: 'name', type: 'string', versions: [0] },
            { name: 'value', type: 'string', versions: [0], nullableVersions: [0] },
          ] },
        },
      ] },
    },
    { name: 'timeoutMs', type: 'int32', versions: [0], default: 60000 },
    { name: 'validateOnly', type: 'bool', versions: [1], default: false },
  ],
});

export const CreateTopicsResponse = message({
  apiKey: 19,
  name: 'CreateTopicsResponse',
  validVersions: [0, 7],
  flexibleVersions: 5,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [2] },
    {
      name: 'topics', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        { name: 'topicId', type: 'uuid', versions: [7] },
        { name: 'errorCode', type: 'int16', versions: [0] },
        { name: 'errorMessage', type: 'string', versions: [1], nullableVersions: [0] },
        { name: 'topicConfigErrorCode', type: 'int16', versions: [5], tag: 0, taggedVersions: [5] },
        { name: 'numPartitions', type: 'int32', versions: [5], default: -1 },
        { name: 'replicationFactor', type: 'int16', versions: [5], default: -1 },
        {
          name: 'configs', versions: [5], nullableVersions: [5],
          type: { array: [
            { name: 'name', type: 'string', versions: [5] },
            { name: 'value', type: 'string', versions: [5], nullableVersions: [5] },
            { name: 'readOnly', type: 'bool', versions: [5] },
            { name: 'configSource', type: 'int8', versions: [5], default: -1 },
            { name: 'isSensitive', type: 'bool', versions: [5] },
          ] },
        },
      ] },
    },
  ],
});

export type CreateTopicsRequestData = MessageValue<typeof CreateTopicsRequest>;
export type CreateTopicsRequestInput = MessageInput<typeof CreateTopicsRequest>;
export type CreateTopicsResponseData = MessageValue<typeof CreateTopicsResponse>;
export type CreateTopicsResponseInput = MessageInput<typeof CreateTopicsResponse>;
