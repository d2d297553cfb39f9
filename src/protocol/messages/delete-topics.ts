/**
 * DeleteTopics (key 20), v0-6, flexible from v4.
 *
 *   request   topics [name nullable, topicId uuid] (v6+) | topicNames [string] (v0-5)
 *             | timeoutMs int32
 *   response  throttleTimeMs (v1+) | responses [name (nullable v6+) | topicId (v6+)
 *             | errorCode | errorMessage (v5+)]
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const DeleteTopicsRequest = message({
  apiKey: 20,
  name: 'DeleteTopicsRequest',
  validVersions: [0, 6],
  flexibleVersions: 4,
  fields: [
    {
      name: 'topics', versions: [6],
      type: { array: [
        { name: 'name', type: 'string', versions: [6], nullableVersions: [6], default: null },
        { name: 'topicId', type: 'uuid', versions: [6] },
      ] },
    },
    { name: 'topicNames', type: { array: 'string' }, versions: [0, 5] },
    { name: 'timeoutMs', type: 'int32', versions: [0] },
  ],
});

export const DeleteTopicsResponse = message({
  apiKey: 20,
  name: 'DeleteTopicsResponse',
  validVersions: [0, 6],
  flexibleVersions: 4,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [1] },
    {
      name: 'responses', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0], nullableVersions: [6] },
        { name: 'topicId', type: 'uuid', versions: [6] },
        { name: 'errorCode', type: 'int16', versions: [0] },
        { name: 'errorMessage', type: 'string', versions: [5], nullableVersions: [5], default: null },
      ] },
    },
  ],
});

export type DeleteTopicsRequestData = MessageValue<typeof DeleteTopicsRequest>;
export type DeleteTopicsRequestInput = MessageInput<typeof DeleteTopicsRequest>;
export type DeleteTopicsResponseData = MessageValue<typeof DeleteTopicsResponse>;
export type DeleteTopicsResponseInput = MessageInput<typeof DeleteTopicsResponse>;
