/**
 * Kafka request framing: an int32 (big-endian) size prefix, then that many bytes.
 *
 *   offset 0  int32  size   bytes that follow; a request header alone takes at least 8
 *   offset 4  bytes  frame  request header + body, `size` bytes
 *
 * A frame that lies whole in the chunks already received is returned without a copy (a
 * subarray of the chunk it lies in), so a stream of small frames costs no copy at all. A frame
 * still incomplete when next() is called is moved into a buffer of its own and the rest of it
 * is copied there as it arrives: each socket chunk is garbage as soon as it is copied, instead
 * of being held (and keeping its allocation alive) until the frame's last byte comes. next() is
 * called only once the frame's bytes are reserved in the request memory pool, so that buffer
 * is accounted for. Large frames get a resizable ArrayBuffer that grows as their bytes come,
 * and clear() hands it back to the OS at once (resize(0)) when the connection closes mid-frame,
 * instead of waiting for a garbage collection that an idle broker may not run for a long time.
 * Nothing is allocated from the size prefix alone: a hostile prefix costs nothing until the
 * bytes really come, and the prefix is checked against the limit as soon as its 4 bytes are here.
 *
 * Not thread-safe (one decoder per connection, used from the event loop only).
 */

const SIZE_PREFIX_BYTES = 4;
/** apiKey int16 + apiVersion int16 + correlationId int32: the smallest request header (v0). */
export const MIN_FRAME_BYTES = 8;
/**
 * Frames from this size up are assembled in a resizable ArrayBuffer, whose memory clear() can
 * return on the spot. Below it an ordinary allocation is cheaper: a resizable buffer is its own
 * mmap, so every frame in one touches fresh pages, and page faults on this machine cost about
 * 3 ns a byte (at 256 KiB, librdkafka's 1 MB produce requests doubled the broker's CPU per
 * record); malloc hands a steady stream of 1 MB frames the same, already mapped memory. Frames
 * this large are rare (the default request limit is 100 MiB) and are where a connection can
 * hold the most.
 */
export const RELEASABLE_FRAME_BYTES = 16 * 1024 * 1024;
/**
 * A releasable frame buffer starts this large (or as large as what is already here) and doubles
 * as bytes come, up to the frame's size: V8 counts a buffer's length as external memory and
 * collects garbage when that grows, so a buffer sized for a 100 MB claim up front would cost a
 * full GC per admitted frame, for bytes that may never come.
 */
const RELEASABLE_GROWTH_MIN = 1024 * 1024;

/** ES2024's resizable ArrayBuffer (Node 20 has it; the ES2022 lib this project builds with does not). */
interface ResizableArrayBuffer extends ArrayBuffer {
  resize(byteLength: number): void;
}
const ResizableArrayBuffer = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => ResizableArrayBuffer;

/** The size prefix is out of bounds: the stream cannot be trusted past this point. */
export class FrameSizeError extends Error {
  constructor(readonly size: number, readonly limit: number) {
    super(
      size > limit
        ? `request size ${size} exceeds the limit of ${limit} bytes (socket.request.max.bytes)`
        : `request size ${size} is too small for a request header (at least ${MIN_FRAME_BYTES} bytes)`,
    );
    this.name = 'FrameSizeError';
  }

  get tooLarge(): boolean {
    return this.size > this.limit;
  }
}

export class FrameDecoder {
  /** Unconsumed chunks; the first one is read from `headOffset`. */
  private chunks: Buffer[] = [];
  private headOffset = 0;
  private buffered = 0;
  /** Size of the frame being assembled, or -1 when its prefix is not parsed yet. */
  private size = -1;
  /** The incomplete frame being filled in place (see next()), and how much of it is filled. */
  private target: Uint8Array | null = null;
  private filled = 0;
  /** The target's memory when it is a releasable (resizable) buffer. */
  private releasable: ResizableArrayBuffer | null = null;

  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes received and not yet returned as frames (prefixes included). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.buffered += chunk.length;
    let rest = chunk;
    if (this.target !== null) {
      const n = Math.min(rest.length, this.size - this.filled);
      this.makeRoom(n);
      rest.copy(this.target, this.filled, 0, n);
      this.filled += n;
      if (n === rest.length) return;
      // The chunk also holds the start of the next frame(s).
      rest = rest.subarray(n);
    }
    this.chunks.push(rest);
  }

  /** True from a frame's first byte until it is returned: a partial frame (or prefix) is held. */
  get midFrame(): boolean {
    return this.buffered > 0 || this.size >= 0;
  }

  /**
   * Size of the next frame once its 4-byte prefix is in (the prefix is checked then), else -1.
   * Lets the caller reserve memory for a frame before reading the rest of it.
   * Throws FrameSizeError when the prefix is out of bounds; the decoder is useless after that.
   */
  nextSize(): number {
    if (this.size < 0 && this.buffered >= SIZE_PREFIX_BYTES) {
      const size = this.readPrefix();
      if (size < MIN_FRAME_BYTES || size > this.maxFrameBytes) throw new FrameSizeError(size, this.maxFrameBytes);
      this.size = size;
    }
    return this.size;
  }

  /**
   * The next complete frame (without its prefix), or null when more bytes are needed.
   * Throws FrameSizeError as nextSize() does.
   */
  next(): Buffer | null {
    const size = this.nextSize();
    if (size < 0) return null;
    let frame: Buffer;
    if (this.target !== null) {
      if (this.filled < size) return null;
      frame = this.releasable !== null ? Buffer.from(this.releasable, 0, size) : (this.target as Buffer);
      this.target = null;
      this.releasable = null; // handed out: only the GC may free it now
      this.filled = 0;
      this.buffered -= size;
    } else if (this.buffered >= size) {
      frame = this.take(size);
    } else {
      // Part of the frame is here: it is admitted (see the class comment), so give it its buffer.
      // With the prefix alone nothing is allocated yet: the body may never come.
      if (this.buffered > 0) this.startAssembly(size);
      return null;
    }
    this.size = -1;
    return frame;
  }

  /**
   * Drops everything; used when the connection closes. A partial frame's memory goes back to
   * the OS now (it was never handed out, so no view of it exists); chunks go at the next GC.
   */
  clear(): void {
    this.releasable?.resize(0);
    this.releasable = null;
    this.target = null;
    this.filled = 0;
    this.chunks = [];
    this.headOffset = 0;
    this.buffered = 0;
    this.size = -1;
  }

  /** Moves the bytes held (all of them belong to this frame) into a buffer of the frame's size. */
  private startAssembly(size: number): void {
    let target: Uint8Array;
    if (size >= RELEASABLE_FRAME_BYTES) {
      this.releasable = new ResizableArrayBuffer(0, { maxByteLength: size });
      target = new Uint8Array(this.releasable); // tracks the buffer's length as it grows
    } else {
      target = Buffer.allocUnsafe(size);
    }
    this.target = target;
    this.filled = 0;
    this.makeRoom(this.buffered);
    let filled = 0;
    let offset = this.headOffset;
    for (const chunk of this.chunks) {
      filled += chunk.copy(target, filled, offset);
      offset = 0;
    }
    this.chunks = [];
    this.headOffset = 0;
    this.filled = filled;
  }

  /** Grows a releasable target so that `bytes` more fit (see RELEASABLE_GROWTH_MIN). */
  private makeRoom(bytes: number): void {
    const rab = this.releasable;
    if (rab === null || this.filled + bytes <= rab.byteLength) return;
    rab.resize(Math.min(this.size, Math.max(this.filled + bytes, 2 * rab.byteLength, RELEASABLE_GROWTH_MIN)));
  }

  /** Consumes the 4-byte prefix, which may straddle chunks (a client may write byte by byte). */
  private readPrefix(): number {
    const head = this.chunks[0]!;
    if (head.length - this.headOffset >= SIZE_PREFIX_BYTES) {
      const size = head.readInt32BE(this.headOffset);
      this.advance(SIZE_PREFIX_BYTES);
      return size;
    }
    const bytes = this.take(SIZE_PREFIX_BYTES);
    return bytes.readInt32BE(0);
  }

  /** Removes `n` bytes (n <= buffered) from the front: a view when they lie in one chunk, else one copy. */
  private take(n: number): Buffer {
    const head = this.chunks[0]!;
    const inHead = head.length - this.headOffset;
    if (n <= inHead) {
      const view = head.subarray(this.headOffset, this.headOffset + n);
      this.advance(n);
      return view;
    }
    // Safe to allocate now: all n bytes have arrived, so n is bounded by what the client really sent.
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let used = 0; // whole chunks consumed
    let offset = this.headOffset;
    while (filled < n) {
      const chunk = this.chunks[used]!;
      const count = Math.min(chunk.length - offset, n - filled);
      chunk.copy(out, filled, offset, offset + count);
      filled += count;
      offset += count;
      if (offset === chunk.length) {
        used++;
        offset = 0;
      }
    }
    // One splice per frame, not one shift per chunk: joining a frame of k chunks stays O(k).
    this.chunks.splice(0, used);
    this.headOffset = offset;
    this.buffered -= n;
    return out;
  }

  private advance(n: number): void {
    this.headOffset += n;
    this.buffered -= n;
    if (this.headOffset === this.chunks[0]!.length) {
      this.chunks.shift();
      this.headOffset = 0;
    }
  }
}
