#!/usr/bin/env node
/**
 * The `sluice` command. `serve` is loaded only when asked for, so the client commands start
 * fast and load no broker code.
 */
import { UsageError } from './args.js';
import { clusterCommand } from './cluster.js';
import { consume } from './consume.js';
import { devCluster } from './dev-cluster.js';
import { dumpLog } from './dump-log.js';
import { groups } from './groups.js';
import { produce } from './produce.js';
import { topics } from './topics.js';

const HELP = `Usage: sluice <command> [options]

Commands:
  serve      run a broker on the Kafka wire protocol (what \`npm start\` runs)
  topics     create, list, describe, alter and delete topics (like kafka-topics.sh)
  produce    send lines of stdin or a file as records (like kafka-console-producer.sh)
  consume    print records of a topic, alone or in a consumer group (like kafka-console-consumer.sh)
  groups     list, describe, reset offsets of and delete consumer groups (like kafka-consumer-groups.sh)
  dump-log   decode segment files: .log, .index, .timeindex (like kafka-dump-log.sh)
  cluster    describe a cluster: brokers, controller, racks, partitions per broker
  dev-cluster  start a local etcd and a cluster of brokers (default 3) for trying a cluster out

topics, produce, consume and groups talk to any Kafka-compatible broker over the wire:
--bootstrap-server host:port (default 127.0.0.1:9092, or SLUICE_BOOTSTRAP_SERVER).
Run \`sluice <command> --help\` for a command's options.
`;

/** Client commands: each returns its exit code; a UsageError means exit code 2. */
const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  topics,
  produce,
  consume,
  groups,
  'dump-log': dumpLog,
  'dev-cluster': devCluster,
  cluster: clusterCommand,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
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
