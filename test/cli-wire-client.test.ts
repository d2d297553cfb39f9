import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { compileFormat } from '../src/cli/format.js';
import { decodeRequestHeader } from '../src/protocol/header.js';
import { encodeResponse } from '../src/protocol/apis.js';
import { parseBootstrap } from '../src/wire-client/cluster.js';
import { Connection } from '../src/wire-client/connection.js';
import { FrameReader } from '../src/wire-client/framing.js';
import { NegotiatedVersions } from '../src/wire-client/versions.js';
import { sluice } from './helpers/cli.js';

const servers: net.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A real TCP server on 127.0.0.1 whose connections get `onFrame` for every request frame. */
async function fakeBroker(onFrame: (frame: Buffer, socket: net.Socket) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const frames = new FrameReader((f) => onFrame(f, socket), 1 << 20);
    socket.on('data', (d) => frames.push(d));
  });
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  }) as typeof server.close;
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

const write = (socket: net.Socket, chunks: { chunks: readonly Buffer[] }) => socket.write(Buffer.concat([...chunks.chunks]));

describe('wire client pieces', () => {
  it('negotiates the highest common version, caps Fetch at 12, and names both ranges when none is shared', () => {
    const v = new NegotiatedVersions(
      [
        { apiKey: 3, minVersion: 0, maxVersion: 9 },
        { apiKey: 1, minVersion: 4, maxVersion: 17 },
        { apiKey: 0, minVersion: 0, maxVersion: 2 },
        { apiKey: 999, minVersion: 0, maxVersion: 1 },
      ],
      'h:1',
    );
    expect(v.versionFor(3)).toBe(9);
    expect(v.versionFor(1)).toBe(12);
    expect(() => v.versionFor(0)).toThrow('broker h:1 cannot serve Produce (api key 0): it supports versions 0-2; this client speaks 3-11');
    expect(() => v.versionFor(19)).toThrow('it does not support it');
  });

  it('splits frames across reads and several frames in one read', () => {
    const got: string[] = [];
    const r = new FrameReader((f) => got.push(f.toString()), 100);
    const frame = (s: string) => Buffer.concat([Buffer.from([0, 0, 0, s.length]), Buffer.from(s)]);
    const all = Buffer.concat([frame('abc'), frame(''), frame('hello')]);
    for (let i = 0; i < all.length; i += 2) r.push(all.subarray(i, i + 2));
    r.push(Buffer.concat([frame('x'), frame('yz')]));
    expect(got).toEqual(['abc', '', 'hello', 'x', 'yz']);
    expect(() => r.push(Buffer.from([0, 0, 1, 0]))).toThrow('response frame of 256 bytes (limit 100)');
  });

  it('formats records and parses bootstrap lists', () => {
    const f = compileFormat('%t/%p@%o %k=%v [%h] 100%% %T\\t.');
    const line = f({ topic: 't', partition: 1, offset: 5, timestamp: 7, timestampType: 'CreateTime', key: null, value: Buffer.from('v'), headers: [{ key: 'a', value: Buffer.from('1') }, { key: 'b', value: null }] });
    expect(line).toBe('t/1@5 null=v [a=1,b=null] 100% 7\t.\n');
    expect(() => compileFormat('%')).toThrow("ends with a lone '%'");
    expect(parseBootstrap('a:1, b:2,[::1]:3')).toEqual([{ host: 'a', port: 1 }, { host: 'b', port: 2 }, { host: '::1', port: 3 }]);
    expect(() => parseBootstrap('a:0')).toThrow("'a:0' is not host:port");
  });

  it('asks ApiVersions again at the version a broker answers UNSUPPORTED_VERSION with', async () => {
    const asked: number[] = [];
    const port = await fakeBroker((frame, socket) => {
      const h = decodeRequestHeader(frame);
      asked.push(h.apiVersion);
      if (h.apiVersion > 2) {
        write(socket, encodeResponse(18, 0, h.correlationId, { errorCode: 35, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 2 }] }, { sizePrefix: true }));
      } else {
        const apiKeys = [{ apiKey: 18, minVersion: 0, maxVersion: 2 }, { apiKey: 3, minVersion: 0, maxVersion: 7 }];
        write(socket, encodeResponse(18, h.apiVersion, h.correlationId, { errorCode: 0, apiKeys }, { sizePrefix: true }));
      }
    });
    const conn = await Connection.open({ host: '127.0.0.1', port });
    expect(asked).toEqual([3, 2]);
    expect(conn.versions.versionFor(3)).toBe(7);
    conn.close();
  });

  it('gives up on a broker that never answers, naming the request and the timeout', async () => {
    const port = await fakeBroker(() => {});
    const r = await sluice(['topics', '--list', '--bootstrap-server', `127.0.0.1:${port}`, '--request-timeout-ms', '300']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`sluice topics: broker 127.0.0.1:${port} did not answer a ApiVersions request within 300 ms`);
  });

  it('reports a broker that closes the connection', async () => {
    const port = await fakeBroker((_frame, socket) => socket.destroy());
    const r = await sluice(['groups', '--list', '--bootstrap-server', `127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`broker 127.0.0.1:${port} closed the connection with 1 request(s) unanswered`);
  });
});
