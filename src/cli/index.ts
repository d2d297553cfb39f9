#!/usr/bin/env -S node --initial-old-space-size=256
/**
 * The `sluice` command. `serve` is loaded only when asked for, so the client commands start
 * fast and load no broker code.
 */
import { UsageError } from './args.js';
import { clusterCommand } from './cluster.js';
import { configs } from './configs.js';
import { consume } from './consume.js';
import { deleteRecordsCommand } from './delete-records.js';
import { devCluster } from './dev-cluster.js';
import { dumpLog } from './dump-log.js';
import { getOffsets } from './get-offsets.js';
import { groups } from './groups.js';
import { transactions } from './transactions.js';
import { perf } from './perf.js';
import { logDirs } from './log-dirs.js';
import { leaderElection } from './leader-election.js';
import { reassign } from './reassign.js';
import { produce } from './produce.js';
import { topics } from './topics.js';
import { SOFTWARE_VERSION } from '../version.js';

const HELP = `Usage: sluice <command> [options]

Commands:
  serve      run a broker on the Kafka wire protocol (what \`npm start\` runs)
  topics     create, list, describe, alter and delete topics (like kafka-topics.sh)
  produce    send lines of stdin or a file as records (like kafka-console-producer.sh)
  consume    print records of a topic, alone or in a consumer group (like kafka-console-consumer.sh)
  groups     list, describe, reset offsets of and delete consumer groups (like kafka-consumer-groups.sh)
  transactions  list and describe transactions (like kafka-transactions.sh)
  perf       benchmark a broker: produce, consume, end-to-end (like kafka-*-perf-test.sh)
  configs    describe and alter configs of topics, brokers and groups (like kafka-configs.sh)
  get-offsets  offsets of partitions: earliest, latest, max-timestamp or at a time (like kafka-get-offsets.sh)
  delete-records  delete the records before an offset of partitions (like kafka-delete-records.sh)
  log-dirs   each broker's log directories and partition sizes, as JSON (like kafka-log-dirs.sh)
  dump-log   decode segment files: .log, .index, .timeindex (like kafka-dump-log.sh)
  cluster    describe a cluster: brokers, controller, racks, partitions per broker
  reassign   move partition replicas between brokers (like kafka-reassign-partitions.sh)
  leader-election  preferred or unclean leader election (like kafka-leader-election.sh)
  dev-cluster  start a local etcd and a cluster of brokers (default 3) for trying a cluster out

topics, produce, consume and groups talk to any Kafka-compatible broker over the wire:
--bootstrap-server host:port (default 127.0.0.1:9092, or SLUICE_BOOTSTRAP_SERVER).
Run \`sluice <command> --help\` for a command's options; \`sluice [<command>] --version\`
prints Sluice's version.
`;

/** Client commands: each returns its exit code; a UsageError means exit code 2. */
const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  topics,
  produce,
  consume,
  groups,
  transactions,
  perf,
  configs,
  'get-offsets': getOffsets,
  'delete-records': deleteRecordsCommand,
  'log-dirs': logDirs,
  'dump-log': dumpLog,
  'dev-cluster': devCluster,
  cluster: clusterCommand,
  reassign,
  'leader-election': leaderElection,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // Every command answers --version (as Kafka's scripts do) before its own flags are checked.
  if (command === '--version' || ((command === 'serve' || (command !== undefined && COMMANDS[command] !== undefined)) && rest.includes('--version'))) {
    process.stdout.write(`${SOFTWARE_VERSION}\n`);
    return 0;
  }
  switch (command) {
    case 'serve':
      await runServe(rest);
      return 0;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(HELP);
      return 0;
  }
  const run = COMMANDS[command];
  if (run === undefined) {
    process.stderr.write(`sluice: unknown command '${command}'\n\n${HELP}`);
    return 2;
  }
  // A reader that goes away (`| head`) ends the command quietly; consume handles it itself, to
  // commit and leave its group first.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    if (command !== 'consume') process.exit(0);
  });
  try {
    return await run(rest);
  } catch (err) {
    const usage = err instanceof UsageError;
    process.stderr.write(`sluice ${command}: ${err instanceof Error ? err.message : String(err)}\n`);
    if (usage) process.stderr.write(`Run \`sluice ${command} --help\` for the options.\n`);
    return usage ? 2 : 1;
  }
}

async function runServe(argv: string[]): Promise<void> {
  const { ConfigError, serve } = await import('./serve.js');
  try {
    await serve(argv);
  } catch (err) {
    // As the other commands: the problem (a config file's, all of them) and the --help hint.
    const usage = err instanceof ConfigError || err instanceof UsageError;
    process.stderr.write(`sluice serve: ${err instanceof Error ? err.message : String(err)}\n`);
    if (usage) process.stderr.write('Run `sluice serve --help` for the options.\n');
    process.exitCode = usage ? 2 : 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`sluice: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
