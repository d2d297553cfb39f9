/**
 * InitProducerId (key 22), v0-5, flexible from v2. Idempotent / transactional producer id.
 *
 *   request   transactionalId nullable | transactionTimeoutMs | producerId int64 (v3+)
 *             | producerEpoch int16 (v3+)
 *   response  throttleTimeMs | errorCode | producerId int64 | producerEpoch int16
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const InitProducerIdRequest = message({
  apiKey: 22,
  name: 'InitProducerIdRequest',
  validVersions: [0, 5],
  flexibleVersions: 2,
  fields: [
    { name: 'transactionalId', type: 'string', versions: [0], nullableVersions: [0] },
    { name: 'transactionTimeoutMs', type: 'int32', versions: [0] },
    { name: 'producerId', type: 'int64', versions: [3], default: -1 },
    { name: 'producerEpoch', type: 'int16', versions: [3], default: -1 },
  ],
});

export const InitProducerIdResponse = message({
  apiKey: 22,
  name: 'InitProducerIdResponse',
  validVersions: [0, 5],
  flexibleVersions: 2,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [0] },
    { name: 'errorCode', type: 'int16', versions: [0] },
    { name: 'producerId', type: 'int64', versions: [0], default: -1 },
    { name: 'producerEpoch', type: 'int16', versions: [0] },
  ],
});

export type InitProducerIdRequestData = MessageValue<typeof InitProducerIdRequest>;
export type InitProducerIdRequestInput = MessageInput<typeof InitProducerIdRequest>;
export type InitProducerIdResponseData = MessageValue<typeof InitProducerIdResponse>;
export type InitProducerIdResponseInput = MessageInput<typeof InitProducerIdResponse>;
