/**
 * The contract between the TCP server and the layer above it: frames in, frames out.
 * The server owns sockets, framing, ordering, backpressure and limits; it never looks at a
 * request or response body.
 */

/** Who is on the other end of a connection; stable for the connection's life, used in logs. */
export interface ConnectionInfo {
  /** Unique per server, counting from 1 in order of acceptance. */
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** One decoded request header plus the whole frame, handed to the handler. */
export interface RequestContext {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  /**
   * The whole request after the 4-byte size prefix. Usually a zero-copy view of a socket read
   * buffer: the handler may keep it (it keeps that read buffer alive) but must not write to it.
   */
  readonly frame: Buffer;
  /** Bytes of `frame` taken by the request header; the body starts here. */
  readonly headerLength: number;
  readonly connection: ConnectionInfo;
  /** Aborted when the connection closes, so long polls (Fetch, JoinGroup) can give up early. */
  readonly signal: AbortSignal;
}

/**
 * A response as the handler built it: response header + body, WITHOUT the size prefix.
 * `chunks` go to the socket as they are (one writev), so large views of segment mappings are
 * never copied; `length` must equal the sum of the chunk lengths.
 */
export interface Response {
  readonly chunks: readonly Buffer[];
  readonly length: number;
}

/** `null` means "send nothing" (Produce with acks=0); the order of later responses holds. */
export type Handler = (ctx: RequestContext) => Promise<Response | null> | Response | null;

export interface Logger {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
  debug?(o: object, m: string): void;
}

export interface ServerOptions {
  /** Interface to bind; default '127.0.0.1'. */
  host?: string;
  /** Default 9092; 0 picks a free port (see `listen()`'s result). */
  port?: number;
  /** Kafka's socket.request.max.bytes: a larger size prefix closes the connection. Default 100 MiB. */
  maxRequestBytes?: number;
  /** Connections beyond this are closed as soon as they are accepted. Default 10000. */
  maxConnections?: number;
  /** Kafka's connections.max.idle.ms: no request, nothing in flight for this long closes. Default 600000. */
  idleTimeoutMs?: number;
  /** A request frame that started must complete within this, or the connection closes. Default 30000. */
  requestTimeoutMs?: number;
  /** Requests decoded but not yet answered, per connection; reading stops at this. Default 100. */
  maxInFlightPerConnection?: number;
  /** Reading stops while a connection's unsent response bytes exceed this. Default 64 MiB. */
  maxQueuedResponseBytes?: number;
  /**
   * Kafka's queued.max.request.bytes, for the whole server: bytes of requests being received or
   * not yet answered. A connection whose next frame does not fit stops reading until it does
   * (a frame larger than this is let in when nothing else is held). Default 512 MiB.
   */
  maxQueuedRequestBytes?: number;
  /** Default: silent. */
  logger?: Logger;
}

/** Resolved options, every field present. */
export type ServerConfig = Required<Omit<ServerOptions, 'logger'>> & { logger: Logger };

/** Why the server refused or closed connections, counted since it started. */
export interface RejectionCounts {
  /** Accepted over maxConnections and closed at once. */
  maxConnections: number;
  /** Size prefix above maxRequestBytes. */
  frameTooLarge: number;
  /** Size prefix negative or too small to hold a request header. */
  frameTooSmall: number;
  /** decodeRequestHeader threw. */
  badHeader: number;
  /** The handler threw or returned something that is not a valid response. */
  handlerError: number;
  /** A frame started and did not complete within requestTimeoutMs. */
  requestTimeout: number;
  /** Nothing happened for idleTimeoutMs. */
  idleTimeout: number;
}

export interface ServerStats {
  /** Open connections now. */
  connections: number;
  /** Connections accepted since start (including those refused over maxConnections). */
  accepted: number;
  /** Requests dispatched to the handler and not yet written back (or dropped), all connections. */
  inFlight: number;
  /** Request memory pool in use: sizes of requests being received or not yet answered. */
  queuedRequestBytes: number;
  /** Connections waiting for room in the request memory pool. */
  waitingForMemory: number;
  /** Response bytes complete but not yet handed to a socket, plus bytes sockets still buffer. */
  queuedResponseBytes: number;
  /** Request bytes received and held, not yet dispatched (partial frames, frames held back). */
  bufferedRequestBytes: number;
  /** Connections whose socket reading is paused by backpressure now. */
  pausedConnections: number;
  /** Requests dispatched to the handler since start. */
  requests: number;
  /** Responses written since start (null responses are not counted). */
  responses: number;
  bytesIn: number;
  bytesOut: number;
  rejected: RejectionCounts;
}

/** Options of `close()`. */
export interface CloseOptions {
  /** How long in-flight requests may take to finish and flush before sockets are destroyed. Default 5000. */
  graceMs?: number;
}
