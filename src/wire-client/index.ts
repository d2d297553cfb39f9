/**
 * A small Kafka client over Sluice's own wire codec: talks to any Kafka-compatible broker.
 *
 *   connection.ts    one socket: pipelined requests, in-order answers, timeouts, ApiVersions
 *   versions.ts      version negotiation
 *   cluster.ts       metadata, leaders, connections per broker, coordinators
 *   admin.ts         topics, configs, offsets, groups
 *   configs.ts       configs of topics, brokers and groups (kafka-configs)
 *   records-admin.ts delete-records, log dirs of every broker, a group's offset deletion
 *   producer.ts      batching per partition, compression, acks, murmur2 / sticky partitioning
 *   consumer.ts      assigned partitions, fetch loop, positions
 *   group-member.ts  consumer group membership (join, sync, heartbeats, commits, leave)
 */
export * from './errors.js';
export * from './connection.js';
export * from './versions.js';
export * from './cluster.js';
export * from './admin.js';
export * from './configs.js';
export * from './records-admin.js';
export * from './producer.js';
export * from './consumer.js';
export * from './group-member.js';
