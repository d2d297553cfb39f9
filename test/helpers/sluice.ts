import { afterEach } from 'vitest';
import { Sluice, type SluiceOptions } from '../../src/index.js';
import { tmpDir } from './tmp.js';

const open: Sluice[] = [];

/** A Sluice on a fresh temp dir (or `dir`), closed after the test. */
export async function openSluice(options: Partial<SluiceOptions> = {}): Promise<Sluice> {
  const s = await Sluice.open({ dir: options.dir ?? tmpDir(), workerThreads: 0, retentionCheckIntervalMs: 0, ...options });
  open.push(s);
  return s;
}

afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => {});
});
