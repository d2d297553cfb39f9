/**
 * JoinGroup (key 11), v0-9, flexible from v6. First step of a consumer group rebalance.
 *
 *   request   groupId | sessionTimeoutMs | rebalanceTimeoutMs (v1+) | memberId
 *             | groupInstanceId nullable (v5+) | protocolType | protocols [name, metadata
 *             bytes] | reason nullable (v8+)
 *   response  throttleTimeMs (v2+) | errorCode | generationId | protocolType nullable (v7+)
 *             | protocolName (nullable v7+) | leader | skipAssignment bool (v9+) | memberId
 *             | members [memberId, groupInstanceId (v5+), metadata bytes]
 *
 * From v4 a member without an id gets MEMBER_ID_REQUIRED with its new id and joins again.
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const JoinGroupRequest = message({
  apiKey: 11,
  name: 'JoinGroupRequest',
  validVersions: [0, 9],
  flexibleVersions: 6,
  fields: [
    { name: 'groupId', type: 'string', versions: [0] },
    { name: 'sessionTimeoutMs', type: 'int32', versions: [0] },
    { name: 'rebalanceTimeoutMs', type: 'int32', versions: [1], default: -1 },
    { name: 'memberId', type: 'string', versions: [0] },
    { name: 'groupInstanceId', type: 'string', versions: [5], nullableVersions: [5], default: null },
    { name: 'protocolType', type: 'string', versions: [0] },
    {
      name: 'protocols', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        { name: 'metadata', type: 'bytes', versions: [0] },
      ] },
    },
    { name: 'reason', type: 'string', versions: [8], nullableVersions: [8], default: null },
  ],
});

export const JoinGroupResponse = message({
  apiKey: 11,
  name: 'JoinGroupResponse',
  validVersions: [0, 9],
  flexibleVersions: 6,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [2] },
    { name: 'errorCode', type: 'int16', versions: [0] },
    { name: 'generationId', type: 'int32', versions: [0], default: -1 },
    { name: 'protocolType', type: 'string', versions: [7], nullableVersions: [7], default: null },
    { name: 'protocolName', type: 'string', versions: [0], nullableVersions: [7] },
    { name: 'leader', type: 'string', versions: [0] },
    { name: 'skipAssignment', type: 'bool', versions: [9], default: false },
    { name: 'memberId', type: 'string', versions: [0] },
    {
      name: 'members', versions: [0],
      type: { array: [
        { name: 'memberId', type: 'string', versions: [0] },
        { name: 'groupInstanceId', type: 'string', versions: [5], nullableVersions: [5], default: null },
        { name: 'metadata', type: 'bytes', versions: [0] },
      ] },
    },
  ],
});

export type JoinGroupRequestData = MessageValue<typeof JoinGroupRequest>;
export type JoinGroupRequestInput = MessageInput<typeof JoinGroupRequest>;
export type JoinGroupResponseData = MessageValue<typeof JoinGroupResponse>;
export type JoinGroupResponseInput = MessageInput<typeof JoinGroupResponse>;
