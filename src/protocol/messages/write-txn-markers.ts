/**
 * WriteTxnMarkers (key 27), v0-1, flexible from v1. A transaction coordinator asks the leader
 * of each partition in a transaction to append its commit or abort marker (a broker-to-broker
 * API: clients never send it).
 *
 *   request   markers [producerId int64 | producerEpoch int16 | transactionResult bool
 *                      | topics [name | partitionIndexes [int32]] | coordinatorEpoch int32]
 *   response  markers [producerId int64 | topics [name | partitions [partitionIndex | errorCode]]]
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const WriteTxnMarkersRequest = message({
  apiKey: 27,
  name: 'WriteTxnMarkersRequest',
  validVersions: [0, 1],
  flexibleVersions: 1,
  fields: [
    {
      name: 'markers', versions: [0],
      type: { array: [
        { name: 'producerId', type: 'int64', versions: [0] },
        { name: 'producerEpoch', type: 'int16', versions: [0] },
        { name: 'transactionResult', type: 'bool', versions: [0] },
        {
          name: 'topics', versions: [0],
          type: { array: [
            { name: 'name', type: 'string', versions: [0] },
            { name: 'partitionIndexes', type: { array: 'int32' }, versions: [0] },
          ] },
        },
        { name: 'coordinatorEpoch', type: 'int32', versions: [0] },
      ] },
    },
  ],
});

export const WriteTxnMarkersResponse = message({
  apiKey: 27,
  name: 'WriteTxnMarkersResponse',
  validVersions: [0, 1],
  flexibleVersions: 1,
  fields: [
    {
      name: 'markers', versions: [0],
      type: { array: [
        { name: 'producerId', type: 'int64', versions: [0] },
        {
          name: 'topics', versions: [0],
          type: { array: [
            { name: 'name', type: 'string', versions: [0] },
            {
              name: 'partitions', versions: [0],
              type: { array: [
                { name: 'partitionIndex', type: 'int32', versions: [0] },
                { name: 'errorCode', type: 'int16', versions: [0] },
              ] },
            },
          ] },
        },
      ] },
    },
  ],
});

export type WriteTxnMarkersRequestData = MessageValue<typeof WriteTxnMarkersRequest>;
export type WriteTxnMarkersRequestInput = MessageInput<typeof WriteTxnMarkersRequest>;
export type WriteTxnMarkersResponseData = MessageValue<typeof WriteTxnMarkersResponse>;
export type WriteTxnMarkersResponseInput = MessageInput<typeof WriteTxnMarkersResponse>;
