/**
 * KafkaServer: accepts TCP connections speaking Kafka's wire protocol, hands each complete
 * request frame to a Handler and writes back what it returns, in request order.
 *
 * The server owns what is common to every request: framing, pipelining, backpressure, limits
 * (connection count, request size, idle and stalled connections) and a graceful close. It never
 * reads a body; the handler layer above decodes requests and maps known errors to Kafka error
 * responses. An exception reaching this layer (a failed header decode, a handler that throws)
 * closes that one connection and is logged; it never escapes into the process.
 *
 * Not thread-safe; use from the event loop that created it.
 */
import net from 'node:net';
import { decodeRequestHeader } from '../protocol/header.js';
import { Connection, type Counters } from './connection.js';
import { keepRequestMemoryMapped } from './malloc-thresholds.js';
import { RequestMemoryPool } from './memory-pool.js';
import type { CloseOptions, Handler, Logger, ServerConfig, ServerOptions, ServerStats } from './types.js';

const MiB = 1024 * 1024;

const DEFAULTS = {
  host: '127.0.0.1',
  port: 9092,
  maxRequestBytes: 100 * MiB,
  maxConnections: 10_000,
  idleTimeoutMs: 600_000,
  requestTimeoutMs: 30_000,
  maxInFlightPerConnection: 100,
  maxQueuedResponseBytes: 64 * MiB,
  maxQueuedRequestBytes: 512 * MiB,
} as const;

const SILENT: Logger = { info() {}, warn() {} };

/** The sweep runs this often relative to the shortest timeout, within these bounds. */
const SWEEP_MIN_MS = 10;
const SWEEP_MAX_MS = 1000;

type State = 'new' | 'listening' | 'closing' | 'closed';

export class KafkaServer {
  private readonly config: ServerConfig;
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  private readonly pool: RequestMemoryPool;
  private readonly counters: Counters = {
    inFlight: 0,
    requests: 0,
    responses: 0,
    bytesIn: 0,
    bytesOut: 0,
    rejected: { maxConnections: 0, frameTooLarge: 0, frameTooSmall: 0, badHeader: 0, handlerError: 0, requestTimeout: 0, idleTimeout: 0 },
  };
  private accepted = 0;
  private nextId = 1;
  private state: State = 'new';
  private bound: { host: string; port: number } | null = null;
  private sweepTimer: NodeJS.Timeout | undefined;
  private closePromise: Promise<void> | undefined;
  /** Woken whenever a connection closes, so close() can wait for the last one. */
  private onConnectionGone: (() => void) | undefined;

  constructor(
    private readonly handler: Handler,
    options: ServerOptions = {},
  ) {
    if (typeof handler !== 'function') throw new TypeError('KafkaServer needs a handler function');
    this.config = resolveOptions(options);
    this.pool = new RequestMemoryPool(this.config.maxQueuedRequestBytes);
    // pauseOnConnect: a socket refused over maxConnections never reads a byte.
    this.server = net.createServer({ pauseOnConnect: true });
    this.server.on('connection', (socket) => this.guard(() => this.onConnection(socket)));
    this.server.on('error', (err) => this.log('warn', { err: err.message }, 'server socket error'));
  }

  /** Binds and starts accepting. Resolves with the bound address (the real port when port is 0). */
  async listen(): Promise<{ host: string; port: number }> {
    if (this.state !== 'new') throw new Error(`KafkaServer.listen(): server is already ${this.state}`);
    this.state = 'listening';
    keepRequestMemoryMapped(); // request buffers reuse mapped pages: fewer page faults per request
    const { host, port } = this.config;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        this.state = 'closed';
        reject(err);
      };
      this.server.once('error', onError);
      this.server.listen({ host, port }, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    if (this.state !== 'listening') {
      // close() came while binding: honour it rather than leave a socket listening.
      this.server.close();
      throw new Error('KafkaServer.listen(): closed while starting');
    }
    const addr = this.server.address() as net.AddressInfo;
    this.bound = { host: addr.address, port: addr.port };
    const sweepMs = Math.max(SWEEP_MIN_MS, Math.min(SWEEP_MAX_MS, Math.min(this.config.idleTimeoutMs, this.config.requestTimeoutMs) / 4));
    this.sweepTimer = setInterval(() => this.guard(() => this.sweep()), sweepMs);
    this.sweepTimer.unref(); // the listening socket keeps the process alive, not this timer
    this.log('info', { ...this.bound }, 'listening');
    return { ...this.bound };
  }

  /** The bound address while listening, else null. */
  get address(): { host: string; port: number } | null {
    return this.state === 'listening' && this.bound !== null ? { ...this.bound } : null;
  }

  stats(): ServerStats {
    let queuedResponseBytes = 0;
    let bufferedRequestBytes = 0;
    let pausedConnections = 0;
    for (const c of this.connections) {
      queuedResponseBytes += c.queuedResponseBytes;
      bufferedRequestBytes += c.bufferedRequestBytes;
      if (c.isPaused) pausedConnections++;
    }
    const k = this.counters;
    return {
      connections: this.connections.size,
      accepted: this.accepted,
      inFlight: k.inFlight,
      queuedRequestBytes: this.pool.used,
      waitingForMemory: this.pool.waiting,
      queuedResponseBytes,
      bufferedRequestBytes,
      pausedConnections,
      requests: k.requests,
      responses: k.responses,
      bytesIn: k.bytesIn,
      bytesOut: k.bytesOut,
      rejected: { ...k.rejected },
    };
  }

  /**
   * Stops accepting, lets every dispatched request finish and its response flush, ends the
   * sockets; after graceMs destroys whatever is left. Frames received but not yet dispatched
   * are dropped (the client sees the connection close and retries elsewhere). Idempotent.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.closePromise ??= this.doClose(options.graceMs ?? 5000);
    return this.closePromise;
  }

  private async doClose(graceMs: number): Promise<void> {
    const wasListening = this.state === 'listening';
    this.state = 'closing';
    clearInterval(this.sweepTimer);
    const stopped = wasListening ? new Promise<void>((resolve) => this.server.close(() => resolve())) : Promise.resolve();
    for (const c of this.connections) c.drain();
    if (this.connections.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, graceMs));
      });
      await Promise.race([this.allGone(), graceOver]);
      clearTimeout(timer);
      if (this.connections.size > 0) {
        this.log('warn', { connections: this.connections.size, graceMs }, 'close: grace period over, destroying remaining connections');
        for (const c of this.connections) c.destroy('debug', {}, 'close: destroyed after grace period');
        await this.allGone();
      }
    }
    await stopped;
    this.state = 'closed';
    const k = this.counters;
    this.log('info', { requests: k.requests, responses: k.responses, bytesIn: k.bytesIn, bytesOut: k.bytesOut }, 'closed');
  }

  /** Resolves once no connection is left (each closes asynchronously, on its socket's 'close'). */
  private allGone(): Promise<void> {
    if (this.connections.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.onConnectionGone = () => {
        if (this.connections.size === 0) {
          this.onConnectionGone = undefined;
          resolve();
        }
      };
    });
  }

  private onConnection(socket: net.Socket): void {
    this.accepted++;
    // Until a Connection owns it, an error on this socket must still have a listener.
    socket.on('error', () => {});
    if (this.state !== 'listening') {
      socket.destroy(); // accepted in the same tick as close(): too late to serve
      return;
    }
    if (this.connections.size >= this.config.maxConnections) {
      this.counters.rejected.maxConnections++;
      this.log('warn', { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, maxConnections: this.config.maxConnections }, 'connection refused: too many connections');
      socket.destroy();
      return;
    }
    let connection: Connection;
    try {
      connection = new Connection(socket, this.nextId++, this.handler, decodeRequestHeader, this.config, this.counters, this.pool, (c) => {
        this.connections.delete(c);
        this.onConnectionGone?.();
      });
    } catch (err) {
      socket.destroy(); // e.g. the peer reset before we could read its address
      throw err;
    }
    this.connections.add(connection);
    this.log('debug', { ...connection.info }, 'connection accepted');
    socket.resume();
  }

  /** Closes connections that stalled mid-frame or stayed idle too long. */
  private sweep(): void {
    const now = performance.now();
    for (const c of this.connections) c.checkTimeouts(now);
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log('warn', { err: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined }, 'internal server error (contained)');
    }
  }

  private log(level: 'info' | 'warn' | 'debug', o: object, message: string): void {
    const logger = this.config.logger;
    try {
      if (level === 'debug') logger.debug?.(o, message);
      else logger[level](o, message);
    } catch {
      // A broken logger must not take the server down.
    }
  }
}

function resolveOptions(options: ServerOptions): ServerConfig {
  const c: ServerConfig = {
    host: options.host ?? DEFAULTS.host,
    port: options.port ?? DEFAULTS.port,
    maxRequestBytes: options.maxRequestBytes ?? DEFAULTS.maxRequestBytes,
    maxConnections: options.maxConnections ?? DEFAULTS.maxConnections,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
    maxInFlightPerConnection: options.maxInFlightPerConnection ?? DEFAULTS.maxInFlightPerConnection,
    maxQueuedResponseBytes: options.maxQueuedResponseBytes ?? DEFAULTS.maxQueuedResponseBytes,
    maxQueuedRequestBytes: options.maxQueuedRequestBytes ?? DEFAULTS.maxQueuedRequestBytes,
    logger: options.logger ?? SILENT,
  };
  const positiveInt = (name: keyof ServerConfig, max = Number.MAX_SAFE_INTEGER): void => {
    const v = c[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
      throw new RangeError(`KafkaServer option ${name} must be an integer from 1 to ${max}, got ${String(v)}`);
    }
  };
  // A size prefix is a signed int32, so no request can be larger than this.
  positiveInt('maxRequestBytes', 0x7fffffff);
  positiveInt('maxConnections');
  positiveInt('idleTimeoutMs');
  positiveInt('requestTimeoutMs');
  positiveInt('maxInFlightPerConnection');
  positiveInt('maxQueuedResponseBytes');
  positiveInt('maxQueuedRequestBytes');
  if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535) throw new RangeError(`KafkaServer option port must be 0..65535, got ${String(c.port)}`);
  return c;
}

/** The server settings used when an option is not given. */
export { DEFAULTS as SERVER_DEFAULTS };
