/**
 * AddPartitionsToTxn (key 24), v0-5, flexible from v3. Adds partitions to a producer's ongoing
 * transaction; v4+ batches several transactions per request (brokers send it, KIP-890 part 1),
 * and `verifyOnly` asks whether the partitions are already in the transaction.
 *
 *   request   v4+: transactions [transactionalId | producerId int64 | producerEpoch int16
 *                  | verifyOnly bool | topics [name | partitions [int32]]]
 *             v0-3: v3AndBelowTransactionalId | v3AndBelowProducerId int64
 *                  | v3AndBelowProducerEpoch int16 | v3AndBelowTopics [name | partitions [int32]]
 *   response  throttleTimeMs | errorCode (v4+)
 *             | resultsByTransaction (v4+) [transactionalId | topicResults [topic result]]
 *             | resultsByTopicV3AndBelow (v0-3) [topic result]
 *             topic result: name | resultsByPartition [partitionIndex | partitionErrorCode]
 */
import { message, type Field, type MessageInput, type MessageValue } from '../schema.js';

const TOPIC = [
  { name: 'name', type: 'string', versions: [0] },
  { name: 'partitions', type: { array: 'int32' }, versions: [0] },
] as const satisfies readonly Field[];

const TOPIC_RESULT = [
  { name: 'name', type: 'string', versions: [0] },
  {
    name: 'resultsByPartition', versions: [0],
    type: { array: [
      { name: 'partitionIndex', type: 'int32', versions: [0] },
      { name: 'partitionErrorCode', type: 'int16', versions: [0] },
    ] },
  },
] as const satisfies readonly Field[];

export const AddPartitionsToTxnRequest = message({
  apiKey: 24,
  name: 'AddPartitionsToTxnRequest',
  validVersions: [0, 5],
  flexibleVersions: 3,
  fields: [
    {
      name: 'transactions', versions: [4],
      type: { array: [
        { name: 'transactionalId', type: 'string', versions: [4] },
        { name: 'producerId', type: 'int64', versions: [4] },
        { name: 'producerEpoch', type: 'int16', versions: [4] },
        { name: 'verifyOnly', type: 'bool', versions: [4], default: false },
        { name: 'topics', type: { array: TOPIC }, versions: [4] },
      ] },
    },
    { name: 'v3AndBelowTransactionalId', type: 'string', versions: [0, 3] },
    { name: 'v3AndBelowProducerId', type: 'int64', versions: [0, 3] },
    { name: 'v3AndBelowProducerEpoch', type: 'int16', versions: [0, 3] },
    { name: 'v3AndBelowTopics', type: { array: TOPIC }, versions: [0, 3] },
  ],
});

export const AddPartitionsToTxnResponse = message({
  apiKey: 24,
  name: 'AddPartitionsToTxnResponse',
  validVersions: [0, 5],
  flexibleVersions: 3,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [0] },
    { name: 'errorCode', type: 'int16', versions: [4] },
    {
      name: 'resultsByTransaction', versions: [4],
      type: { array: [
        { name: 'transactionalId', type: 'string', versions: [4] },
        { name: 'topicResults', type: { array: TOPIC_RESULT }, versions: [4] },
      ] },
    },
    { name: 'resultsByTopicV3AndBelow', type: { array: TOPIC_RESULT }, versions: [0, 3] },
  ],
});

export type AddPartitionsToTxnRequestData = MessageValue<typeof AddPartitionsToTxnRequest>;
export type AddPartitionsToTxnRequestInput = MessageInput<typeof AddPartitionsToTxnRequest>;
export type AddPartitionsToTxnResponseData = MessageValue<typeof AddPartitionsToTxnResponse>;
export type AddPartitionsToTxnResponseInput = MessageInput<typeof AddPartitionsToTxnResponse>;
