/**
 * `sluice produce`: one record per line of stdin or a file, to any Kafka-compatible broker,
 * like Kafka's kafka-console-producer.sh (key separator, headers, compression, acks).
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { Producer, type Acks, type ProducerCompression } from '../wire-client/producer.js';
import { choiceFlag, COMMON_HELP, COMMON_OPTIONS, intFlag, keyValues, parse, required, UsageError } from './args.js';
import { withCluster } from './connect.js';
import { lineReaderOf, parseProperties, PRODUCER_PROPERTIES } from './console-properties.js';
import { formatBytes, ProgressBar } from './progress.js';

export const PRODUCE_HELP = `Usage: sluice produce --topic T [--file F] [options]

Sends one record per line of standard input (or of --file) to a topic. Keyed records go to
the partition Kafka's Java client would pick (murmur2 of the key); records without a key fill
one partition's batch at a time. Prints a summary (records, bytes, records/s) on stderr, and
a progress bar while reading a --file when stderr is a terminal.

Options:
  --topic <name>             topic to write to (required; created if the broker auto-creates)
  --file <path>              read this file instead of standard input
  --key-separator <s>        each line is key<s>value (split at the first <s>); a line
                             without it is an error
  --headers <k=v,k2=v2>      headers added to every record
  --partition <n>            write every record to this partition
  --compression <codec>      none | gzip | snappy | lz4 (default none)
  --acks <n>                 0 (no answer) | 1 (leader) | -1 or all (every in-sync replica;
                             default)
  --linger-ms <n>            wait up to this long to fill a batch (default 5)
  --property <name=value>    kafka-console-producer.sh's reader properties (repeatable, or
                             comma-separated): parse.key=true splits each line at
                             key.separator (default a tab); ignore.error=true sends a line
                             without it as a value with a null key; null.marker=M sends a key
                             or value equal to M as null
${COMMON_HELP}
Examples:
  seq 1 1000 | sluice produce --topic numbers
  sluice produce --topic users --file users.txt --key-separator : --compression lz4
  sluice produce --topic users --property parse.key=true --property key.separator=:
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  topic: { type: 'string' },
  file: { type: 'string' },
  'key-separator': { type: 'string' },
  headers: { type: 'string' },
  partition: { type: 'string' },
  compression: { type: 'string' },
  acks: { type: 'string' },
  'linger-ms': { type: 'string' },
  property: { type: 'string', multiple: true },
} as const;

export async function produce(argv: string[]): Promise<number> {
  const v = parse(argv, OPTIONS);
  if (v.help) {
    process.stdout.write(PRODUCE_HELP);
    return 0;
  }
  const topic = required(v.topic, 'topic', 'to know where to write');
  const compression = choiceFlag<ProducerCompression>(v.compression, 'compression', ['none', 'gzip', 'snappy', 'lz4']) ?? 'none';
  const acksFlag = choiceFlag(v.acks, 'acks', ['0', '1', '-1', 'all']) ?? 'all';
  const acks: Acks = acksFlag === 'all' ? -1 : (Number(acksFlag) as Acks);
  const partition = intFlag(v.partition, 'partition', 0, 2 ** 31 - 1);
  const lingerMs = intFlag(v['linger-ms'], 'linger-ms', 0, 60_000);
  const reader = lineReaderOf(parseProperties(v.property, PRODUCER_PROPERTIES));
  if (v['key-separator'] !== undefined && reader.keySeparator !== null) throw new UsageError('give --key-separator or --property parse.key=true, not both');
  const separator = v['key-separator'] ?? reader.keySeparator ?? undefined;
  if (separator === '') throw new UsageError("invalid value '' for --key-separator: at least one character");
  const nullMarker = reader.nullMarker;
  const headers = Object.entries(keyValues(v.headers?.split(',').filter((h) => h !== ''), 'headers')).map(([key, value]) => ({ key, value: Buffer.from(value) }));
  const file = v.file;
  let totalBytes = 0;
  if (file !== undefined) {
    try {
      totalBytes = fs.statSync(file).size;
    } catch (err) {
      throw new Error(`cannot read --file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  return withCluster(v, 'sluice-produce', async (cluster) => {
    const producer = new Producer(cluster, { acks, compression, lingerMs });
    await producer.partitionsOf(topic); // fail early on a missing topic or an unreachable leader
    const input = file !== undefined ? fs.createReadStream(file) : process.stdin;
    const lines = readline.createInterface({ input, crlfDelay: Infinity });
    let read = 0;
    let interrupted = false;
    const onSigint = () => {
      interrupted = true;
      lines.close();
    };
    process.once('SIGINT', onSigint);
    const bar = file !== undefined && ProgressBar.enabled() ? new ProgressBar(totalBytes, () => ({ bytes: (input as fs.ReadStream).bytesRead, records: read })) : null;
    bar?.start();
    const started = process.hrtime.bigint();
    try {
      for await (const line of lines) {
        read++;
        let key: string | null = null;
        let value = line;
        if (separator !== undefined) {
          const at = line.indexOf(separator);
          if (at >= 0) {
            key = line.slice(0, at);
            value = line.slice(at + separator.length);
          } else if (!reader.ignoreError) {
            throw new Error(`line ${read} has no key separator '${separator}': '${line.length > 60 ? line.slice(0, 60) + '...' : line}'`);
          }
        }
        const keyBytes = key === null || key === nullMarker ? null : Buffer.from(key);
        const valueBytes = value === nullMarker ? null : Buffer.from(value);
        if (!producer.append({ topic, partition, key: keyBytes, value: valueBytes, headers })) await producer.room();
        if (interrupted) break;
      }
    } finally {
      bar?.stop();
      process.removeListener('SIGINT', onSigint);
      await producer.flush().finally(() => {
        const secs = Number(process.hrtime.bigint() - started) / 1e9;
        const { records, bytes } = producer.stats;
        const rate = secs > 0 ? Math.round(records / secs) : records;
        const acked = acks === 0 ? ' (acks=0: sent, not acknowledged)' : '';
        process.stderr.write(`Produced ${records} records (${formatBytes(bytes)}) to ${topic} in ${secs.toFixed(2)} s: ${rate} records/s${acked}\n`);
      });
    }
    return interrupted ? 130 : 0;
  });
}
