#!/usr/bin/env node
/** The `sluice` command. */
import { ConfigError, SERVE_HELP, serve } from './serve.js';

const HELP = `Usage: sluice <command> [options]

Commands:
  serve     run a broker on the Kafka wire protocol (what \`npm start\` runs)

Run \`sluice <command> --help\` for a command's options.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      await serve(rest);
      return 0;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(HELP);
      return 0;
    default:
      process.stderr.write(`sluice: unknown command '${command}'\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    const known = err instanceof ConfigError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION';
    process.stderr.write(`sluice: ${err instanceof Error ? err.message : String(err)}\n`);
    if (known) process.stderr.write(`\n${SERVE_HELP}`);
    process.exitCode = known ? 2 : 1;
  },
);
