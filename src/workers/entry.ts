/**
 * Where the compiled worker entry is. Workers load plain JavaScript, so the entry is always
 * dist/src/workers/tasks.js: next to this file when it runs compiled, and found through
 * the repository root when this file runs as TypeScript (vitest, tsx). Stateless.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkerEntryMissingError } from './errors.js';

/** Absolute path of tasks.js; throws WorkerEntryMissingError saying how to build it. */
export function workerEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const dir = path.dirname(here);
  const entry = here.endsWith('.ts')
    ? path.resolve(dir, '..', '..', 'dist', 'src', 'workers', 'tasks.js')
    : path.join(dir, 'tasks.js');
  if (!fs.existsSync(entry)) {
    throw new WorkerEntryMissingError(
      `the worker pool needs its compiled entry ${entry}, which is missing: run \`npm run build\` (or \`npx tsc -p tsconfig.json\`) first`,
    );
  }
  return entry;
}
