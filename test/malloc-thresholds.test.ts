import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mallocThresholds } from '../src/native.js';
import { keepRequestMemoryMapped, MMAP_THRESHOLD, TRIM_THRESHOLD } from '../src/server/malloc-thresholds.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ADDON = path.join(here, '..', 'build', 'Release', 'sluice_native.node');
const CHILD = path.join(here, 'helpers', 'malloc-churn-child.mjs');
const glibc = Boolean((process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime);

function churn(mode: 'tuned' | 'default'): { faults: number; pages: number; unsupported?: boolean } {
  const r = spawnSync(process.execPath, ['--expose-gc', CHILD, ADDON, mode], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`malloc-churn-child ${mode} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { faults: number; pages: number; unsupported?: boolean };
}

describe('malloc thresholds for request memory', () => {
  it('are taken on glibc, and refused with a clear error for nonsense', () => {
    expect(keepRequestMemoryMapped()).toBe(glibc);
    expect(keepRequestMemoryMapped()).toBe(glibc); // once per process; the same answer after
    expect(MMAP_THRESHOLD).toBeGreaterThan(1024 * 1024); // librdkafka's 1 MB requests come from the heap
    expect(TRIM_THRESHOLD).toBeGreaterThan(MMAP_THRESHOLD);
    expect(() => mallocThresholds(-1, 0)).toThrow(/between 0 and 2\^31-1/);
    expect(() => (mallocThresholds as unknown as (a: string) => boolean)('x')).toThrow(/mallocThresholds\(mmapThreshold/);
  });

  it.skipIf(!glibc)('make ~1 MB request buffers reuse mapped pages instead of faulting in fresh ones', () => {
    const before = churn('default');
    const after = churn('tuned');
    expect(after.unsupported).toBeUndefined();
    // Default glibc gives the pages back at each collection and faults them in again (measured:
    // 18,000-20,000 faults for these 114,688 pages); with the thresholds the pages stay mapped
    // after the warm-up (1,200-3,400).
    expect(before.faults).toBeGreaterThan(before.pages / 10);
    expect(after.faults * 4).toBeLessThan(before.faults);
  });
});
