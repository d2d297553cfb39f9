/**
 * ListGroups (key 16), v0-5, flexible from v3.
 *
 *   request   statesFilter [string] (v4+) | typesFilter [string] (v5+)
 *   response  throttleTimeMs (v1+) | errorCode | groups [groupId, protocolType, groupState
 *             (v4+), groupType (v5+)]
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const ListGroupsRequest = message({
  apiKey: 16,
  name: 'ListGroupsRequest',
  validVersions: [0, 5],
  flexibleVersions: 3,
  fields: [
    { name: 'statesFilter', type: { array: 'string' }, versions: [4] },
    { name: 'typesFilter', type: { array: 'string' }, versions: [5] },
  ],
});

export const ListGroupsResponse = message({
  apiKey: 16,
  name: 'ListGroupsResponse',
  validVersions: [0, 5],
  flexibleVersions: 3,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [1] },
    { name: 'errorCode', type: 'int16', versions: [0] },
    {
      name: 'groups', versions: [0],
      type: { array: [
        { name: 'groupId', type: 'string', versions: [0] },
        { name: 'protocolType', type: 'string', versions: [0] },
        { name: 'groupState', type: 'string', versions: [4] },
        { name: 'groupType', type: 'string', versions: [5] },
      ] },
    },
  ],
});

export type ListGroupsRequestData = MessageValue<typeof ListGroupsRequest>;
export type ListGroupsRequestInput = MessageInput<typeof ListGroupsRequest>;
export type ListGroupsResponseData = MessageValue<typeof ListGroupsResponse>;
export type ListGroupsResponseInput = MessageInput<typeof ListGroupsResponse>;
