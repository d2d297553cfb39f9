/**
 * Sluice: an event streaming broker and embeddable log engine that speaks Kafka's protocol.
 * This is the package root; see README.md for the guide.
 */
export { Sluice } from './broker/sluice.js';
export type { SluiceOptions, TopicDescription, PartitionDescription, CreateTopicOptions } from './broker/sluice.js';
export * from './broker/errors.js';
export { TOPIC_CONFIGS, type TopicConfig, type TopicConfigInput } from './broker/topic-config.js';
export { Producer, MessageTooLargeError } from './client/producer.js';
export type { ProducerOptions, ProducerRecord, RecordMetadata, TransactionOffset } from './client/producer.js';
export { Consumer, NoOffsetForPartitionError } from './client/consumer.js';
export type { ConsumerOptions, ConsumerRecord, PollOptions, TopicPartition, Deserializer, Deserialized } from './client/consumer.js';
export { CommitFailedError, type Assignor } from './client/group-member.js';
export { murmur2, partitionForKey } from './client/partitioner.js';
export { ErrorCode, KafkaError, errorName } from './protocol/error-codes.js';
export * from './storage/index.js';
export * from './record/index.js';
export { crc32c, crc32cIsHardware, scanBatches } from './native.js';
