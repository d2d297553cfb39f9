/**
 * Heartbeat (key 12), v0-4, flexible from v4. Keeps a group member alive.
 *
 *   request   groupId | generationId int32 | memberId | groupInstanceId nullable (v3+)
 *   response  throttleTimeMs (v1+) | errorCode
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const HeartbeatRequest = message({
  apiKey: 12,
  name: 'HeartbeatRequest',
  validVersions: [0, 4],
  flexibleVersions: 4,
  fields: [
    { name: 'groupId', type: 'string', versions: [0] },
    { name: 'generationId', type: 'int32', versions: [0] },
    { name: 'memberId', type: 'string', versions: [0] },
    { name: 'groupInstanceId', type: 'string', versions: [3], nullableVersions: [3], default: null },
  ],
});

export const HeartbeatResponse = message({
  apiKey: 12,
  name: 'HeartbeatResponse',
  validVersions: [0, 4],
  flexibleVersions: 4,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [1] },
    { name: 'errorCode', type: 'int16', versions: [0] },
  ],
});

export type HeartbeatRequestData = MessageValue<typeof HeartbeatRequest>;
export type HeartbeatRequestInput = MessageInput<typeof HeartbeatRequest>;
export type HeartbeatResponseData = MessageValue<typeof HeartbeatResponse>;
export type HeartbeatResponseInput = MessageInput<typeof HeartbeatResponse>;
