/**
 * Issue 7, hostile clients: a network fuzzer against a real broker process.
 *
 * Every API the broker advertises, at every advertised version, is built valid with the codec
 * (test/helpers/fuzz.ts), mutated (bit flips, boundary bytes and lengths, truncations,
 * insertions, duplicated regions, swapped api key or version, wrong size prefixes, record
 * batches corrupted behind a valid CRC) and sent pipelined over a pool of connections.
 * Meanwhile a well-behaved client must keep producing and fetching (a hang bound of 10 s, the
 * latency is reported, not asserted), the broker's RSS must stay under MEMORY_BOUND, and
 * afterwards the process is alive and a control topic written before the attack reads back
 * whole with valid CRCs.
 *
 * FUZZ_FRAMES (default 100000) and FUZZ_SEED (default: random, printed) set the run;
 * scripts/fuzz.sh runs the long form. A failure prints the seed and the bursts in flight,
 * which `burstFrames` regenerates byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { startBroker } from './helpers/broker.js';
import { buildTemplates, FuzzRunner, MUTATIONS, type FuzzStats } from './helpers/fuzz.js';
import { freePort, metricSum, MiB, probe, RssSampler, setupFuzzEnv, verifyControlTopic, within, writeControlTopic } from './helpers/fuzz-probe.js';
import { WireClient } from './helpers/wire-client.js';

const FRAMES = Number(process.env.FUZZ_FRAMES ?? 100_000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const MAX_REQUEST_BYTES = 1024 * 1024;
const PROBE_EVERY = Number(process.env.FUZZ_PROBE_EVERY ?? 5000);
/** A normal client's round trip slower than this is a hang, not a slow answer. */
const HANG_MS = 10_000;
/**
 * The broker's RSS must stay under this during the fuzz. Reasoning: a broker at rest is
 * ~100-150 MiB (V8, the addon, a worker thread, pino); requests are at most 1 MiB here
 * (--max-request-bytes) and each connection holds at most 100 in flight, but the fuzz sends
 * small frames, so what it can pin is the decoded form of a few hundred small requests plus
 * segment pages of the topics it writes (a few MiB). Twice the resting size plus generous
 * head room: 512 MiB. A leak of a few hundred bytes per frame over 100,000 frames would
 * already show as tens of MiB of growth, reported below next to the peak.
 */
const MEMORY_BOUND = 512 * MiB;
/** Generous: a full run at the default size takes 1-2 minutes on 2 shared cores. */
const TIMEOUT_MS = Math.max(300_000, FRAMES * 3);

describe('hostile clients: network fuzzer', () => {
  it(
    `survives ${FRAMES} mutated frames of every API (seed ${SEED}) and keeps serving`,
    async () => {
      const metricsPort = await freePort();
      const broker = await startBroker({
        args: ['--max-request-bytes', String(MAX_REQUEST_BYTES), '--request-timeout-ms', '3000', '--acks-all-fsync', 'false', '--metrics-port', String(metricsPort), '--log-level', 'error'],
      });
      const rss = new RssSampler(broker.proc.pid!);
      const report: string[] = [`seed ${SEED}, ${FRAMES} frames`];
      try {
        const admin = await WireClient.connect(broker.port);
        const control = await writeControlTopic(admin);
        admin.close();
        const { env, advertised } = await setupFuzzEnv(broker.port);
        const templates = buildTemplates(env, advertised, SEED);
        const apisCovered = new Set(templates.map((t) => t.apiKey));
        expect([...apisCovered].sort((a, b) => a - b)).toEqual(advertised.map((a) => a.apiKey).sort((a, b) => a - b));
        const rssBefore = rss.sample();

        // The well-behaved client, every PROBE_EVERY frames, one probe at a time.
        const latencies: number[] = [];
        let probeError: Error | null = null;
        let probing: Promise<void> = Promise.resolve();
        let nextProbe = PROBE_EVERY;
        const onProgress = (s: FuzzStats) => {
          if (s.framesSent < nextProbe) return;
          nextProbe += PROBE_EVERY;
          probing = probing.then(async () => {
            if (probeError) return;
            try {
              latencies.push(await within(probe(broker.port, latencies.length), HANG_MS, `probe after ${s.framesSent} frames`));
            } catch (err) {
              probeError = err as Error;
            }
          });
        };
        const runner = new FuzzRunner({
          port: broker.port,
          seed: SEED,
          frames: FRAMES,
          connections: 24,
          maxBurst: 24,
          burstTimeoutMs: 1500,
          maxRequestBytes: MAX_REQUEST_BYTES,
          templates,
          advertised,
          env,
          onProgress,
          shouldStop: () => broker.proc.exitCode !== null || probeError !== null,
        });
        const stats = await runner.run().catch((err: unknown) => {
          throw new Error(`fuzzer failed (seed ${SEED}): ${String(err)}`);
        });
        await probing;
        const failed = probeError as Error | null; // assigned in callbacks: TypeScript's narrowing cannot see it
        if (broker.proc.exitCode !== null || failed !== null) {
          throw new Error(
            `seed ${SEED}: ${failed ? failed.message : `broker exited with ${broker.proc.exitCode}`}\n` +
              `bursts in flight:\n${runner.describeInFlight()}\nbroker output (tail):\n${broker.output().slice(-4000)}`,
          );
        }

        // Afterwards: alive, still serving, and the control topic intact.
        latencies.push(await within(probe(broker.port, latencies.length), HANG_MS, 'probe after the fuzz'));
        const check = await WireClient.connect(broker.port);
        await within(verifyControlTopic(check, control), 30_000, 'reading back the control topic');
        check.close();
        expect(broker.proc.exitCode).toBeNull();

        const handled = await metricSum(metricsPort, 'sluice_requests_total');
        const bytesIn = await metricSum(metricsPort, 'sluice_network_bytes_in_total');
        rss.sample();
        const sorted = [...latencies].sort((a, b) => a - b);
        report.push(
          `sent ${stats.framesSent} frames (${(stats.bytesSent / MiB).toFixed(1)} MiB) in ${(stats.elapsedMs / 1000).toFixed(1)} s = ${Math.round(stats.framesSent / (stats.elapsedMs / 1000))} frames/s`,
          `bursts ${stats.bursts}: answered ${stats.answered}, closed by the broker ${stats.closedByBroker}, abandoned ${stats.abandoned}; responses ${stats.responses}; connections ${stats.connectionsOpened}`,
          `burst wait ms: ${JSON.stringify(Object.fromEntries(Object.entries(stats.burstMs).map(([k, v]) => [k, Math.round(v)])))}`,
          `broker: ${handled} requests decoded and handled, ${(bytesIn / MiB).toFixed(1)} MiB read`,
          `mutations: ${MUTATIONS.map((k) => `${k} ${stats.byKind[k] ?? 0}`).join(', ')}, valid ${stats.byKind.valid ?? 0}, batch ${stats.byKind.batch ?? 0}`,
          `probe latency ms: n=${sorted.length} median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} max ${sorted[sorted.length - 1]!.toFixed(1)}`,
          `RSS: before ${(rssBefore / MiB).toFixed(0)} MiB, peak ${(rss.peak / MiB).toFixed(0)} MiB, after ${(rss.last / MiB).toFixed(0)} MiB (bound ${MEMORY_BOUND / MiB} MiB, ${rss.samples} samples)`,
        );
        console.log(`[hostile fuzz] ${report.join('\n  ')}`);
        expect(stats.framesSent).toBe(FRAMES);
        expect(stats.responses).toBeGreaterThan(0);
        expect(rss.peak).toBeLessThan(MEMORY_BOUND);
      } finally {
        rss.stop();
      }
    },
    TIMEOUT_MS,
  );
});
