/**
 * The broker's data directory: an exclusive lock (`.lock`, flock, released by the kernel if
 * the process dies) and `meta.properties` with the cluster id and node id, as Kafka keeps.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { lockFile, unlockFile } from '../native.js';
import { DataDirError, DataDirLockedError } from './errors.js';

export const LOCK_FILE = '.lock';
export const META_FILE = 'meta.properties';

export interface DataDirMeta {
  clusterId: string;
  nodeId: number;
}

/** Where a broker keeps its data when no directory is given (`npm start`, `Sluice.open()`). */
export const DEFAULT_DATA_DIR = './data';

/**
 * The absolute data directory for a `dir` option, checked before anything is written:
 * undefined means ./data; anything but a non-empty string is a TypeError that says what to
 * pass.
 */
export function resolveDataDir(dir: unknown): string {
  if (dir === undefined) return path.resolve(DEFAULT_DATA_DIR);
  if (typeof dir !== 'string' || dir.trim() === '') {
    const what = typeof dir === 'string' ? 'an empty string' : dir === null ? 'null' : `a ${typeof dir}`;
    throw new TypeError(`Sluice.open: 'dir' must be the path of a data directory, not ${what}; leave it out to use ${DEFAULT_DATA_DIR}`);
  }
  return path.resolve(dir);
}

/** Creates `dir` (and its parents) unless it exists; errors name the path and the fix. */
export function makeDataDir(dir: string): void {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(dir);
  } catch {
    // missing: created below
  }
  if (stat && !stat.isDirectory()) throw new DataDirError(dir, 'it is a file, not a directory', 'pass the path of a directory (it is created when missing), or move the file away');
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'EEXIST') throw new DataDirError(dir, 'a part of its path is a file', 'choose a path whose parents are directories', { cause: err });
    if (code === 'EACCES' || code === 'EPERM') throw new DataDirError(dir, 'permission denied', 'choose a directory this user can write, or change its permissions', { cause: err });
    if (code === 'EROFS') throw new DataDirError(dir, 'the file system is read-only', 'choose a directory on a writable file system', { cause: err });
    throw new DataDirError(dir, (err as Error).message, 'check the path', { cause: err });
  }
}

/** Locks `dir` for this process; returns the release function. Throws DataDirLockedError when held. */
export function lockDataDir(dir: string): () => void {
  makeDataDir(dir);
  let fd: number;
  try {
    fd = lockFile(path.join(dir, LOCK_FILE));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK') throw new DataDirLockedError(dir);
    throw err;
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    unlockFile(fd);
  };
}

/** Reads meta.properties, writing a new one (fresh cluster id) when missing. */
export function loadMeta(dir: string, expected?: number): DataDirMeta {
  const nodeId = expected ?? 0;
  const file = path.join(dir, META_FILE);
  if (fs.existsSync(file)) {
    const props = new Map<string, string>();
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const m = /^([^#=\s][^=]*)=(.*)$/.exec(line.trim());
      if (m) props.set(m[1]!.trim(), m[2]!.trim());
    }
    const clusterId = props.get('cluster.id');
    if (clusterId) {
      const stored = Number(props.get('node.id') ?? nodeId);
      if (expected !== undefined && stored !== expected) {
        throw new DataDirError(dir, `it belongs to node ${stored} (node.id in ${META_FILE}), not ${expected}`, `start this broker with node id ${stored}, or give node ${expected} its own data directory`);
      }
      return { clusterId, nodeId: stored };
    }
  }
  // Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding.
  const meta = { clusterId: crypto.randomBytes(16).toString('base64url'), nodeId };
  fs.writeFileSync(file, `#Written by Sluice\nversion=1\ncluster.id=${meta.clusterId}\nnode.id=${nodeId}\n`);
  return meta;
}
