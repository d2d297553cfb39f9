/**
 * `sluice configs`: describe and alter the configs of topics, brokers and groups on any
 * Kafka-compatible broker, like Kafka's kafka-configs.sh (same option names and output).
 * Alters go through IncrementalAlterConfigs, so the configs not named stay as they are.
 */
import { listGroups } from '../wire-client/admin.js';
import type { Cluster } from '../wire-client/cluster.js';
import { CONFIG_RESOURCE, describeConfigs, incrementalAlterConfigs, resourceLabel, type ConfigOperation, type ConfigResourceType, type DescribedConfigEntry } from '../wire-client/configs.js';
import { choiceFlag, COMMON_HELP, COMMON_OPTIONS, oneAction, parse, UsageError } from './args.js';
import { withCluster } from './connect.js';

export const CONFIGS_HELP = `Usage: sluice configs (--describe | --alter) --entity-type topics|brokers|groups [options]

Describes and alters the configs of topics, brokers and consumer groups (like kafka-configs.sh).

Actions:
  --describe                 the configs set on the entity (with --all: every config, with its
                             source and synonyms); without --entity-name: every entity of the type
  --alter --entity-name X (--add-config k=v,... | --delete-config k,...)
                             set configs and return others to their defaults, in one request
                             (IncrementalAlterConfigs); a broker that does not allow a change
                             answers with an error, shown as it gives it

Options:
  --entity-type <type>       topics | brokers | groups
  --entity-name <name>       the topic, broker id or group
  --entity-default           with --entity-type brokers: the cluster-wide broker defaults
  --topic <name>             short for --entity-type topics --entity-name <name>
  --broker <id>              short for --entity-type brokers --entity-name <id>
  --group <id>               short for --entity-type groups --entity-name <id>
  --add-config <k=v,...>     configs to set; a value with commas goes in brackets:
                             cleanup.policy=[compact,delete] (repeatable)
  --delete-config <k,...>    configs to return to their defaults (repeatable)
  --all                      with --describe: every config, not only the ones set on the entity
${COMMON_HELP}
Examples:
  sluice configs --describe --entity-type topics --entity-name events
  sluice configs --alter --entity-type topics --entity-name events --add-config retention.ms=86400000,max.message.bytes=2097152
  sluice configs --alter --topic events --delete-config retention.ms
  sluice configs --describe --entity-type brokers --entity-name 0 --all
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  describe: { type: 'boolean' },
  alter: { type: 'boolean' },
  'entity-type': { type: 'string' },
  'entity-name': { type: 'string' },
  'entity-default': { type: 'boolean' },
  topic: { type: 'string' },
  broker: { type: 'string' },
  group: { type: 'string' },
  'add-config': { type: 'string', multiple: true },
  'delete-config': { type: 'string', multiple: true },
  all: { type: 'boolean' },
} as const;

const TYPES = Object.keys(CONFIG_RESOURCE) as ConfigResourceType[];

/** Where a config is set on the entity itself, per type (what --describe shows without --all). */
const OWN_SOURCES: Record<ConfigResourceType, readonly string[]> = {
  topics: ['DYNAMIC_TOPIC_CONFIG'],
  brokers: ['DYNAMIC_BROKER_CONFIG'],
  groups: ['GROUP_CONFIG'],
};

/** `a=1,b=[x,y]` -> [['a','1'], ['b','x,y']]: commas inside brackets belong to the value. */
export function parseAddConfig(values: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (const value of values) {
    let depth = 0;
    let start = 0;
    const parts: string[] = [];
    for (let i = 0; i <= value.length; i++) {
      const c = value[i];
      if (c === '[') depth++;
      else if (c === ']') depth = Math.max(0, depth - 1);
      else if ((c === ',' && depth === 0) || i === value.length) {
        parts.push(value.slice(start, i));
        start = i + 1;
      }
    }
    for (const part of parts.map((p) => p.trim()).filter((p) => p !== '')) {
      const eq = part.indexOf('=');
      if (eq <= 0) throw new UsageError(`invalid value '${part}' for --add-config: expected key=value (a value with commas in brackets: k=[a,b])`);
      let v = part.slice(eq + 1);
      if (v.startsWith('[') && v.endsWith(']')) v = v.slice(1, -1);
      out.push([part.slice(0, eq), v]);
    }
  }
  return out;
}

export async function configs(argv: string[]): Promise<number> {
  const v = parse(argv, OPTIONS);
  if (v.help) {
    process.stdout.write(CONFIGS_HELP);
    return 0;
  }
  const action = oneAction(v, ['describe', 'alter'] as const);
  const shorthands = (['topic', 'broker', 'group'] as const).filter((f) => v[f] !== undefined);
  if (shorthands.length > 1 || (shorthands.length === 1 && (v['entity-type'] !== undefined || v['entity-name'] !== undefined))) {
    throw new UsageError(`give one entity: --${shorthands[0] ?? 'topic'} alone, or --entity-type with --entity-name`);
  }
  let type: ConfigResourceType;
  let name: string | undefined;
  if (shorthands.length === 1) {
    const f = shorthands[0]!;
    type = `${f}s` as ConfigResourceType;
    name = v[f];
  } else {
    if (v['entity-type'] === undefined) throw new UsageError('--entity-type is required (topics, brokers or groups), or one of --topic, --broker, --group');
    type = choiceFlag(v['entity-type'], 'entity-type', TYPES)!;
    name = v['entity-name'];
  }
  if (v['entity-default']) {
    if (type !== 'brokers') throw new UsageError('--entity-default goes with --entity-type brokers only');
    if (name !== undefined) throw new UsageError('give --entity-name or --entity-default, not both');
    name = '';
  }
  if (type === 'brokers' && name !== undefined && name !== '' && !/^\d+$/.test(name)) {
    throw new UsageError(`invalid value '${name}' for the broker: a broker id such as 0`);
  }
  const sets = parseAddConfig(v['add-config'] ?? []);
  const deletes = (v['delete-config'] ?? []).flatMap((d) => d.split(',')).map((d) => d.trim()).filter((d) => d !== '');
  if (action === 'describe' && (sets.length > 0 || deletes.length > 0)) throw new UsageError('--add-config and --delete-config go with --alter');
  if (action === 'alter') {
    if (name === undefined) throw new UsageError('--alter needs --entity-name (or --entity-default for brokers)');
    if (sets.length === 0 && deletes.length === 0) throw new UsageError('--alter needs --add-config or --delete-config');
    const both = sets.map(([k]) => k).filter((k) => deletes.includes(k));
    if (both.length > 0) throw new UsageError(`'${both[0]}' is both in --add-config and --delete-config`);
    if (v.all) throw new UsageError('--all goes with --describe');
  }

  return withCluster(v, 'sluice-configs', async (cluster) => {
    if (action === 'alter') {
      const ops: ConfigOperation[] = [...sets.map(([k, val]): ConfigOperation => ({ op: 'set', name: k, value: val })), ...deletes.map((k): ConfigOperation => ({ op: 'delete', name: k }))];
      await incrementalAlterConfigs(cluster, type, name!, ops);
      process.stdout.write(name === '' ? 'Completed updating default config for brokers in the cluster.\n' : `Completed updating config for ${type.slice(0, -1)} ${name}.\n`);
      return 0;
    }
    const names = name !== undefined ? [name] : await entityNames(cluster, type);
    let out = '';
    for (const n of names) out += describeOne(type, n, await describeConfigs(cluster, type, n), v.all === true);
    process.stdout.write(out);
    return 0;
  });
}

async function entityNames(cluster: Cluster, type: ConfigResourceType): Promise<string[]> {
  if (type === 'groups') return (await listGroups(cluster)).map((g) => g.groupId);
  const md = await cluster.metadata(type === 'topics' ? null : []);
  if (type === 'brokers') return [...md.brokers.keys()].sort((a, b) => a - b).map(String);
  return [...md.topics.keys()].sort();
}

function describeOne(type: ConfigResourceType, name: string, entries: DescribedConfigEntry[], all: boolean): string {
  const own = name === '' ? ['DYNAMIC_DEFAULT_BROKER_CONFIG'] : OWN_SOURCES[type];
  const shown = all ? entries : entries.filter((e) => own.includes(e.source));
  const what = name === '' ? 'Default configs for brokers in the cluster' : `${all ? 'All' : 'Dynamic'} configs for ${resourceLabel(type, name).replace(/'/g, '')}`;
  let out = `${what} are:\n`;
  for (const e of shown.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const value = e.isSensitive ? null : e.value;
    const synonyms = e.synonyms.map((s) => `${s.source}:${s.name}=${e.isSensitive ? null : s.value}`).join(', ');
    out += `  ${e.name}=${value} sensitive=${e.isSensitive} synonyms={${synonyms}}\n`;
  }
  return out;
}
