/**
 * Exactly-once consume-transform-produce under SIGKILL of the application: a confluent-kafka
 * app reads `eos-in` in a group and writes each record to `eos-out` with its input offsets in
 * the same transaction, a few records per transaction. It is SIGKILLed at random moments
 * (mid-transaction, mid-commit, between transactions) and restarted, many times, then run to
 * the end. The committed output (the records of transactions whose commit marker is in the
 * log, which is what a read_committed consumer returns) holds every input exactly once, in
 * order; aborted attempts are in the log too, each followed by its abort marker.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { python } from './helpers/clients.js';
import { startBroker } from './helpers/broker.js';
import { APP, committedValues, runApp, runAppOnce, SETUP } from './helpers/eos-app.js';
import { tmpDir } from './helpers/tmp.js';

const INPUTS = 3000;
const KILLS = 12;

describe('exactly-once consume-transform-produce', () => {
  it(`every input is in the committed output exactly once after ${KILLS} SIGKILLs of the app`, async () => {
    const broker = await startBroker();
    await python(SETUP, [broker.bootstrap, String(INPUTS)]);
    const script = path.join(tmpDir('sluice-eos-'), 'app.py');
    fs.writeFileSync(script, APP);
    let kills = 0;
    let progress = 0;
    // A fixed seed keeps the kill points the same from run to run.
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    while (kills < KILLS) {
      const r = await runApp(script, broker.bootstrap, 800 + Math.floor(random() * 1700));
      if (!r.killed) break;
      kills++;
      const last = [...r.output.matchAll(/progress (\d+)/g)].pop();
      if (last) progress += Number(last[1]);
      console.log(`run ${kills}: ${last?.[1] ?? 0} records committed before the kill`);
    }
    const final = await runApp(script, broker.bootstrap, null);
    const { committed, aborted } = committedValues(broker.dir, 'eos-out');
    const expected = Array.from({ length: INPUTS }, (_, i) => `out-${i}`);
    expect(committed).toEqual(expected);
    expect(kills).toBe(KILLS);
    // The kills landed while work was going on: the killed runs committed part of the input.
    expect(progress).toBeGreaterThan(0);
    expect(progress).toBeLessThan(INPUTS);
    expect(final.output).toMatch(/progress/);
    console.log(`exactly-once: ${INPUTS} inputs, ${kills} kills, ${committed.length} committed outputs, ${aborted} aborted outputs`);
  }, 600_000);

  it('every input is in the committed output exactly once after SIGKILLs of the broker mid-pipeline', async () => {
    const dir = tmpDir('sluice-eos-broker-');
    let broker = await startBroker({ dir });
    const port = broker.port;
    await python(SETUP, [broker.bootstrap, String(INPUTS)]);
    const script = path.join(tmpDir('sluice-eos-'), 'app.py');
    fs.writeFileSync(script, APP);
    // The app runs over and over (a broker kill may make it fail: it is simply started again).
    let stop = false;
    let runs = 0;
    const apps = (async () => {
      while (!stop) {
        await runAppOnce(script, broker.bootstrap);
        runs++;
      }
    })();
    let seed = 777;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const BROKER_KILLS = 4;
    const committedAtKill: number[] = [];
    for (let k = 0; k < BROKER_KILLS; k++) {
      await new Promise((r) => setTimeout(r, 3000 + Math.floor(random() * 2000)));
      committedAtKill.push(committedValues(dir, 'eos-out').committed.length);
      await broker.kill();
      broker = await startBroker({ dir, port });
    }
    stop = true;
    await apps;
    // Then to the end: the app exits 0 once it has read all its input.
    let final = await runAppOnce(script, broker.bootstrap);
    for (let i = 0; i < 3 && final.code !== 0; i++) final = await runAppOnce(script, broker.bootstrap);
    expect(final.code, final.output).toBe(0);
    const { committed, aborted } = committedValues(dir, 'eos-out');
    expect(committed).toEqual(Array.from({ length: INPUTS }, (_, i) => `out-${i}`));
    // The first kill landed while the pipeline was mid-way.
    expect(committedAtKill[0]).toBeGreaterThan(0);
    expect(committedAtKill[0]).toBeLessThan(INPUTS);
    console.log(`committed outputs at each broker kill: ${committedAtKill.join(', ')}`);
    console.log(`exactly-once with broker kills: ${INPUTS} inputs, ${BROKER_KILLS} broker kills, ${runs} app runs, ${committed.length} committed outputs, ${aborted} aborted outputs`);
  }, 600_000);
});
