/**
 * Workload files for `sluice perf --workload`, in OpenMessaging Benchmark's form (the keys of
 * its workloads/*.yaml), as YAML (flat `key: value` lines, which is all OMB's workloads use) or
 * JSON. Every problem is one UsageError naming the file, the key and what is allowed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './args.js';
import { closest } from './did-you-mean.js';

export interface Workload {
  name: string;
  topics: number;
  partitionsPerTopic: number;
  /** Bytes per message. */
  messageSize: number;
  /** Payload bytes, cut into messageSize slices (OMB's own payload files hold exactly one). */
  payloadFile: string | null;
  subscriptionsPerTopic: number;
  consumerPerSubscription: number;
  producersPerTopic: number;
  /** Messages/s over all producers. */
  producerRate: number;
  testDurationMinutes: number;
  warmupDurationMinutes: number;
  keyDistributor: 'NO_KEY';
}

const DEFAULTS: Omit<Workload, 'topics' | 'partitionsPerTopic' | 'messageSize' | 'producerRate' | 'testDurationMinutes'> = {
  name: 'workload',
  payloadFile: null,
  subscriptionsPerTopic: 1,
  consumerPerSubscription: 1,
  producersPerTopic: 1,
  warmupDurationMinutes: 0,
  keyDistributor: 'NO_KEY',
};

type Kind = 'int' | 'number' | 'string';
const KEYS: Record<string, Kind> = {
  name: 'string',
  topics: 'int',
  partitionsPerTopic: 'int',
  messageSize: 'int',
  payloadFile: 'string',
  subscriptionsPerTopic: 'int',
  consumerPerSubscription: 'int',
  producersPerTopic: 'int',
  producerRate: 'int',
  testDurationMinutes: 'number',
  warmupDurationMinutes: 'number',
  keyDistributor: 'string',
  consumerBacklogSizeGB: 'number',
  randomBytesRatio: 'number',
  randomizedPayloadPoolSize: 'int',
  useRandomizedPayloads: 'string',
};
const REQUIRED = ['topics', 'partitionsPerTopic', 'messageSize', 'producerRate', 'testDurationMinutes'];

/** OMB's workloads are flat YAML: `key: value`, comments, quoted or plain scalars. */
function parseFlatYaml(text: string, file: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trimEnd();
    if (line.trim() === '' || line.trim() === '---') return;
    const m = /^([A-Za-z][\w.]*)\s*:\s*(.*)$/.exec(line);
    if (m === null) throw new UsageError(`${file} line ${i + 1}: expected 'key: value', got '${raw.trim()}'`);
    let value: unknown = m[2]!.trim();
    const v = value as string;
    if (/^(["']).*\1$/.test(v)) value = v.slice(1, -1);
    else if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(v)) value = Number(v);
    else if (v === 'true' || v === 'false') value = v === 'true';
    out[m[1]!] = value;
  });
  return out;
}

/** Reads and checks a workload file; relative payload paths are taken from the file's folder. */
export function readWorkload(file: string): Workload {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --workload ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let raw: Record<string, unknown>;
  if (/\.json$/i.test(file) || text.trimStart().startsWith('{')) {
    try {
      raw = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new UsageError(`--workload ${file} is not valid JSON: ${(err as Error).message}`);
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`--workload ${file} must hold one JSON object of workload keys`);
  } else raw = parseFlatYaml(text, file);

  const w: Record<string, unknown> = { ...DEFAULTS };
  for (const [key, value] of Object.entries(raw)) {
    const kind = KEYS[key];
    if (kind === undefined) {
      const near = closest(key, Object.keys(KEYS));
      throw new UsageError(`${file}: unknown workload key '${key}'${near !== undefined ? ` (did you mean '${near}'?)` : ''}; known: ${Object.keys(KEYS).join(', ')}`);
    }
    if (kind === 'string') {
      if (typeof value !== 'string' && typeof value !== 'boolean') throw new UsageError(`${file}: '${key}' must be text, got ${JSON.stringify(value)}`);
      w[key] = String(value);
    } else if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (kind === 'int' && !Number.isInteger(value))) {
      throw new UsageError(`${file}: '${key}' must be a ${kind === 'int' ? 'whole number' : 'number'} of 0 or more, got ${JSON.stringify(value)}`);
    } else w[key] = value;
  }
  for (const key of REQUIRED) if (w[key] === undefined) throw new UsageError(`${file}: '${key}' is missing (needed: ${REQUIRED.join(', ')})`);
  for (const key of ['topics', 'partitionsPerTopic', 'messageSize', 'producersPerTopic', 'producerRate']) {
    if ((w[key] as number) < 1) throw new UsageError(`${file}: '${key}' must be at least 1`);
  }
  if ((w.testDurationMinutes as number) <= 0) throw new UsageError(`${file}: 'testDurationMinutes' must be above 0 (fractions are fine: 0.25 is 15 s)`);
  if (w.keyDistributor !== 'NO_KEY') throw new UsageError(`${file}: keyDistributor '${String(w.keyDistributor)}' is not supported; NO_KEY is (records without keys, spread over the partitions)`);
  if (raw.consumerBacklogSizeGB !== undefined && raw.consumerBacklogSizeGB !== 0) throw new UsageError(`${file}: consumerBacklogSizeGB other than 0 (the backlog test) is not supported`);
  if ((w.subscriptionsPerTopic as number) > 0 && (w.consumerPerSubscription as number) < 1) throw new UsageError(`${file}: 'consumerPerSubscription' must be at least 1 when there are subscriptions`);
  if (typeof w.payloadFile === 'string') w.payloadFile = path.resolve(path.dirname(file), w.payloadFile);
  for (const k of ['consumerBacklogSizeGB', 'randomBytesRatio', 'randomizedPayloadPoolSize', 'useRandomizedPayloads']) delete w[k];
  return w as unknown as Workload;
}
