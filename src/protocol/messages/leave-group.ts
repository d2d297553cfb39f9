/**
 * LeaveGroup (key 13), v0-5, flexible from v4.
 *
 *   request   groupId | memberId (v0-2) | members [memberId, groupInstanceId nullable,
 *             reason nullable (v5+)] (v3+)
 *   response  throttleTimeMs (v1+) | errorCode | members [memberId, groupInstanceId,
 *             errorCode] (v3+)
 *
 * From v3 one request can remove several members (batch leave by group.instance.id).
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const LeaveGroupRequest = message({
  apiKey: 13,
  name: 'LeaveGroupRequest',
  validVersions: [0, 5],
  flexibleVersions: 4,
  fields: [
    { name: 'groupId', type: 'string', versions: [0] },
    { name: 'memberId', type: 'string', versions: [0, 2] },
    {
      name: 'members', versions: [3],
      type: { array: [
        { name: 'memberId', type: 'string', versions: [3] },
        { name: 'groupInstanceId', type: 'string', versions: [3], nullableVersions: [3], default: null },
        { name: 'reason', type: 'string', versions: [5], nullableVersions: [5], default: null },
      ] },
    },
  ],
});

export const LeaveGroupResponse = message({
  apiKey: 13,
  name: 'LeaveGroupResponse',
  validVersions: [0, 5],
  flexibleVersions: 4,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [1] },
    { name: 'errorCode', type: 'int16', versions: [0] },
    {
      name: 'members', versions: [3],
      type: { array: [
        { name: 'memberId', type: 'string', versions: [3] },
        { name: 'groupInstanceId', type: 'string', versions: [3], nullableVersions: [3] },
        { name: 'errorCode', type: 'int16', versions: [3] },
      ] },
    },
  ],
});

export type LeaveGroupRequestData = MessageValue<typeof LeaveGroupRequest>;
export type LeaveGroupRequestInput = MessageInput<typeof LeaveGroupRequest>;
export type LeaveGroupResponseData = MessageValue<typeof LeaveGroupResponse>;
export type LeaveGroupResponseInput = MessageInput<typeof LeaveGroupResponse>;
