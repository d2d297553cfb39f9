/**
 * One TCP connection to one broker: encodes requests with Sluice's codec, pipelines them
 * (many in flight, written as they come) and matches the answers, which a Kafka broker sends
 * in request order, by correlation id. Opening a connection negotiates versions with
 * ApiVersions first, so every later request goes out at the highest version both sides speak.
 *
 * A request that gets no answer within its timeout closes the connection (later answers would
 * be out of step) and fails every request still waiting, as Kafka's clients do.
 * Not thread-safe; one event loop owns it.
 */
import net from 'node:net';
import { APIS, decodeResponse, encodeRequest, type ApiKey, type RequestInput, type ResponseBody } from '../protocol/apis.js';
import { errorName } from '../protocol/error-codes.js';
import { ApiVersionsResponse } from '../protocol/messages/api-versions.js';
import { decode } from '../protocol/engine.js';
import { Reader } from '../protocol/primitives.js';
import { BrokerUnreachableError, ConnectionError, RequestTimeoutError } from './errors.js';
import { FrameReader } from './framing.js';
import { NegotiatedVersions, type BrokerApiRange } from './versions.js';

const API_VERSIONS = 18;
const UNSUPPORTED_VERSION = 35;
const CLIENT_SOFTWARE_NAME = 'sluice-wire-client';
const CLIENT_SOFTWARE_VERSION = '0.1.0';

export interface ConnectionOptions {
  host: string;
  port: number;
  /** client.id sent in every request header (default 'sluice'). */
  clientId?: string;
  /** Give up connecting after this long (default 10000). */
  connectTimeoutMs?: number;
  /** An answer must come within this long (default 30000); a call may ask for longer. */
  requestTimeoutMs?: number;
  /** Largest response frame accepted (default 256 MiB). */
  maxFrameBytes?: number;
}

export interface RequestOptions {
  /** Send this version instead of the negotiated one. */
  version?: number;
  /** Extra time on top of the request timeout (a Fetch's maxWaitMs, a JoinGroup's rebalance). */
  extraTimeoutMs?: number;
}

interface InFlight {
  correlationId: number;
  apiKey: number;
  resolve: (frame: Buffer) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** Resolves with a connected socket or rejects with BrokerUnreachableError. */
function connectSocket(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  const address = `${host}:${port}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new BrokerUnreachableError(address, `no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new BrokerUnreachableError(address, err.code ?? err.message));
    });
  });
}

export class Connection {
  readonly address: string;
  private readonly clientId: string;
  private readonly requestTimeoutMs: number;
  private readonly inFlight: InFlight[] = [];
  private nextCorrelationId = 1;
  private failure: Error | null = null;
  private versionsNegotiated: NegotiatedVersions | null = null;

  private constructor(
    private readonly socket: net.Socket,
    options: ConnectionOptions,
  ) {
    this.address = `${options.host}:${options.port}`;
    this.clientId = options.clientId ?? 'sluice';
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    socket.setNoDelay(true);
    const frames = new FrameReader((frame) => this.onFrame(frame), options.maxFrameBytes ?? 256 * 1024 * 1024);
    socket.on('data', (d: Buffer) => {
      try {
        frames.push(d);
      } catch (err) {
        this.fail(new ConnectionError(`bad answer from broker ${this.address}: ${(err as Error).message}`));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.fail(new ConnectionError(`connection to broker ${this.address} failed: ${err.code ?? err.message}`, { cause: err }));
    });
    socket.on('close', () => {
      const waiting = this.inFlight.length;
      this.fail(new ConnectionError(`broker ${this.address} closed the connection${waiting > 0 ? ` with ${waiting} request(s) unanswered` : ''}`));
    });
  }

  /** Connects and negotiates API versions. */
  static async open(options: ConnectionOptions): Promise<Connection> {
    const socket = await connectSocket(options.host, options.port, options.connectTimeoutMs ?? 10_000);
    const conn = new Connection(socket, options);
    try {
      conn.versionsNegotiated = new NegotiatedVersions(await conn.apiVersions(), conn.address);
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  get versions(): NegotiatedVersions {
    if (this.versionsNegotiated === null) throw new ConnectionError(`connection to ${this.address} is not negotiated yet`);
    return this.versionsNegotiated;
  }

  get isOpen(): boolean {
    return this.failure === null;
  }

  /** Sends a request and resolves with its decoded answer. */
  async request<K extends ApiKey>(apiKey: K, body: RequestInput<K>, options: RequestOptions = {}): Promise<ResponseBody<K>> {
    const version = options.version ?? this.versions.versionFor(apiKey);
    const frame = await this.roundTrip(apiKey, version, body, options.extraTimeoutMs ?? 0);
    return decodeResponse(apiKey, version, frame).body;
  }

  /** Sends a request that gets no answer (Produce with acks=0); resolves once written. */
  send<K extends ApiKey>(apiKey: K, body: RequestInput<K>, options: RequestOptions = {}): Promise<void> {
    const version = options.version ?? this.versions.versionFor(apiKey);
    if (this.failure !== null) return Promise.reject(this.failure);
    const correlationId = this.nextCorrelationId++;
    const { chunks } = encodeRequest(apiKey, version, correlationId, this.clientId, body, { sizePrefix: true });
    return new Promise((resolve, reject) => {
      this.socket.cork();
      for (let i = 0; i < chunks.length - 1; i++) this.socket.write(chunks[i]!);
      this.socket.write(chunks[chunks.length - 1]!, (err) => (err ? reject(this.failure ?? err) : resolve()));
      this.socket.uncork();
    });
  }

  close(): void {
    this.fail(new ConnectionError(`connection to broker ${this.address} was closed`));
  }

  private roundTrip(apiKey: number, version: number, body: object, extraTimeoutMs: number): Promise<Buffer> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const correlationId = this.nextCorrelationId++;
    const { chunks } = encodeRequest(apiKey as ApiKey, version, correlationId, this.clientId, body as never, { sizePrefix: true });
    return new Promise((resolve, reject) => {
      const timeoutMs = this.requestTimeoutMs + extraTimeoutMs;
      const timer = setTimeout(() => {
        this.fail(new RequestTimeoutError(`broker ${this.address} did not answer a ${apiName(apiKey)} request within ${timeoutMs} ms`));
      }, timeoutMs);
      this.inFlight.push({ correlationId, apiKey, resolve, reject, timer });
      this.socket.cork();
      for (const c of chunks) this.socket.write(c);
      this.socket.uncork();
    });
  }

  private onFrame(frame: Buffer): void {
    const head = this.inFlight.shift();
    if (head === undefined) {
      this.fail(new ConnectionError(`broker ${this.address} sent an answer nobody asked for`));
      return;
    }
    clearTimeout(head.timer);
    const correlationId = frame.length >= 4 ? frame.readInt32BE(0) : -1;
    if (correlationId !== head.correlationId) {
      const err = new ConnectionError(`broker ${this.address} answered correlation id ${correlationId}, expected ${head.correlationId}`);
      head.reject(err);
      this.fail(err);
      return;
    }
    head.resolve(frame);
  }

  private fail(err: Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    for (const r of this.inFlight.splice(0)) {
      clearTimeout(r.timer);
      r.reject(err);
    }
    this.socket.destroy();
  }

  /**
   * ApiVersions at the newest version this client knows (3); a broker that does not know it
   * answers UNSUPPORTED_VERSION in a v0 body listing its range, and we ask again at that.
   */
  private async apiVersions(): Promise<BrokerApiRange[]> {
    const ask = async (version: number) => {
      const body = { clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION };
      const frame = await this.roundTrip(API_VERSIONS, version, body, 0);
      // The ApiVersions answer always has response header v0 (correlation id only) and starts with errorCode.
      const errorCode = frame.length >= 6 ? frame.readInt16BE(4) : -1;
      if (errorCode === UNSUPPORTED_VERSION) return { errorCode, body: decode(ApiVersionsResponse, 0, new Reader(frame, 4)) };
      return { errorCode, body: decodeResponse(API_VERSIONS, version, frame).body };
    };
    let answer = await ask(3);
    if (answer.errorCode === UNSUPPORTED_VERSION) {
      const theirs = answer.body.apiKeys.find((a) => a.apiKey === API_VERSIONS);
      answer = await ask(Math.min(3, theirs?.maxVersion ?? 0));
    }
    if (answer.errorCode !== 0) {
      throw new ConnectionError(`broker ${this.address} refused ApiVersions: ${errorName(answer.errorCode)}`);
    }
    return answer.body.apiKeys;
  }
}

function apiName(apiKey: number): string {
  return API_NAMES.get(apiKey) ?? `api ${apiKey}`;
}

const API_NAMES = new Map([...APIS.values()].map((e) => [e.apiKey as number, e.name]));
