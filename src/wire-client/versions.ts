/**
 * ApiVersions negotiation: for each API, the highest version both this client and the broker
 * speak. This client speaks what Sluice's codec encodes (protocol/apis.ts), with two limits:
 * Produce from v3 and Fetch from v4 (RecordBatch v2 only), and Fetch up to v12 (v13 names
 * topics by id, which would need a topic id lookup for every fetch).
 */
import { APIS, ApiKey } from '../protocol/apis.js';
import { UnsupportedApiError } from './errors.js';

/** Highest versions this client sends, where lower than the codec's. */
const CLIENT_MAX: Partial<Record<number, number>> = {
  [ApiKey.Fetch]: 12,
};

export interface BrokerApiRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

/** The versions to use with one broker: apiKey -> version (absent: nothing in common). */
export class NegotiatedVersions {
  private readonly chosen = new Map<number, number>();
  private readonly broker = new Map<number, BrokerApiRange>();

  constructor(
    brokerApis: readonly BrokerApiRange[],
    private readonly address: string,
  ) {
    for (const b of brokerApis) {
      this.broker.set(b.apiKey, b);
      const ours = APIS.get(b.apiKey);
      if (ours === undefined) continue;
      const max = Math.min(ours.maxVersion, CLIENT_MAX[b.apiKey] ?? Infinity, b.maxVersion);
      const min = Math.max(ours.minVersion, b.minVersion);
      if (max >= min) this.chosen.set(b.apiKey, max);
    }
  }

  /** The version to send for `apiKey`; throws UnsupportedApiError naming both ranges. */
  versionFor(apiKey: number): number {
    const v = this.chosen.get(apiKey);
    if (v !== undefined) return v;
    const ours = APIS.get(apiKey);
    const name = ours?.name ?? `api ${apiKey}`;
    const b = this.broker.get(apiKey);
    const theirs = b === undefined ? 'does not support it' : `supports versions ${b.minVersion}-${b.maxVersion}`;
    const mine = ours === undefined ? '' : `; this client speaks ${ours.minVersion}-${Math.min(ours.maxVersion, CLIENT_MAX[apiKey] ?? Infinity)}`;
    throw new UnsupportedApiError(`broker ${this.address} cannot serve ${name} (api key ${apiKey}): it ${theirs}${mine}`);
  }

  has(apiKey: number): boolean {
    return this.chosen.has(apiKey);
  }
}
