/**
 * AlterConfigs (key 33), v0-2, flexible from v2. Replaces a resource's whole config.
 *
 *   request   resources [resourceType int8 | resourceName | configs [name, value nullable]]
 *             | validateOnly bool
 *   response  throttleTimeMs | responses [errorCode | errorMessage | resourceType
 *             | resourceName]
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const AlterConfigsRequest = message({
  apiKey: 33,
  name: 'AlterConfigsRequest',
  validVersions: [0, 2],
  flexibleVersions: 2,
  fields: [
    {
      name: 'resources', versions: [0],
      type: { array: [
        { name: 'resourceType', type: 'int8', versions: [0] },
        { name: 'resourceName', type: 'string', versions: [0] },
        {
          name: 'configs', versions: [0],
          type: { array: [
            { name: 'name', type: 'string', versions: [0] },
            { name: 'value', type: 'string', versions: [0], nullableVersions: [0] },
          ] },
        },
      ] },
    },
    { name: 'validateOnly', type: 'bool', versions: [0] },
  ],
});

export const AlterConfigsResponse = message({
  apiKey: 33,
  name: 'AlterConfigsResponse',
  validVersions: [0, 2],
  flexibleVersions: 2,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [0] },
    {
      name: 'responses', versions: [0],
      type: { array: [
        { name: 'errorCode', type: 'int16', versions: [0] },
        { name: 'errorMessage', type: 'string', versions: [0], nullableVersions: [0] },
        { name: 'resourceType', type: 'int8', versions: [0] },
        { name: 'resourceName', type: 'string', versions: [0] },
      ] },
    },
  ],
});

export type AlterConfigsRequestData = MessageValue<typeof AlterConfigsRequest>;
export type AlterConfigsRequestInput = MessageInput<typeof AlterConfigsRequest>;
export type AlterConfigsResponseData = MessageValue<typeof AlterConfigsResponse>;
export type AlterConfigsResponseInput = MessageInput<typeof AlterConfigsResponse>;
