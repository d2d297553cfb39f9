/**
 * Produce (key 0), v0-11, flexible from v9. Hot path: decoded once per produce request.
 *
 *   request   transactionalId nullable string (v3+) | acks int16 | timeoutMs int32
 *             | topicData [name string | partitionData [index int32 | records]]
 *   response  responses [name | partitionResponses [index int32 | errorCode int16
 *             | baseOffset int64 | logAppendTimeMs int64 (v2+) | logStartOffset int64 (v5+)
 *             | recordErrors [batchIndex int32, batchIndexErrorMessage] (v8+)
 *             | errorMessage nullable string (v8+) | tagged 0: currentLeader (v10+)]]
 *             | throttleTimeMs int32 (v1+) | tagged 0: nodeEndpoints (v10+)
 *
 * `records` decodes as a view into the request frame (no copy): a RecordBatch chain, magic 2,
 * from v3 on; a message set of format 0/1 in v0-2 (the handler converts it).
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const ProduceRequest = message({
  apiKey: 0,
  name: 'ProduceRequest',
  validVersions: [0, 11],
  flexibleVersions: 9,
  fields: [
    { name: 'transactionalId', type: 'string', versions: [3], nullableVersions: [3], default: null },
    { name: 'acks', type: 'int16', versions: [0] },
    { name: 'timeoutMs', type: 'int32', versions: [0] },
    {
      name: 'topicData', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        {
          name: 'partitionData', versions: [0],
          type: { array: [
            { name: 'index', type: 'int32', versions: [0] },
            { name: 'records', type: 'records', versions: [0], nullableVersions: [0] },
          ] },
        },
      ] },
    },
  ],
});

export const ProduceResponse = message({
  apiKey: 0,
  name: 'ProduceResponse',
  validVersions: [0, 11],
  flexibleVersions: 9,
  fields: [
    {
      name: 'responses', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        {
          name: 'partitionResponses', versions: [0],
          type: { array: [
            { name: 'index', type: 'int32', versions: [0] },
            { name: 'errorCode', type: 'int16', versions: [0] },
            { name: 'baseOffset', type: 'int64', versions: [0] },
            { name: 'logAppendTimeMs', type: 'int64', versions: [2], default: -1 },
            { name: 'logStartOffset', type: 'int64', versions: [5], default: -1 },
            {
              name: 'recordErrors', versions: [8],
              type: { array: [
                { name: 'batchIndex', type: 'int32', versions: [8] },
                { name: 'batchIndexErrorMessage', type: 'string', versions: [8], nullableVersions: [8], default: null },
              ] },
            },
            { name: 'errorMessage', type: 'string', versions: [8], nullableVersions: [8], default: null },
            {
              name: 'currentLeader', versions: [10], tag: 0, taggedVersions: [10],
              type: { struct: [
                { name: 'leaderId', type: 'int32', versions: [10], default: -1 },
                { name: 'leaderEpoch', type: 'int32', versions: [10], default: -1 },
              ] },
            },
          ] },
        },
      ] },
    },
    { name: 'throttleTimeMs', type: 'int32', versions: [1], default: 0 },
    {
      name: 'nodeEndpoints', versions: [10], tag: 0, taggedVersions: [10],
      type: { array: [
        { name: 'nodeId', type: 'int32', versions: [10] },
        { name: 'host', type: 'string', versions: [10] },
        { name: 'port', type: 'int32', versions: [10] },
        { name: 'rack', type: 'string', versions: [10], nullableVersions: [10], default: null },
      ] },
    },
  ],
});

export type ProduceRequestData = MessageValue<typeof ProduceRequest>;
export type ProduceRequestInput = MessageInput<typeof ProduceRequest>;
export type ProduceResponseData = MessageValue<typeof ProduceResponse>;
export type ProduceResponseInput = MessageInput<typeof ProduceResponse>;
