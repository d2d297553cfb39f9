/**
 * CreatePartitions (key 37), v0-3, flexible from v2. Grows a topic's partition count.
 *
 *   request   topics [name | count int32 | assignments nullable [brokerIds [int32]]]
 *             | timeoutMs | validateOnly bool
 *   response  throttleTimeMs | results [name | errorCode | errorMessage nullable]
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const CreatePartitionsRequest = message({
  apiKey: 37,
  name: 'CreatePartitionsRequest',
  validVersions: [0, 3],
  flexibleVersions: 2,
  fields: [
    {
      name: 'topics', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        { name: 'count', type: 'int32', versions: [0] },
        {
          name: 'assignments', versions: [0], nullableVersions: [0],
          type: { array: [
            { name: 'brokerIds', type: { array: 'int32' }, versions: [0] },
          ] },
        },
      ] },
    },
    { name: 'timeoutMs', type: 'int32', versions: [0] },
    { name: 'validateOnly', type: 'bool', versions: [0] },
  ],
});

export const CreatePartitionsResponse = message({
  apiKey: 37,
  name: 'CreatePartitionsResponse',
  validVersions: [0, 3],
  flexibleVersions: 2,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [0] },
    {
      name: 'results', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        { name: 'errorCode', type: 'int16', versions: [0] },
        { name: 'errorMessage', type: 'string', versions: [0], nullableVersions: [0], default: null },
      ] },
    },
  ],
});

export type CreatePartitionsRequestData = MessageValue<typeof CreatePartitionsRequest>;
export type CreatePartitionsRequestInput = MessageInput<typeof CreatePartitionsRequest>;
export type CreatePartitionsResponseData = MessageValue<typeof CreatePartitionsResponse>;
export type CreatePartitionsResponseInput = MessageInput<typeof CreatePartitionsResponse>;
