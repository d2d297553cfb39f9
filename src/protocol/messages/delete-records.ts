/**
 * DeleteRecords (key 21), v0-2, flexible from v2. Moves a partition's log start offset.
 *
 *   request   topics [name | partitions [partitionIndex, offset int64]] | timeoutMs
 *   response  throttleTimeMs | topics [name | partitions [partitionIndex, lowWatermark
 *             int64, errorCode]]
 *
 * offset -1 means "up to the high watermark".
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const DeleteRecordsRequest = message({
  apiKey: 21,
  name: 'DeleteRecordsRequest',
  validVersions: [0, 2],
  flexibleVersions: 2,
  fields: [
    {
      name: 'topics', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        {
          name: 'partitions', versions: [0],
          type: { array: [
            { name: 'partitionIndex', type: 'int32', versions: [0] },
            { name: 'offset', type: 'int64', versions: [0] },
          ] },
        },
      ] },
    },
    { name: 'timeoutMs', type: 'int32', versions: [0] },
  ],
});

export const DeleteRecordsResponse = message({
  apiKey: 21,
  name: 'DeleteRecordsResponse',
  validVersions: [0, 2],
  flexibleVersions: 2,
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
            { name: 'lowWatermark', type: 'int64', versions: [0] },
            { name: 'errorCode', type: 'int16', versions: [0] },
          ] },
        },
      ] },
    },
  ],
});

export type DeleteRecordsRequestData = MessageValue<typeof DeleteRecordsRequest>;
export type DeleteRecordsRequestInput = MessageInput<typeof DeleteRecordsRequest>;
export type DeleteRecordsResponseData = MessageValue<typeof DeleteRecordsResponse>;
export type DeleteRecordsResponseInput = MessageInput<typeof DeleteRecordsResponse>;
