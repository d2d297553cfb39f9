/**
 * Running Sluice as a service: the start line (version, non-default settings), info lines for
 * topic changes and refusals, /health and /ready, short `serve` errors, a taken port, and no
 * data directory left behind by a failed start. Real broker processes, real sockets.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker } from './helpers/broker.js';
import { freePort } from './helpers/etcd.js';
import { tmpDir } from './helpers/tmp.js';

const root = path.resolve(import.meta.dirname, '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'index.js');
const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;

type LogLine = Record<string, unknown> & { msg: string; level: number };

function logLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

function sluice(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, output: () => string = () => ''): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}:\n${output()}`);
}

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
  try {
    const res = await fetch(url);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

const listeners: net.Server[] = [];
afterEach(async () => {
  for (const s of listeners.splice(0)) await new Promise((r) => s.close(r));
});

async function takePort(): Promise<number> {
  const s = net.createServer();
  listeners.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as net.AddressInfo).port;
}

describe('sluice serve as a service', () => {
  it('logs one start line with the version and every non-default setting with its value and source', async () => {
    const b = await startBroker({ args: ['--log-format', 'json', '--num-partitions', '3'], env: { SLUICE_MAX_CONNECTIONS: '500' } });
    await waitFor('broker started', () => (logLines(b.output()).some((l) => l.msg === 'broker started') ? true : undefined), b.output);
    const start = logLines(b.output()).filter((l) => l.msg.startsWith(`Sluice ${version} starting`));
    expect(start).toHaveLength(1);
    const line = start[0]!;
    expect(line.version).toBe(version);
    expect(line.level).toBe(30);
    const settings = line.settings as Record<string, { value: string; from: string }>;
    expect(settings['num-partitions']).toEqual({ value: '3', from: 'flag' });
    expect(settings['max-connections']).toEqual({ value: '500', from: 'env' });
    expect(settings['log-format']).toEqual({ value: 'json', from: 'flag' });
    expect(settings.port).toEqual({ value: '0', from: 'flag' });
    // Defaults are left out.
    expect(settings.durability).toBeUndefined();
    expect(settings['auto-create-topics']).toBeUndefined();
    expect(line.msg).toContain('--num-partitions=3 (flag)');
    expect(line.msg).toContain('--max-connections=500 (env)');
    await b.stop();
  });

  it('the sluice command starts Node with --initial-old-space-size=256 (its shebang), and the start line says so', async () => {
    // Run as the executable it is installed as (npm's bin link), through its #! line.
    fs.chmodSync(cli, 0o755);
    expect(fs.readFileSync(cli, 'utf8').split('\n', 1)[0]).toBe('#!/usr/bin/env -S node --initial-old-space-size=256');
    const dir = tmpDir('sluice-shebang-');
    const proc = spawn(cli, ['serve', '--dir', dir, '--port', '0', '--metrics-port', '0', '--console-port', '0', '--worker-threads', '1', '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    try {
      const line = await waitFor('the start line', () => logLines(out).find((l) => l.msg.startsWith(`Sluice ${version} starting`)), () => out);
      expect(line.nodeFlags).toEqual(['--initial-old-space-size=256']);
      expect(line.msg).toContain(`starting on Node ${process.version} --initial-old-space-size=256;`);
      await waitFor('broker started', () => (logLines(out).some((l) => l.msg === 'broker started') ? true : undefined), () => out);
    } finally {
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    // Started as `node index.js`, the line names what is missing.
    const b = await startBroker({ args: ['--log-format', 'json'] });
    const plain = await waitFor('the start line', () => logLines(b.output()).find((l) => l.msg.startsWith(`Sluice ${version} starting`)), b.output);
    expect(plain.msg).toContain('without --initial-old-space-size');
    await b.stop();
  });

  it('logs topic creation, config changes, auto-creation, refusals and deletion at info with the client id, once each', async () => {
    const b = await startBroker({ args: ['--log-format', 'json'] });
    const bs = ['--bootstrap-server', b.bootstrap];
    expect(sluice(['topics', ...bs, '--create', '--topic', 'audited', '--partitions', '2', '--config', 'retention.ms=3600000']).status).toBe(0);
    expect(sluice(['topics', ...bs, '--alter', '--topic', 'audited', '--config', 'cleanup.policy=compact', '--delete-config', 'retention.ms']).status).toBe(0);
    expect(sluice(['topics', ...bs, '--create', '--topic', 'audited']).status).not.toBe(0);
    const produced = spawnSync(process.execPath, [cli, 'produce', ...bs, '--topic', 'made-on-first-use'], { input: 'hello\n', encoding: 'utf8', timeout: 60_000 });
    expect(produced.status, produced.stderr).toBe(0);
    expect(sluice(['topics', ...bs, '--delete', '--topic', 'audited']).status).toBe(0);
    const lines = await waitFor('the delete line', () => {
      const l = logLines(b.output());
      return l.some((x) => x.msg === 'topic deleted') ? l : undefined;
    }, b.output);
    const one = (msg: string | RegExp) => {
      const found = lines.filter((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)));
      expect(found, `${msg} in\n${b.output()}`).toHaveLength(1);
      expect(found[0]!.level).toBe(30);
      expect(typeof found[0]!.clientId).toBe('string');
      expect(found[0]!.clientId).not.toBe('');
      return found[0]!;
    };
    const created = one('topic created');
    expect(created).toMatchObject({ topic: 'audited', partitions: 2, config: { 'retention.ms': '3600000' } });
    const changed = one(/^topic config changed/);
    expect(changed.topic).toBe('audited');
    expect(changed.msg).toContain('cleanup.policy set compact');
    expect(changed.msg).toContain('retention.ms deleted');
    const refused = one('CreateTopics refused: TOPIC_ALREADY_EXISTS');
    expect(refused).toMatchObject({ topic: 'audited', error: 'TOPIC_ALREADY_EXISTS' });
    expect(one('topic auto-created')).toMatchObject({ topic: 'made-on-first-use', partitions: 1 });
    expect(one('topic deleted')).toMatchObject({ topic: 'audited' });
    await b.stop();
  });

  it('logs delete-records and added partitions with the client id (kafkajs admin)', async () => {
    const b = await startBroker({ args: ['--log-format', 'json'] });
    const kafka = new Kafka({ brokers: [b.bootstrap], clientId: 'ops-admin', logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    const admin = kafka.admin();
    const producer = kafka.producer();
    await admin.connect();
    await producer.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'trimmed', numPartitions: 1 }] });
      await producer.send({ topic: 'trimmed', messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
      // kafkajs' admin finds the partition's leader in its own metadata: load it first.
      await admin.fetchTopicMetadata({ topics: ['trimmed'] });
      await admin.deleteTopicRecords({ topic: 'trimmed', partitions: [{ partition: 0, offset: '2' }] });
      await admin.createPartitions({ topicPartitions: [{ topic: 'trimmed', count: 3 }] });
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
    const lines = await waitFor('the partitions line', () => {
      const l = logLines(b.output());
      return l.some((x) => x.msg === 'partitions added') ? l : undefined;
    }, b.output);
    expect(lines.filter((l) => l.msg === 'records deleted')).toEqual([expect.objectContaining({ level: 30, topic: 'trimmed', partition: 0, clientId: 'ops-admin', logStartOffset: 2 })]);
    expect(lines.filter((l) => l.msg === 'partitions added')).toEqual([expect.objectContaining({ level: 30, topic: 'trimmed', partitions: 3, clientId: 'ops-admin' })]);
    expect(lines.filter((l) => l.msg === 'topic created')).toEqual([expect.objectContaining({ topic: 'trimmed', clientId: 'ops-admin', partitions: 1 })]);
    await b.stop();
  });

  it('logs a produce to an unknown topic as refused, and rate-limits a client that repeats it', async () => {
    const b = await startBroker({ args: ['--log-format', 'json', '--auto-create-topics', 'false'] });
    // A raw Produce v3 (null records) to a missing topic, 100 times on one connection: with
    // auto-creation off each is refused, but a loop must not give as many log lines.
    const py = `
import socket, struct
def req(api, ver, body, cid=b'looping-client'):
    hdr = struct.pack('>hhih', api, ver, 1, len(cid)) + cid
    return struct.pack('>i', len(hdr) + len(body)) + hdr + body
s = socket.create_connection(('127.0.0.1', ${b.port}))
topic = b'no-such-topic'
batch = b''
body = struct.pack('>hhi', -1, 1, 1000) + struct.pack('>i', 1) + struct.pack('>h', len(topic)) + topic + struct.pack('>i', 1) + struct.pack('>i', 0) + struct.pack('>i', -1)
for i in range(100):
    s.sendall(req(0, 3, body))
    n = struct.unpack('>i', s.recv(4))[0]
    got = b''
    while len(got) < n:
        got += s.recv(n - len(got))
print('ok')
`;
    const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout.trim(), r.stderr).toBe('ok');
    // The log is written asynchronously: wait for the first line.
    await waitFor('a refusal line', () => (logLines(b.output()).some((l) => l.msg.startsWith('Produce refused')) ? true : undefined), b.output);
    await b.stop();
    const refusals = logLines(b.output()).filter((l) => l.msg.startsWith('Produce refused'));
    expect(refusals.length).toBeLessThan(100);
    expect(refusals[0]).toMatchObject({ level: 30, topic: 'no-such-topic', clientId: 'looping-client', error: 'UNKNOWN_TOPIC_OR_PARTITION', partition: 0 });
  });

  it('answers /health and /ready next to /metrics', async () => {
    const metricsPort = await freePort();
    const b = await startBroker({ args: ['--metrics-port', String(metricsPort)] });
    const health = await get(`http://127.0.0.1:${metricsPort}/health`);
    expect(health).toMatchObject({ status: 200, body: { status: 'up', version } });
    const ready = await get(`http://127.0.0.1:${metricsPort}/ready`);
    expect(ready).toMatchObject({ status: 200, body: { status: 'ready' } });
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('sluice_requests_total');
    await b.stop();
  });

  it('says 503 on /ready, with the reason, while a cluster broker cannot reach etcd (and 200 on /health)', async () => {
    const [metricsPort, closed] = [await freePort(), await freePort()];
    const dir = tmpDir('sluice-unready-');
    const proc = spawn(process.execPath, [cli, 'serve', '--dir', dir, '--port', '0', '--metrics-port', String(metricsPort), '--etcd', `http://127.0.0.1:${closed}`, '--worker-threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const exited = new Promise((r) => proc.on('exit', r));
    try {
      const health = await waitFor('/health', () => get(`http://127.0.0.1:${metricsPort}/health`), () => out);
      expect(health.status).toBe(200);
      // The broker keeps retrying etcd: it is up, not ready, and says why.
      await waitFor('a retry', () => (/retrying in/.test(out) ? true : undefined), () => out);
      const ready = await get(`http://127.0.0.1:${metricsPort}/ready`);
      expect(ready?.status).toBe(503);
      expect(ready?.body.status).toBe('not ready');
      expect(String(ready?.body.reason)).toContain('joining the cluster');
      expect(String(ready?.body.reason)).toContain(`127.0.0.1:${closed}`);
      expect(out).not.toContain('listening on');
    } finally {
      proc.kill('SIGKILL');
      await exited;
    }
  });

  it('answers a mistyped flag with one line, a "did you mean" and the --help hint', () => {
    const r = sluice(['serve', '--prot', '9093']);
    expect(r.status).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toEqual([`sluice serve: unknown option '--prot' (did you mean --port?)`, 'Run `sluice serve --help` for the options.']);
    expect(r.stdout).toBe('');
    const bad = sluice(['serve', '--durability', 'sometimes']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trimEnd().split('\n')).toHaveLength(2);
    expect(bad.stderr).toContain("invalid value 'sometimes' for --durability");
  });

  it('names --port when the port is taken, and leaves no new data directory behind', async () => {
    const taken = await takePort();
    const parent = tmpDir('sluice-fresh-');
    const dir = path.join(parent, 'not', 'there');
    const r = sluice(['serve', '--dir', dir, '--port', String(taken), '--metrics-port', '0', '--worker-threads', '1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`127.0.0.1:${taken}`);
    expect(r.stderr).toContain('--port');
    expect(r.stderr.split('\n').filter((l) => l.startsWith('sluice serve:'))).toHaveLength(1);
    expect(fs.existsSync(path.join(parent, 'not'))).toBe(false);
    expect(fs.existsSync(parent)).toBe(true);

    // A data directory that existed before is kept, with what it held.
    const existing = tmpDir('sluice-existing-');
    fs.writeFileSync(path.join(existing, 'keep-me'), 'x');
    const again = sluice(['serve', '--dir', existing, '--port', String(taken), '--metrics-port', '0', '--worker-threads', '1']);
    expect(again.status).toBe(1);
    expect(fs.readFileSync(path.join(existing, 'keep-me'), 'utf8')).toBe('x');

    // A taken metrics port names --metrics-port, and also leaves nothing behind.
    const dir2 = path.join(parent, 'second');
    const m = sluice(['serve', '--dir', dir2, '--port', '0', '--metrics-port', String(taken), '--worker-threads', '1']);
    expect(m.status).toBe(1);
    expect(m.stderr).toContain('--metrics-port');
    expect(fs.existsSync(dir2)).toBe(false);
  });
});
