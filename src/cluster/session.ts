/**
 * A broker's membership of the cluster: an etcd lease kept alive, and the broker's
 * registration bound to it. While etcd cannot be reached the broker keeps serving what it
 * leads and says so once; when the lease has expired in the meantime (the controller has
 * moved its partitions away), it registers again under a new lease and listeners hear of the
 * new session. Not thread-safe: use from one event loop.
 */
import { EtcdError, type EtcdClient } from './etcd.js';
import { ClusterStateError, type ClusterStore } from './store.js';
import type { BrokerRegistration } from './types.js';

export interface SessionLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface BrokerSessionOptions {
  etcd: EtcdClient;
  store: ClusterStore;
  registration: BrokerRegistration;
  /** Lease time to live, seconds: a broker that stops renewing is gone after this long. */
  ttlSeconds: number;
  logger: SessionLogger;
}

export class BrokerSession {
  /** The current lease id; changes when the broker registers again after expiry. */
  lease = '';
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private reachable = true;
  private readonly listeners = new Set<(lease: string) => void>();

  constructor(private readonly options: BrokerSessionOptions) {}

  /**
   * Takes a lease and registers, retrying with backoff (and saying so) while etcd cannot be
   * reached. Throws at once when the broker id is taken by another live broker.
   */
  async start(): Promise<void> {
    const { etcd, logger } = this.options;
    // A broker restarted right after a crash finds its old registration still there until
    // that lease expires: wait for it (a little over one TTL), then give up with the error.
    const takenUntil = Date.now() + this.options.ttlSeconds * 1000 * 2 + 1000;
    let toldTaken = false;
    for (let delay = 500; ; delay = Math.min(delay * 2, 10_000)) {
      if (this.stopped) throw new EtcdError('stopped before the broker could register', false);
      try {
        await this.register();
        break;
      } catch (err) {
        if (err instanceof ClusterStateError && Date.now() < takenUntil) {
          if (!toldTaken) logger.warn({ broker: this.options.registration.id }, `${err.message}; waiting up to ${Math.round((takenUntil - Date.now()) / 1000)} s for that registration to expire (a restart after a crash)`);
          toldTaken = true;
          await new Promise((r) => setTimeout(r, 250));
          delay = 500;
          continue;
        }
        if (!(err instanceof EtcdError) || !err.unavailable) throw err;
        logger.error({ endpoints: etcd.endpoints, retryInMs: delay }, `etcd cannot be reached, retrying in ${delay} ms: ${err.message}`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    this.schedule();
  }

  /** Called with the new lease whenever the broker registers again. */
  onNewSession(listener: (lease: string) => void): void {
    this.listeners.add(listener);
  }

  /** Revokes the lease: the registration (and a controller record) go at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.lease) await this.options.etcd.revokeLease(this.lease).catch(() => {});
  }

  private async register(): Promise<void> {
    const { etcd, store, registration, ttlSeconds } = this.options;
    const { id } = await etcd.grantLease(ttlSeconds);
    await store.registerBroker(registration, id);
    this.lease = id;
  }

  private schedule(): void {
    if (this.stopped) return;
    const every = Math.max(200, (this.options.ttlSeconds * 1000) / 3);
    this.timer = setTimeout(() => void this.renew(), every);
  }

  private async renew(): Promise<void> {
    const { etcd, logger, registration } = this.options;
    try {
      const ttl = await etcd.keepAlive(this.lease);
      if (!this.reachable) logger.info({}, 'etcd is reachable again');
      this.reachable = true;
      if (ttl <= 0) {
        logger.warn({ lease: this.lease, broker: registration.id }, 'the broker lease expired while etcd was out of reach; registering again');
        await this.register();
        for (const l of this.listeners) l(this.lease);
      }
    } catch (err) {
      if (this.stopped) return;
      if (this.reachable) {
        logger.error(
          { endpoints: etcd.endpoints, err: (err as Error).message },
          'etcd cannot be reached: serving the partitions this broker leads, refusing metadata changes until it is back',
        );
      }
      this.reachable = false;
    }
    this.schedule();
  }

  /** False while the last lease renewal could not reach etcd. */
  get etcdReachable(): boolean {
    return this.reachable;
  }
}
