/**
 * DescribeConfigs and IncrementalAlterConfigs for any resource type (topics, brokers, groups),
 * routed as Kafka's admin client routes them: a broker's configs to that broker, the rest to
 * any broker. Used by `sluice configs`; admin.ts keeps the topic-only calls `sluice topics` uses.
 */
import { ApiKey } from '../protocol/apis.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { CONFIG_SOURCES, type ConfigEntry } from './admin.js';
import type { Cluster } from './cluster.js';
import type { Connection } from './connection.js';
import { brokerError, check } from './errors.js';

/** Kafka's ConfigResource.Type codes for the resource types `sluice configs` handles. */
export const CONFIG_RESOURCE = { topics: 2, brokers: 4, groups: 32 } as const;
export type ConfigResourceType = keyof typeof CONFIG_RESOURCE;

export interface DescribedConfigEntry extends ConfigEntry {
  synonyms: { name: string; value: string | null; source: string }[];
}

/** IncrementalAlterConfigs' operations. */
export type ConfigOperation = { op: 'set'; name: string; value: string } | { op: 'delete'; name: string };

const sourceName = (n: number) => CONFIG_SOURCES[n] ?? `SOURCE_${n}`;

/** What a resource is called in messages: `topic 'events'`, `broker 0`, `group 'audit'`. */
export function resourceLabel(type: ConfigResourceType, name: string): string {
  if (type === 'brokers') return name === '' ? 'the brokers (cluster default)' : `broker ${name}`;
  return `${type === 'topics' ? 'topic' : 'group'} '${name}'`;
}

/** Where a resource's config requests go: a broker's to that broker (when it is one we know). */
async function route(cluster: Cluster, type: ConfigResourceType, name: string): Promise<Connection> {
  if (type === 'brokers' && /^\d+$/.test(name)) return cluster.broker(Number(name));
  return cluster.bootstrap;
}

export async function describeConfigs(cluster: Cluster, type: ConfigResourceType, name: string): Promise<DescribedConfigEntry[]> {
  const conn = await route(cluster, type, name);
  const res = await conn.request(ApiKey.DescribeConfigs, {
    resources: [{ resourceType: CONFIG_RESOURCE[type], resourceName: name, configurationKeys: null }],
    includeSynonyms: true,
    includeDocumentation: false,
  });
  const r = res.results[0];
  const what = `describing the configs of ${resourceLabel(type, name)}`;
  if (r === undefined) throw brokerError(ErrorCode.UNKNOWN_SERVER_ERROR, `${what}: empty answer`);
  check(r.errorCode, what, r.errorMessage);
  return r.configs.map((c) => ({
    name: c.name,
    value: c.value,
    // v0 has isDefault instead of a source.
    source: c.configSource >= 0 ? sourceName(c.configSource) : c.isDefault ? 'DEFAULT_CONFIG' : 'DYNAMIC_TOPIC_CONFIG',
    readOnly: c.readOnly,
    isSensitive: c.isSensitive,
    synonyms: (c.synonyms ?? []).map((s) => ({ name: s.name, value: s.value, source: sourceName(s.source) })),
  }));
}

/** One IncrementalAlterConfigs with every operation (SET = 0, DELETE = 1). */
export async function incrementalAlterConfigs(cluster: Cluster, type: ConfigResourceType, name: string, ops: readonly ConfigOperation[]): Promise<void> {
  const conn = await route(cluster, type, name);
  const what = `altering the configs of ${resourceLabel(type, name)}`;
  if (!conn.versions.has(ApiKey.IncrementalAlterConfigs)) {
    throw brokerError(ErrorCode.UNSUPPORTED_VERSION, `${what}: broker ${conn.address} does not serve IncrementalAlterConfigs`);
  }
  const res = await conn.request(ApiKey.IncrementalAlterConfigs, {
    resources: [
      {
        resourceType: CONFIG_RESOURCE[type],
        resourceName: name,
        configs: ops.map((o) => (o.op === 'set' ? { name: o.name, configOperation: 0, value: o.value } : { name: o.name, configOperation: 1, value: null })),
      },
    ],
    validateOnly: false,
  });
  const r = res.responses[0];
  if (r === undefined) throw brokerError(ErrorCode.UNKNOWN_SERVER_ERROR, `${what}: empty answer`);
  check(r.errorCode, what, r.errorMessage);
}
