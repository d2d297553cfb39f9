/**
 * Cheap Buffer views for the record reader. `buf.subarray` costs ~65-75 ns on Node 20 (the
 * species lookup, the `buffer` getter and argument handling around the typed-array
 * constructor); constructing a view directly over an ArrayBuffer whose `buffer` and
 * `byteOffset` were read once per batch skips all of that. ViewBuffer is a Uint8Array
 * subclass with Buffer's prototype, made the way Node makes its own Buffers (its internal
 * FastBuffer), so views are Buffers in every respect: `instanceof Buffer`, Buffer.isBuffer,
 * every Buffer method, and `constructor === Buffer`.
 */
export class ViewBuffer extends Uint8Array {}
Object.setPrototypeOf(ViewBuffer.prototype, Buffer.prototype);
// As on Node's own Buffers: subarray / map / filter on a view make ordinary Buffers.
Object.defineProperty(ViewBuffer.prototype, 'constructor', { value: Buffer, writable: true, configurable: true });

/** The memory under `buf`, for making views of it with `new ViewBuffer(memory, base + start, length)`. */
export function memoryOf(buf: Uint8Array): ArrayBuffer {
  return buf.buffer as ArrayBuffer;
}
