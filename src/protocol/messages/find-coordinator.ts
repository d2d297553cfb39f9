/**
 * FindCoordinator (key 10), v0-5, flexible from v3. Which broker coordinates a group.
 *
 *   request   key string (v0-3) | keyType int8 (v1+) | coordinatorKeys [string] (v4+)
 *   response  throttleTimeMs (v1+) | errorCode, errorMessage (v1-3) | nodeId, host, port
 *             (v0-3) | coordinators [key, nodeId, host, port, errorCode, errorMessage] (v4+)
 *
 * keyType: 0 group, 1 transaction. v4 batches several keys in one request.
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const FindCoordinatorRequest = message({
  apiKey: 10,
  name: 'FindCoordinatorRequest',
  validVersions: [0, 5],
  flexibleVersions: 3,
  fields: [
    { name: 'key', type: 'string', versions: [0, 3] },
    { name: 'keyType', type: 'int8', versions: [1], default: 0 },
    { name: 'coordinatorKeys', type: { array: 'string' }, versions: [4] },
  ],
});

export const FindCoordinatorResponse = message({
  apiKey: 10,
  name: 'FindCoordinatorResponse',
  validVersions: [0, 5],
  flexibleVersions: 3,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [1] },
    { name: 'errorCode', type: 'int16', versions: [0, 3] },
    { name: 'errorMessage', type: 'string', versions: [1, 3], nullableVersions: [1, 3] },
    { name: 'nodeId', type: 'int32', versions: [0, 3] },
    { name: 'host', type: 'string', versions: [0, 3] },
    { name: 'port', type: 'int32', versions: [0, 3] },
    {
      name: 'coordinators', versions: [4],
      type: { array: [
        { name: 'key', type: 'string', versions: [4] },
        { name: 'nodeId', type: 'int32', versions: [4] },
        { name: 'host', type: 'string', versions: [4] },
        { name: 'port', type: 'int32', versions: [4] },
        { name: 'errorCode', type: 'int16', versions: [4] },
        { name: 'errorMessage', type: 'string', versions: [4], nullableVersions: [4] },
      ] },
    },
  ],
});

export type FindCoordinatorRequestData = MessageValue<typeof FindCoordinatorRequest>;
export type FindCoordinatorRequestInput = MessageInput<typeof FindCoordinatorRequest>;
export type FindCoordinatorResponseData = MessageValue<typeof FindCoordinatorResponse>;
export type FindCoordinatorResponseInput = MessageInput<typeof FindCoordinatorResponse>;
