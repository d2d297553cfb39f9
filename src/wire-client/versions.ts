/**
 * ApiVersions negotiation: for each API, the highest version both this client and the broker
 * speak. This client speaks what Sluice's codec encodes (protocol/apis.ts), within its own
 * limits: Produce from v3 and Fetch from v4 (it writes and reads RecordBatch v2 only), and
 * Fetch up to v12 (v13 names topics by id, which would need a topic id lookup per fetch).
 */
import { APIS, ApiKey } from '../protocol/apis.js';
import { UnsupportedApiError } from './errors.js';

/** Lowest versions this client sends: it writes and reads RecordBatch v2 only. */
const CLIENT_MIN: Partial<Record<number, number>> = {
  [ApiKey.Produce]: 3,
  [ApiKey.Fetch]: 4,
};

/** Highest versions this client sends, where lower than the codec's. */
const CLIENT_MAX: Partial<Record<number, number>> = {
  [ApiKey.Fetch]: 12,
};

const ourMin = (apiKey: number, codecMin: number) => Math.max(codecMin, CLIENT_MIN[apiKey] ?? 0);
const ourMax = (apiKey: number, codecMax: number) => Math.min(codecMax, CLIENT_MAX[apiKey] ?? Infinity);

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
      const max = Math.min(ourMax(b.apiKey, ours.maxVersion), b.maxVersion);
      const min = Math.max(ourMin(b.apiKey, ours.minVersion), b.minVersion);
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
    const mine = ours === undefined ? '' : `; this client speaks ${ourMin(apiKey, ours.minVersion)}-${ourMax(apiKey, ours.maxVersion)}`;
    throw new UnsupportedApiError(`broker ${this.address} cannot serve ${name} (api key ${apiKey}): it ${theirs}${mine}`);
  }

  has(apiKey: number): boolean {
    return this.chosen.has(apiKey);
  }
}
