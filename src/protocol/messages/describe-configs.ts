/**
 * DescribeConfigs (key 32), v0-4, flexible from v4.
 *
 *   request   resources [resourceType int8 | resourceName | configurationKeys nullable
 *             [string]] | includeSynonyms bool (v1+) | includeDocumentation bool (v3+)
 *   response  throttleTimeMs | results [errorCode | errorMessage | resourceType
 *             | resourceName | configs [name, value, readOnly, isDefault (v0), configSource
 *             (v1+), isSensitive, synonyms (v1+), configType (v3+), documentation (v3+)]]
 *
 * resourceType: 2 = topic, 4 = broker. configSource replaces isDefault from v1.
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const DescribeConfigsRequest = message({
  apiKey: 32,
  name: 'DescribeConfigsRequest',
  validVersions: [0, 4],
  flexibleVersions: 4,
  fields: [
    {
      name: 'resources', versions: [0],
      type: { array: [
        { name: 'resourceType', type: 'int8', versions: [0] },
        { name: 'resourceName', type: 'string', versions: [0] },
        { name: 'configurationKeys', type: { array: 'string' }, versions: [0], nullableVersions: [0] },
      ] },
    },
    { name: 'includeSynonyms', type: 'bool', versions: [1], default: false },
    { name: 'includeDocumentation', type: 'bool', versions: [3], default: false },
  ],
});

export const DescribeConfigsResponse = message({
  apiKey: 32,
  name: 'DescribeConfigsResponse',
  validVersions: [0, 4],
  flexibleVersions: 4,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [0] },
    {
      name: 'results', versions: [0],
      type: { array: [
        { name: 'errorCode', type: 'int16', versions: [0] },
        { name: 'errorMessage', type: 'string', versions: [0], nullableVersions: [0] },
        { name: 'resourceType', type: 'int8', versions: [0] },
        { name: 'resourceName', type: 'string', versions: [0] },
        {
          name: 'configs', versions: [0],
          type: { array: [
            { name: 'name', type: 'string', versions: [0] },
            { name: 'value', type: 'string', versions: [0], nullableVersions: [0] },
            { name: 'readOnly', type: 'bool', versions: [0] },
            { name: 'isDefault', type: 'bool', versions: [0, 0] },
            { name: 'configSource', type: 'int8', versions: [1], default: -1 },
            { name: 'isSensitive', type: 'bool', versions: [0] },
            {
              name: 'synonyms', versions: [1],
              type: { array: [
                { name: 'name', type: 'string', versions: [1] },
                { name: 'value', type: 'string', versions: [1], nullableVersions: [0] },
                { name: 'source', type: 'int8', versions: [1] },
              ] },
            },
            { name: 'configType', type: 'int8', versions: [3], default: 0 },
            { name: 'documentation', type: 'string', versions: [3], nullableVersions: [0] },
          ] },
        },
      ] },
    },
  ],
});

export type DescribeConfigsRequestData = MessageValue<typeof DescribeConfigsRequest>;
export type DescribeConfigsRequestInput = MessageInput<typeof DescribeConfigsRequest>;
export type DescribeConfigsResponseData = MessageValue<typeof DescribeConfigsResponse>;
export type DescribeConfigsResponseInput = MessageInput<typeof DescribeConfigsResponse>;
