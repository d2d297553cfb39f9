/**
 * SyncGroup (key 14), v0-5, flexible from v4. Second step: the leader hands out assignments.
 *
 *   request   groupId | generationId | memberId | groupInstanceId nullable (v3+)
 *             | protocolType, protocolName nullable (v5+) | assignments [memberId,
 *             assignment bytes]
 *   response  throttleTimeMs (v1+) | errorCode | protocolType, protocolName nullable (v5+)
 *             | assignment bytes
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const SyncGroupRequest = message({
  apiKey: 14,
  name: 'SyncGroupRequest',
  validVersions: [0, 5],
  flexibleVersions: 4,
  fields: [
    { name: 'groupId', type: 'string', versions: [0] },
    { name: 'generationId', type: 'int32', versions: [0] },
    { name: 'memberId', type: 'string', versions: [0] },
    { name: 'groupInstanceId', type: 'string', versions: [3], nullableVersions: [3], default: null },
    { name: 'protocolType', type: 'string', versions: [5], nullableVersions: [5], default: null },
    { name: 'protocolName', type: 'string', versions: [5], nullableVersions: [5], default: null },
    {
      name: 'assignments', versions: [0],
      type: { array: [
        { name: 'memberId', type: 'string', versions: [0] },
        { name: 'assignment', type: 'bytes', versions: [0] },
      ] },
    },
  ],
});

export const SyncGroupResponse = message({
  apiKey: 14,
  name: 'SyncGroupResponse',
  validVersions: [0, 5],
  flexibleVersions: 4,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [1] },
    { name: 'errorCode', type: 'int16', versions: [0] },
    { name: 'protocolType', type: 'string', versions: [5], nullableVersions: [5], default: null },
    { name: 'protocolName', type: 'string', versions: [5], nullableVersions: [5], default: null },
    { name: 'assignment', type: 'bytes', versions: [0] },
  ],
});

export type SyncGroupRequestData = MessageValue<typeof SyncGroupRequest>;
export type SyncGroupRequestInput = MessageInput<typeof SyncGroupRequest>;
export type SyncGroupResponseData = MessageValue<typeof SyncGroupResponse>;
export type SyncGroupResponseInput = MessageInput<typeof SyncGroupResponse>;
