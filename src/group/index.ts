/**
 * Consumer groups: Kafka's classic group coordinator in process, durable committed offsets, the
 * consumer protocol codec and the client-side assignors.
 *
 *   types.ts              requests and responses (Kafka's message fields, camelCase)
 *   coordinator.ts        GroupCoordinator: JoinGroup / SyncGroup / Heartbeat / LeaveGroup, timers
 *   group.ts, member.ts   one group's state machine and its members
 *   offset-manager.ts     OffsetCommit / OffsetFetch / DeleteGroups / OffsetDelete, expiry
 *   offset-store.ts       the topic __consumer_offsets (n partitions): replay, compaction
 *   offset-record.ts      its records in Kafka's format (OffsetCommit/GroupMetadata key and value)
 *   offsets-migration.ts  migration of a msgpack-era offsets log (offset-record-msgpack.ts)
 *   consumer-protocol.ts  ConsumerProtocolSubscription / Assignment v0-3
 *   assignors.ts          range and roundrobin
 */
export { GroupCoordinator } from './coordinator.js';
export {
  OffsetStore,
  OFFSETS_TOPIC,
  OFFSETS_TOPIC_META_FILE,
  DEFAULT_OFFSETS_TOPIC_PARTITIONS,
  MAX_OFFSETS_TOPIC_PARTITIONS,
  offsetsLogDir,
  readOffsetsTopicMeta,
  recoverInterruptedSwap,
} from './offset-store.js';
export type { OffsetChange, OffsetStoreOptions, OffsetsTopicMeta } from './offset-store.js';
export * from './offset-record.js';
export {
  CONSUMER_PROTOCOL_MAX_VERSION,
  CONSUMER_PROTOCOL_TYPE,
  ConsumerProtocolError,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
} from './consumer-protocol.js';
export type { ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicPartitions } from './consumer-protocol.js';
export { ASSIGNORS, encodeGroupAssignment, rangeAssignor, roundRobinAssignor, toTopicPartitions } from './assignors.js';
export type { Assignor, AssignorMember, GroupAssignment, PartitionCounts } from './assignors.js';
export type * from './types.js';
