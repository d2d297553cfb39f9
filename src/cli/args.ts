/**
 * Flag parsing shared by the client commands: node:util parseArgs with errors reworded to
 * name the flag and what it accepts. A UsageError exits with code 2 (bad command line); any
 * other error exits with 1 (it failed while running).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { closest } from './did-you-mean.js';

export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';

/** A command line that cannot be run: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** The flags every client command takes. */
export const COMMON_OPTIONS = {
  'bootstrap-server': { type: 'string' },
  'request-timeout-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

export const COMMON_HELP = `Common options:
  --bootstrap-server <host:port[,host:port]>  broker(s) to connect to (default ${DEFAULT_BOOTSTRAP},
                             or the SLUICE_BOOTSTRAP_SERVER environment variable)
  --request-timeout-ms <n>   how long to wait for a broker's answer (default 30000)
  --version                  print Sluice's version
  -h, --help                 this help
`;

/** parseArgs (strict, no positionals) with errors a person can act on. */
export function parse<O extends Options>(argv: string[], options: O): ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>>['values'] {
  try {
    return parseArgs({ args: joinNegativeValues(argv, options), options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const e = err as { code?: string; message: string };
    const flag = /'(-[^' ]+)/.exec(e.message)?.[1];
    switch (e.code) {
      case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
        const guess = flag?.startsWith('--') ? closest(flag.slice(2).split('=')[0]!, Object.keys(options)) : undefined;
        throw new UsageError(`unknown option '${flag ?? e.message}'${guess === undefined ? '' : ` (did you mean --${guess}?)`}`);
      }
      case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
        throw new UsageError(flag ? `option '${flag}' needs a value` : e.message);
      case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
        throw new UsageError(`unexpected argument ${/'([^']*)'/.exec(e.message)?.[0] ?? e.message}: every value belongs to a flag`);
      default:
        throw new UsageError(e.message);
    }
  }
}

/** `--shift-by -5` -> `--shift-by=-5`: parseArgs would take `-5` for a short option. */
function joinNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a.startsWith('--') && options[a.slice(2)]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** A whole number flag within [min, max], or undefined when absent. */
export function intFlag(value: string | undefined, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^[-+]?\d+$/.test(value.trim()) || n < min || n > max) {
    const range = min === Number.MIN_SAFE_INTEGER ? '(negative or positive)' : max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw new UsageError(`invalid value '${value}' for --${flag}: a whole number ${range}`);
  }
  return n;
}

/** One of `allowed`, or undefined when absent. */
export function choiceFlag<T extends string>(value: string | undefined, flag: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`invalid value '${value}' for --${flag}: one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** An ISO 8601 date-time (or ms since the epoch) as ms since the epoch. */
export function timeFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new UsageError(`invalid value '${value}' for --${flag}: an ISO 8601 date-time such as 2024-05-01T12:00:00Z, or ms since the epoch`);
  }
  return ms;
}

/** `k=v` entries (repeatable flag and/or comma-separated) into an object. */
export function keyValues(values: readonly string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of values ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid value '${entry}' for --${flag}: expected key=value`);
    out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

/** Exactly one of the given boolean flags is set; returns it. */
export function oneAction<A extends string>(values: Record<string, unknown>, actions: readonly A[]): A {
  const set = actions.filter((a) => values[a] === true);
  if (set.length === 1) return set[0]!;
  const list = actions.map((a) => `--${a}`).join(', ');
  if (set.length === 0) throw new UsageError(`one of ${list} is required`);
  throw new UsageError(`only one of ${list} may be given, not ${set.map((a) => `--${a}`).join(' and ')}`);
}

/** Throws naming `flag` when it is missing. */
export function required<T>(value: T | undefined, flag: string, what: string): T {
  if (value === undefined) throw new UsageError(`--${flag} is required ${what}`);
  return value;
}

/** --bootstrap-server, else SLUICE_BOOTSTRAP_SERVER, else 127.0.0.1:9092. */
export function bootstrapOf(values: { 'bootstrap-server'?: string }): string {
  return values['bootstrap-server'] ?? process.env.SLUICE_BOOTSTRAP_SERVER ?? DEFAULT_BOOTSTRAP;
}
