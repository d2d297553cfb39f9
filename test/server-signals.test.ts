/**
 * installSignalHandlers: the first signal closes the server gracefully and then runs the
 * caller's shutdown; a second one during that exits at once; installing twice installs once.
 * Signals are delivered with process.emit on SIGUSR2 so the test runner's own handlers of
 * SIGINT/SIGTERM are never triggered; the default signal list is checked by listener counts.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaServer, installSignalHandlers, type Handler } from '../src/server/index.js';

const echo: Handler = (ctx) => {
  const head = Buffer.alloc(4);
  head.writeInt32BE(ctx.correlationId, 0);
  return { chunks: [head], length: 4 };
};

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function started(): Promise<KafkaServer> {
  const server = new KafkaServer(echo, { port: 0 });
  cleanups.push(() => server.close({ graceMs: 0 }));
  await server.listen();
  return server;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });
}

describe('installSignalHandlers', () => {
  it('listens for SIGINT and SIGTERM by default, once per server, and uninstalls', async () => {
    const server = await started();
    const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    const uninstall = installSignalHandlers(server);
    expect(installSignalHandlers(server)).toBe(uninstall);
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual([before[0]! + 1, before[1]! + 1]);
    uninstall();
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
    // After uninstalling, installing again is possible.
    const again = installSignalHandlers(server);
    expect(again).not.toBe(uninstall);
    again();
  });

  it('first signal: closes the server, then runs onShutdown, then removes itself', async () => {
    const server = await started();
    const port = server.address!.port;
    const order: string[] = [];
    const exits: number[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const uninstall = installSignalHandlers(
      server,
      async (signal) => {
        order.push(`shutdown ${signal} (address ${String(server.address)})`);
        done();
      },
      { signals: ['SIGUSR2'], exit: (code) => exits.push(code) },
    );
    cleanups.push(uninstall);
    const listeners = process.listenerCount('SIGUSR2');
    process.emit('SIGUSR2', 'SIGUSR2');
    await finished;
    expect(order).toEqual(['shutdown SIGUSR2 (address null)']);
    expect(await refused(port)).toBe(true);
    expect(exits).toEqual([]);
    // Handlers are gone once shutdown completed.
    await new Promise((r) => setImmediate(r));
    expect(process.listenerCount('SIGUSR2')).toBe(listeners - 1);
  });

  it('a second signal during shutdown exits at once with 128 + signal number', async () => {
    const server = await started();
    const exits: number[] = [];
    let release!: () => void;
    const stuck = new Promise<void>((r) => (release = r));
    const uninstall = installSignalHandlers(server, () => stuck, { signals: ['SIGUSR2'], exit: (code) => exits.push(code) });
    cleanups.push(() => {
      release();
      uninstall();
    });
    process.emit('SIGUSR2', 'SIGUSR2');
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(exits).toEqual([128 + 12]); // SIGUSR2 is 12 on Linux
  });

  it('a failing onShutdown sets a failing exit code but does not throw', async () => {
    const server = await started();
    const saved = process.exitCode;
    let failed!: () => void;
    const seen = new Promise<void>((r) => (failed = r));
    const warnings: string[] = [];
    const uninstall = installSignalHandlers(
      server,
      () => {
        throw new Error('disk on fire');
      },
      { signals: ['SIGUSR2'], exit: () => {}, logger: { info() {}, warn: (_o, m) => (warnings.push(m), m === 'shutdown failed' && failed()) } },
    );
    cleanups.push(uninstall);
    process.emit('SIGUSR2', 'SIGUSR2');
    await seen;
    expect(process.exitCode).toBe(1);
    process.exitCode = saved;
    expect(warnings).toContain('shutdown failed');
  });
});
