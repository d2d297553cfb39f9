/**
 * syslog-ng's Kafka destination with sync-send(yes), the real one from Debian (3.38, librdkafka
 * 2.0.2): it produces in Kafka transactions (transactional.id "kafka(<topic>)") and counts
 * lines as sent once their transaction commits. Before Sluice had transactions its InitProducerId was
 * refused and syslog-ng retried forever, delivering nothing. Here README's config
 * (examples/syslog-ng-kafka.conf, with this test's ports) delivers every line once, in order,
 * also when the broker is SIGKILLed and restarted while lines are flowing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startBroker, type BrokerProcess } from './helpers/broker.js';
import { requireTool, run } from './helpers/clients.js';
import { freePort } from './helpers/etcd.js';
import { eventually } from './helpers/replicas.js';
import { tmpDir } from './helpers/tmp.js';

const EXAMPLE = path.resolve(import.meta.dirname, '..', 'examples', 'syslog-ng-kafka.conf');

/** Starts syslog-ng in the foreground on README's config, pointed at `bootstrap` and listening on `port`. */
async function startSyslogNg(bootstrap: string, port: number): Promise<{ proc: ChildProcess; output: () => string; stop: () => Promise<void> }> {
  requireTool('syslog-ng', 'apt-get install -y syslog-ng-core syslog-ng-mod-rdkafka');
  const dir = tmpDir('sluice-syslog-ng-');
  const conf = path.join(dir, 'syslog-ng.conf');
  const text = fs.readFileSync(EXAMPLE, 'utf8');
  expect(text).toContain('127.0.0.1:9092');
  fs.writeFileSync(conf, text.replace('127.0.0.1:9092', bootstrap).replace('port(5514)', `port(${port})`));
  const proc = spawn('syslog-ng', ['-F', '-e', '--no-caps', '-f', conf, '-R', path.join(dir, 'persist'), '-p', path.join(dir, 'pid'), '-c', path.join(dir, 'ctl')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await eventually(() => out, (o) => o.includes('syslog-ng starting up') || proc.exitCode !== null, 20_000, 'syslog-ng started');
  if (proc.exitCode !== null) throw new Error(`syslog-ng did not start:\n${out}`);
  return {
    proc,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/** Sends `lines` to syslog-ng's TCP source, `perTick` lines every 10 ms, calling `onSent` with the count. */
async function sendLines(port: number, lines: string[], perTick: number, onSent: (n: number) => Promise<void> = async () => {}): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  for (let i = 0; i < lines.length; i += perTick) {
    socket.write(lines.slice(i, i + perTick).map((l) => `${l}\n`).join(''));
    await onSent(Math.min(lines.length, i + perTick));
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise<void>((r) => socket.end(r));
}

/** The values of topic `syslog` as a read_committed kcat reads them. */
async function committed(bootstrap: string): Promise<string[]> {
  const out = await run('kcat', ['-b', bootstrap, '-C', '-t', 'syslog', '-e', '-q', '-X', 'isolation.level=read_committed']);
  return out.split('\n').filter((l) => l !== '');
}

describe('syslog-ng kafka-c with sync-send(yes)', () => {
  it('delivers every line exactly once, in transactions, as README configures it', async () => {
    const readme = fs.readFileSync(path.resolve(import.meta.dirname, '..', 'README.md'), 'utf8');
    expect(readme).toContain('```\n' + fs.readFileSync(EXAMPLE, 'utf8') + '```');
    const broker = await startBroker();
    const port = await freePort();
    const syslog = await startSyslogNg(broker.bootstrap, port);
    try {
      const lines = Array.from({ length: 500 }, (_, i) => `syslog line ${i} host=web-${i % 7} status=${200 + (i % 5)}`);
      await sendLines(port, lines, 50);
      const got = await eventually(() => committed(broker.bootstrap), (v) => v.length >= lines.length, 60_000, 'every line delivered');
      expect(got).toEqual(lines);
      // The lines went in committed transactions of syslog-ng's transactional id.
      const list = await run(process.execPath, [path.resolve(import.meta.dirname, '..', 'dist', 'src', 'cli', 'index.js'), 'transactions', '--list', '--bootstrap-server', broker.bootstrap]);
      expect(list).toMatch(/kafka\(syslog\)\s+\d+\s+\d+\s+CompleteCommit/);
    } finally {
      await syslog.stop();
      await broker.stop();
    }
  }, 120_000);

  it('every line once after the broker is SIGKILLed and restarted mid-delivery', async () => {
    let broker: BrokerProcess = await startBroker();
    const dir = broker.dir;
    const brokerPort = broker.port;
    const port = await freePort();
    const syslog = await startSyslogNg(broker.bootstrap, port);
    try {
      const lines = Array.from({ length: 1500 }, (_, i) => `line ${i} path=/api/v1/items/${(i * 7919) % 1000}`);
      let killed = false;
      // 1,000 lines at once, and the broker is SIGKILLed while syslog-ng delivers them.
      await sendLines(port, lines, 1000, async () => {
        if (killed) return;
        killed = true;
        await new Promise((r) => setTimeout(r, 20));
        await broker.kill();
        await new Promise((r) => setTimeout(r, 1000));
        broker = await startBroker({ dir, port: brokerPort });
      });
      expect(killed).toBe(true);
      const got = await eventually(() => committed(broker.bootstrap), (v) => new Set(v).size >= lines.length, 120_000, 'every line delivered after the restart');
      const dupes = got.length - new Set(got).size;
      console.log(`syslog-ng through a broker SIGKILL: ${lines.length} lines sent, ${got.length} committed records, ${dupes} duplicates`);
      // syslog-ng's producer was connected to its transaction coordinator when the broker died.
      expect(syslog.output()).toMatch(/TxnCoordinator: 127\.0\.0\.1:\d+: Disconnected/);
      expect(new Set(got)).toEqual(new Set(lines));
      expect(got).toEqual(lines);
    } finally {
      await syslog.stop();
      await broker.stop();
    }
  }, 240_000);
});
