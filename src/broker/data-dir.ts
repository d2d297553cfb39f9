/**
 * The broker's data directory: an exclusive lock (`.lock`, flock, released by the kernel if
 * the process dies) and `meta.properties` with the cluster id and node id, as Kafka keeps.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { lockFile, unlockFile } from '../native.js';
import { DataDirLockedError } from './errors.js';

export const LOCK_FILE = '.lock';
export const META_FILE = 'meta.properties';

export interface DataDirMeta {
  clusterId: string;
  nodeId: number;
}

/** Locks `dir` for this process; returns the release function. Throws DataDirLockedError when held. */
export function lockDataDir(dir: string): () => void {
  fs.mkdirSync(dir, { recursive: true });
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
export function loadMeta(dir: string, nodeId = 0): DataDirMeta {
  const file = path.join(dir, META_FILE);
  if (fs.existsSync(file)) {
    const props = new Map<string, string>();
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const m = /^([^#=\s][^=]*)=(.*)$/.exec(line.trim());
      if (m) props.set(m[1]!.trim(), m[2]!.trim());
    }
    const clusterId = props.get('cluster.id');
    if (clusterId) return { clusterId, nodeId: Number(props.get('node.id') ?? nodeId) };
  }
  // Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding.
  const meta = { clusterId: crypto.randomBytes(16).toString('base64url'), nodeId };
  fs.writeFileSync(file, `#Written by Sluice\nversion=1\ncluster.id=${meta.clusterId}\nnode.id=${nodeId}\n`);
  return meta;
}
