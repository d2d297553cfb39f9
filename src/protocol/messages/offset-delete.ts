/**
 * OffsetDelete (key 47), v0 only, never flexible. Removes a group's committed offsets for
 * some partitions (kafka-consumer-groups --delete-offsets). Its schema is not among the
 * shared reference files; the layout below was checked against Kafka's protocol guide.
 *
 *   request   groupId string | topics [name string | partitions [partitionIndex int32]]
 *   response  errorCode int16 | throttleTimeMs int32 | topics [name string | partitions
 *             [partitionIndex int32 | errorCode int16]]
 *
 * The group must be empty or not subscribed to the topics (else GROUP_SUBSCRIBED_TO_TOPIC).
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const OffsetDeleteRequest = message({
  apiKey: 47,
  name: 'OffsetDeleteRequest',
  validVersions: [0, 0],
  flexibleVersions: 'none',
  fields: [
    { name: 'groupId', type: 'string', versions: [0] },
    {
      name: 'topics', versions: [0],
      type: { array: [
        { name: 'name', type: 'string', versions: [0] },
        {
          name: 'partitions', versions: [0],
          type: { array: [
            { name: 'partitionIndex', type: 'int32', versions: [0] },
          ] },
        },
      ] },
    },
  ],
});

export const OffsetDeleteResponse = message({
  apiKey: 47,
  name: 'OffsetDeleteResponse',
  validVersions: [0, 0],
  flexibleVersions: 'none',
  fields: [
    { name: 'errorCode', type: 'int16', versions: [0] },
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
          ] },
        },
      ] },
    },
  ],
});

export type OffsetDeleteRequestData = MessageValue<typeof OffsetDeleteRequest>;
export type OffsetDeleteRequestInput = MessageInput<typeof OffsetDeleteRequest>;
export type OffsetDeleteResponseData = MessageValue<typeof OffsetDeleteResponse>;
export type OffsetDeleteResponseInput = MessageInput<typeof OffsetDeleteResponse>;
