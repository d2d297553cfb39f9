/**
 * Moving bytes between threads without copying them.
 *
 * postMessage can hand an ArrayBuffer over (transfer: the sender's copy becomes empty) or
 * clone it. Cloning a Buffer clones its WHOLE ArrayBuffer, not just the view: a 100-byte
 * Buffer sliced from Node's 8 KiB allocation pool sends 8 KiB, a small view of a large
 * scratch sends all of it. And transferring is only safe when nobody else uses the
 * ArrayBuffer: the pool slab and module scratch are shared (Node ignores the pool slab in
 * a transfer list; a scratch would be detached under its owner).
 *
 * So: a Buffer that is exactly its ArrayBuffer (byteOffset 0, same length) is moved;
 * anything else is copied once into a Buffer that is, then moved, or (for inputs the caller
 * owns) cloned. External buffers (a mapped segment's views, some napi outputs) cannot be
 * detached: Node clones those whatever the transfer list says, so a view never leaves its
 * mapping. Stateless and thread-safe.
 */
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { move } from 'piscina';

/** True when `buf` is the whole of its ArrayBuffer, so moving it moves nothing else. */
export function ownsArrayBuffer(buf: Uint8Array): boolean {
  return buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength && !isShared(buf.buffer);
}

function isShared(ab: ArrayBufferLike): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && ab instanceof SharedArrayBuffer;
}

/** The transfer list for an input: its ArrayBuffer when it may go, else none (it is cloned). */
export function transferListFor(...bufs: Uint8Array[]): ArrayBuffer[] {
  const list: ArrayBuffer[] = [];
  for (const b of bufs) if (b.byteLength > 0 && ownsArrayBuffer(b)) list.push(b.buffer as ArrayBuffer);
  return list;
}

/** A Buffer that owns its whole ArrayBuffer: `buf` itself, or one copy of it. */
export function owned(buf: Buffer): Buffer {
  return ownsArrayBuffer(buf) ? buf : copied(buf);
}

/** A copy of `buf` that owns its whole ArrayBuffer, for bytes the caller keeps using. */
export function copied(buf: Buffer): Buffer {
  const out = Buffer.allocUnsafeSlow(buf.length);
  buf.copy(out, 0);
  return out;
}

// A channel within the thread, to turn a buffer that cannot be detached into one that can.
let probe: MessageChannel | null = null;

/**
 * `buf` as a Buffer whose ArrayBuffer can be transferred. napi addons (lz4-napi's
 * decoder, for one) return external buffers, which postMessage silently clones instead of
 * moving: the copy would then be made twice, once here and once more, on the main thread,
 * when it is deserialized. Posting it to ourselves first settles it where it is cheap: a
 * plain ArrayBuffer comes back moved (no copy), an external one comes back as a copy.
 * Nothing in JavaScript (Node 20) tells the two apart without trying.
 */
export function detachable(buf: Buffer): Buffer {
  const own = owned(buf);
  if (own.length === 0) return own;
  if (probe === null) {
    probe = new MessageChannel();
    probe.port1.unref();
    probe.port2.unref();
  }
  probe.port1.postMessage(own, [own.buffer as ArrayBuffer]);
  return asBuffer(receiveMessageOnPort(probe.port2)!.message as Uint8Array);
}

/** A worker's Buffer result, marked for Piscina to move rather than clone. */
export function moveResult(buf: Buffer): Buffer {
  // Piscina.move returns a wrapper the worker loop unwraps; typed as the value it carries.
  return move(detachable(buf)) as unknown as Buffer;
}

/** Re-wraps bytes that came through postMessage (a Uint8Array) as a Buffer, no copy. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
