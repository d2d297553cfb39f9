/**
 * DescribeGroups (key 15), v0-5, flexible from v5.
 *
 *   request   groups [string] | includeAuthorizedOperations bool (v3+)
 *   response  throttleTimeMs (v1+) | groups [errorCode | groupId | groupState | protocolType
 *             | protocolData | members [memberId, groupInstanceId (v4+), clientId, clientHost,
 *             memberMetadata bytes, memberAssignment bytes] | authorizedOperations (v3+)]
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const DescribeGroupsRequest = message({
  apiKey: 15,
  name: 'DescribeGroupsRequest',
  validVersions: [0, 5],
  flexibleVersions: 5,
  fields: [
    { name: 'groups', type: { array: 'string' }, versions: [0] },
    { name: 'includeAuthorizedOperations', type: 'bool', versions: [3] },
  ],
});

export const DescribeGroupsResponse = message({
  apiKey: 15,
  name: 'DescribeGroupsResponse',
  validVersions: [0, 5],
  flexibleVersions: 5,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [1] },
    {
      name: 'groups', versions: [0],
      type: { array: [
        { name: 'errorCode', type: 'int16', versions: [0] },
        { name: 'groupId', type: 'string', versions: [0] },
        { name: 'groupState', type: 'string', versions: [0] },
        { name: 'protocolType', type: 'string', versions: [0] },
        { name: 'protocolData', type: 'string', versions: [0] },
        {
          name: 'members', versions: [0],
          type: { array: [
            { name: 'memberId', type: 'string', versions: [0] },
            { name: 'groupInstanceId', type: 'string', versions: [4], nullableVersions: [4], default: null },
            { name: 'clientId', type: 'string', versions: [0] },
            { name: 'clientHost', type: 'string', versions: [0] },
            { name: 'memberMetadata', type: 'bytes', versions: [0] },
            { name: 'memberAssignment', type: 'bytes', versions: [0] },
          ] },
        },
        { name: 'authorizedOperations', type: 'int32', versions: [3], default: -2147483648 },
      ] },
    },
  ],
});

export type DescribeGroupsRequestData = MessageValue<typeof DescribeGroupsRequest>;
export type DescribeGroupsRequestInput = MessageInput<typeof DescribeGroupsRequest>;
export type DescribeGroupsResponseData = MessageValue<typeof DescribeGroupsResponse>;
export type DescribeGroupsResponseInput = MessageInput<typeof DescribeGroupsResponse>;
