/**
 * `sluice delete-records`: removes the records before an offset of partitions, like Kafka's
 * kafka-delete-records.sh, from the same JSON file:
 * {"partitions":[{"topic":"events","partition":0,"offset":100}],"version":1}
 * (offset -1: every record, up to the high watermark). Prints each partition's new low
 * watermark, or its error; exits 1 when any partition failed.
 */
import fs from 'node:fs';
import { deleteRecords, type PartitionOffset } from '../wire-client/records-admin.js';
import { COMMON_HELP, COMMON_OPTIONS, parse, required, UsageError } from './args.js';
import { withCluster } from './connect.js';

export const DELETE_RECORDS_HELP = `Usage: sluice delete-records --offset-json-file F [options]

Deletes the records before the given offset of each partition listed in F (like
kafka-delete-records.sh), and prints each partition's low watermark (its new log start offset):
  {"partitions": [{"topic": "events", "partition": 0, "offset": 100}], "version": 1}
An offset of -1 deletes every record of the partition (up to its high watermark).

Options:
  --offset-json-file <path>  the JSON file above (required)
${COMMON_HELP}
Example:
  sluice delete-records --offset-json-file delete.json
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  'offset-json-file': { type: 'string' },
} as const;

/** Reads and checks the file; names the entry and field that are wrong. */
export function parseOffsetJson(text: string, file: string): PartitionOffset[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not JSON: ${(err as Error).message}`);
  }
  const shape = '{"partitions":[{"topic":"T","partition":0,"offset":10}],"version":1}';
  const partitions = (json as { partitions?: unknown } | null)?.partitions;
  if (!Array.isArray(partitions)) throw new UsageError(`${file} has no "partitions" list: expected ${shape}`);
  const version = (json as { version?: unknown }).version;
  if (version !== undefined && version !== 1) throw new UsageError(`${file} has "version": ${JSON.stringify(version)}; only version 1 is known`);
  if (partitions.length === 0) throw new UsageError(`${file} lists no partitions`);
  const seen = new Set<string>();
  return partitions.map((p: unknown, i) => {
    const e = p as { topic?: unknown; partition?: unknown; offset?: unknown } | null;
    const where = `${file}: partitions[${i}]`;
    if (typeof e?.topic !== 'string' || e.topic === '') throw new UsageError(`${where} needs "topic": a topic name`);
    if (!Number.isSafeInteger(e.partition) || (e.partition as number) < 0) throw new UsageError(`${where} needs "partition": a partition id (0 or more)`);
    if (!Number.isSafeInteger(e.offset) || (e.offset as number) < -1) throw new UsageError(`${where} needs "offset": an offset (0 or more, or -1 for the high watermark)`);
    const key = `${e.topic}-${e.partition}`;
    if (seen.has(key)) throw new UsageError(`${where}: partition ${key} is listed twice`);
    seen.add(key);
    return { topic: e.topic, partition: e.partition as number, offset: e.offset as number };
  });
}

export async function deleteRecordsCommand(argv: string[]): Promise<number> {
  const v = parse(argv, OPTIONS);
  if (v.help) {
    process.stdout.write(DELETE_RECORDS_HELP);
    return 0;
  }
  const file = required(v['offset-json-file'], 'offset-json-file', 'to know which records to delete');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --offset-json-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const wanted = parseOffsetJson(text, file);
  return withCluster(v, 'sluice-delete-records', async (cluster) => {
    process.stdout.write('Executing records delete operation\n');
    const results = await deleteRecords(cluster, wanted);
    let out = 'Records delete operation completed:\n';
    let failed = 0;
    for (const r of results) {
      if (r.error !== undefined) failed++;
      out += `partition: ${r.topic}-${r.partition}\t${r.error === undefined ? `low_watermark: ${r.lowWatermark}` : `error: ${r.error.message}`}\n`;
    }
    process.stdout.write(out);
    return failed > 0 ? 1 : 0;
  });
}
