/**
 * Prometheus metrics of a broker (prom-client, its own registry): traffic per topic, requests,
 * errors and latency per API, partition sizes and offsets, group lag, worker pool and server
 * state, and Node's default process metrics (event-loop delay included). Gauges are read
 * when scraped, so the hot paths only bump counters.
 */
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Sluice } from '../broker/sluice.js';
import type { KafkaServer } from '../server/index.js';
import { errorName } from '../protocol/error-codes.js';
import type { LogDirSpace } from '../broker/log-dir-space.js';
import { SOFTWARE_VERSION } from '../version.js';

export class BrokerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'api'>;
  private readonly errors: Counter<'api' | 'error'>;
  private readonly latency: Histogram<'api'>;

  constructor(sluice: Sluice, server: KafkaServer | null, apiName: (key: number) => string, logDir?: LogDirSpace) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'sluice_', eventLoopMonitoringPrecision: 10 });
    this.requests = new Counter({ name: 'sluice_requests_total', help: 'Requests handled, per API', labelNames: ['api'], registers: [r] });
    this.errors = new Counter({ name: 'sluice_request_errors_total', help: 'Error codes answered (and failed requests), per API and error', labelNames: ['api', 'error'], registers: [r] });
    this.latency = new Histogram({
      name: 'sluice_request_duration_seconds',
      help: 'Time from a request decoded to its response encoded, per API',
      labelNames: ['api'],
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [r],
    });
    void apiName;
    const traffic = (name: string, help: string, pick: 'recordsIn' | 'bytesIn' | 'recordsOut' | 'bytesOut') =>
      new Counter({
        name,
        help,
        labelNames: ['topic'],
        registers: [r],
        collect() {
          this.reset();
          for (const [topic, t] of sluice.traffic.entries()) this.inc({ topic }, t[pick]);
        },
      });
    traffic('sluice_records_in_total', 'Records appended, per topic', 'recordsIn');
    traffic('sluice_bytes_in_total', 'Bytes of record batches appended, per topic', 'bytesIn');
    traffic('sluice_records_out_total', 'Records served to consumers, per topic', 'recordsOut');
    traffic('sluice_bytes_out_total', 'Bytes of record batches served, per topic', 'bytesOut');

    const partitionGauge = (name: string, help: string, value: (d: ReturnType<Sluice['describeTopic']>['partitions'][number]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['topic', 'partition'],
        registers: [r],
        collect() {
          this.reset();
          if (sluice.isClosed) return;
          for (const topic of sluice.listTopics()) {
            for (const p of sluice.describeTopic(topic).partitions) this.set({ topic, partition: String(p.partition) }, value(p));
          }
        },
      });
    partitionGauge('sluice_partition_log_end_offset', 'Log end offset (next offset to be written)', (p) => p.logEndOffset);
    partitionGauge('sluice_partition_log_start_offset', 'Log start offset (first offset kept)', (p) => p.logStartOffset);
    partitionGauge('sluice_partition_size_bytes', 'Bytes of data on disk', (p) => p.size);
    partitionGauge('sluice_partition_segments', 'Segments on disk', (p) => p.segments);
    new Counter({
      name: 'sluice_log_quarantined_batches_total',
      help: 'Damaged batches (or stretches whose length was lost) moved out of the served log into quarantine files, per partition (quarantine/quarantine.jsonl)',
      labelNames: ['topic', 'partition'],
      registers: [r],
      collect() {
        this.reset();
        if (sluice.isClosed) return;
        for (const topic of sluice.listTopics()) {
          for (const p of sluice.describeTopic(topic).partitions) this.inc({ topic, partition: String(p.partition) }, p.quarantined.length);
        }
      },
    });

    new Gauge({
      name: 'sluice_group_lag',
      help: 'Committed offset behind the log end offset, per group and partition',
      labelNames: ['group', 'topic', 'partition'],
      registers: [r],
      collect() {
        this.reset();
        if (sluice.isClosed) return;
        for (const g of sluice.groups.listGroups()) {
          for (const l of sluice.groupLag(g.groupId)) this.set({ group: g.groupId, topic: l.topic, partition: String(l.partition) }, l.lag);
        }
      },
    });
    new Gauge({
      name: 'sluice_group_members',
      help: 'Members of each consumer group',
      labelNames: ['group', 'state'],
      registers: [r],
      collect() {
        this.reset();
        if (sluice.isClosed) return;
        const groups = sluice.groups.listGroups();
        for (const d of sluice.groups.describeGroups(groups.map((g) => g.groupId))) this.set({ group: d.groupId, state: d.groupState }, d.members.length);
      },
    });
    const poolGauge = (name: string, help: string, pick: (s: ReturnType<Sluice['pool']['stats']>) => number) =>
      new Gauge({
        name,
        help,
        registers: [r],
        collect() {
          this.set(pick(sluice.pool.stats()));
        },
      });
    poolGauge('sluice_worker_pool_threads', 'Worker threads for codec work', (s) => s.threads);
    poolGauge('sluice_worker_pool_queue_size', 'Tasks waiting for a worker', (s) => s.queueSize);
    poolGauge('sluice_worker_pool_utilization', 'Share of time workers were busy (0 to 1)', (s) => s.utilization);
    poolGauge('sluice_worker_pool_tasks_total', 'Tasks run on workers', (s) => s.pooledRuns);
    poolGauge('sluice_worker_pool_inline_total', 'Tasks run inline (below the measured thresholds)', (s) => s.inlineRuns);
    if (logDir) {
      // Read from statfs when scraped: a full disk shows here before the first write fails.
      new Gauge({
        name: 'sluice_log_dir_free_bytes',
        help: 'Bytes free for the broker on the file system of each log dir',
        labelNames: ['dir'],
        registers: [r],
        collect() {
          this.set({ dir: logDir.dir }, logDir.freeBytes());
        },
      });
      new Gauge({
        name: 'sluice_log_dir_full',
        help: '1 while writes to the log dir fail with ENOSPC (from the first failure to the next write that works)',
        labelNames: ['dir'],
        registers: [r],
        collect() {
          this.set({ dir: logDir.dir }, logDir.full ? 1 : 0);
        },
      });
      new Counter({
        name: 'sluice_log_dir_errors_total',
        help: 'Writes to the log dir that failed on the disk, per errno (ENOSPC: disk full)',
        labelNames: ['dir', 'errno'],
        registers: [r],
        collect() {
          this.reset();
          for (const [errno, n] of logDir.errors) this.inc({ dir: logDir.dir, errno }, n);
        },
      });
    }
    if (server) {
      const serverGauge = (name: string, help: string, pick: (s: ReturnType<KafkaServer['stats']>) => number) =>
        new Gauge({
          name,
          help,
          registers: [r],
          collect() {
            this.set(pick(server.stats()));
          },
        });
      serverGauge('sluice_connections', 'Open client connections', (s) => s.connections);
      serverGauge('sluice_requests_in_flight', 'Requests being handled', (s) => s.inFlight);
      serverGauge('sluice_network_bytes_in_total', 'Bytes read from clients', (s) => s.bytesIn);
      serverGauge('sluice_network_bytes_out_total', 'Bytes written to clients', (s) => s.bytesOut);
      serverGauge('sluice_request_memory_used_bytes', 'Request memory pool in use (queued.max.request.bytes): requests being received or not yet answered', (s) => s.queuedRequestBytes);
      serverGauge('sluice_request_memory_waiting_connections', 'Connections paused until the request memory pool has room for their next request', (s) => s.waitingForMemory);
    }
  }

  /** Records one request: its latency, and every non-zero error code in its response. */
  observe(api: string, seconds: number, errorCodes: number[]): void {
    this.requests.inc({ api });
    this.latency.observe({ api }, seconds);
    for (const code of errorCodes) this.errors.inc({ api, error: errorName(code) });
  }

  /**
   * Serves /metrics, /health and /ready on host:port; resolves with the bound address.
   * `notReady` gives the reason the broker is not serving yet (or any more), or null when it is.
   */
  listen(host: string, port: number, notReady: () => string | null = () => null): Promise<{ server: http.Server; port: number }> {
    const started = Date.now();
    const server = http.createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0];
      if (url === '/health' || url === '/ready') {
        const reason = url === '/ready' ? notReady() : null;
        const body = reason === null ? { status: url === '/ready' ? 'ready' : 'up', version: SOFTWARE_VERSION, uptimeSeconds: Math.floor((Date.now() - started) / 1000) } : { status: 'not ready', reason };
        res.writeHead(reason === null ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify(body)}\n`);
        return;
      }
      if (url !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /health or /ready\n');
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
      );
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve({ server, port: (server.address() as { port: number }).port }));
    });
  }
}

/** Every errorCode field of a response body (nested), for the error counter. */
export function errorCodesIn(body: unknown, depth = 0, out: number[] = []): number[] {
  if (depth > 5 || body === null || typeof body !== 'object') return out;
  if (Array.isArray(body)) {
    for (const x of body) errorCodesIn(x, depth + 1, out);
    return out;
  }
  for (const [k, v] of Object.entries(body)) {
    if (k === 'errorCode' && typeof v === 'number' && v !== 0) out.push(v);
    else if (typeof v === 'object' && v !== null && !Buffer.isBuffer(v)) errorCodesIn(v, depth + 1, out);
  }
  return out;
}
