/**
 * Requests from this broker to the others of its cluster that are not replication: a
 * transaction coordinator's WriteTxnMarkers to partition leaders, and a partition leader's
 * AddPartitionsToTxn verification (KIP-890) to a coordinator. One pipelined connection per
 * broker, opened on first use at the address the broker registered, and dropped when a
 * request on it fails or the broker registers elsewhere, so the next request reconnects.
 * Not thread-safe: one event loop owns it.
 */
import type { ApiKey, RequestInput, ResponseBody } from '../protocol/apis.js';
import { Connection } from '../wire-client/connection.js';
import { BrokerUnreachableError } from '../wire-client/errors.js';

export interface BrokerChannelOptions {
  /** This broker's id (named in the client id the others see). */
  nodeId: number;
  /** Where a live broker listens, or undefined when it is not registered. */
  address(brokerId: number): { host: string; port: number } | undefined;
  /** How long an answer may take (default 15000 ms). */
  requestTimeoutMs?: number;
}

interface Entry {
  address: string;
  conn: Promise<Connection>;
}

export class BrokerChannel {
  private readonly conns = new Map<number, Entry>();
  private closed = false;

  constructor(private readonly options: BrokerChannelOptions) {}

  /** Sends one request to broker `brokerId`; rejects when it cannot be reached or does not answer. */
  async request<K extends ApiKey>(brokerId: number, apiKey: K, body: RequestInput<K>): Promise<ResponseBody<K>> {
    if (this.closed) throw new Error('the inter-broker channel is closed (this broker is stopping)');
    const entry = this.entry(brokerId);
    const conn = await entry.conn;
    try {
      return await conn.request(apiKey, body);
    } catch (err) {
      this.drop(brokerId, entry);
      throw err;
    }
  }

  close(): void {
    this.closed = true;
    for (const [id, e] of [...this.conns]) this.drop(id, e);
  }

  private entry(brokerId: number): Entry {
    const at = this.options.address(brokerId);
    if (at === undefined) throw new BrokerUnreachableError(`broker ${brokerId}`, 'it is not registered in the cluster');
    const address = `${at.host}:${at.port}`;
    const known = this.conns.get(brokerId);
    if (known !== undefined && known.address === address) return known;
    if (known !== undefined) this.drop(brokerId, known);
    const entry: Entry = {
      address,
      conn: Connection.open({ ...at, clientId: `sluice-broker-${this.options.nodeId}`, requestTimeoutMs: this.options.requestTimeoutMs ?? 15_000, connectTimeoutMs: 5_000 }),
    };
    entry.conn.then(
      (c) => {
        if (this.closed) c.close();
      },
      () => this.drop(brokerId, entry),
    );
    this.conns.set(brokerId, entry);
    return entry;
  }

  private drop(brokerId: number, entry: Entry): void {
    if (this.conns.get(brokerId) === entry) this.conns.delete(brokerId);
    entry.conn.then(
      (c) => c.close(),
      () => {},
    );
  }
}
