import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PYTHON, run } from './helpers/clients.js';
import { formatReport, runCrashLoop, type CrashLoopOptions } from './helpers/crash-loop.js';

// The broker runs from dist: build with `npx tsc -p tsconfig.json` first.
// scripts/crash-loop.sh runs this file with CRASH_KILLS (and friends) set: the long form.
const env = process.env;
const long = env.CRASH_KILLS !== undefined;
const kills = Number(env.CRASH_KILLS ?? 20);
const seed = Number(env.CRASH_SEED ?? 7);
const rate = Number(env.CRASH_RATE ?? 800);
const durabilities = (env.CRASH_DURABILITY ?? 'pagecache,fsync').split(',') as CrashLoopOptions['durability'][];
const producers = (env.CRASH_PRODUCER ?? 'idempotent,plain').split(',');
const verbose = long || env.CRASH_VERBOSE === '1';

beforeAll(async () => {
  expect(fs.existsSync(path.join(import.meta.dirname, '..', 'dist', 'src', 'cli', 'index.js')), 'run npx tsc -p tsconfig.json first').toBe(true);
  await run(PYTHON, ['-c', 'import confluent_kafka']).catch(() => {
    throw new Error('python3-confluent-kafka is not installed: apt-get install python3-confluent-kafka');
  });
});

describe('crash loop: librdkafka producer and group consumer while the broker is SIGKILLed and restarted', () => {
  let i = 0;
  for (const durability of durabilities) {
    for (const producer of producers) {
      const thisSeed = seed + i++;
      // Per kill: up to 0.8 s up plus a restart (1-2 s on a loaded 2-core machine); then the
      // producer and consumer settle, a clean restart and the read-back.
      const timeout = 90_000 + kills * 6_000;
      it(`${durability}, ${producer} producer: ${kills} kills lose, duplicate, reorder or corrupt nothing acknowledged`, { timeout }, async () => {
        const report = await runCrashLoop({
          durability,
          idempotent: producer === 'idempotent',
          kills,
          seed: thisSeed,
          rate,
          consumerKillEvery: Number(env.CRASH_CONSUMER_KILL_EVERY ?? 5),
          log: verbose ? (l) => console.log(l) : undefined,
        });
        console.log(formatReport(report));
        if (env.CRASH_SUMMARY) fs.appendFileSync(env.CRASH_SUMMARY, formatReport(report) + '\n');
        expect(report.problems).toEqual([]);
        expect(report.acked).toBeGreaterThan(0);
        // The kills landed in traffic: most incarnations acknowledged something.
        expect(report.incarnationsWithAcks).toBeGreaterThan(kills / 2);
        if (producer === 'idempotent') expect(report.duplicatesInLog).toBe(0);
      });
    }
  }
});
