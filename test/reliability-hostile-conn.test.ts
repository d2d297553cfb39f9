/**
 * Issue 7, hostile clients that do not send garbage but misuse connections: slow-loris
 * frames, thousands of idle sockets, connection floods past --max-connections, oversized
 * size prefixes. The broker must close what it should, keep answering a well-behaved client
 * (a hang bound of 10 s; latencies are reported, not asserted) and keep its RSS bounded.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { startBroker } from './helpers/broker.js';
import { MiB, probe, RssSampler, within } from './helpers/fuzz-probe.js';
import { WireClient } from './helpers/wire-client.js';
import { createTopic } from './helpers/fuzz-probe.js';

const HANG_MS = 10_000;
/** Same reasoning as the fuzz test: ~100 MiB at rest, 3,000 sockets cost a few MiB of buffers. */
const MEMORY_BOUND = 512 * MiB;

interface Sock {
  socket: net.Socket;
  /** Resolves with the time (performance.now()) the peer closed it. */
  closed: Promise<number>;
  isClosed: () => boolean;
}

function open(port: number): Promise<Sock> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let done = false;
    const closed = new Promise<number>((r) =>
      socket.once('close', () => {
        done = true;
        r(performance.now());
      }),
    );
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.once('connect', () => resolve({ socket, closed, isClosed: () => done }));
    socket.once('error', reject);
  });
}

/** Opens `n` sockets, `width` at a time. */
async function openMany(port: number, n: number, width = 100): Promise<Sock[]> {
  const out: Sock[] = [];
  for (let i = 0; i < n; i += width) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(width, n - i) }, () => open(port)))));
  }
  return out;
}

async function setupProbeTopic(port: number): Promise<void> {
  const c = await WireClient.connect(port);
  await createTopic(c, 'keep-probe', 1);
  c.close();
}

describe('hostile clients: connections', () => {
  it('closes slow-loris connections at the request timeout and keeps serving meanwhile', async () => {
    const broker = await startBroker({ args: ['--request-timeout-ms', '1000'] });
    await setupProbeTopic(broker.port);
    // 100 connections announce a 64-byte frame and send one byte every 200 ms, forever.
    const loris = await openMany(broker.port, 100);
    const started = performance.now();
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(64);
    for (const s of loris) s.socket.write(prefix);
    const drip = setInterval(() => {
      for (const s of loris) if (!s.isClosed()) s.socket.write(Buffer.from([0]));
    }, 200);
    try {
      const latency = await within(probe(broker.port, 0), HANG_MS, 'probe while 100 slow-loris connections drip');
      const closedAt = await within(Promise.all(loris.map((s) => s.closed)), HANG_MS, 'slow-loris connections closed');
      const slowest = Math.max(...closedAt) - started;
      console.log(`[hostile slow-loris] 100 connections closed after ${Math.round(Math.min(...closedAt) - started)}-${Math.round(slowest)} ms (request timeout 1000 ms); probe ${latency.toFixed(1)} ms`);
      // Not before the timeout: the frames kept progressing, yet a frame must complete in time.
      expect(Math.min(...closedAt) - started).toBeGreaterThanOrEqual(900);
      expect(broker.output()).toContain('request frame incomplete within the request timeout');
    } finally {
      clearInterval(drip);
    }
    expect(await within(probe(broker.port, 1), HANG_MS, 'probe after')).toBeGreaterThan(0);
  });

  it('stays responsive with 3,000 idle connections and keeps its memory bounded', async () => {
    const broker = await startBroker();
    await setupProbeTopic(broker.port);
    const rss = new RssSampler(broker.proc.pid!, 100);
    const before = rss.sample();
    const idle = await openMany(broker.port, 3000);
    try {
      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) latencies.push(await within(probe(broker.port, i), HANG_MS, `probe ${i} with 3,000 idle connections`));
      rss.sample();
      expect(idle.filter((s) => s.isClosed())).toHaveLength(0); // idle is not yet too idle (default 10 minutes)
      console.log(
        `[hostile idle] 3000 idle connections: RSS ${(before / MiB).toFixed(0)} -> peak ${(rss.peak / MiB).toFixed(0)} MiB (bound ${MEMORY_BOUND / MiB}); ` +
          `probe ms ${latencies.map((l) => l.toFixed(1)).join(', ')}`,
      );
      expect(rss.peak).toBeLessThan(MEMORY_BOUND);
    } finally {
      rss.stop();
      for (const s of idle) s.socket.destroy();
    }
  });

  it('refuses connections beyond --max-connections and serves again once they go', async () => {
    const broker = await startBroker({ args: ['--max-connections', '300'] });
    await setupProbeTopic(broker.port);
    const held = await openMany(broker.port, 300);
    // Let the broker accept all 300 before the extras arrive.
    const c = await WireClient.connect(broker.port).catch(() => null);
    c?.close();
    const extra = await openMany(broker.port, 200);
    const refused = await within(Promise.all(extra.map((s) => s.closed)), HANG_MS, 'connections over the limit closed');
    expect(refused).toHaveLength(200);
    expect(held.filter((s) => s.isClosed()).length).toBeLessThanOrEqual(1); // at most the slot the probe client took
    expect(broker.output()).toContain('connection refused: too many connections');
    for (const s of held) s.socket.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(await within(probe(broker.port, 0), HANG_MS, 'probe once the connections are gone')).toBeGreaterThan(0);
  });

  it('closes idle connections after --idle-timeout-ms, not busy ones', async () => {
    const broker = await startBroker({ args: ['--idle-timeout-ms', '1000'] });
    await setupProbeTopic(broker.port);
    const started = performance.now(); // before the first idle socket opens: its idle clock starts then
    const idle = await openMany(broker.port, 500);
    const busy = await WireClient.connect(broker.port);
    let busyAlive = true;
    void busy.closed.then(() => (busyAlive = false));
    const keepBusy = (async () => {
      while (performance.now() - started < 3000 && busyAlive) {
        await busy.request(18, 3, { clientSoftwareName: 'busy', clientSoftwareVersion: '1' });
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    const closedAt = await within(Promise.all(idle.map((s) => s.closed)), HANG_MS, 'idle connections closed');
    await keepBusy;
    expect(Math.min(...closedAt) - started).toBeGreaterThanOrEqual(900);
    expect(busyAlive).toBe(true);
    busy.close();
    console.log(`[hostile idle-timeout] 500 idle connections closed ${Math.round(Math.min(...closedAt) - started)}-${Math.round(Math.max(...closedAt) - started)} ms after the first opened (idle timeout 1000 ms)`);
  });

  it('closes connections whose size prefix exceeds --max-request-bytes without buffering what follows', async () => {
    const broker = await startBroker({ args: ['--max-request-bytes', '1048576'] });
    await setupProbeTopic(broker.port);
    const rss = new RssSampler(broker.proc.pid!, 50);
    const before = rss.sample();
    try {
      // 50 connections claim a 2 GiB frame, 50 claim max+1, and each streams 4 MiB after the claim.
      const socks = await openMany(broker.port, 100);
      const junk = Buffer.alloc(4 * MiB, 0x41);
      socks.forEach((s, i) => {
        const prefix = Buffer.alloc(4);
        prefix.writeInt32BE(i % 2 === 0 ? 0x7fffffff : 1048577);
        s.socket.write(prefix);
        s.socket.write(junk);
      });
      await within(Promise.all(socks.map((s) => s.closed)), HANG_MS, 'oversized frames closed');
      expect(await within(probe(broker.port, 0), HANG_MS, 'probe after oversized frames')).toBeGreaterThan(0);
      rss.sample();
      console.log(`[hostile oversized] 100 oversized claims + 400 MiB offered: RSS ${(before / MiB).toFixed(0)} -> peak ${(rss.peak / MiB).toFixed(0)} MiB`);
      // 400 MiB were offered; buffering even a tenth of it would show.
      expect(rss.peak - before).toBeLessThan(40 * MiB);
      expect(broker.output()).toContain('exceeds the limit of 1048576 bytes');
    } finally {
      rss.stop();
    }
  });
});
