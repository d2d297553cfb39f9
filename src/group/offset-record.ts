/**
 * Records of `__consumer_offsets` in Kafka's own format (the group coordinator's
 * OffsetCommitKey/Value and GroupMetadataKey/Value schemas), so tools that read the topic
 * (Burrow, kafka-dump-log.sh --offsets-decoder, lag exporters) understand it. Every key and
 * value starts with an int16 version; the key's version says which schema follows.
 *
 *   string  = int16 length + UTF-8          nullable string: length -1 is null
 *   bytes   = int32 length + data
 *   array   = int32 count + elements
 *   (flexible v4 values: uvarint length+1 strings, bytes and arrays, and a uvarint tagged-field
 *    count closing every struct)
 *
 *   OffsetCommitKey, version 0 or 1 (same layout; Kafka 3.8 writes 1)
 *     0  int16  version
 *     2  string group
 *        string topic
 *        int32  partition
 *
 *   OffsetCommitValue (Kafka 3.8 writes 3, or 1 when the commit carried a retention)
 *     v0: int16 version | int64 offset | string metadata | int64 commitTimestamp
 *     v1: v0 + int64 expireTimestamp
 *     v2: same as v0
 *     v3: int16 version | int64 offset | int32 leaderEpoch | string metadata | int64 commitTimestamp
 *     v4: v3 flexible (compact metadata, tagged fields at the end)
 *   A null value (tombstone): the offset was deleted or expired.
 *
 *   GroupMetadataKey, version 2
 *     0  int16  version = 2
 *     2  string group
 *
 *   GroupMetadataValue (Kafka 3.8 writes 3)
 *     int16 version | string protocolType | int32 generation | nullable string protocol |
 *     nullable string leader | int64 currentStateTimestamp (v2+) | array members
 *     member: string memberId | nullable string groupInstanceId (v3+) | string clientId |
 *             string clientHost | int32 rebalanceTimeout (v1+) | int32 sessionTimeout |
 *             bytes subscription | bytes assignment
 *     v4: v3 flexible.
 *   A null value (tombstone): the group was removed.
 *
 * Decoders throw OffsetsRecordError (naming the field and byte) on anything they cannot read,
 * never a crash of whoever reads a damaged record.
 */
import { Reader, Writer } from '../protocol/primitives.js';
import type { CommittedOffset } from './types.js';

export const OFFSET_COMMIT_KEY_VERSION = 1;
export const GROUP_METADATA_KEY_VERSION = 2;
/** What Kafka 3.8 writes: v3, or v1 (the only version with expireTimestamp) when one is set. */
export const OFFSET_COMMIT_VALUE_VERSION = 3;
export const OFFSET_COMMIT_VALUE_EXPIRE_VERSION = 1;
export const GROUP_METADATA_VALUE_VERSION = 3;
const MAX_VALUE_VERSION = 4;

export class OffsetsRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OffsetsRecordError';
  }
}

export interface OffsetKey {
  groupId: string;
  topic: string;
  partition: number;
}

/** A decoded key: an offset commit (key version 0/1) or group metadata (version 2). */
export type OffsetsTopicKey = ({ type: 'offset'; version: number } & OffsetKey) | { type: 'group'; version: number; groupId: string };

export interface GroupMemberRecord {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  subscription: Buffer;
  assignment: Buffer;
}

export interface GroupMetadataRecord {
  protocolType: string;
  generation: number;
  protocol: string | null;
  leader: string | null;
  /** -1 when unknown (values before v2). */
  currentStateTimestamp: number;
  members: GroupMemberRecord[];
}

export function encodeOffsetCommitKey(k: OffsetKey): Buffer {
  const w = new Writer(64);
  w.int16(OFFSET_COMMIT_KEY_VERSION);
  w.string(k.groupId, false);
  w.string(k.topic, false);
  w.int32(k.partition);
  return w.toBuffer();
}

export function encodeGroupMetadataKey(groupId: string): Buffer {
  const w = new Writer(32);
  w.int16(GROUP_METADATA_KEY_VERSION);
  w.string(groupId, false);
  return w.toBuffer();
}

/** Kafka 3.8's choice: v1 when the commit has an expire timestamp, else v3. */
export function encodeOffsetCommitValue(v: CommittedOffset): Buffer {
  const w = new Writer(48);
  if (v.expireTimestamp >= 0) {
    w.int16(OFFSET_COMMIT_VALUE_EXPIRE_VERSION);
    w.int64(v.offset);
    w.string(v.metadata, false);
    w.int64(v.commitTimestamp);
    w.int64(v.expireTimestamp);
  } else {
    w.int16(OFFSET_COMMIT_VALUE_VERSION);
    w.int64(v.offset);
    w.int32(v.leaderEpoch);
    w.string(v.metadata, false);
    w.int64(v.commitTimestamp);
  }
  return w.toBuffer();
}

export function encodeGroupMetadataValue(g: GroupMetadataRecord): Buffer {
  const w = new Writer(128);
  w.int16(GROUP_METADATA_VALUE_VERSION);
  w.string(g.protocolType, false);
  w.int32(g.generation);
  w.string(g.protocol, false);
  w.string(g.leader, false);
  w.int64(g.currentStateTimestamp);
  w.int32(g.members.length);
  for (const m of g.members) {
    w.string(m.memberId, false);
    w.string(m.groupInstanceId, false);
    w.string(m.clientId, false);
    w.string(m.clientHost, false);
    w.int32(m.rebalanceTimeoutMs);
    w.int32(m.sessionTimeoutMs);
    w.bytes(m.subscription, false);
    w.bytes(m.assignment, false);
  }
  return w.toBuffer();
}

/** Runs a decoder, turning any read past the end or bad length into OffsetsRecordError. */
function decoding<T>(what: string, b: Buffer, f: (r: Reader) => T): T {
  try {
    return f(new Reader(b));
  } catch (err) {
    if (err instanceof OffsetsRecordError) throw err;
    throw new OffsetsRecordError(`cannot decode the ${what} (${b.length} bytes): ${(err as Error).message}`);
  }
}

/** Decodes a key of either kind; OffsetsRecordError for an unknown version or bad bytes. */
export function decodeOffsetsTopicKey(b: Buffer): OffsetsTopicKey {
  return decoding('__consumer_offsets key', b, (r) => {
    const version = r.int16('version');
    if (version === 0 || version === 1) {
      const groupId = r.string('group')!;
      const topic = r.string('topic')!;
      return { type: 'offset', version, groupId, topic, partition: r.int32('partition') };
    }
    if (version === 2) return { type: 'group', version, groupId: r.string('group')! };
    throw new OffsetsRecordError(`unknown __consumer_offsets key version ${version} (this broker reads 0-2)`);
  });
}

export function decodeOffsetCommitValue(b: Buffer): CommittedOffset & { version: number } {
  return decoding('OffsetCommitValue', b, (r) => {
    const version = r.int16('version');
    if (version < 0 || version > MAX_VALUE_VERSION) throw new OffsetsRecordError(`unknown OffsetCommitValue version ${version} (this broker reads 0-4)`);
    const flexible = version >= 4;
    const offset = r.int64('offset');
    const leaderEpoch = version >= 3 ? r.int32('leaderEpoch') : -1;
    const metadata = (flexible ? r.compactString('metadata') : r.string('metadata'))!;
    const commitTimestamp = r.int64('commitTimestamp');
    const expireTimestamp = version === 1 ? r.int64('expireTimestamp') : -1;
    if (flexible) r.skipTaggedFields();
    return { version, offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp };
  });
}

export function decodeGroupMetadataValue(b: Buffer): GroupMetadataRecord & { version: number } {
  return decoding('GroupMetadataValue', b, (r) => {
    const version = r.int16('version');
    if (version < 0 || version > MAX_VALUE_VERSION) throw new OffsetsRecordError(`unknown GroupMetadataValue version ${version} (this broker reads 0-4)`);
    const flexible = version >= 4;
    const str = (field: string, nullable = false): string | null => (flexible ? r.compactString(field, nullable) : r.string(field, nullable));
    const bytes = (field: string): Buffer => (flexible ? r.compactBytes(field) : r.bytes(field))!;
    const protocolType = str('protocolType')!;
    const generation = r.int32('generation');
    const protocol = str('protocol', true);
    const leader = str('leader', true);
    const currentStateTimestamp = version >= 2 ? r.int64('currentStateTimestamp') : -1;
    const count = r.arrayLength('members', false, flexible);
    const members: GroupMemberRecord[] = [];
    for (let i = 0; i < count; i++) {
      const memberId = str('memberId')!;
      const groupInstanceId = version >= 3 ? str('groupInstanceId', true) : null;
      const clientId = str('clientId')!;
      const clientHost = str('clientHost')!;
      const rebalanceTimeoutMs = version >= 1 ? r.int32('rebalanceTimeout') : -1;
      const sessionTimeoutMs = r.int32('sessionTimeout');
      const subscription = bytes('subscription');
      const assignment = bytes('assignment');
      if (flexible) r.skipTaggedFields();
      members.push({ memberId, groupInstanceId, clientId, clientHost, rebalanceTimeoutMs, sessionTimeoutMs, subscription, assignment });
    }
    if (flexible) r.skipTaggedFields();
    return { version, protocolType, generation, protocol, leader, currentStateTimestamp, members };
  });
}

/**
 * Java's String.hashCode over UTF-16 code units (s[0]*31^(n-1) + ... + s[n-1], 32-bit wrap).
 * JavaScript strings are UTF-16 code units too, so charCodeAt gives what Java sees.
 */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's partitionFor(groupId): Utils.abs(groupId.hashCode) % offsets.topic.num.partitions. */
export function offsetsPartitionFor(groupId: string, partitions: number): number {
  return (javaStringHashCode(groupId) & 0x7fffffff) % partitions;
}
