/**
 * KafkaServer over real sockets on 127.0.0.1: frames in, frames out. The handlers here are stubs
 * (echo, hold, throw): the server's contract ends at whole frames, bodies belong to the layer
 * above. Nothing here asserts a duration; waits poll for a state, and timeouts are checked by
 * ordering against a witness connection rather than by the clock.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaServer, type Handler, type RequestContext, type Response, type ServerOptions } from '../src/server/index.js';

// ---------------------------------------------------------------------------------------------
// Helpers

/** A request frame with its size prefix: header v1 (ApiVersions v0 by default) + body. */
function requestFrame(correlationId: number, body: Buffer = Buffer.alloc(0), apiKey = 18, apiVersion = 0, clientId: string | null = 'test'): Buffer {
  const cid = clientId === null ? null : Buffer.from(clientId);
  const headerLength = 10 + (cid?.length ?? 0);
  const out = Buffer.alloc(4 + headerLength + body.length);
  out.writeInt32BE(headerLength + body.length, 0);
  out.writeInt16BE(apiKey, 4);
  out.writeInt16BE(apiVersion, 6);
  out.writeInt32BE(correlationId, 8);
  out.writeInt16BE(cid === null ? -1 : cid.length, 12);
  cid?.copy(out, 14);
  body.copy(out, 14 + (cid?.length ?? 0));
  return out;
}

function sizePrefix(size: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(size, 0);
  return b;
}

/** Response = correlation id + the given chunks. */
function response(correlationId: number, ...chunks: Buffer[]): Response {
  const head = Buffer.alloc(4);
  head.writeInt32BE(correlationId, 0);
  const all = [head, ...chunks];
  return { chunks: all, length: all.reduce((n, c) => n + c.length, 0) };
}

/** Answers every request with its correlation id and its body. */
const echo: Handler = (ctx) => response(ctx.correlationId, ctx.frame.subarray(ctx.headerLength));

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function waitUntil(cond: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > limitMs) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A raw Kafka-framing client that collects response frames. */
class TestClient {
  readonly responses: Buffer[] = [];
  closed = false;
  readonly whenClosed: Promise<void>;
  private chunks: Buffer[] = [];
  private buffered = 0;

  private constructor(readonly socket: net.Socket) {
    socket.on('error', () => {}); // resets are expected in several tests
    this.whenClosed = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        resolve();
      }),
    );
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  static connect(port: number, options: { paused?: boolean } = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      const client = new TestClient(socket);
      if (options.paused === true) socket.pause();
      clients.push(client);
      socket.once('connect', () => resolve(client));
      socket.once('error', reject);
    });
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  correlationIds(): number[] {
    return this.responses.map((r) => r.readInt32BE(0));
  }

  async waitForResponses(n: number): Promise<Buffer[]> {
    await waitUntil(() => this.responses.length >= n || this.closed, `${n} responses`, 40_000);
    if (this.responses.length < n) throw new Error(`connection closed after ${this.responses.length} of ${n} responses`);
    return this.responses.slice(0, n);
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < 4) return;
      if (this.chunks[0]!.length < 4) this.join();
      const size = this.chunks[0]!.readInt32BE(0);
      if (this.buffered < 4 + size) return;
      this.join();
      const all = this.chunks[0]!;
      this.responses.push(all.subarray(4, 4 + size));
      const rest = all.subarray(4 + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
    }
  }

  /** Joins held chunks; called once per response, so big responses cost one copy here. */
  private join(): void {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
  }
}

const clients: TestClient[] = [];
const servers: KafkaServer[] = [];

async function start(handler: Handler, options: ServerOptions = {}): Promise<{ server: KafkaServer; port: number }> {
  const server = new KafkaServer(handler, { host: '127.0.0.1', port: 0, ...options });
  servers.push(server);
  const { port } = await server.listen();
  return { server, port };
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close({ graceMs: 0 })));
});

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

// ---------------------------------------------------------------------------------------------

describe('framing over a socket', () => {
  it('passes the decoded header and the whole frame to the handler', async () => {
    const seen: RequestContext[] = [];
    const { port } = await start((ctx) => {
      seen.push(ctx);
      return echo(ctx);
    });
    const client = await TestClient.connect(port);
    const body = Buffer.from('hello body');
    const frame = requestFrame(42, body, 3, 1, 'my-client');
    client.send(frame);
    const [res] = await client.waitForResponses(1);
    expect(res!.readInt32BE(0)).toBe(42);
    expect(res!.subarray(4)).toEqual(body);
    const ctx = seen[0]!;
    expect(ctx.apiKey).toBe(3);
    expect(ctx.apiVersion).toBe(1);
    expect(ctx.correlationId).toBe(42);
    expect(ctx.clientId).toBe('my-client');
    expect(ctx.headerLength).toBe(10 + 'my-client'.length);
    expect(ctx.frame).toEqual(frame.subarray(4));
    expect(ctx.connection.remoteAddress).toBe('127.0.0.1');
    expect(ctx.connection.remotePort).toBe(client.socket.localPort);
    expect(ctx.signal.aborted).toBe(false);
  });

  it('assembles frames written a byte or a few bytes at a time', async () => {
    const { server, port } = await start(echo);
    const client = await TestClient.connect(port);
    const frames = range(50).map((i) => requestFrame(i, Buffer.alloc(i * 3, i)));
    const stream = Buffer.concat(frames);
    // Tiny writes with a pause between, so the server really sees them as separate reads.
    for (let pos = 0, step = 1; pos < stream.length; pos += step, step = (step % 7) + 1) {
      client.send(stream.subarray(pos, pos + step));
      if (pos % 5 === 0) await new Promise((r) => setImmediate(r));
    }
    const responses = await client.waitForResponses(50);
    expect(responses.map((r) => r.readInt32BE(0))).toEqual(range(50));
    responses.forEach((r, i) => expect(r.subarray(4)).toEqual(Buffer.alloc(i * 3, i)));
    expect(server.stats().bytesIn).toBe(stream.length);
  });

  it('serves thousands of frames sent in one write', async () => {
    const { server, port } = await start(echo);
    const client = await TestClient.connect(port);
    const n = 5000;
    client.send(Buffer.concat(range(n).map((i) => requestFrame(i, Buffer.from(`#${i}`)))));
    const responses = await client.waitForResponses(n);
    expect(client.correlationIds()).toEqual(range(n));
    expect(responses[4321]!.subarray(4).toString()).toBe('#4321');
    const s = server.stats();
    expect(s.requests).toBe(n);
    expect(s.responses).toBe(n);
    expect(s.inFlight).toBe(0);
  });

  it('writes a response chunk of several MB that views a larger buffer, byte for byte', async () => {
    // Like a Fetch response: a view into a big mapping, handed to writev as it is.
    const big = Buffer.allocUnsafe(16 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32BE(i, i);
    const view = big.subarray(1024 * 1024 + 4, 1024 * 1024 + 4 + 8 * 1024 * 1024);
    const { server, port } = await start((ctx) => response(ctx.correlationId, Buffer.from('hdr'), view, Buffer.from('tail')));
    const client = await TestClient.connect(port);
    client.send(Buffer.concat([requestFrame(1), requestFrame(2)]));
    const responses = await client.waitForResponses(2);
    for (const [i, r] of responses.entries()) {
      expect(r.readInt32BE(0)).toBe(i + 1);
      expect(r.length).toBe(4 + 3 + view.length + 4);
      expect(r.subarray(4, 7).toString()).toBe('hdr');
      expect(r.subarray(7, 7 + view.length).equals(view)).toBe(true);
      expect(r.subarray(7 + view.length).toString()).toBe('tail');
    }
    expect(server.stats().bytesOut).toBe(2 * (4 + 4 + 3 + view.length + 4));
  });
});

describe('pipelining', () => {
  it('answers in request order when handlers finish in reverse order', async () => {
    const held: { ctx: RequestContext; done: ReturnType<typeof deferred<Response | null>> }[] = [];
    const { port } = await start((ctx) => {
      const done = deferred<Response | null>();
      held.push({ ctx, done });
      return done.promise;
    });
    const client = await TestClient.connect(port);
    const n = 60;
    client.send(Buffer.concat(range(n).map((i) => requestFrame(1000 + i))));
    await waitUntil(() => held.length === n, 'all requests dispatched');
    for (const h of [...held].reverse()) h.done.resolve(response(h.ctx.correlationId));
    await client.waitForResponses(n);
    expect(client.correlationIds()).toEqual(range(n).map((i) => 1000 + i));
  });

  it('mixes sync and async handlers and keeps the order', async () => {
    const { port } = await start(async (ctx) => {
      if (ctx.correlationId % 3 === 0) return echo(ctx);
      await new Promise((r) => setTimeout(r, (ctx.correlationId * 7) % 11));
      return echo(ctx);
    });
    const client = await TestClient.connect(port);
    client.send(Buffer.concat(range(200).map((i) => requestFrame(i))));
    await client.waitForResponses(200);
    expect(client.correlationIds()).toEqual(range(200));
  });

  it('null responses (acks=0) send nothing and leave no gap in the order', async () => {
    const gates = new Map<number, ReturnType<typeof deferred<void>>>();
    const { server, port } = await start(async (ctx) => {
      const gate = deferred<void>();
      gates.set(ctx.correlationId, gate);
      await gate.promise;
      return ctx.correlationId % 3 === 1 ? null : response(ctx.correlationId);
    });
    const client = await TestClient.connect(port);
    client.send(Buffer.concat(range(30).map((i) => requestFrame(i))));
    await waitUntil(() => gates.size === 30, 'all dispatched');
    // Release in a scrambled order: nulls first, then the rest backwards.
    for (const i of range(30).filter((i) => i % 3 === 1)) gates.get(i)!.resolve();
    for (const i of range(30).reverse()) gates.get(i)!.resolve();
    const expected = range(30).filter((i) => i % 3 !== 1);
    await client.waitForResponses(expected.length);
    // A later request after the nulls is still answered.
    client.send(requestFrame(30));
    await waitUntil(() => gates.has(30), 'request 30 dispatched');
    gates.get(30)!.resolve();
    await client.waitForResponses(expected.length + 1);
    expect(client.correlationIds()).toEqual([...expected, 30]);
    await waitUntil(() => server.stats().inFlight === 0, 'nothing in flight');
    expect(server.stats().responses).toBe(expected.length + 1);
  });
});

describe('backpressure', () => {
  it('a client that sends 10,000 requests and never reads gets paused, with bounded memory on the server', async () => {
    const maxQueuedResponseBytes = 256 * 1024;
    const maxInFlightPerConnection = 100;
    const responseBody = Buffer.alloc(4096, 7);
    let handled = 0;
    const { server, port } = await start(
      (ctx) => {
        handled++;
        return response(ctx.correlationId, responseBody);
      },
      { maxQueuedResponseBytes, maxInFlightPerConnection },
    );
    const client = await TestClient.connect(port, { paused: true });
    const n = 10_000;
    const request = (i: number) => requestFrame(i, Buffer.alloc(1000, 1));
    const sent = n * request(0).length;
    client.send(Buffer.concat(range(n).map(request)));

    // Bounds that must hold at every moment, whatever the kernel buffers absorb.
    const bound = maxQueuedResponseBytes + 2 * (responseBody.length + 8) + 64 * 1024;
    const check = () => {
      const s = server.stats();
      expect(s.inFlight).toBeLessThanOrEqual(maxInFlightPerConnection);
      expect(s.queuedResponseBytes).toBeLessThanOrEqual(bound);
      expect(s.bufferedRequestBytes).toBeLessThanOrEqual(1024 * 1024);
      return s;
    };
    // Settled: paused, and no request dispatched over several polls (the client never reads,
    // so nothing can drain any more).
    let last = -1;
    let still = 0;
    await waitUntil(() => {
      const s = check();
      still = s.pausedConnections === 1 && s.requests === last ? still + 1 : 0;
      last = s.requests;
      return still >= 20;
    }, 'the connection paused and settled');
    const settled = check();
    expect(settled.requests).toBeLessThan(n);
    expect(handled).toBe(settled.requests);
    expect(settled.bytesIn).toBeLessThan(sent);
    expect(settled.connections).toBe(1);

    // Now read: everything flows again and arrives in order.
    client.socket.resume();
    const all = await client.waitForResponses(n);
    expect(all.length).toBe(n);
    expect(client.correlationIds()).toEqual(range(n));
    expect(server.stats().pausedConnections).toBe(0);
    expect(server.stats().bytesIn).toBe(sent);
  });

  it('stops reading while completed responses wait behind a slow one beyond maxQueuedResponseBytes', async () => {
    const first = deferred<void>();
    const body = Buffer.alloc(64 * 1024, 3);
    const { server, port } = await start(
      // Synchronous answers, so each one is queued before the next request is dispatched.
      (ctx) => (ctx.correlationId === 0 ? first.promise.then(() => response(0, body)) : response(ctx.correlationId, body)),
      { maxQueuedResponseBytes: 256 * 1024, maxInFlightPerConnection: 100 },
    );
    const client = await TestClient.connect(port);
    const n = 200;
    client.send(Buffer.concat(range(n).map((i) => requestFrame(i))));
    // Responses 1.. complete at once but must wait for 0: they pile up until the byte limit.
    await waitUntil(() => server.stats().pausedConnections === 1 && server.stats().queuedResponseBytes > 256 * 1024, 'paused on queued bytes');
    const s = server.stats();
    expect(s.inFlight).toBeLessThan(100);
    expect(s.requests).toBe(s.inFlight);
    expect(s.queuedResponseBytes).toBeLessThanOrEqual(256 * 1024 + body.length + 4);
    expect(client.responses.length).toBe(0);
    first.resolve();
    await client.waitForResponses(n);
    expect(client.correlationIds()).toEqual(range(n));
  });

  it('stops dispatching at maxInFlightPerConnection and resumes as answers go out', async () => {
    const pending: { ctx: RequestContext; done: ReturnType<typeof deferred<Response>> }[] = [];
    const { server, port } = await start(
      (ctx) => {
        const done = deferred<Response>();
        pending.push({ ctx, done });
        return done.promise;
      },
      { maxInFlightPerConnection: 10 },
    );
    const client = await TestClient.connect(port);
    const n = 1000;
    client.send(Buffer.concat(range(n).map((i) => requestFrame(i))));
    await waitUntil(() => server.stats().pausedConnections === 1 && pending.length === 10, 'ten in flight, paused');
    expect(server.stats().inFlight).toBe(10);
    expect(server.stats().requests).toBe(10);
    // Answer whatever is dispatched, as it is dispatched, until all are done.
    let answered = 0;
    await waitUntil(() => {
      while (answered < pending.length) {
        const p = pending[answered++]!;
        p.done.resolve(response(p.ctx.correlationId));
      }
      expect(server.stats().inFlight).toBeLessThanOrEqual(10);
      return client.responses.length === n;
    }, 'all answered');
    expect(client.correlationIds()).toEqual(range(n));
  });
});

describe('bad input closes only that connection', () => {
  async function expectClosedAndOthersFine(port: number, server: KafkaServer, bytes: Buffer[], counter: keyof ReturnType<KafkaServer['stats']>['rejected']): Promise<void> {
    const bystander = await TestClient.connect(port);
    const bad = await TestClient.connect(port);
    for (const b of bytes) bad.send(b);
    await bad.whenClosed;
    expect(server.stats().rejected[counter]).toBeGreaterThanOrEqual(1);
    bystander.send(requestFrame(7));
    const [r] = await bystander.waitForResponses(1);
    expect(r!.readInt32BE(0)).toBe(7);
  }

  it('oversized size prefix: closed at once, without waiting for the body', async () => {
    const { server, port } = await start(echo, { maxRequestBytes: 1024 });
    await expectClosedAndOthersFine(port, server, [sizePrefix(1025)], 'frameTooLarge');
    // The default limit too: a 2 GiB claim is refused without any allocation.
    const big = await start(echo);
    await expectClosedAndOthersFine(big.port, big.server, [sizePrefix(0x7fffffff)], 'frameTooLarge');
  });

  it('a frame at exactly maxRequestBytes is accepted', async () => {
    const { port } = await start(echo, { maxRequestBytes: 1024 });
    const client = await TestClient.connect(port);
    const frame = requestFrame(5, Buffer.alloc(1024 - 14));
    expect(frame.readInt32BE(0)).toBe(1024);
    client.send(frame);
    await client.waitForResponses(1);
  });

  it('negative size prefix: closed', async () => {
    const { server, port } = await start(echo);
    await expectClosedAndOthersFine(port, server, [sizePrefix(-1)], 'frameTooSmall');
    await expectClosedAndOthersFine(port, server, [sizePrefix(-2147483648)], 'frameTooSmall');
    expect(server.stats().rejected.frameTooSmall).toBe(2);
  });

  it('size 0 to 7 (too small for a header): closed', async () => {
    const { server, port } = await start(echo);
    for (const size of range(8)) {
      await expectClosedAndOthersFine(port, server, [sizePrefix(size), Buffer.alloc(size)], 'frameTooSmall');
    }
    expect(server.stats().rejected.frameTooSmall).toBe(8);
    expect(server.stats().requests).toBe(8); // only the bystanders' requests
  });

  it('a header that does not decode: closed', async () => {
    const { server, port } = await start(echo);
    // 8 bytes: apiKey, apiVersion, correlationId, but no clientId.
    await expectClosedAndOthersFine(port, server, [sizePrefix(8), Buffer.alloc(8)], 'badHeader');
    // clientId length pointing past the end of the frame.
    const liar = requestFrame(1, Buffer.alloc(0), 18, 0, 'abc');
    liar.writeInt16BE(500, 12);
    await expectClosedAndOthersFine(port, server, [liar], 'badHeader');
    expect(server.stats().rejected.badHeader).toBe(2);
  });

  it('garbage after a valid frame on the same write: the valid one is answered, then closed', async () => {
    const { server, port } = await start(echo);
    const client = await TestClient.connect(port);
    client.send(Buffer.concat([requestFrame(1), sizePrefix(-5), Buffer.alloc(100)]));
    await client.whenClosed;
    expect(client.correlationIds()).toEqual([1]);
    expect(server.stats().rejected.frameTooSmall).toBe(1);
  });

  it('a bad request behind slow good ones: the good ones are answered in order first, nothing after it is', async () => {
    let gate = deferred<void>();
    const seen: number[] = [];
    const { server, port } = await start(async (ctx) => {
      seen.push(ctx.correlationId);
      const body = ctx.frame.subarray(ctx.headerLength).toString();
      if (body === 'reject') throw new Error('bad body');
      if (body === 'slow') await gate.promise;
      return echo(ctx);
    });
    const cases: [Buffer, boolean][] = [
      // A body the handler rejects: request 4 was already dispatched (handlers run concurrently) but is not answered.
      [requestFrame(3, Buffer.from('reject')), true],
      // A header that does not decode, a bad size prefix: nothing after them is even read.
      [Buffer.concat([sizePrefix(8), Buffer.alloc(8)]), false],
      [sizePrefix(-1), false],
    ];
    for (const [bad, laterDispatched] of cases) {
      seen.length = 0;
      gate = deferred<void>();
      const client = await TestClient.connect(port);
      client.send(Buffer.concat([requestFrame(1, Buffer.from('slow')), requestFrame(2), bad, requestFrame(4)]));
      await waitUntil(() => server.stats().pausedConnections === 1, 'the bad request seen, reading stopped');
      expect(client.responses).toHaveLength(0); // request 1 still holds the line
      gate.resolve();
      await client.whenClosed;
      expect(client.correlationIds()).toEqual([1, 2]);
      expect(seen.includes(4)).toBe(laterDispatched);
      await waitUntil(() => server.stats().connections === 0, 'server side closed');
      expect(server.stats().inFlight).toBe(0);
    }
    expect(server.stats().rejected).toMatchObject({ handlerError: 1, badHeader: 1, frameTooSmall: 1 });
  });

  it('a handler that throws, rejects or returns a malformed response: that connection closes, others go on', async () => {
    const logged: { o: object; m: string }[] = [];
    const logger = { info() {}, warn: (o: object, m: string) => logged.push({ o, m }) };
    const { server, port } = await start(
      (ctx) => {
        const body = ctx.frame.subarray(ctx.headerLength).toString();
        if (body === 'throw') throw new Error('boom');
        if (body === 'reject') return Promise.reject(new Error('async boom'));
        if (body === 'reject-non-error') return Promise.reject('a string');
        if (body === 'bad-length') return { chunks: [Buffer.alloc(4)], length: 99 };
        if (body === 'not-buffers') return { chunks: ['x' as unknown as Buffer], length: 1 };
        if (body === 'not-object') return 42 as unknown as Response;
        return echo(ctx);
      },
      { logger },
    );
    const kinds = ['throw', 'reject', 'reject-non-error', 'bad-length', 'not-buffers', 'not-object'];
    for (const kind of kinds) {
      await expectClosedAndOthersFine(port, server, [requestFrame(99, Buffer.from(kind))], 'handlerError');
    }
    expect(server.stats().rejected.handlerError).toBe(kinds.length);
    const failure = logged.find((l) => l.m.includes('handler failed'))!;
    expect(failure.o).toMatchObject({ apiKey: 18, correlationId: 99, err: 'boom' });
    expect(server.stats().inFlight).toBe(0);
  });

  it('a response that completes after its connection closed is dropped quietly', async () => {
    const gate = deferred<void>();
    let signal: AbortSignal | undefined;
    const { server, port } = await start(async (ctx) => {
      signal = ctx.signal;
      await gate.promise;
      return echo(ctx);
    });
    const client = await TestClient.connect(port);
    client.send(requestFrame(1));
    await waitUntil(() => signal !== undefined, 'dispatched');
    client.socket.destroy();
    await waitUntil(() => signal!.aborted, 'the signal aborted');
    gate.resolve();
    await waitUntil(() => server.stats().connections === 0, 'connection gone');
    expect(server.stats().inFlight).toBe(0);
    expect(server.stats().responses).toBe(0);
  });
});

describe('limits and timeouts', () => {
  it('refuses connections beyond maxConnections, and accepts again when one leaves', async () => {
    const { server, port } = await start(echo, { maxConnections: 2 });
    const a = await TestClient.connect(port);
    const b = await TestClient.connect(port);
    a.send(requestFrame(1));
    b.send(requestFrame(2));
    await a.waitForResponses(1);
    await b.waitForResponses(1);
    const c = await TestClient.connect(port);
    await c.whenClosed;
    expect(server.stats().rejected.maxConnections).toBe(1);
    expect(server.stats().connections).toBe(2);
    a.send(requestFrame(3));
    await a.waitForResponses(2);
    b.socket.destroy();
    await waitUntil(() => server.stats().connections === 1, 'b gone');
    const d = await TestClient.connect(port);
    d.send(requestFrame(4));
    await d.waitForResponses(1);
    expect(server.stats().accepted).toBe(4);
  });

  it('closes a client that sends half a frame and stalls, while another client is served', async () => {
    const { server, port } = await start(echo, { requestTimeoutMs: 150, idleTimeoutMs: 600_000 });
    const other = await TestClient.connect(port);
    const stalled = await TestClient.connect(port);
    const half = requestFrame(1, Buffer.alloc(100));
    stalled.send(half.subarray(0, 60));
    other.send(requestFrame(10));
    await other.waitForResponses(1);
    await stalled.whenClosed;
    expect(stalled.responses.length).toBe(0);
    expect(server.stats().rejected.requestTimeout).toBe(1);
    expect(other.closed).toBe(false);
    other.send(requestFrame(11));
    await other.waitForResponses(2);
    expect(other.correlationIds()).toEqual([10, 11]);
  });

  it('a stalled size prefix (fewer than 4 bytes) is also timed out', async () => {
    const { server, port } = await start(echo, { requestTimeoutMs: 100 });
    const stalled = await TestClient.connect(port);
    stalled.send(Buffer.from([0, 0]));
    await stalled.whenClosed;
    expect(server.stats().rejected.requestTimeout).toBe(1);
  });

  it('a bare size prefix with no body is timed out too', async () => {
    const { server, port } = await start(echo, { requestTimeoutMs: 100 });
    const stalled = await TestClient.connect(port);
    stalled.send(sizePrefix(50));
    await stalled.whenClosed;
    expect(server.stats().rejected.requestTimeout).toBe(1);
    await waitUntil(() => server.stats().connections === 0, 'server side closed');
    expect(server.stats().queuedRequestBytes).toBe(0);
  });

  it('bounds request bytes across all connections (queued.max.request.bytes)', async () => {
    const held: { ctx: RequestContext; done: ReturnType<typeof deferred<Response>> }[] = [];
    const { server, port } = await start(
      (ctx) => {
        const done = deferred<Response>();
        held.push({ ctx, done });
        return done.promise;
      },
      { maxQueuedRequestBytes: 10_000, requestTimeoutMs: 100 },
    );
    const frameOf = (id: number) => requestFrame(id, Buffer.alloc(6000 - 14));
    const a = await TestClient.connect(port);
    a.send(Buffer.concat([frameOf(1), frameOf(2)]));
    await waitUntil(() => held.length === 1 && server.stats().waitingForMemory === 1, 'a: one dispatched, one waiting');
    const b = await TestClient.connect(port);
    b.send(frameOf(3));
    await waitUntil(() => server.stats().waitingForMemory === 2, 'b waiting too');
    expect(server.stats().queuedRequestBytes).toBe(6000);
    expect(server.stats().pausedConnections).toBe(2);
    // A connection stalled mid-prefix is timed out; the two waiting for memory, which have held
    // their partial frames longer, are not: the wait is the server's doing, not theirs.
    const witness = await TestClient.connect(port);
    witness.send(Buffer.from([0, 0]));
    await witness.whenClosed;
    expect(a.closed || b.closed).toBe(false);
    // Answering request 1 frees room for request 2 (first in line), not for b's.
    held[0]!.done.resolve(response(1));
    await waitUntil(() => held.length === 2, 'request 2 dispatched');
    expect(held[1]!.ctx.correlationId).toBe(2);
    expect(server.stats().waitingForMemory).toBe(1);
    held[1]!.done.resolve(response(2));
    await waitUntil(() => held.length === 3, 'request 3 dispatched');
    held[2]!.done.resolve(response(3));
    await a.waitForResponses(2);
    await b.waitForResponses(1);
    await waitUntil(() => server.stats().queuedRequestBytes === 0, 'pool empty');
    expect(a.correlationIds()).toEqual([1, 2]);
  });

  it('a connection closing while it waits for memory gives its place up', async () => {
    const held: ReturnType<typeof deferred<Response>>[] = [];
    const { server, port } = await start(
      (ctx) => {
        const done = deferred<Response>();
        held.push(done);
        return done.promise.then(() => response(ctx.correlationId));
      },
      { maxQueuedRequestBytes: 10_000 },
    );
    const frameOf = (id: number) => requestFrame(id, Buffer.alloc(6000 - 14));
    const a = await TestClient.connect(port);
    a.send(frameOf(1));
    await waitUntil(() => held.length === 1, 'a dispatched');
    const b = await TestClient.connect(port);
    b.send(frameOf(2));
    await waitUntil(() => server.stats().waitingForMemory === 1, 'b waiting');
    b.socket.destroy();
    await waitUntil(() => server.stats().waitingForMemory === 0 && server.stats().connections === 1, 'b gone');
    a.socket.destroy();
    await waitUntil(() => server.stats().connections === 0, 'a gone');
    expect(server.stats().queuedRequestBytes).toBe(0);
  });

  it('closes idle connections, but never one with a request in flight', async () => {
    const gate = deferred<void>();
    const { server, port } = await start(
      async (ctx) => {
        if (ctx.correlationId === 1) await gate.promise;
        return echo(ctx);
      },
      { idleTimeoutMs: 100 },
    );
    const busy = await TestClient.connect(port);
    busy.send(requestFrame(1));
    await waitUntil(() => server.stats().inFlight === 1, 'request 1 in flight');
    // The witness connects later and idles; once it is closed for idleness, `busy` has been
    // quiet longer still, yet must be open because its request is in flight.
    const witness = await TestClient.connect(port);
    witness.send(requestFrame(2));
    await witness.waitForResponses(1);
    await witness.whenClosed;
    expect(server.stats().rejected.idleTimeout).toBe(1);
    expect(busy.closed).toBe(false);
    gate.resolve();
    await busy.waitForResponses(1);
    await busy.whenClosed; // idle after its answer
    expect(server.stats().rejected.idleTimeout).toBe(2);
    // A connection that never sends anything is idle too.
    const silent = await TestClient.connect(port);
    await silent.whenClosed;
    expect(server.stats().rejected.idleTimeout).toBe(3);
  });

  it('rejects nonsense options', () => {
    expect(() => new KafkaServer(echo, { maxRequestBytes: 0 })).toThrow(RangeError);
    expect(() => new KafkaServer(echo, { maxRequestBytes: 2 ** 31 })).toThrow(RangeError);
    expect(() => new KafkaServer(echo, { maxInFlightPerConnection: 1.5 })).toThrow(RangeError);
    expect(() => new KafkaServer(echo, { port: 70000 })).toThrow(RangeError);
  });
});

describe('lifecycle', () => {
  it('listen() reports the bound port; address is null before and after', async () => {
    const server = new KafkaServer(echo, { port: 0 });
    servers.push(server);
    expect(server.address).toBeNull();
    const addr = await server.listen();
    expect(addr.host).toBe('127.0.0.1');
    expect(addr.port).toBeGreaterThan(0);
    expect(server.address).toEqual(addr);
    await expect(server.listen()).rejects.toThrow(/already/);
    await server.close();
    expect(server.address).toBeNull();
  });

  it('listen() on a port in use rejects', async () => {
    const { port } = await start(echo);
    const second = new KafkaServer(echo, { port });
    servers.push(second);
    await expect(second.listen()).rejects.toThrow(/EADDRINUSE/);
  });

  it('close() lets in-flight requests finish and flush, then ends the sockets', async () => {
    const held: { ctx: RequestContext; done: ReturnType<typeof deferred<Response>> }[] = [];
    const { server, port } = await start((ctx) => {
      const done = deferred<Response>();
      held.push({ ctx, done });
      return done.promise;
    });
    const a = await TestClient.connect(port);
    const b = await TestClient.connect(port);
    a.send(Buffer.concat([requestFrame(1), requestFrame(2)]));
    b.send(requestFrame(3));
    await waitUntil(() => held.length === 3, 'three in flight');
    let closed = false;
    const closing = server.close({ graceMs: 30_000 }).then(() => (closed = true));
    // Not accepting any more.
    await waitUntil(() => server.address === null, 'stopped listening');
    await expect(TestClient.connect(port)).rejects.toThrow(/ECONNREFUSED/);
    expect(closed).toBe(false);
    for (const h of [...held].reverse()) h.done.resolve(response(h.ctx.correlationId, Buffer.from('late')));
    await closing;
    await a.whenClosed;
    await b.whenClosed;
    expect(a.correlationIds()).toEqual([1, 2]);
    expect(b.correlationIds()).toEqual([3]);
    expect(server.stats().connections).toBe(0);
    expect(server.close()).toBe(server.close()); // idempotent
  });

  it('close() answers what was dispatched and drops frames not yet dispatched', async () => {
    const held: { ctx: RequestContext; done: ReturnType<typeof deferred<Response>> }[] = [];
    const { server, port } = await start(
      (ctx) => {
        const done = deferred<Response>();
        held.push({ ctx, done });
        return done.promise;
      },
      { maxInFlightPerConnection: 2 },
    );
    const client = await TestClient.connect(port);
    client.send(Buffer.concat(range(10).map((i) => requestFrame(i))));
    await waitUntil(() => held.length === 2 && server.stats().pausedConnections === 1, 'two in flight');
    const closing = server.close({ graceMs: 30_000 });
    for (const h of held) h.done.resolve(response(h.ctx.correlationId));
    await closing;
    await client.whenClosed;
    expect(client.correlationIds()).toEqual([0, 1]);
    expect(held.length).toBe(2);
  });

  it('close() destroys connections whose requests outlive the grace period', async () => {
    const signals: AbortSignal[] = [];
    const { server, port } = await start((ctx) => {
      signals.push(ctx.signal);
      return new Promise<Response>(() => {}); // never answers
    });
    const client = await TestClient.connect(port);
    client.send(requestFrame(1));
    await waitUntil(() => signals.length === 1, 'dispatched');
    await server.close({ graceMs: 50 });
    await client.whenClosed;
    expect(signals[0]!.aborted).toBe(true);
    expect(server.stats().connections).toBe(0);
    expect(server.stats().inFlight).toBe(0);
  });

  it('close() of a server that never listened resolves', async () => {
    const server = new KafkaServer(echo, { port: 0 });
    await server.close();
    await expect(server.listen()).rejects.toThrow();
  });

  it('a throwing logger harms nothing', async () => {
    const angry = () => {
      throw new Error('logger down');
    };
    const { server, port } = await start(echo, { logger: { info: angry, warn: angry, debug: angry }, maxRequestBytes: 100 });
    const bad = await TestClient.connect(port);
    bad.send(sizePrefix(1000));
    await bad.whenClosed;
    const good = await TestClient.connect(port);
    good.send(requestFrame(1));
    await good.waitForResponses(1);
    await server.close();
  });
});
