/**
 * `sluice dev-cluster`: a whole cluster on this machine for trying things out. It starts one
 * etcd (the `etcd` binary from PATH: Debian's etcd-server package) and N brokers on
 * consecutive ports, each in its own process with its data under --dir, prints the bootstrap
 * string and each broker's state as it changes, and stops everything on Ctrl-C (SIGINT) or
 * SIGTERM: brokers first (a clean shutdown each), then etcd.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, UsageError } from './args.js';

export const DEV_CLUSTER_HELP = `Usage: sluice dev-cluster [options]

Starts a local etcd and a cluster of brokers on 127.0.0.1, prints the bootstrap string,
and stops them all on Ctrl-C. For trying a cluster out; run brokers with \`sluice serve
--node-id N --etcd URL\` in production.

  --brokers <n>        brokers to start (default 3)
  --base-port <port>   the first broker's port; the others follow (default 9092)
  --etcd-port <port>   etcd's client port; the peer port is the next one (default 2379)
  --dir <path>         data of etcd and every broker (default ./data/cluster)
  --cluster <name>     the cluster's name in etcd (default sluice)
  -h, --help           this help

Every broker's own output goes to <dir>/broker-N.log, etcd's to <dir>/etcd.log.
`;

const OPTIONS = {
  brokers: { type: 'string' },
  'base-port': { type: 'string' },
  'etcd-port': { type: 'string' },
  dir: { type: 'string' },
  cluster: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function intFlag(value: string | undefined, name: string, def: number, min: number, max: number): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not '${value}'`);
  return n;
}

export async function devCluster(argv: string[]): Promise<number> {
  const flags = parse(argv, OPTIONS);
  if (flags.help) {
    process.stdout.write(DEV_CLUSTER_HELP);
    return 0;
  }
  const brokers = intFlag(flags.brokers, 'brokers', 3, 1, 32);
  const basePort = intFlag(flags['base-port'], 'base-port', 9092, 1, 65535 - brokers);
  const etcdPort = intFlag(flags['etcd-port'], 'etcd-port', 2379, 1, 65534);
  const dir = path.resolve(flags.dir ?? './data/cluster');
  const cluster = flags.cluster ?? 'sluice';
  if (spawnSync('etcd', ['--version']).status !== 0) {
    throw new Error('the etcd binary is not on PATH: install it (Debian: apt-get install etcd-server) and run again');
  }
  fs.mkdirSync(dir, { recursive: true });
  const endpoint = `http://127.0.0.1:${etcdPort}`;
  const children: { name: string; proc: ChildProcess }[] = [];
  let stopping = false;

  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('stopping the brokers, then etcd...\n');
    const exits = (list: typeof children) =>
      Promise.all(list.filter((c) => c.proc.exitCode === null && c.proc.signalCode === null).map((c) => new Promise((r) => c.proc.once('exit', r))));
    const brokerProcs = children.filter((c) => c.name !== 'etcd');
    for (const c of brokerProcs) c.proc.kill('SIGTERM');
    await exits(brokerProcs);
    const etcd = children.filter((c) => c.name === 'etcd');
    for (const c of etcd) c.proc.kill('SIGTERM');
    await exits(etcd);
    process.stdout.write('stopped\n');
  };

  const log = (name: string) => fs.openSync(path.join(dir, `${name}.log`), 'a');
  const etcd = spawn(
    'etcd',
    [
      '--name', 'dev', '--data-dir', path.join(dir, 'etcd'),
      '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
      '--listen-peer-urls', `http://127.0.0.1:${etcdPort + 1}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPort + 1}`,
      '--initial-cluster', `dev=http://127.0.0.1:${etcdPort + 1}`,
    ],
    { stdio: ['ignore', log('etcd'), log('etcd')] },
  );
  children.push({ name: 'etcd', proc: etcd });
  const done = new Promise<number>((resolve) => {
    const onSignal = () => void stopAll().then(() => resolve(0));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    etcd.once('exit', (code) => {
      if (stopping) return;
      process.stderr.write(`etcd exited with code ${code}: see ${path.join(dir, 'etcd.log')}\n`);
      void stopAll().then(() => resolve(1));
    });
  });
  process.stdout.write(`etcd starting on ${endpoint} (data in ${path.join(dir, 'etcd')})\n`);
  if (!(await waitForEtcd(endpoint, 20_000))) {
    process.stderr.write(`etcd did not come up on ${endpoint} within 20 s: see ${path.join(dir, 'etcd.log')} (is the port taken? try --etcd-port)\n`);
    await stopAll();
    return 1;
  }

  const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), 'index.js');
  const state = new Map<number, string>();
  const show = () => process.stdout.write(`brokers: ${[...state].map(([id, s]) => `${id}=${s}`).join('  ')}\n`);
  for (let id = 1; id <= brokers; id++) {
    const port = basePort + id - 1;
    const proc = spawn(
      process.execPath,
      [cli, 'serve', '--node-id', String(id), '--etcd', endpoint, '--cluster', cluster, '--port', String(port), '--dir', path.join(dir, `broker-${id}`), '--metrics-port', '0', '--console-port', '0', '--log-format', 'json'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push({ name: `broker-${id}`, proc });
    state.set(id, 'starting');
    const out = fs.createWriteStream(path.join(dir, `broker-${id}.log`), { flags: 'a' });
    proc.stdout!.pipe(out);
    proc.stderr!.pipe(out);
    let seen = '';
    proc.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (state.get(id) === 'starting' && seen.includes('listening on')) {
        state.set(id, `up on 127.0.0.1:${port}`);
        show();
      }
    });
    proc.stderr!.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (line.includes('"became the controller"')) process.stdout.write(`broker ${id} is the controller\n`);
      }
    });
    proc.once('exit', (code, signal) => {
      if (stopping) return;
      state.set(id, `exited (${signal ?? code}): see ${path.join(dir, `broker-${id}.log`)}`);
      show();
    });
  }
  const bootstrap = Array.from({ length: brokers }, (_, i) => `127.0.0.1:${basePort + i}`).join(',');
  await Promise.race([waitFor(() => [...state.values()].every((s) => s !== 'starting'), 60_000), done]);
  process.stdout.write(
    `\ncluster '${cluster}' of ${brokers} broker(s) is up. Bootstrap: ${bootstrap}\n` +
      `  npx sluice topics --bootstrap-server ${bootstrap} --create --topic demo --partitions 6\n` +
      `  kcat -b ${bootstrap} -L\n` +
      `Ctrl-C stops everything.\n`,
  );
  return done;
}

async function waitForEtcd(endpoint: string, timeoutMs: number): Promise<boolean> {
  return waitFor(async () => {
    try {
      const r = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
      return r.ok;
    } catch {
      return false;
    }
  }, timeoutMs);
}

async function waitFor(test: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await test()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}
