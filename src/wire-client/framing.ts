/**
 * Splits a byte stream into size-prefixed frames (int32 size | frame). Chunks are joined once
 * per frame, when the whole frame is there, so a large fetch response costs one copy, not
 * one per TCP read. Not thread-safe (one per socket).
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Size of the frame being collected, or -1 while its size prefix is incomplete. */
  private need = -1;

  constructor(
    private readonly onFrame: (frame: Buffer) => void,
    private readonly maxFrameBytes: number,
  ) {}

  push(data: Buffer): void {
    this.chunks.push(data);
    this.buffered += data.length;
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 4) return;
        const head = this.take(4);
        const size = head.readInt32BE(0);
        if (size < 0 || size > this.maxFrameBytes) {
          throw new RangeError(`response frame of ${size} bytes (limit ${this.maxFrameBytes})`);
        }
        this.need = size;
      }
      if (this.buffered < this.need) return;
      const frame = this.take(this.need);
      this.need = -1;
      this.onFrame(frame);
    }
  }

  /** Removes and returns the first n buffered bytes (n <= buffered). */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - at);
        c.copy(out, at, 0, k);
        at += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }
}
