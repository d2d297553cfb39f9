/**
 * Every broker's view of the cluster: one read of the cluster's prefix in etcd, then one watch
 * on it from the revision read, so the cache holds exactly what etcd held at `revision`.
 * Listeners hear of each change after the cache has applied it. When etcd has compacted the
 * history the watch needs, the prefix is read again and listeners hear a full reload.
 * Not thread-safe: use from one event loop.
 */
import { EtcdError, type EtcdClient, type KeyValue, type WatchEvent } from './etcd.js';
import {
  ClusterKeys,
  type BrokerRegistration,
  type ControllerRecord,
  type TopicRecord,
  type VersionedPartitionState,
} from './types.js';

export type MetadataChange =
  | { kind: 'broker'; id: number; registration: BrokerRegistration | null }
  | { kind: 'controller'; controller: ControllerRecord | null }
  | { kind: 'topic'; name: string; topic: TopicRecord | null }
  | { kind: 'partition'; topic: string; partition: number; state: VersionedPartitionState | null }
  | { kind: 'reload' };

export interface MetadataCacheLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export class MetadataCache {
  readonly brokers = new Map<number, BrokerRegistration>();
  readonly topics = new Map<string, TopicRecord>();
  /** Partition states by topic, then by partition index. */
  readonly partitions = new Map<string, Map<number, VersionedPartitionState>>();
  controller: ControllerRecord | null = null;
  controllerEpoch = 0;
  /** The etcd revision the cache reflects. */
  revision = 0;
  private readonly listeners = new Set<(changes: MetadataChange[]) => void>();
  private stopWatch: (() => void) | null = null;
  private closed = false;
  private reloading: Promise<void> | null = null;

  constructor(
    private readonly etcd: EtcdClient,
    readonly keys: ClusterKeys,
    private readonly logger?: MetadataCacheLogger,
  ) {}

  /** Reads the cluster's keys and starts the watch. */
  async start(): Promise<void> {
    await this.load();
  }

  onChange(listener: (changes: MetadataChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The partition's state, or undefined when the controller has not written one yet. */
  partitionState(topic: string, partition: number): VersionedPartitionState | undefined {
    return this.partitions.get(topic)?.get(partition);
  }

  /** Live broker ids, sorted. */
  liveBrokerIds(): number[] {
    return [...this.brokers.keys()].sort((a, b) => a - b);
  }

  /** Resolves once the cache reflects etcd revision `revision` (or later). */
  async waitForRevision(revision: number, timeoutMs: number): Promise<boolean> {
    if (this.revision >= revision) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        off();
        resolve(this.revision >= revision);
      }, timeoutMs);
      const off = this.onChange(() => {
        if (this.revision >= revision) {
          clearTimeout(timer);
          off();
          resolve(true);
        }
      });
    });
  }

  /** Resolves when `test` holds for the cache (checked now and after every change), or false at the timeout. */
  async waitFor(test: () => boolean, timeoutMs: number): Promise<boolean> {
    if (test()) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        off();
        resolve(test());
      }, timeoutMs);
      const off = this.onChange(() => {
        if (test()) {
          clearTimeout(timer);
          off();
          resolve(true);
        }
      });
    });
  }

  close(): void {
    this.closed = true;
    this.stopWatch?.();
    this.stopWatch = null;
    this.listeners.clear();
  }

  private async load(): Promise<void> {
    const { kvs, revision } = await this.etcd.getPrefix(this.keys.root);
    this.brokers.clear();
    this.topics.clear();
    this.partitions.clear();
    this.controller = null;
    this.controllerEpoch = 0;
    for (const kv of kvs) this.apply({ type: 'put', kv });
    this.revision = revision;
    this.stopWatch?.();
    this.stopWatch = this.etcd.watchPrefix(
      this.keys.root,
      revision + 1,
      (events, rev) => {
        const changes = events.map((e) => this.apply(e)).filter((c): c is MetadataChange => c !== null);
        this.revision = Math.max(this.revision, rev);
        this.emit(changes);
      },
      (err, compacted) => {
        if (this.closed) return;
        if (compacted) {
          this.logger?.warn({ err: err.message }, 'etcd compacted the metadata history; reading the cluster metadata again');
          this.reload();
        } else {
          this.logger?.warn({ err: err.message }, 'the etcd metadata watch broke; reopening it');
        }
      },
    );
  }

  private reload(): void {
    if (this.reloading) return;
    const attempt = async (): Promise<void> => {
      for (let delay = 100; !this.closed; delay = Math.min(delay * 2, 2000)) {
        try {
          await this.load();
          this.emit([{ kind: 'reload' }]);
          return;
        } catch (err) {
          if (!(err instanceof EtcdError)) throw err;
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    };
    this.reloading = attempt().finally(() => (this.reloading = null));
  }

  private emit(changes: MetadataChange[]): void {
    if (changes.length === 0) return;
    for (const l of [...this.listeners]) {
      try {
        l(changes);
      } catch (err) {
        this.logger?.warn({ err }, 'a metadata listener failed');
      }
    }
  }

  /** Applies one etcd event to the cache; returns what changed, or null for keys it does not know. */
  private apply(e: WatchEvent): MetadataChange | null {
    const k = this.keys;
    const key = e.kv.key;
    if (key === k.clusterId) return null; // a plain string, read once at start
    const put = e.type === 'put';
    const value = put ? parse(e.kv) : null;
    if (put && value === undefined) {
      this.logger?.warn({ key }, 'ignoring an etcd key whose value is not JSON');
      return null;
    }
    if (key.startsWith(k.brokers)) {
      const id = Number(key.slice(k.brokers.length));
      if (!Number.isInteger(id)) return null;
      if (put) this.brokers.set(id, value as BrokerRegistration);
      else this.brokers.delete(id);
      return { kind: 'broker', id, registration: put ? (value as BrokerRegistration) : null };
    }
    if (key === k.controller) {
      this.controller = put ? (value as ControllerRecord) : null;
      return { kind: 'controller', controller: this.controller };
    }
    if (key === k.controllerEpoch) {
      if (put) this.controllerEpoch = Number(value);
      return null;
    }
    if (key.startsWith(k.topics)) {
      const name = key.slice(k.topics.length);
      if (put) this.topics.set(name, value as TopicRecord);
      else this.topics.delete(name);
      return { kind: 'topic', name, topic: put ? (value as TopicRecord) : null };
    }
    if (key.startsWith(k.partitions)) {
      const rest = key.slice(k.partitions.length);
      const slash = rest.lastIndexOf('/');
      const topic = rest.slice(0, slash);
      const partition = Number(rest.slice(slash + 1));
      if (slash <= 0 || !Number.isInteger(partition)) return null;
      let byIndex = this.partitions.get(topic);
      if (put) {
        if (!byIndex) this.partitions.set(topic, (byIndex = new Map()));
        const state = { ...(value as Omit<VersionedPartitionState, 'modRevision'>), modRevision: e.kv.modRevision };
        byIndex.set(partition, state);
        return { kind: 'partition', topic, partition, state };
      }
      byIndex?.delete(partition);
      if (byIndex?.size === 0) this.partitions.delete(topic);
      return { kind: 'partition', topic, partition, state: null };
    }
    return null;
  }
}

function parse(kv: KeyValue): unknown {
  try {
    return JSON.parse(kv.value);
  } catch {
    return undefined;
  }
}
