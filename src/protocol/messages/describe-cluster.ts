/**
 * DescribeCluster (key 60), v0-1, flexible at every version.
 *
 *   request   includeClusterAuthorizedOperations bool | endpointType int8 (v1+)
 *   response  throttleTimeMs | errorCode | errorMessage | endpointType (v1+) | clusterId
 *             | controllerId | brokers [brokerId, host, port int32, rack]
 *             | clusterAuthorizedOperations int32
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const DescribeClusterRequest = message({
  apiKey: 60,
  name: 'DescribeClusterRequest',
  validVersions: [0, 1],
  flexibleVersions: 0,
  fields: [
    { name: 'includeClusterAuthorizedOperations', type: 'bool', versions: [0] },
    { name: 'endpointType', type: 'int8', versions: [1], default: 1 },
  ],
});

export const DescribeClusterResponse = message({
  apiKey: 60,
  name: 'DescribeClusterResponse',
  validVersions: [0, 1],
  flexibleVersions: 0,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [0] },
    { name: 'errorCode', type: 'int16', versions: [0] },
    { name: 'errorMessage', type: 'string', versions: [0], nullableVersions: [0], default: null },
    { name: 'endpointType', type: 'int8', versions: [1], default: 1 },
    { name: 'clusterId', type: 'string', versions: [0] },
    { name: 'controllerId', type: 'int32', versions: [0], default: -1 },
    {
      name: 'brokers', versions: [0],
      type: { array: [
        { name: 'brokerId', type: 'int32', versions: [0] },
        { name: 'host', type: 'string', versions: [0] },
        { name: 'port', type: 'int32', versions: [0] },
        { name: 'rack', type: 'string', versions: [0], nullableVersions: [0], default: null },
      ] },
    },
    { name: 'clusterAuthorizedOperations', type: 'int32', versions: [0], default: -2147483648 },
  ],
});

export type DescribeClusterRequestData = MessageValue<typeof DescribeClusterRequest>;
export type DescribeClusterRequestInput = MessageInput<typeof DescribeClusterRequest>;
export type DescribeClusterResponseData = MessageValue<typeof DescribeClusterResponse>;
export type DescribeClusterResponseInput = MessageInput<typeof DescribeClusterResponse>;
