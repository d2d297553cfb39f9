/**
 * One client connection: frames in, handler calls, responses out in request order.
 *
 * Many requests may be in flight at once (Kafka clients pipeline); handlers finish in any
 * order but responses leave strictly in request order, through a queue of slots, one per
 * dispatched request. Reading pauses (socket.pause) while the connection has too much
 * outstanding: maxInFlight requests dispatched and not yet written, more than
 * maxQueuedResponseBytes of responses not yet sent, or a socket write that asked us to wait
 * for 'drain', or the server-wide request memory pool cannot hold the next frame. Frames
 * already received stay undispatched in the decoder meanwhile, so a client that never reads
 * its responses costs a bounded amount of memory.
 *
 * A request that cannot be answered (a bad size prefix, a header that does not decode, a
 * handler that fails) closes the connection, as in Kafka, but only after the responses to every
 * request before it are written: a client that pipelines a good request and a bad one in the
 * same write still gets its good answer. Nothing after the bad request is read or answered.
 *
 * Not thread-safe; every method runs on the event loop. No method throws to its caller:
 * socket callbacks and handler continuations catch everything and close the connection.
 */
import type { Socket } from 'node:net';
import { FrameDecoder, FrameSizeError } from './framing.js';
import type { PoolWaiter, RequestMemoryPool } from './memory-pool.js';
import type { ConnectionInfo, Handler, Logger, RejectionCounts, RequestContext, Response, ServerConfig } from './types.js';

/** Header fields the server needs; the protocol codec's decodeRequestHeader returns these. */
export interface DecodedHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  headerLength: number;
}

export type HeaderDecoder = (frame: Buffer) => DecodedHeader;

/** Server-wide counters the connections add to, so stats() is O(1) for the totals. */
export interface Counters {
  inFlight: number;
  requests: number;
  responses: number;
  bytesIn: number;
  bytesOut: number;
  rejected: RejectionCounts;
}

/** One dispatched request waiting for its turn to be answered. */
interface Slot {
  done: boolean;
  response: Response | null;
  length: number;
  /** Bytes of the request memory pool this request holds until its response is written. */
  reserved: number;
}

/** Largest response a 4-byte signed size prefix can describe. */
const MAX_RESPONSE_BYTES = 0x7fffffff;
/** After a bad request, how long the peer has to take our last responses and close its side. */
const CLOSE_AFTER_FAILURE_GRACE_MS = 5000;
/** ...and how much more it may send meanwhile (read and dropped) before we reset instead. */
const DISCARD_AFTER_FAILURE_BYTES = 1024 * 1024;

export class Connection {
  readonly info: ConnectionInfo;
  private readonly decoder: FrameDecoder;
  private readonly abort = new AbortController();
  /** Dispatched requests in order; the head is the next response to write. */
  private slots: Slot[] = [];
  /** Bytes of completed responses still in `slots` (not yet handed to the socket). */
  private queuedBytes = 0;
  /** socket.write returned false: hold further writes until 'drain'. */
  private writeBlocked = false;
  private paused = false;
  private pumping = false;
  /** close() of the server: answer what is in flight, read nothing more, then end. */
  private draining = false;
  private closing = false;
  /** Pool bytes reserved for the frame whose size prefix has been read. */
  private reservedForNext = 0;
  /** Set while waiting for the pool to grant the next frame's bytes; reading is paused meanwhile. */
  private memoryWaiter: PoolWaiter | null = null;
  /** After a bad request: how many slots (from the head) still get their answer before closing; -1: none. */
  private closeBefore = -1;
  /** Responses handed to the socket, and bytes read and dropped while closing after a failure. */
  private written = 0;
  private discarded = 0;
  /** When the frame now being assembled started (0: none), for requestTimeoutMs. */
  private frameStartedAt = 0;
  /** Last complete request or response written, for idleTimeoutMs. */
  private lastActiveAt: number;

  constructor(
    private readonly socket: Socket,
    id: number,
    private readonly handler: Handler,
    private readonly decodeHeader: HeaderDecoder,
    private readonly config: ServerConfig,
    private readonly counters: Counters,
    private readonly pool: RequestMemoryPool,
    private readonly onClosed: (c: Connection) => void,
  ) {
    this.info = { id, remoteAddress: socket.remoteAddress ?? '?', remotePort: socket.remotePort ?? 0 };
    this.decoder = new FrameDecoder(config.maxRequestBytes);
    this.lastActiveAt = performance.now();
    socket.setNoDelay(true); // responses are whole frames already; Nagle only adds latency
    socket.on('data', (chunk: Buffer) => this.guard(() => this.onData(chunk)));
    socket.on('drain', () => this.guard(() => this.onDrain()));
    socket.on('error', (err: NodeJS.ErrnoException) => this.log('debug', { err: err.message, code: err.code }, 'socket error'));
    socket.on('close', () => this.guard(() => this.onClose()));
  }

  /** Response bytes waiting here or in the socket's own buffer. */
  get queuedResponseBytes(): number {
    return this.queuedBytes + (this.closing ? 0 : this.socket.writableLength);
  }

  get bufferedRequestBytes(): number {
    return this.decoder.bufferedBytes;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Called by the server's sweep: closes a stalled or idle connection. */
  checkTimeouts(now: number): void {
    if (this.closing) return;
    // A frame we hold back ourselves (paused) is not the client's stall.
    if (!this.paused && this.frameStartedAt > 0 && now - this.frameStartedAt > this.config.requestTimeoutMs) {
      this.counters.rejected.requestTimeout++;
      this.destroy('warn', { bufferedBytes: this.decoder.bufferedBytes, requestTimeoutMs: this.config.requestTimeoutMs }, 'request frame incomplete within the request timeout: closing connection');
      return;
    }
    const quiet = this.slots.length === 0 && !this.decoder.midFrame && this.socket.writableLength === 0;
    if (quiet && now - this.lastActiveAt > this.config.idleTimeoutMs) {
      this.counters.rejected.idleTimeout++;
      this.destroy('debug', { idleTimeoutMs: this.config.idleTimeoutMs }, 'idle connection: closing');
    }
  }

  /** Server shutdown: stop reading, let dispatched requests finish and flush, then end the socket. */
  drain(): void {
    if (this.closing || this.draining) return;
    this.draining = true;
    this.updateFlow();
    this.endIfDrained();
  }

  /** Closes at once, dropping anything unsent. */
  destroy(level: 'warn' | 'debug', o: object, message: string): void {
    if (this.closing) return;
    this.closing = true;
    this.log(level, o, message);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closing) {
      // Closing after a bad request: a peer that keeps sending is reset rather than read on.
      if (this.closeBefore === 0 && (this.discarded += chunk.length) > DISCARD_AFTER_FAILURE_BYTES) this.socket.destroy();
      return;
    }
    this.counters.bytesIn += chunk.length;
    this.decoder.push(chunk);
    this.pump();
  }

  /** Dispatches every complete frame that backpressure allows. Re-entrant calls are no-ops. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    let dispatched = false;
    try {
      while (!this.closing && !this.mustHoldBack()) {
        let frame: Buffer | null;
        try {
          const size = this.decoder.nextSize();
          if (size < 0) break;
          if (this.reservedForNext === 0 && !this.reserve(size)) break;
          frame = this.decoder.next();
        } catch (err) {
          if (!(err instanceof FrameSizeError)) throw err;
          if (err.tooLarge) this.counters.rejected.frameTooLarge++;
          else this.counters.rejected.frameTooSmall++;
          this.failAt(this.slots.length, { size: err.size, limit: err.limit }, `invalid request size: closing connection (${err.message})`);
          return;
        }
        if (frame === null) break;
        dispatched = true;
        const reserved = this.reservedForNext;
        this.reservedForNext = 0;
        this.dispatch(frame, reserved);
      }
    } finally {
      this.pumping = false;
    }
    if (this.closing) return;
    const now = performance.now();
    if (!this.decoder.midFrame) this.frameStartedAt = 0;
    else if (dispatched || this.frameStartedAt === 0) this.frameStartedAt = now;
    this.updateFlow();
  }

  /**
   * Reserves `size` bytes of the pool for the next frame, or queues for them and returns false
   * (reading pauses until the grant). The grant resumes in a microtask, not inside the release
   * that made it: a chain of waiters must not become a chain of nested calls.
   */
  private reserve(size: number): boolean {
    if (this.pool.tryReserve(size)) {
      this.reservedForNext = size;
      return true;
    }
    const waiter: PoolWaiter = {
      bytes: size,
      grant: () => {
        this.memoryWaiter = null;
        this.reservedForNext = size;
        queueMicrotask(() => this.guard(() => this.updateFlow()));
      },
    };
    this.memoryWaiter = waiter;
    this.pool.wait(waiter);
    return false;
  }

  private dispatch(frame: Buffer, reserved: number): void {
    let header: DecodedHeader;
    try {
      header = this.decodeHeader(frame);
    } catch (err) {
      this.pool.release(reserved);
      this.counters.rejected.badHeader++;
      this.failAt(this.slots.length, { err: errorMessage(err), frameBytes: frame.length }, 'malformed request header: closing connection');
      return;
    }
    this.counters.requests++;
    this.counters.inFlight++;
    this.lastActiveAt = performance.now();
    const slot: Slot = { done: false, response: null, length: 0, reserved };
    this.slots.push(slot);
    const ctx: RequestContext = {
      apiKey: header.apiKey,
      apiVersion: header.apiVersion,
      correlationId: header.correlationId,
      clientId: header.clientId,
      frame,
      headerLength: header.headerLength,
      connection: this.info,
      signal: this.abort.signal,
    };
    let result: ReturnType<Handler>;
    try {
      result = this.handler(ctx);
      if (isPromiseLike(result)) {
        // Both continuations are guarded: an exception thrown inside them would otherwise be
        // an unhandled rejection, which ends a Node process.
        result.then(
          (response) => this.guard(() => this.complete(slot, response, header)),
          (err: unknown) => this.guard(() => this.handlerFailed(slot, err, header)),
        );
        return;
      }
    } catch (err) {
      this.handlerFailed(slot, err, header);
      return;
    }
    this.complete(slot, result, header);
  }

  private complete(slot: Slot, response: Response | null, header: DecodedHeader): void {
    // A hand-made thenable could call back twice; only the first answer counts.
    if (this.closing || slot.done) return;
    if (response !== null) {
      const length = responseLength(response);
      if (length < 0) {
        this.handlerFailed(slot, new Error('handler returned an invalid response (chunks must be Buffers whose lengths sum to length, at most 2^31-1 bytes)'), header);
        return;
      }
      slot.response = response;
      slot.length = length;
      this.queuedBytes += length;
    }
    slot.done = true;
    this.flush();
  }

  private handlerFailed(slot: Slot, err: unknown, header: DecodedHeader): void {
    if (this.closing || slot.done) return;
    slot.done = true; // never answered; a late second callback is ignored
    this.counters.rejected.handlerError++;
    this.failAt(
      this.slots.indexOf(slot),
      { err: errorMessage(err), stack: err instanceof Error ? err.stack : undefined, apiKey: header.apiKey, apiVersion: header.apiVersion, correlationId: header.correlationId, clientId: header.clientId },
      'request handler failed: closing connection',
    );
  }

  /**
   * The request at `index` in `slots` (or the next one, when index is slots.length) cannot be
   * answered: stop reading, answer the ones before it in order, then close (see flush()).
   */
  private failAt(index: number, o: object, message: string): void {
    this.log('warn', o, message);
    this.closeBefore = this.closeBefore < 0 ? index : Math.min(this.closeBefore, index);
    this.flush();
  }

  /**
   * Ends the socket after a bad request, once the answers before it are handed to the socket:
   * end() sends them, then FIN. Reading resumes (and discards) so the peer's FIN is seen, since
   * closing with unread bytes would reset the connection and could lose those answers; a peer
   * that goes on sending, or never closes its side, is reset. A connection that never got an
   * answer has nothing to lose and is reset at once, as before.
   */
  private endAfterFailure(): void {
    this.closing = true;
    if (this.written === 0) {
      this.socket.destroy(); // nothing of ours to deliver: no reason to read what the peer sends
      return;
    }
    this.socket.end();
    this.socket.resume();
    const timer = setTimeout(() => this.socket.destroy(), CLOSE_AFTER_FAILURE_GRACE_MS);
    timer.unref();
    this.socket.once('close', () => clearTimeout(timer));
  }

  /** Writes completed responses from the head of the queue, in order, until one is still pending. */
  private flush(): void {
    while (!this.closing && !this.writeBlocked && this.closeBefore !== 0 && this.slots.length > 0 && this.slots[0]!.done) {
      const slot = this.slots.shift()!;
      if (this.closeBefore > 0) this.closeBefore--;
      this.counters.inFlight--;
      this.pool.release(slot.reserved);
      if (slot.response !== null) {
        this.queuedBytes -= slot.length;
        this.write(slot.response, slot.length);
      }
    }
    if (this.closing) return;
    if (this.closeBefore === 0) {
      this.endAfterFailure();
      return;
    }
    this.updateFlow();
    this.endIfDrained();
  }

  /**
   * Size prefix + chunks under one cork: on uncork the socket hands all of them to the kernel in
   * a single writev, so a Fetch response's views of segment mappings are never joined or copied.
   */
  private write(response: Response, length: number): void {
    const prefix = Buffer.allocUnsafe(4);
    prefix.writeInt32BE(length, 0);
    const socket = this.socket;
    socket.cork();
    let ok = socket.write(prefix);
    for (const chunk of response.chunks) if (chunk.length > 0) ok = socket.write(chunk);
    socket.uncork();
    this.written++;
    this.counters.responses++;
    this.counters.bytesOut += 4 + length;
    this.lastActiveAt = performance.now();
    if (!ok) this.writeBlocked = true;
  }

  private onDrain(): void {
    if (this.closing) return;
    this.writeBlocked = false;
    this.lastActiveAt = performance.now();
    this.flush();
  }

  /** True while reading must stop: too much outstanding, or the server is shutting down. */
  private mustHoldBack(): boolean {
    return (
      this.draining ||
      this.closeBefore >= 0 ||
      this.writeBlocked ||
      this.memoryWaiter !== null ||
      this.slots.length >= this.config.maxInFlightPerConnection ||
      this.queuedBytes + this.socket.writableLength > this.config.maxQueuedResponseBytes
    );
  }

  /** Pauses or resumes the socket to match mustHoldBack(); on resume, dispatches frames held back. */
  private updateFlow(): void {
    if (this.closing) return;
    const hold = this.mustHoldBack();
    if (hold && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!hold && this.paused) {
      this.paused = false;
      // A partial frame held while paused gets a fresh deadline: the wait was ours, not the client's.
      if (this.frameStartedAt > 0) this.frameStartedAt = performance.now();
      this.socket.resume();
      this.pump();
    }
  }

  private endIfDrained(): void {
    if (this.draining && !this.closing && this.slots.length === 0) {
      this.closing = true;
      this.log('debug', {}, 'connection drained: ending');
      // end() flushes what the socket still buffers, then sends FIN. Reading resumes (and
      // discards, as closing is set) so the peer's FIN is seen and 'close' follows; closing
      // with unread bytes instead would send RST, and the peer could lose our last responses.
      this.socket.end();
      this.socket.resume();
    }
  }

  private onClose(): void {
    this.closing = true;
    this.counters.inFlight -= this.slots.length;
    let reserved = this.reservedForNext;
    for (const slot of this.slots) reserved += slot.reserved;
    this.slots = [];
    this.reservedForNext = 0;
    if (this.memoryWaiter !== null) this.pool.cancel(this.memoryWaiter);
    this.memoryWaiter = null;
    this.pool.release(reserved);
    this.queuedBytes = 0;
    this.decoder.clear();
    this.abort.abort(new Error(`connection ${this.info.id} closed`));
    this.log('debug', {}, 'connection closed');
    this.onClosed(this);
  }

  /** Runs a socket or promise callback; whatever it throws closes this connection, never the process. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      try {
        this.closing = true;
        this.log('warn', { err: errorMessage(err), stack: err instanceof Error ? err.stack : undefined }, 'internal error on connection: closing');
        this.socket.destroy();
      } catch {
        // Nothing more can be done for this socket; the process must live on.
      }
    }
  }

  private log(level: 'info' | 'warn' | 'debug', o: object, message: string): void {
    const logger = this.config.logger;
    const fields = { connectionId: this.info.id, remoteAddress: this.info.remoteAddress, remotePort: this.info.remotePort, ...o };
    try {
      if (level === 'debug') logger.debug?.(fields, message);
      else logger[level](fields, message);
    } catch {
      // A broken logger must not take the connection (or the process) down.
    }
  }
}

/** Sum of the chunk lengths if the response is well formed and matches its length, else -1. */
function responseLength(response: Response): number {
  if (response === null || typeof response !== 'object' || !Array.isArray(response.chunks)) return -1;
  let sum = 0;
  for (const chunk of response.chunks) {
    if (!Buffer.isBuffer(chunk)) return -1;
    sum += chunk.length;
  }
  return sum === response.length && sum <= MAX_RESPONSE_BYTES ? sum : -1;
}

function isPromiseLike(value: unknown): value is PromiseLike<Response | null> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
