import net from 'node:net';
import { decodeResponse, encodeRequest, type ApiKey, type RequestInput, type ResponseBody } from '../../src/protocol/apis.js';

/**
 * A bare Kafka protocol client over one socket for tests that need exact requests (idempotent
 * sequences, bad input): encodes with Sluice's codec, reads size-prefixed responses in order.
 */
export class WireClient {
  private buffered = Buffer.alloc(0);
  private waiting: ((frame: Buffer) => void)[] = [];
  private correlationId = 1;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      while (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0);
        if (this.buffered.length < 4 + size) break;
        const frame = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        this.waiting.shift()?.(frame);
      }
    });
    this.closed = new Promise((r) => socket.once('close', () => r()));
  }

  static connect(port: number): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new WireClient(s)));
      s.once('error', reject);
    });
  }

  /** Sends raw bytes (a whole or partial frame). */
  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next response frame (after the size prefix). */
  nextFrame(): Promise<Buffer> {
    return new Promise((r) => this.waiting.push(r));
  }

  async request<K extends ApiKey>(apiKey: K, version: number, body: RequestInput<K>): Promise<ResponseBody<K>> {
    const correlationId = this.correlationId++;
    const frame = encodeRequest(apiKey, version, correlationId, 'wire-test', body, { sizePrefix: true });
    this.socket.write(Buffer.concat([...frame.chunks]));
    const response = await this.nextFrame();
    const decoded = decodeResponse(apiKey, version, response);
    if (decoded.correlationId !== correlationId) throw new Error(`correlation id ${decoded.correlationId}, expected ${correlationId}`);
    return decoded.body;
  }

  close(): void {
    this.socket.destroy();
  }
}
