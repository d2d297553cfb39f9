/**
 * DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topics (resource type 2) and
 * the broker (type 4, read-only here). Sources follow Kafka: TOPIC_CONFIG (1) for keys set on
 * the topic, STATIC_BROKER_CONFIG (4) for broker-wide defaults given at start, DEFAULT_CONFIG
 * (5) otherwise.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { TOPIC_CONFIGS, defaultTopicConfig, topicConfigDoc, topicConfigOverrides } from '../topic-config.js';
import type { BrokerContext } from './context.js';
import { errorCodeOf, errorMessageOf } from './errors.js';

export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;
const SOURCE_TOPIC = 1;
const SOURCE_STATIC_BROKER = 4;
const SOURCE_DEFAULT = 5;
// ConfigType (DescribeConfigs v3+): 1 BOOLEAN, 2 STRING, 3 INT, 5 LONG, 6 DOUBLE, 7 LIST.
const TYPE_OF: Record<string, number> = { boolean: 1, string: 2, enum: 2, int: 3, long: 5, double: 6, list: 7 };

export interface DescribedConfig {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: { name: string; value: string | null; source: number }[];
  configType: number;
  documentation: string | null;
}

/**
 * A read-only entry, present only when a partition of the topic has quarantined ranges
 * (storage/quarantine.ts): `<partition>:<first>-<last>` per range, comma-separated. So a
 * Kafka admin client, and `sluice topics --describe`, can see the offset gaps damage left.
 */
export const QUARANTINED_OFFSETS_CONFIG = 'sluice.quarantined.offsets';

export function describeTopicConfigs(ctx: BrokerContext, topic: string, keys: string[] | null, synonyms: boolean, docs: boolean): DescribedConfig[] {
  const described = ctx.sluice.describeTopic(topic);
  const overrides = described.overrides;
  const brokerDefaults = ctx.sluice.topicDefaults;
  const builtIn = defaultTopicConfig();
  const config = ctx.sluice.topicConfig(topic);
  return Object.keys(TOPIC_CONFIGS)
    .filter((k) => keys === null || keys.includes(k))
    .map((name): DescribedConfig => {
      const source = name in overrides ? SOURCE_TOPIC : brokerDefaults[name] !== builtIn[name] ? SOURCE_STATIC_BROKER : SOURCE_DEFAULT;
      const syn: DescribedConfig['synonyms'] = [];
      if (synonyms) {
        if (name in overrides) syn.push({ name, value: overrides[name]!, source: SOURCE_TOPIC });
        if (source !== SOURCE_DEFAULT || name in overrides) syn.push({ name: `log.${name}`, value: brokerDefaults[name]!, source: SOURCE_STATIC_BROKER });
        syn.push({ name: `log.${name}`, value: builtIn[name]!, source: SOURCE_DEFAULT });
      }
      return {
        name,
        value: config[name]!,
        readOnly: false,
        isDefault: source !== SOURCE_TOPIC,
        configSource: source,
        isSensitive: false,
        synonyms: syn,
        configType: TYPE_OF[TOPIC_CONFIGS[name]!.kind.type] ?? 2,
        documentation: docs ? topicConfigDoc(name) ?? null : null,
      };
    })
    .concat(quarantinedEntry(described.partitions, keys, docs));
}

function quarantinedEntry(partitions: ReturnType<BrokerContext['sluice']['describeTopic']>['partitions'], keys: string[] | null, docs: boolean): DescribedConfig[] {
  const ranges = partitions.flatMap((p) => p.quarantined.filter((q) => q.nextOffset > q.firstOffset).map((q) => `${p.partition}:${q.firstOffset}-${q.nextOffset - 1}`));
  if (ranges.length === 0 || (keys !== null && !keys.includes(QUARANTINED_OFFSETS_CONFIG))) return [];
  return [
    {
      name: QUARANTINED_OFFSETS_CONFIG,
      value: ranges.join(','),
      readOnly: true,
      isDefault: false,
      configSource: 0, // UNKNOWN: a status, not a setting
      isSensitive: false,
      synonyms: [],
      configType: 7,
      documentation: docs ? 'Offsets of damaged batches moved to quarantine files (partition:first-last): a gap in the log' : null,
    },
  ];
}

function describeBroker(ctx: BrokerContext, keys: string[] | null, docs: boolean): DescribedConfig[] {
  const d = ctx.sluice.topicDefaults;
  const entries: [string, string, number, string][] = [
    ['broker.id', String(ctx.nodeId), 3, 'the id of this broker'],
    ['node.id', String(ctx.nodeId), 3, 'the id of this node'],
    ['advertised.listeners', `PLAINTEXT://${ctx.settings.advertisedHost}:${ctx.settings.advertisedPort}`, 2, 'where clients connect'],
    ['auto.create.topics.enable', String(ctx.settings.autoCreateTopics), 1, 'create topics on first use by Metadata and Produce'],
    ['num.partitions', String(ctx.sluice.partitionCountDefault), 3, 'partitions of an auto-created topic'],
    ['log.dirs', ctx.sluice.dir, 2, 'the data directory'],
    ...Object.keys(TOPIC_CONFIGS).map((k): [string, string, number, string] => [`log.${k}`, d[k]!, TYPE_OF[TOPIC_CONFIGS[k]!.kind.type] ?? 2, topicConfigDoc(k) ?? '']),
  ];
  return entries
    .filter(([k]) => keys === null || keys.includes(k))
    .map(([name, value, configType, doc]) => ({
      name,
      value,
      readOnly: true,
      isDefault: false,
      configSource: SOURCE_STATIC_BROKER,
      isSensitive: false,
      synonyms: [],
      configType,
      documentation: docs ? doc : null,
    }));
}

export function handleDescribeConfigs(
  ctx: BrokerContext,
  req: { resources: { resourceType: number; resourceName: string; configurationKeys: string[] | null }[]; includeSynonyms: boolean; includeDocumentation: boolean },
) {
  return {
    throttleTimeMs: 0,
    results: req.resources.map((r) => {
      const base = { errorCode: ErrorCode.NONE as number, errorMessage: null as string | null, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] as DescribedConfig[] };
      try {
        if (r.resourceType === RESOURCE_TOPIC) base.configs = describeTopicConfigs(ctx, r.resourceName, r.configurationKeys, req.includeSynonyms, req.includeDocumentation);
        else if (r.resourceType === RESOURCE_BROKER) base.configs = describeBroker(ctx, r.configurationKeys, req.includeDocumentation);
        else {
          base.errorCode = ErrorCode.INVALID_REQUEST;
          base.errorMessage = unsupportedResource(r.resourceType);
        }
      } catch (err) {
        base.errorCode = errorCodeOf(err);
        base.errorMessage = errorMessageOf(err);
      }
      return base;
    }),
  };
}

/** Kafka's other ConfigResource types, named so a refusal says which one it was. */
const RESOURCE_NAMES: Record<number, string> = { 8: 'broker logger', 16: 'client metrics', 32: 'group' };

function unsupportedResource(type: number): string {
  return `resource type ${type}${RESOURCE_NAMES[type] ? ` (${RESOURCE_NAMES[type]})` : ''} is not supported by Sluice: it has topic (2) and broker (4) configs`;
}

const OP_SET = 0;
const OP_DELETE = 1;
const OP_APPEND = 2;
const OP_SUBTRACT = 3;

async function alter(
  ctx: BrokerContext,
  resources: { resourceType: number; resourceName: string; configs: { name: string; configOperation?: number; value: string | null }[] }[],
  validateOnly: boolean,
  incremental: boolean,
) {
  const responses = [];
  for (const r of resources) {
    const res = { errorCode: ErrorCode.NONE as number, errorMessage: null as string | null, resourceType: r.resourceType, resourceName: r.resourceName };
    try {
      if (r.resourceType !== RESOURCE_TOPIC) {
        res.errorCode = ErrorCode.INVALID_REQUEST;
        res.errorMessage = r.resourceType === RESOURCE_BROKER ? 'broker configs are read-only in Sluice: set them when the broker starts' : unsupportedResource(r.resourceType);
      } else {
        const set: Record<string, string> = {};
        const remove: string[] = [];
        const current = ctx.sluice.topicConfig(r.resourceName);
        for (const c of r.configs) {
          const op = incremental ? c.configOperation ?? OP_SET : c.value === null ? OP_DELETE : OP_SET;
          if (op === OP_SET) set[c.name] = c.value ?? '';
          else if (op === OP_DELETE) remove.push(c.name);
          else if (op === OP_APPEND || op === OP_SUBTRACT) {
            if (TOPIC_CONFIGS[c.name]?.kind.type !== 'list') throw Object.assign(new Error(`${c.name} is not a list: APPEND and SUBTRACT apply to list configs`), { errorCode: ErrorCode.INVALID_CONFIG });
            const items = new Set(current[c.name]!.split(','));
            for (const v of (c.value ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
              if (op === OP_APPEND) items.add(v);
              else items.delete(v);
            }
            set[c.name] = [...items].join(',');
          } else throw Object.assign(new Error(`unknown config operation ${op}`), { errorCode: ErrorCode.INVALID_REQUEST });
        }
        if (ctx.cluster && !validateOnly) {
          // A cluster's topic configs live in etcd: check the change with the engine's rules,
          // write the new overrides there, and every broker (this one too) applies them.
          const next = await ctx.sluice.alterTopicConfig(r.resourceName, { set, remove, replace: !incremental, validateOnly: true });
          await ctx.cluster.setTopicConfig(r.resourceName, topicConfigOverrides(next, ctx.sluice.topicDefaults));
        } else {
          await ctx.sluice.alterTopicConfig(r.resourceName, { set, remove, replace: !incremental, validateOnly });
        }
      }
    } catch (err) {
      res.errorCode = (err as { errorCode?: number }).errorCode ?? errorCodeOf(err);
      res.errorMessage = errorMessageOf(err);
    }
    responses.push(res);
  }
  return { throttleTimeMs: 0, responses };
}

export function handleAlterConfigs(ctx: BrokerContext, req: { resources: { resourceType: number; resourceName: string; configs: { name: string; value: string | null }[] }[]; validateOnly: boolean }) {
  return alter(ctx, req.resources, req.validateOnly, false);
}

export function handleIncrementalAlterConfigs(
  ctx: BrokerContext,
  req: { resources: { resourceType: number; resourceName: string; configs: { name: string; configOperation: number; value: string | null }[] }[]; validateOnly: boolean },
) {
  return alter(ctx, req.resources, req.validateOnly, true);
}
