import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Why a tmpfs cannot be mounted here, or null when it can. */
export function mountProblem(): string | null {
  if (process.platform !== 'linux') return 'tmpfs mounts need Linux';
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root (run the suite as root, as CI does)';
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-mount-probe-'));
  try {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe]);
    if (r.status !== 0) return `mount -t tmpfs failed: ${r.stderr.toString().trim() || `exit ${r.status}`}`;
    spawnSync('umount', [probe]);
    return null;
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
}

const mounts: string[] = [];

/** Mounts a tmpfs of `bytes` on a fresh temp dir; unmountAll() takes it down. */
export function mountTmpfs(bytes: number, prefix = 'sluice-tmpfs-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir]);
  if (r.status !== 0) throw new Error(`mount failed: ${r.stderr.toString()}`);
  mounts.push(dir);
  return dir;
}

/** Unmounts every tmpfs mounted so far (retrying while a dying process still holds it), removes the dirs. */
export async function unmountAll(): Promise<void> {
  for (const dir of mounts.splice(0)) {
    let r = spawnSync('umount', [dir]);
    for (let i = 0; i < 20 && r.status !== 0; i++) {
      await new Promise((res) => setTimeout(res, 100));
      r = spawnSync('umount', [dir]);
    }
    if (r.status !== 0) spawnSync('umount', ['-l', dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
