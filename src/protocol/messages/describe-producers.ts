/**
 * DescribeProducers (key 61), v0, flexible. The producers writing to partitions (their ids,
 * epochs and last sequence numbers), for kafka-transactions.sh describe-producers.
 *
 *   request   topics [name | partitionIndexes [int32]]
 *   response  throttleTimeMs | topics [name | partitions [partitionIndex | errorCode
 *             | errorMessage nullable | activeProducers [producerId int64 | producerEpoch int32
 *             | lastSequence int32 | lastTimestamp int64 | coordinatorEpoch int32
 *             | currentTxnStartOffset int64]]]
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const DescribeProducersRequest = message({
  apiKey: 61,
  name: 'DescribeProducersRequest',
  validVersions: [0, 0],
  flexibleVersions: 0,
  fields: [
    {
      name: 'topics', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        { name: 'partitionIndexes', type: { array: 'int32' }, versions: [0] },
      ] },
    },
  ],
});

export const DescribeProducersResponse = message({
  apiKey: 61,
  name: 'DescribeProducersResponse',
  validVersions: [0, 0],
  flexibleVersions: 0,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [0] },
    {
      name: 'topics', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        {
          name: 'partitions', versions: [0],
          type: { array: [
            { name: 'partitionIndex', type: 'int32', versions: [0] },
            { name: 'errorCode', type: 'int16', versions: [0] },
            { name: 'errorMessage', type: 'string', versions: [0], nullableVersions: [0], default: null },
            {
              name: 'activeProducers', versions: [0],
              type: { array: [
                { name: 'producerId', type: 'int64', versions: [0] },
                { name: 'producerEpoch', type: 'int32', versions: [0] },
                { name: 'lastSequence', type: 'int32', versions: [0], default: -1 },
                { name: 'lastTimestamp', type: 'int64', versions: [0], default: -1 },
                { name: 'coordinatorEpoch', type: 'int32', versions: [0] },
                { name: 'currentTxnStartOffset', type: 'int64', versions: [0], default: -1 },
              ] },
            },
          ] },
        },
      ] },
    },
  ],
});

export type DescribeProducersRequestData = MessageValue<typeof DescribeProducersRequest>;
export type DescribeProducersResponseInput = MessageInput<typeof DescribeProducersResponse>;
