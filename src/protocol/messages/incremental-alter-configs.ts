/**
 * IncrementalAlterConfigs (key 44), v0-1, flexible from v1. Per-key config edits.
 *
 *   request   resources [resourceType int8 | resourceName | configs [name, configOperation
 *             int8, value nullable]] | validateOnly bool
 *   response  throttleTimeMs | responses [errorCode | errorMessage | resourceType
 *             | resourceName]
 *
 * configOperation: 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT.
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const IncrementalAlterConfigsRequest = message({
  apiKey: 44,
  name: 'IncrementalAlterConfigsRequest',
  validVersions: [0, 1],
  flexibleVersions: 1,
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
            { name: 'configOperation', type: 'int8', versions: [0] },
            { name: 'value', type: 'string', versions: [0], nullableVersions: [0] },
          ] },
        },
      ] },
    },
    { name: 'validateOnly', type: 'bool', versions: [0] },
  ],
});

export const IncrementalAlterConfigsResponse = message({
  apiKey: 44,
  name: 'IncrementalAlterConfigsResponse',
  validVersions: [0, 1],
  flexibleVersions: 1,
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

export type IncrementalAlterConfigsRequestData = MessageValue<typeof IncrementalAlterConfigsRequest>;
export type IncrementalAlterConfigsRequestInput = MessageInput<typeof IncrementalAlterConfigsRequest>;
export type IncrementalAlterConfigsResponseData = MessageValue<typeof IncrementalAlterConfigsResponse>;
export type IncrementalAlterConfigsResponseInput = MessageInput<typeof IncrementalAlterConfigsResponse>;
