/**
 * Kafka request framing: an int32 (big-endian) size prefix, then that many bytes.
 *
 *   offset 0  int32  size   bytes that follow; a request header alone takes at least 8
 *   offset 4  bytes  frame  request header + body, `size` bytes
 *
 * The decoder keeps the socket's chunks in a list and never concatenates on arrival, so a
 * stream of small frames costs no copy at all (each frame is a subarray of the chunk it lies
 * in) and a frame spread over many chunks is copied exactly once, when its last byte arrives.
 * Nothing is allocated from the size prefix: a hostile prefix costs nothing until the bytes
 * really come, and the prefix is checked against the limit as soon as its 4 bytes are here.
 *
 * Not thread-safe (one decoder per connection, used from the event loop only).
 */

const SIZE_PREFIX_BYTES = 4;
/** apiKey int16 + apiVersion int16 + correlationId int32: the smallest request header (v0). */
export const MIN_FRAME_BYTES = 8;

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

  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes received and not yet returned as frames (prefixes included). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
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
    if (size < 0 || this.buffered < size) return null;
    const frame = this.take(size);
    this.size = -1;
    return frame;
  }

  /** Drops everything; used when the connection closes so held chunks can be collected. */
  clear(): void {
    this.chunks = [];
    this.headOffset = 0;
    this.buffered = 0;
    this.size = -1;
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
