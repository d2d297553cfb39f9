/**
 * The --property flags of Kafka's console tools, spelled as kafka-console-producer.sh and
 * kafka-console-consumer.sh spell them: the producer's line reader (parse.key, key.separator,
 * ignore.error, null.marker) and the consumer's DefaultMessageFormatter (print.key,
 * print.value, print.timestamp, print.partition, print.offset, print.headers, key.separator,
 * line.separator, headers.separator, null.literal). Values are literal, as in Kafka.
 */
import type { ConsumedRecord } from '../wire-client/consumer.js';
import { UsageError } from './args.js';

export const PRODUCER_PROPERTIES = ['parse.key', 'key.separator', 'ignore.error', 'null.marker'] as const;
export const CONSUMER_PROPERTIES = [
  'print.key',
  'print.value',
  'print.timestamp',
  'print.partition',
  'print.offset',
  'print.headers',
  'key.separator',
  'line.separator',
  'headers.separator',
  'null.literal',
] as const;

/**
 * `--property k=v` entries (repeatable; several in one flag separated by commas, where a comma
 * starts the next `name=`), checked against the known names. `key.separator=,` stays whole.
 */
export function parseProperties<K extends string>(values: readonly string[] | undefined, known: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const value of values ?? []) {
    for (const entry of value.split(/,(?=[a-z][\w.]*=)/)) {
      const eq = entry.indexOf('=');
      if (eq <= 0) throw new UsageError(`invalid value '${entry}' for --property: expected name=value, such as print.key=true`);
      const name = entry.slice(0, eq);
      if (!(known as readonly string[]).includes(name)) throw new UsageError(`unknown --property '${name}' (known: ${known.join(', ')})`);
      out[name as K] = entry.slice(eq + 1);
    }
  }
  return out;
}

function bool(props: Partial<Record<string, string>>, name: string, fallback: boolean): boolean {
  const v = props[name];
  if (v === undefined) return fallback;
  if (v.toLowerCase() === 'true') return true;
  if (v.toLowerCase() === 'false') return false;
  throw new UsageError(`invalid value '${v}' for --property ${name}: true or false`);
}

export interface LineReader {
  /** Separator between key and value, or null when lines are values only. */
  keySeparator: string | null;
  /** A line without the separator becomes a record with a null key instead of an error. */
  ignoreError: boolean;
  /** A key or value equal to this is sent as null. */
  nullMarker: string | null;
}

/** The producer's line reader from --property (parse.key defaults to false, key.separator to a tab). */
export function lineReaderOf(props: Partial<Record<(typeof PRODUCER_PROPERTIES)[number], string>>): LineReader {
  const parseKey = bool(props, 'parse.key', false);
  const sep = props['key.separator'] ?? '\t';
  if (sep === '') throw new UsageError("invalid value '' for --property key.separator: at least one character");
  const nullMarker = props['null.marker'] ?? null;
  if (nullMarker === '') throw new UsageError("invalid value '' for --property null.marker: at least one character");
  return { keySeparator: parseKey ? sep : null, ignoreError: bool(props, 'ignore.error', false), nullMarker };
}

/**
 * The consumer's output from --property, as Kafka's DefaultMessageFormatter writes it:
 * [CreateTime:ts<sep>][Partition:p<sep>][Offset:o<sep>][h1:v1,h2:v2<sep>][key<sep>]value<line.separator>
 */
export function messageFormatterOf(props: Partial<Record<(typeof CONSUMER_PROPERTIES)[number], string>>): (r: ConsumedRecord) => string {
  const printTimestamp = bool(props, 'print.timestamp', false);
  const printPartition = bool(props, 'print.partition', false);
  const printOffset = bool(props, 'print.offset', false);
  const printHeaders = bool(props, 'print.headers', false);
  const printKey = bool(props, 'print.key', false);
  const printValue = bool(props, 'print.value', true);
  const sep = props['key.separator'] ?? '\t';
  const lineSep = props['line.separator'] ?? '\n';
  const headersSep = props['headers.separator'] ?? ',';
  const nullLiteral = props['null.literal'] ?? 'null';
  const text = (b: Buffer | null) => (b === null ? nullLiteral : b.toString('utf8'));
  const fields: ((r: ConsumedRecord) => string)[] = [];
  if (printTimestamp) fields.push((r) => `${r.timestampType}:${r.timestamp}`);
  if (printPartition) fields.push((r) => `Partition:${r.partition}`);
  if (printOffset) fields.push((r) => `Offset:${r.offset}`);
  if (printHeaders) fields.push((r) => (r.headers.length === 0 ? 'NO_HEADERS' : r.headers.map((h) => `${h.key}:${text(h.value)}`).join(headersSep)));
  if (printKey) fields.push((r) => text(r.key));
  if (printValue) fields.push((r) => text(r.value));
  return (r) => {
    let s = '';
    for (let i = 0; i < fields.length; i++) s += (i > 0 ? sep : '') + fields[i]!(r);
    return s + lineSep;
  };
}
