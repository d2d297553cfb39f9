/**
 * A small etcd v3 client over etcd's JSON gateway (`POST /v3/...`, keys and values in base64,
 * 64-bit numbers as decimal strings). It is what Sluice needs of etcd and no more: ranges,
 * puts, deletes, transactions (compare-and-set on a key's revisions), leases with keep-alive,
 * and watches that resume from the last revision seen. Every call tries the endpoints in
 * turn, starting with the one that answered last; errors name the endpoint and the call.
 * Not thread-safe: use from one event loop.
 */

export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the transaction that created the key (0 for an absent key in compares). */
  createRevision: number;
  /** Revision of the last change: the key's compare-and-set version (ZooKeeper's zkVersion). */
  modRevision: number;
  /** The lease the key is bound to ('0' for none). */
  lease: string;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
}

/** One condition of a transaction, on one key. */
export type Compare =
  | { key: string; target: 'mod'; result: 'equal' | 'less' | 'greater'; modRevision: number }
  | { key: string; target: 'create'; result: 'equal' | 'greater'; createRevision: number }
  | { key: string; target: 'value'; result: 'equal'; value: string };

/** One operation of a transaction. */
export type TxnOp =
  | { put: { key: string; value: string; lease?: string } }
  | { delete: { key: string; prefix?: boolean } }
  | { range: { key: string; prefix?: boolean } };

export interface TxnResult {
  succeeded: boolean;
  revision: number;
  /** The key-values of each range operation of the branch that ran, in order. */
  ranges: KeyValue[][];
}

/** etcd could not be reached at any endpoint, or answered with an error. */
export class EtcdError extends Error {
  readonly code = 'ERR_SLUICE_ETCD';
  constructor(
    message: string,
    readonly unavailable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EtcdError';
  }
}

export interface EtcdOptions {
  /** Client URLs, such as http://127.0.0.1:2379. */
  endpoints: string[];
  /** Longest wait for one call at one endpoint, ms (default 5000). */
  requestTimeoutMs?: number;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) => (s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8'));

/** The first key after every key that starts with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i]! += 1;
      return end.toString('base64');
    }
  }
  return Buffer.from([0]).toString('base64'); // every key
}

interface RawKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  lease?: string;
}

function toKv(raw: RawKv): KeyValue {
  return {
    key: unb64(raw.key),
    value: unb64(raw.value),
    createRevision: Number(raw.create_revision ?? 0),
    modRevision: Number(raw.mod_revision ?? 0),
    lease: raw.lease ?? '0',
  };
}

export function parseEndpoints(list: string | string[]): string[] {
  const items = (Array.isArray(list) ? list : list.split(',')).map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new EtcdError('no etcd endpoint given: pass one or more URLs such as http://127.0.0.1:2379', false);
  return items.map((e) => {
    const url = /^[a-z]+:\/\//.test(e) ? e : `http://${e}`;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new EtcdError(`'${e}' is not an etcd endpoint: use a URL such as http://127.0.0.1:2379`, false);
    }
    if (parsed.protocol !== 'http:') throw new EtcdError(`etcd endpoint '${e}': only http:// is supported (TLS to etcd is not yet)`, false);
    return `${parsed.protocol}//${parsed.host}`;
  });
}

export class EtcdClient {
  readonly endpoints: string[];
  private readonly timeoutMs: number;
  /** The endpoint that answered last: calls start there. */
  private current = 0;
  private closed = false;
  private readonly watches = new Set<AbortController>();

  constructor(options: EtcdOptions) {
    this.endpoints = parseEndpoints(options.endpoints);
    this.timeoutMs = options.requestTimeoutMs ?? 5000;
  }

  /** POSTs `body` to `/v3/<path>` at the first endpoint that answers. */
  private async call<T>(path: string, body: unknown): Promise<T> {
    if (this.closed) throw new EtcdError('the etcd client is closed', false);
    const failures: string[] = [];
    for (let i = 0; i < this.endpoints.length; i++) {
      const at = (this.current + i) % this.endpoints.length;
      const endpoint = this.endpoints[at]!;
      let res: Response;
      try {
        res = await fetch(`${endpoint}/v3/${path}`, {
          method: 'POST',
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (err) {
        const c = (err as { cause?: { code?: string; message?: string } }).cause;
        const cause = c?.code ?? c?.message ?? (err as Error).message;
        failures.push(`${endpoint}: ${cause}`);
        continue;
      }
      const text = await res.text();
      if (res.status >= 500 && res.status !== 503) {
        failures.push(`${endpoint}: HTTP ${res.status} ${text.slice(0, 200)}`);
        continue;
      }
      let json: { error?: string; message?: string; code?: number } & Record<string, unknown>;
      try {
        json = JSON.parse(text);
      } catch {
        failures.push(`${endpoint}: not JSON (${text.slice(0, 100)})`);
        continue;
      }
      if (res.status !== 200 || json.error !== undefined || (json.code !== undefined && json.message !== undefined)) {
        const message = json.message ?? json.error ?? `HTTP ${res.status}`;
        // 503 / "no leader" / "etcdserver: request timed out": this member cannot serve now.
        if (res.status === 503 || /no leader|timed out|not capable|unavailable/i.test(String(message))) {
          failures.push(`${endpoint}: ${message}`);
          continue;
        }
        throw new EtcdError(`etcd ${path} at ${endpoint} failed: ${message}`, false);
      }
      this.current = at;
      return json as T;
    }
    throw new EtcdError(`etcd cannot be reached (${path}): ${failures.join('; ')}`, true);
  }

  /** The key, or null. */
  async get(key: string): Promise<KeyValue | null> {
    const r = await this.call<{ kvs?: RawKv[] }>('kv/range', { key: b64(key) });
    return r.kvs?.[0] ? toKv(r.kvs[0]) : null;
  }

  /** Every key under `prefix`, sorted by key, and the store's revision when read. */
  async getPrefix(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    const r = await this.call<{ kvs?: RawKv[]; header: { revision: string } }>('kv/range', {
      key: b64(prefix),
      range_end: prefixEnd(prefix),
    });
    return { kvs: (r.kvs ?? []).map(toKv), revision: Number(r.header.revision) };
  }

  async put(key: string, value: string, lease?: string): Promise<number> {
    const r = await this.call<{ header: { revision: string } }>('kv/put', { key: b64(key), value: b64(value), ...(lease ? { lease } : {}) });
    return Number(r.header.revision);
  }

  async delete(key: string, prefix = false): Promise<number> {
    const r = await this.call<{ deleted?: string }>('kv/deleterange', { key: b64(key), ...(prefix ? { range_end: prefixEnd(key) } : {}) });
    return Number(r.deleted ?? 0);
  }

  /** If every compare holds, runs `success`, else `failure`: atomically. */
  async txn(compare: Compare[], success: TxnOp[], failure: TxnOp[] = []): Promise<TxnResult> {
    const cmp = compare.map((c) => {
      const base = { key: b64(c.key), result: c.result.toUpperCase() };
      if (c.target === 'mod') return { ...base, target: 'MOD', mod_revision: String(c.modRevision) };
      if (c.target === 'create') return { ...base, target: 'CREATE', create_revision: String(c.createRevision) };
      return { ...base, target: 'VALUE', value: b64(c.value) };
    });
    const op = (o: TxnOp) => {
      if ('put' in o) return { request_put: { key: b64(o.put.key), value: b64(o.put.value), ...(o.put.lease ? { lease: o.put.lease } : {}) } };
      if ('delete' in o) return { request_delete_range: { key: b64(o.delete.key), ...(o.delete.prefix ? { range_end: prefixEnd(o.delete.key) } : {}) } };
      return { request_range: { key: b64(o.range.key), ...(o.range.prefix ? { range_end: prefixEnd(o.range.key) } : {}) } };
    };
    const r = await this.call<{ succeeded?: boolean; header: { revision: string }; responses?: { response_range?: { kvs?: RawKv[] } }[] }>('kv/txn', {
      compare: cmp,
      success: success.map(op),
      failure: failure.map(op),
    });
    return {
      succeeded: r.succeeded === true,
      revision: Number(r.header.revision),
      ranges: (r.responses ?? []).filter((x) => x.response_range !== undefined).map((x) => (x.response_range!.kvs ?? []).map(toKv)),
    };
  }

  /** A new lease of `ttlSeconds`; keys put with it vanish when it is not kept alive. */
  async grantLease(ttlSeconds: number): Promise<{ id: string; ttl: number }> {
    const r = await this.call<{ ID: string; TTL: string }>('lease/grant', { TTL: ttlSeconds });
    return { id: r.ID, ttl: Number(r.TTL) };
  }

  /** Renews the lease once; returns the TTL left, 0 when the lease has expired. */
  async keepAlive(id: string): Promise<number> {
    const r = await this.call<{ result?: { TTL?: string } }>('lease/keepalive', { ID: id });
    return Number(r.result?.TTL ?? 0);
  }

  async revokeLease(id: string): Promise<void> {
    await this.call('lease/revoke', { ID: id });
  }

  /**
   * Watches every key under `prefix` from `fromRevision` on, calling `onEvents` with each
   * batch of changes in order. A broken stream is reopened after the last revision seen, so
   * no change is missed or seen twice; `onError` hears of each break (and of compaction, when
   * the revision asked for is gone: then the caller must read the prefix again). Returns the
   * function that stops the watch.
   */
  watchPrefix(
    prefix: string,
    fromRevision: number,
    onEvents: (events: WatchEvent[], revision: number) => void,
    onError: (err: EtcdError, compacted: boolean) => void,
  ): () => void {
    const abort = new AbortController();
    this.watches.add(abort);
    let next = fromRevision;
    let attempt = 0;
    const run = async () => {
      while (!abort.signal.aborted && !this.closed) {
        const endpoint = this.endpoints[(this.current + attempt) % this.endpoints.length]!;
        try {
          const res = await fetch(`${endpoint}/v3/watch`, {
            method: 'POST',
            body: JSON.stringify({ create_request: { key: b64(prefix), range_end: prefixEnd(prefix), start_revision: String(next) } }),
            signal: abort.signal,
          });
          if (!res.body) throw new Error(`HTTP ${res.status} without a body`);
          let buffered = '';
          const decoder = new TextDecoder();
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            buffered += decoder.decode(chunk, { stream: true });
            let nl: number;
            while ((nl = buffered.indexOf('\n')) >= 0) {
              const line = buffered.slice(0, nl).trim();
              buffered = buffered.slice(nl + 1);
              if (!line) continue;
              const msg = JSON.parse(line) as {
                result?: { header?: { revision?: string }; events?: { type?: string; kv: RawKv }[]; compact_revision?: string; canceled?: boolean; created?: boolean };
                error?: { message?: string };
              };
              if (msg.error) throw new Error(msg.error.message ?? 'watch error');
              const r = msg.result;
              if (!r) continue;
              attempt = 0;
              if (r.compact_revision && Number(r.compact_revision) > 0) {
                // The revision asked for is gone: the caller reads the prefix again and
                // starts a new watch; this one ends.
                onError(new EtcdError(`etcd compacted the history of ${prefix} up to revision ${r.compact_revision}`, false), true);
                abort.abort();
                this.watches.delete(abort);
                return;
              }
              if (r.canceled) throw new Error('watch canceled by etcd');
              if (r.events && r.events.length > 0) {
                const events = r.events.map((e) => ({ type: e.type === 'DELETE' ? ('delete' as const) : ('put' as const), kv: toKv(e.kv) }));
                const revision = Math.max(...events.map((e) => e.kv.modRevision));
                next = revision + 1;
                onEvents(events, revision);
              }
            }
          }
          throw new Error('the watch stream ended');
        } catch (err) {
          if (abort.signal.aborted || this.closed) return;
          attempt++;
          onError(new EtcdError(`etcd watch of ${prefix} at ${endpoint} broke: ${(err as Error).message}; reopening from revision ${next}`, true, { cause: err }), false);
          await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** Math.min(attempt, 5))));
        }
      }
    };
    void run();
    return () => {
      abort.abort();
      this.watches.delete(abort);
    };
  }

  close(): void {
    this.closed = true;
    for (const w of this.watches) w.abort();
    this.watches.clear();
  }
}
