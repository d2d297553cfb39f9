/**
 * Fetch (key 1), v0-16, flexible from v12. Hot path: one response per consumer poll.
 *
 *   request   clusterId (tagged 0, v12+) | replicaId int32 (v0-14) | replicaState (tagged 1,
 *             v15+) | maxWaitMs | minBytes | maxBytes (v3+) | isolationLevel int8 (v4+)
 *             | sessionId, sessionEpoch (v7+) | topics [topic (v0-12) / topicId uuid (v13+)
 *             | partitions [partition, currentLeaderEpoch (v9+), fetchOffset int64,
 *             lastFetchedEpoch (v12+), logStartOffset (v5+), partitionMaxBytes]]
 *             | forgottenTopicsData (v7+) | rackId (v11+)
 *   response  throttleTimeMs (v1+) | errorCode, sessionId (v7+) | responses [topic (v0-12) /
 *             topicId (v13+) | partitions [partitionIndex, errorCode, highWatermark,
 *             lastStableOffset (v4+), logStartOffset (v5+), tagged: 0 divergingEpoch,
 *             1 currentLeader, 2 snapshotId (v12+), abortedTransactions (v4+, nullable),
 *             preferredReadReplica (v11+), records]] | tagged 0: nodeEndpoints (v16+)
 *
 * `records` on encode may be one Buffer or an array of Buffers sent back to back; views of
 * REF_THRESHOLD bytes or more go to the socket by reference (writev), never copied. v0-3
 * answers carry message sets of format 0 (v0-1) or 1 (v2-3), converted by the handler.
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const FetchRequest = message({
  apiKey: 1,
  name: 'FetchRequest',
  validVersions: [0, 16],
  flexibleVersions: 12,
  fields: [
    { name: 'clusterId', type: 'string', versions: [12], nullableVersions: [12], tag: 0, taggedVersions: [12], default: null },
    { name: 'replicaId', type: 'int32', versions: [0, 14], default: -1 },
    {
      name: 'replicaState', versions: [15], tag: 1, taggedVersions: [15],
      type: { struct: [
        { name: 'replicaId', type: 'int32', versions: [15], default: -1 },
        { name: 'replicaEpoch', type: 'int64', versions: [15], default: -1 },
      ] },
    },
    { name: 'maxWaitMs', type: 'int32', versions: [0] },
    { name: 'minBytes', type: 'int32', versions: [0] },
    { name: 'maxBytes', type: 'int32', versions: [3], default: 2147483647 },
    { name: 'isolationLevel', type: 'int8', versions: [4], default: 0 },
    { name: 'sessionId', type: 'int32', versions: [7], default: 0 },
    { name: 'sessionEpoch', type: 'int32', versions: [7], default: -1 },
    {
      name: 'topics', versions: [0],
      type: { array: [
        { name: 'topic', type: 'string', versions: [0, 12] },
        { name: 'topicId', type: 'uuid', versions: [13] },
        {
          name: 'partitions', versions: [0],
          type: { array: [
            { name: 'partition', type: 'int32', versions: [0] },
            { name: 'currentLeaderEpoch', type: 'int32', versions: [9], default: -1 },
            { name: 'fetchOffset', type: 'int64', versions: [0] },
            { name: 'lastFetchedEpoch', type: 'int32', versions: [12], default: -1 },
            { name: 'logStartOffset', type: 'int64', versions: [5], default: -1 },
            { name: 'partitionMaxBytes', type: 'int32', versions: [0] },
          ] },
        },
      ] },
    },
    {
      name: 'forgottenTopicsData', versions: [7],
      type: { array: [
        { name: 'topic', type: 'string', versions: [7, 12] },
        { name: 'topicId', type: 'uuid', versions: [13] },
        { name: 'partitions', type: { array: 'int32' }, versions: [7] },
      ] },
    },
    { name: 'rackId', type: 'string', versions: [11], default: '' },
  ],
});

export const FetchResponse = message({
  apiKey: 1,
  name: 'FetchResponse',
  validVersions: [0, 16],
  flexibleVersions: 12,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [1] },
    { name: 'errorCode', type: 'int16', versions: [7] },
    { name: 'sessionId', type: 'int32', versions: [7], default: 0 },
    {
      name: 'responses', versions: [0],
      type: { array: [
        { name: 'topic', type: 'string', versions: [0, 12] },
        { name: 'topicId', type: 'uuid', versions: [13] },
        {
          name: 'partitions', versions: [0],
          type: { array: [
            { name: 'partitionIndex', type: 'int32', versions: [0] },
            { name: 'errorCode', type: 'int16', versions: [0] },
            { name: 'highWatermark', type: 'int64', versions: [0] },
            { name: 'lastStableOffset', type: 'int64', versions: [4], default: -1 },
            { name: 'logStartOffset', type: 'int64', versions: [5], default: -1 },
            {
              name: 'divergingEpoch', versions: [12], tag: 0, taggedVersions: [12],
              type: { struct: [
                { name: 'epoch', type: 'int32', versions: [12], default: -1 },
                { name: 'endOffset', type: 'int64', versions: [12], default: -1 },
              ] },
            },
            {
              name: 'currentLeader', versions: [12], tag: 1, taggedVersions: [12],
              type: { struct: [
                { name: 'leaderId', type: 'int32', versions: [12], default: -1 },
                { name: 'leaderEpoch', type: 'int32', versions: [12], default: -1 },
              ] },
            },
            {
              name: 'snapshotId', versions: [12], tag: 2, taggedVersions: [12],
              type: { struct: [
                { name: 'endOffset', type: 'int64', versions: [0], default: -1 },
                { name: 'epoch', type: 'int32', versions: [0], default: -1 },
              ] },
            },
            {
              name: 'abortedTransactions', versions: [4], nullableVersions: [4],
              type: { array: [
                { name: 'producerId', type: 'int64', versions: [4] },
                { name: 'firstOffset', type: 'int64', versions: [4] },
              ] },
            },
            { name: 'preferredReadReplica', type: 'int32', versions: [11], default: -1 },
            { name: 'records', type: 'records', versions: [0], nullableVersions: [0] },
          ] },
        },
      ] },
    },
    {
      name: 'nodeEndpoints', versions: [16], tag: 0, taggedVersions: [16],
      type: { array: [
        { name: 'nodeId', type: 'int32', versions: [16] },
        { name: 'host', type: 'string', versions: [16] },
        { name: 'port', type: 'int32', versions: [16] },
        { name: 'rack', type: 'string', versions: [16], nullableVersions: [16], default: null },
      ] },
    },
  ],
});

export type FetchRequestData = MessageValue<typeof FetchRequest>;
export type FetchRequestInput = MessageInput<typeof FetchRequest>;
export type FetchResponseData = MessageValue<typeof FetchResponse>;
export type FetchResponseInput = MessageInput<typeof FetchResponse>;
