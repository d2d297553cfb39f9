/**
 * DeleteGroups (key 42), v0-2, flexible from v2.
 *
 *   request   groupsNames [string]
 *   response  throttleTimeMs | results [groupId, errorCode]
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const DeleteGroupsRequest = message({
  apiKey: 42,
  name: 'DeleteGroupsRequest',
  validVersions: [0, 2],
  flexibleVersions: 2,
  fields: [
    { name: 'groupsNames', type: { array: 'string' }, versions: [0] },
  ],
});

export const DeleteGroupsResponse = message({
  apiKey: 42,
  name: 'DeleteGroupsResponse',
  validVersions: [0, 2],
  flexibleVersions: 2,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [0] },
    {
      name: 'results', versions: [0],
      type: { array: [
        { name: 'groupId', type: 'string', versions: [0] },
        { name: 'errorCode', type: 'int16', versions: [0] },
      ] },
    },
  ],
});

export type DeleteGroupsRequestData = MessageValue<typeof DeleteGroupsRequest>;
export type DeleteGroupsRequestInput = MessageInput<typeof DeleteGroupsRequest>;
export type DeleteGroupsResponseData = MessageValue<typeof DeleteGroupsResponse>;
export type DeleteGroupsResponseInput = MessageInput<typeof DeleteGroupsResponse>;
