/**
 * The consumer protocol (protocolType "consumer"): what a consumer puts in JoinGroup's protocol
 * metadata (its subscription) and what the leader sends back through SyncGroup (each member's
 * assignment). Kafka's ConsumerProtocolSubscription / ConsumerProtocolAssignment, versions 0-3,
 * never flexible: big-endian, int16 string lengths, int32 array counts and byte lengths, -1 for
 * null.
 *
 * Subscription:
 *   int16    version
 *   [string] topics                 int32 count, then int16 length + UTF-8 each
 *   bytes    userData               int32 length (-1: null)
 *   v1+ [ownedPartitions]           int32 count of { string topic, [int32] partitions }
 *   v2+ int32  generationId         default -1
 *   v3+ string rackId               nullable
 *
 * Assignment:
 *   int16    version
 *   [assignedPartitions]            int32 count of { string topic, [int32] partitions }
 *   bytes    userData               int32 length (-1: null)
 *
 * As in Kafka, a version newer than 3 is read with the v3 layout (later versions may only add
 * fields), and bytes past the known fields are ignored. Fields a version added may be missing at
 * the very end of the buffer (some clients write a higher version number than they fill); they
 * then take their defaults.
 */

export const CONSUMER_PROTOCOL_TYPE = 'consumer';
export const CONSUMER_PROTOCOL_MAX_VERSION = 3;

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface ConsumerProtocolSubscription {
  version: number;
  topics: string[];
  userData: Buffer | null;
  ownedPartitions: TopicPartitions[];
  generationId: number;
  rackId: string | null;
}

export interface ConsumerProtocolAssignment {
  version: number;
  assignedPartitions: TopicPartitions[];
  userData: Buffer | null;
}

/** The bytes are not a valid subscription or assignment. */
export class ConsumerProtocolError extends Error {
  constructor(what: string, detail: string) {
    super(`invalid consumer protocol ${what}: ${detail}`);
    this.name = 'ConsumerProtocolError';
  }
}

// ---- encoding ------------------------------------------------------------------------------

class Writer {
  private readonly parts: Buffer[] = [];
  int16(v: number): void {
    const b = Buffer.allocUnsafe(2);
    b.writeInt16BE(v);
    this.parts.push(b);
  }
  int32(v: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(v);
    this.parts.push(b);
  }
  string(s: string | null): void {
    if (s === null) return this.int16(-1);
    const b = Buffer.from(s, 'utf8');
    if (b.length > 0x7fff) throw new RangeError(`string of ${b.length} bytes is too long for an int16 length`);
    this.int16(b.length);
    this.parts.push(b);
  }
  bytes(b: Buffer | null): void {
    if (b === null) return this.int32(-1);
    this.int32(b.length);
    this.parts.push(b);
  }
  topicPartitions(list: TopicPartitions[]): void {
    this.int32(list.length);
    for (const tp of list) {
      this.string(tp.topic);
      this.int32(tp.partitions.length);
      for (const p of tp.partitions) this.int32(p);
    }
  }
  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export function encodeSubscription(
  sub: Partial<ConsumerProtocolSubscription> & { topics: string[] },
  version = sub.version ?? CONSUMER_PROTOCOL_MAX_VERSION,
): Buffer {
  checkVersion(version);
  const w = new Writer();
  w.int16(version);
  w.int32(sub.topics.length);
  for (const t of sub.topics) w.string(t);
  w.bytes(sub.userData ?? null);
  if (version >= 1) w.topicPartitions(sub.ownedPartitions ?? []);
  if (version >= 2) w.int32(sub.generationId ?? -1);
  if (version >= 3) w.string(sub.rackId ?? null);
  return w.finish();
}

export function encodeAssignment(
  a: Partial<ConsumerProtocolAssignment> & { assignedPartitions: TopicPartitions[] },
  version = a.version ?? CONSUMER_PROTOCOL_MAX_VERSION,
): Buffer {
  checkVersion(version);
  const w = new Writer();
  w.int16(version);
  w.topicPartitions(a.assignedPartitions);
  w.bytes(a.userData ?? null);
  return w.finish();
}

function checkVersion(version: number): void {
  if (!Number.isInteger(version) || version < 0 || version > CONSUMER_PROTOCOL_MAX_VERSION) {
    throw new RangeError(`consumer protocol version ${version} is not in 0-${CONSUMER_PROTOCOL_MAX_VERSION}`);
  }
}

// ---- decoding ------------------------------------------------------------------------------

class Reader {
  pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}
  get atEnd(): boolean {
    return this.pos >= this.buf.length;
  }
  private need(n: number, field: string): void {
    if (this.pos + n > this.buf.length) {
      throw new ConsumerProtocolError(this.what, `${field} needs ${n} bytes at byte ${this.pos} of ${this.buf.length}`);
    }
  }
  int16(field: string): number {
    this.need(2, field);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(field: string): number {
    this.need(4, field);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  string(field: string): string | null {
    const len = this.int16(field);
    if (len < 0) return null;
    this.need(len, field);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }
  requiredString(field: string): string {
    const s = this.string(field);
    if (s === null) throw new ConsumerProtocolError(this.what, `${field} is null`);
    return s;
  }
  bytes(field: string): Buffer | null {
    const len = this.int32(field);
    if (len < 0) return null;
    this.need(len, field);
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + len));
    this.pos += len;
    return b;
  }
  count(field: string, minItemBytes: number): number {
    const n = this.int32(field);
    if (n < 0) return 0; // a null array reads as empty
    // A hostile count cannot make us allocate more than the buffer could hold.
    this.need(n * minItemBytes, field);
    return n;
  }
  topicPartitions(field: string): TopicPartitions[] {
    const n = this.count(field, 6);
    const out: TopicPartitions[] = [];
    for (let i = 0; i < n; i++) {
      const topic = this.requiredString(`${field}[${i}].topic`);
      const m = this.count(`${field}[${i}].partitions`, 4);
      const partitions: number[] = [];
      for (let j = 0; j < m; j++) partitions.push(this.int32(`${field}[${i}].partitions`));
      out.push({ topic, partitions });
    }
    return out;
  }
}

export function decodeSubscription(buf: Buffer): ConsumerProtocolSubscription {
  const r = new Reader(buf, 'subscription');
  const version = r.int16('version');
  if (version < 0) throw new ConsumerProtocolError('subscription', `negative version ${version}`);
  const n = r.count('topics', 2);
  const topics: string[] = [];
  for (let i = 0; i < n; i++) topics.push(r.requiredString(`topics[${i}]`));
  const userData = r.atEnd ? null : r.bytes('userData');
  const ownedPartitions = version >= 1 && !r.atEnd ? r.topicPartitions('ownedPartitions') : [];
  const generationId = version >= 2 && !r.atEnd ? r.int32('generationId') : -1;
  const rackId = version >= 3 && !r.atEnd ? r.string('rackId') : null;
  return { version, topics, userData, ownedPartitions, generationId, rackId };
}

/** An empty buffer (a member the leader gave nothing) decodes as an empty assignment. */
export function decodeAssignment(buf: Buffer): ConsumerProtocolAssignment {
  if (buf.length === 0) return { version: 0, assignedPartitions: [], userData: null };
  const r = new Reader(buf, 'assignment');
  const version = r.int16('version');
  if (version < 0) throw new ConsumerProtocolError('assignment', `negative version ${version}`);
  const assignedPartitions = r.topicPartitions('assignedPartitions');
  const userData = r.atEnd ? null : r.bytes('userData');
  return { version, assignedPartitions, userData };
}
