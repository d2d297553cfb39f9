import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tmpDir } from './tmp.js';

/** Debian's python3, where python3-confluent-kafka and python3-kafka are installed. */
export const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export function requireTool(cmd: string, hint: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`]);
  if (r.status !== 0) throw new Error(`${cmd} is not installed: ${hint} (.ci/run installs it)`);
}

/** Runs a command with stdin, resolving with stdout (rejecting with stderr on failure). */
export function run(cmd: string, args: string[], input = '', timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
    child.stdin!.end(input);
  });
}

/** Runs a Python script (written to a temp file) with arguments; parses its JSON stdout. */
export async function python<T>(script: string, args: string[] = []): Promise<T> {
  const file = path.join(tmpDir('sluice-py-'), 'script.py');
  fs.writeFileSync(file, script);
  const out = await run(PYTHON, [file, ...args]);
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}
