/**
 * Kafka's primitive wire types: a bounds-checked Reader over one frame and a Writer that
 * builds a response as a list of chunks.
 *
 *   type                 bytes                          null
 *   int8/16/32/64        1/2/4/8, big-endian, signed    -
 *   uint16, uint32       2/4, big-endian                -
 *   float64              8, IEEE 754 big-endian         -
 *   bool                 1 (0 = false, else true)       -
 *   varint / varlong     zigzag, 7 bits a byte, LSB     -
 *                        group first, high bit = more
 *   uvarint              the same without zigzag        -
 *   string               int16 length + UTF-8           length -1
 *   compact string       uvarint (length + 1) + UTF-8   0
 *   bytes / records      int32 length + data            length -1
 *   compact bytes        uvarint (length + 1) + data    0
 *   array                int32 count + elements         count -1
 *   compact array        uvarint (count + 1) + elements 0
 *   uuid                 16 bytes                       -
 *   tagged fields        uvarint count, then per field: uvarint tag, uvarint size, data
 *
 * Representation choices:
 * - int64 is a JS number: exact for |v| <= 2^53 - 1 (every offset and timestamp Kafka uses);
 *   larger values read as the nearest double and write clamped to the int64 range.
 * - uuid is the standard 8-4-4-4-12 lowercase hex string (what crypto.randomUUID() returns
 *   and what the topic registry stores); Kafka's Uuid.ZERO is UUID_ZERO below. On the wire
 *   it is the 16 raw bytes, as Kafka sends them.
 * - `records` decodes as a view into the frame (zero copy: the produce path checks and copies
 *   the batch straight into the log). `bytes` decodes as a copy: such values (group member
 *   metadata, assignments) are small and kept for long, and a view would pin the whole frame.
 *
 * Reader: every read checks against `end` and throws ProtocolError naming the field; a
 * length or count is checked against the bytes left BEFORE anything is allocated, so a
 * hostile length field costs nothing. Not thread-safe (one cursor, one reader).
 *
 * Writer: appends into a growable scratch Buffer; `ref(buf)` appends an external Buffer by
 * reference (the scratch written so far becomes a chunk, then the external Buffer). The
 * result is `{ chunks, length }` for socket.writev or cork + write. Chunks are views of
 * the scratch, which the Writer never writes again once it is handed out. Not thread-safe.
 */
import { ProtocolError } from './errors.js';

const TWO_32 = 4294967296;
const INT64_LIMIT = 9223372036854775807; // rounds to 2^63 as a double

/** Kafka's Uuid.ZERO (all 16 bytes zero) in this codec's string form. */
export const UUID_ZERO = '00000000-0000-0000-0000-000000000000';

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Below this size an external Buffer is copied into the scratch instead of referenced. */
export const REF_THRESHOLD = 1024;

export class Reader {
  readonly buf: Buffer;
  /** Next byte to read. */
  pos: number;
  /** One past the last readable byte. */
  readonly end: number;
  /** Array elements read so far (every arrayLength adds its count). */
  elements = 0;
  /**
   * Most array elements this reader accepts in all. A decoded element costs the heap 50-100
   * times its few wire bytes (an object per struct, then the handler's work and answer), so
   * the frame size alone does not bound what a request costs; this does.
   */
  maxElements = Infinity;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    if (pos < 0 || end > buf.length || pos > end) {
      throw new RangeError(`reader window [${pos}, ${end}) outside buffer of ${buf.length}`);
    }
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws unless `n` more bytes are readable. */
  need(n: number, field: string): void {
    if (n > this.end - this.pos) {
      throw new ProtocolError(
        `need ${n} bytes, ${this.end - this.pos} left`,
        field,
        this.pos,
      );
    }
  }

  int8(field = 'int8'): number {
    this.need(1, field);
    return this.buf.readInt8(this.pos++);
  }

  bool(field = 'bool'): boolean {
    this.need(1, field);
    return this.buf[this.pos++] !== 0;
  }

  int16(field = 'int16'): number {
    this.need(2, field);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint16(field = 'uint16'): number {
    this.need(2, field);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(field = 'int32'): number {
    this.need(4, field);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(field = 'uint32'): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int64(field = 'int64'): number {
    this.need(8, field);
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  float64(field = 'float64'): number {
    this.need(8, field);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Unsigned varint of at most 32 bits (5 bytes), as Kafka's lengths and tags are. */
  uvarint(field = 'uvarint'): number {
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (p >= this.end) throw new ProtocolError('truncated varint', field, start);
      const b = buf[p++]!;
      if (shift === 28 && b > 0x0f) throw new ProtocolError('varint exceeds 32 bits', field, start);
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        this.pos = p;
        return value;
      }
    }
    throw new ProtocolError('varint longer than 5 bytes', field, start);
  }

  /** Zigzag varint (int32). */
  varint(field = 'varint'): number {
    const z = this.uvarint(field);
    return (z >>> 1) ^ -(z & 1);
  }

  /** Zigzag varlong (int64, exact within +-2^53). */
  varlong(field = 'varlong'): number {
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    let lo = 0; // bits 0..27
    let hi = 0; // bits 28..63, as a number (exact up to 2^53)
    for (let i = 0; i < 10; i++) {
      if (p >= this.end) throw new ProtocolError('truncated varlong', field, start);
      const b = buf[p++]!;
      if (i === 9 && b > 0x01) throw new ProtocolError('varlong exceeds 64 bits', field, start);
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else hi += (b & 0x7f) * 2 ** (7 * i - 28);
      if (b < 0x80) {
        this.pos = p;
        // zigzag: value = (z >>> 1) ^ -(z & 1); z = hi * 2^28 + lo
        const z = hi * 268435456 + lo;
        const half = Math.floor(z / 2);
        return (lo & 1) === 0 ? half : -half - 1;
      }
    }
    throw new ProtocolError('varlong longer than 10 bytes', field, start);
  }

  /** int16-length string; -1 is null (an error unless `nullable`). */
  string(field = 'string', nullable = false): string | null {
    const at = this.pos;
    const len = this.int16(field);
    if (len < 0) {
      if (len === -1 && nullable) return null;
      throw new ProtocolError(len === -1 ? 'null string' : `string length ${len}`, field, at);
    }
    return this.utf8(len, field);
  }

  /** uvarint (length + 1) string; 0 is null (an error unless `nullable`). */
  compactString(field = 'string', nullable = false): string | null {
    const at = this.pos;
    const n = this.uvarint(field);
    if (n === 0) {
      if (nullable) return null;
      throw new ProtocolError('null string', field, at);
    }
    return this.utf8(n - 1, field);
  }

  private utf8(len: number, field: string): string {
    this.need(len, field);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  /** int32-length bytes, copied; -1 is null (an error unless `nullable`). */
  bytes(field = 'bytes', nullable = false): Buffer | null {
    const len = this.bytesLength(field, nullable, false);
    return len < 0 ? null : Buffer.from(this.view(len, field));
  }

  /** uvarint (length + 1) bytes, copied; 0 is null (an error unless `nullable`). */
  compactBytes(field = 'bytes', nullable = false): Buffer | null {
    const len = this.bytesLength(field, nullable, true);
    return len < 0 ? null : Buffer.from(this.view(len, field));
  }

  /** Bytes holding a RecordBatch chain, as a view into the frame (no copy). */
  records(field = 'records', compact = false, nullable = true): Buffer | null {
    const len = this.bytesLength(field, nullable, compact);
    return len < 0 ? null : this.view(len, field);
  }

  /** Reads a bytes length prefix; -1 for an allowed null. Checks it against what is left. */
  bytesLength(field: string, nullable: boolean, compact: boolean): number {
    const at = this.pos;
    const len = compact ? this.uvarint(field) - 1 : this.int32(field);
    if (len < 0) {
      if (len === -1 && nullable) return -1;
      throw new ProtocolError(len === -1 ? 'null bytes' : `bytes length ${len}`, field, at);
    }
    if (len > this.end - this.pos) {
      throw new ProtocolError(`bytes length ${len}, ${this.end - this.pos} left`, field, at);
    }
    return len;
  }

  /** A view of the next `len` bytes. */
  view(len: number, field = 'bytes'): Buffer {
    this.need(len, field);
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  /**
   * Array count; -1 for an allowed null. Every element takes at least one byte in every
   * message Sluice decodes, so a count above the bytes left is malformed: rejecting it here
   * is what keeps a hostile count from allocating.
   */
  arrayLength(field: string, nullable: boolean, compact: boolean): number {
    const at = this.pos;
    const n = compact ? this.uvarint(field) - 1 : this.int32(field);
    if (n < 0) {
      if (n === -1 && nullable) return -1;
      throw new ProtocolError(n === -1 ? 'null array' : `array length ${n}`, field, at);
    }
    if (n > this.end - this.pos) {
      throw new ProtocolError(`array length ${n}, ${this.end - this.pos} bytes left`, field, at);
    }
    this.elements += n;
    if (this.elements > this.maxElements) {
      throw new ProtocolError(`more than ${this.maxElements} array elements in one message`, field, at);
    }
    return n;
  }

  uuid(field = 'uuid'): string {
    this.need(16, field);
    const h = this.buf.toString('hex', this.pos, this.pos + 16);
    this.pos += 16;
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  /** Skips a whole tagged-field section (the request header's, or any unknown one). */
  skipTaggedFields(field = 'taggedFields'): void {
    const count = this.uvarint(field);
    if (count > this.end - this.pos) {
      throw new ProtocolError(`tagged field count ${count}`, field, this.pos);
    }
    for (let i = 0; i < count; i++) {
      this.uvarint(field); // tag
      const size = this.uvarint(field);
      this.need(size, field);
      this.pos += size;
    }
  }
}

export interface Chunks {
  /** In order; together `length` bytes. */
  chunks: Buffer[];
  length: number;
}

export class Writer {
  private buf: Buffer;
  private pos = 0;
  /** Start of the scratch bytes not yet handed out as a chunk. */
  private start = 0;
  private readonly out: Buffer[] = [];
  /** Bytes in `out`. */
  private outLength = 0;

  constructor(capacity = 256) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.outLength + (this.pos - this.start);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const pending = this.pos - this.start;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, pending + n, 256));
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = pending;
  }

  int8(v: number): void {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos++);
  }

  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  int16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(v, this.pos);
  }

  uint16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeUInt16BE(v, this.pos);
  }

  int32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
  }

  uint32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v, this.pos);
  }

  int64(v: number): void {
    this.ensure(8);
    if (!Number.isInteger(v)) throw new ProtocolError(`int64 value ${v} is not an integer`, 'int64', -1);
    let hi: number;
    let lo: number;
    if (v >= INT64_LIMIT) {
      hi = 0x7fffffff;
      lo = 0xffffffff;
    } else if (v <= -INT64_LIMIT) {
      hi = -0x80000000;
      lo = 0;
    } else {
      hi = Math.floor(v / TWO_32);
      lo = v - hi * TWO_32;
    }
    this.buf.writeInt32BE(hi, this.pos);
    this.buf.writeUInt32BE(lo, this.pos + 4);
    this.pos += 8;
  }

  float64(v: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleBE(v, this.pos);
  }

  uvarint(v: number): void {
    if (!(v >= 0 && v <= 0xffffffff) || !Number.isInteger(v)) {
      throw new ProtocolError(`uvarint value ${v} out of range`, 'uvarint', -1);
    }
    this.ensure(5);
    const buf = this.buf;
    let p = this.pos;
    while (v >= 0x80) {
      buf[p++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[p++] = v;
    this.pos = p;
  }

  varint(v: number): void {
    this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  varlong(v: number): void {
    if (!Number.isSafeInteger(v)) throw new ProtocolError(`varlong value ${v}`, 'varlong', -1);
    this.ensure(10);
    let z = v >= 0 ? v * 2 : -v * 2 - 1; // zigzag, exact below 2^53
    const buf = this.buf;
    let p = this.pos;
    while (z >= 0x80) {
      buf[p++] = (z % 128) | 0x80;
      z = Math.floor(z / 128);
    }
    buf[p++] = z;
    this.pos = p;
  }

  /** int16-length string, or compact (uvarint length + 1); null as -1 / 0. */
  string(s: string | null, compact: boolean): void {
    if (s === null) {
      if (compact) this.uvarint(0);
      else this.int16(-1);
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    if (compact) this.uvarint(n + 1);
    else {
      if (n > 0x7fff) throw new ProtocolError(`string of ${n} bytes`, 'string', -1);
      this.int16(n);
    }
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }

  /** int32-length bytes, or compact; null as -1 / 0. Large values go by reference. */
  bytes(b: Uint8Array | null, compact: boolean): void {
    if (b === null) {
      if (compact) this.uvarint(0);
      else this.int32(-1);
      return;
    }
    if (compact) this.uvarint(b.length + 1);
    else this.int32(b.length);
    this.raw(b);
  }

  /** Appends bytes: copied when small, by reference from REF_THRESHOLD up. */
  raw(b: Uint8Array): void {
    if (b.length >= REF_THRESHOLD) {
      this.ref(b);
      return;
    }
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Appends `b` by reference: the caller must keep it unchanged until the chunks are sent. */
  ref(b: Uint8Array): void {
    if (b.length === 0) return;
    this.flush();
    const chunk = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
    this.out.push(chunk);
    this.outLength += chunk.length;
  }

  uuid(s: string): void {
    if (!UUID_RE.test(s)) throw new ProtocolError(`not a uuid: ${JSON.stringify(s)}`, 'uuid', -1);
    this.ensure(16);
    const hex = s.replace(/-/g, '');
    this.pos += this.buf.write(hex, this.pos, 16, 'hex');
  }

  /** Appends everything another Writer wrote (its chunks, by reference). */
  append(other: Writer): void {
    const { chunks } = other.finish();
    for (const c of chunks) {
      if (c.length < REF_THRESHOLD) this.raw(c);
      else this.ref(c);
    }
  }

  private flush(): void {
    if (this.pos > this.start) {
      const chunk = this.buf.subarray(this.start, this.pos);
      this.out.push(chunk);
      this.outLength += chunk.length;
      this.start = this.pos;
    }
  }

  /** The chunks written so far. The Writer may keep writing; later bytes are new chunks. */
  finish(): Chunks {
    this.flush();
    return { chunks: this.out.slice(), length: this.outLength };
  }

  /** Everything written, as one Buffer (a copy unless it is a single chunk). */
  toBuffer(): Buffer {
    const { chunks, length } = this.finish();
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
  }
}
