/**
 * Text of a `__consumer_offsets` record as kafka-dump-log.sh --offsets-decoder prints it
 * (Kafka's DumpLogSegments.OffsetsMessageParser): the key as
 * `{"type":"<key version>","data":{...fields of the key schema...}}`, the value as
 * `{"version":"<value version>","data":{...}}` with only the fields that value version has, or
 * `<DELETE>` for a tombstone. In a GroupMetadataValue of a "consumer" group, each member's
 * subscription and assignment are shown decoded (else, and when they do not decode, as base64,
 * which is how Kafka's JSON shows bytes). A record that does not decode gives
 * `Error at offset N, skipping. <why>` as its key and no value, as Kafka does.
 */
import { CONSUMER_PROTOCOL_TYPE, decodeAssignment, decodeSubscription } from './consumer-protocol.js';
import { decodeGroupMetadataValue, decodeOffsetCommitValue, decodeOffsetsTopicKey, type GroupMemberRecord } from './offset-record.js';

export interface ParsedOffsetsRecord {
  key: string;
  /** null: no payload printed (the record did not decode). */
  payload: string | null;
}

const b64 = (b: Buffer | null): string | null => (b === null ? null : b.toString('base64'));

export function parseOffsetsRecord(offset: number, key: Buffer | null, value: Buffer | null): ParsedOffsetsRecord {
  if (key === null) throw new Error(`Failed to decode message at offset ${offset} using offset topic decoder (message had a missing key)`);
  try {
    const k = decodeOffsetsTopicKey(key);
    const keyJson =
      k.type === 'offset'
        ? { type: String(k.version), data: { group: k.groupId, topic: k.topic, partition: k.partition } }
        : { type: String(k.version), data: { group: k.groupId } };
    if (value === null) return { key: JSON.stringify(keyJson), payload: '<DELETE>' };
    let payload: { version: string; data: object };
    if (k.type === 'offset') {
      const v = decodeOffsetCommitValue(value);
      const data: Record<string, unknown> = { offset: v.offset };
      if (v.version >= 3) data.leaderEpoch = v.leaderEpoch;
      data.metadata = v.metadata;
      data.commitTimestamp = v.commitTimestamp;
      if (v.version === 1) data.expireTimestamp = v.expireTimestamp;
      payload = { version: String(v.version), data };
    } else {
      const g = decodeGroupMetadataValue(value);
      const data: Record<string, unknown> = { protocolType: g.protocolType, generation: g.generation, protocol: g.protocol, leader: g.leader };
      if (g.version >= 2) data.currentStateTimestamp = g.currentStateTimestamp;
      data.members = g.members.map((m) => memberJson(m, g.version, g.protocolType === CONSUMER_PROTOCOL_TYPE));
      payload = { version: String(g.version), data };
    }
    return { key: JSON.stringify(keyJson), payload: JSON.stringify(payload) };
  } catch (err) {
    return { key: `Error at offset ${offset}, skipping. ${(err as Error).message}`, payload: null };
  }
}

function memberJson(m: GroupMemberRecord, version: number, consumer: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { memberId: m.memberId };
  if (version >= 3) out.groupInstanceId = m.groupInstanceId;
  out.clientId = m.clientId;
  out.clientHost = m.clientHost;
  if (version >= 1) out.rebalanceTimeout = m.rebalanceTimeoutMs;
  out.sessionTimeout = m.sessionTimeoutMs;
  out.subscription = consumer ? subscriptionJson(m.subscription) : b64(m.subscription);
  out.assignment = consumer ? assignmentJson(m.assignment) : b64(m.assignment);
  return out;
}

/** ConsumerProtocolSubscription as Kafka's JSON converter writes it, fields of its version only. */
function subscriptionJson(b: Buffer): unknown {
  // Kafka reads the version first: fewer than two bytes stay bytes.
  if (b.length < 2) return b64(b);
  try {
    const s = decodeSubscription(b);
    const out: Record<string, unknown> = { topics: s.topics, userData: b64(s.userData) };
    if (s.version >= 1) out.ownedPartitions = s.ownedPartitions.map((t) => ({ topic: t.topic, partitions: t.partitions }));
    if (s.version >= 2) out.generationId = s.generationId;
    if (s.version >= 3) out.rackId = s.rackId;
    return out;
  } catch {
    return b64(b);
  }
}

function assignmentJson(b: Buffer): unknown {
  if (b.length < 2) return b64(b);
  try {
    const a = decodeAssignment(b);
    return { assignedPartitions: a.assignedPartitions.map((t) => ({ topic: t.topic, partitions: t.partitions })), userData: b64(a.userData) };
  } catch {
    return b64(b);
  }
}
