/**
 * Metadata (key 3), v0-12, flexible from v9. Brokers, topics, partitions and leaders.
 *
 *   request   topics [topicId uuid (v10+), name string (nullable v10+)] (nullable v1+)
 *             | allowAutoTopicCreation bool (v4+) | includeClusterAuthorizedOperations bool
 *             (v8-10) | includeTopicAuthorizedOperations bool (v8+)
 *   response  throttleTimeMs (v3+) | brokers [nodeId, host, port int32, rack (v1+)]
 *             | clusterId (v2+) | controllerId (v1+) | topics [errorCode, name, topicId (v10+),
 *             isInternal (v1+), partitions [errorCode, partitionIndex, leaderId, leaderEpoch
 *             (v7+), replicaNodes [int32], isrNodes [int32], offlineReplicas [int32] (v5+)],
 *             topicAuthorizedOperations (v8+)] | clusterAuthorizedOperations (v8-10)
 *
 * Topics: in v0 an empty array means "all topics"; from v1 null means all topics and an
 * empty array means none.
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const MetadataRequest = message({
  apiKey: 3,
  name: 'MetadataRequest',
  validVersions: [0, 12],
  flexibleVersions: 9,
  fields: [
    {
      name: 'topics', versions: [0], nullableVersions: [1],
      type: { array: [
        { name: 'topicId', type: 'uuid', versions: [10] },
        { name: 'name', type: 'string', versions: [0], nullableVersions: [10] },
      ] },
    },
    { name: 'allowAutoTopicCreation', type: 'bool', versions: [4], default: true },
    { name: 'includeClusterAuthorizedOperations', type: 'bool', versions: [8, 10] },
    { name: 'includeTopicAuthorizedOperations', type: 'bool', versions: [8] },
  ],
});

export const MetadataResponse = message({
  apiKey: 3,
  name: 'MetadataResponse',
  validVersions: [0, 12],
  flexibleVersions: 9,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [3] },
    {
      name: 'brokers', versions: [0],
      type: { array: [
        { name: 'nodeId', type: 'int32', versions: [0] },
        { name: 'host', type: 'string', versions: [0] },
        { name: 'port', type: 'int32', versions: [0] },
        { name: 'rack', type: 'string', versions: [1], nullableVersions: [1], default: null },
      ] },
    },
    { name: 'clusterId', type: 'string', versions: [2], nullableVersions: [2], default: null },
    { name: 'controllerId', type: 'int32', versions: [1], default: -1 },
    {
      name: 'topics', versions: [0],
      type: { array: [
        { name: 'errorCode', type: 'int16', versions: [0] },
        { name: 'name', type: 'string', versions: [0], nullableVersions: [12] },
        { name: 'topicId', type: 'uuid', versions: [10] },
        { name: 'isInternal', type: 'bool', versions: [1], default: false },
        {
          name: 'partitions', versions: [0],
          type: { array: [
            { name: 'errorCode', type: 'int16', versions: [0] },
            { name: 'partitionIndex', type: 'int32', versions: [0] },
            { name: 'leaderId', type: 'int32', versions: [0] },
            { name: 'leaderEpoch', type: 'int32', versions: [7], default: -1 },
            { name: 'replicaNodes', type: { array: 'int32' }, versions: [0] },
            { name: 'isrNodes', type: { array: 'int32' }, versions: [0] },
            { name: 'offlineReplicas', type: { array: 'int32' }, versions: [5] },
          ] },
        },
        { name: 'topicAuthorizedOperations', type: 'int32', versions: [8], default: -2147483648 },
      ] },
    },
    { name: 'clusterAuthorizedOperations', type: 'int32', versions: [8, 10], default: -2147483648 },
  ],
});

export type MetadataRequestData = MessageValue<typeof MetadataRequest>;
export type MetadataRequestInput = MessageInput<typeof MetadataRequest>;
export type MetadataResponseData = MessageValue<typeof MetadataResponse>;
export type MetadataResponseInput = MessageInput<typeof MetadataResponse>;
