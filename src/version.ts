/** Sluice's version, read from its package.json (found from src/ under vitest and from dist/src/ when built). */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function readVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sluice' && pkg.version) return pkg.version;
    } catch {
      // not here: one folder up
    }
    dir = path.dirname(dir);
  }
  return '0.0.0';
}

export const SOFTWARE_VERSION = readVersion();
