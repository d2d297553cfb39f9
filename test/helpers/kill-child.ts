import { spawn } from 'node:child_process';

/**
 * Runs a Node script as a child process and hands each line it prints to `onLine`; once
 * `onLine` returns true the child is killed with SIGKILL, and the promise resolves when it is
 * dead. A child that exits any other way fails the promise, with its stderr.
 */
export function runUntilKilled(script: string, args: string[], onLine: (line: string) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    let stderr = '';
    let killed = false;
    p.stderr.on('data', (d) => (stderr += d));
    p.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (!killed && onLine(line)) {
          killed = true;
          p.kill('SIGKILL');
        }
      }
    });
    p.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`child ${script} exited with ${code}: ${stderr}`));
    });
  });
}

/** Kills the child once it has printed `acks` acknowledgement lines (numbers); returns the last. */
export async function runUntilAcked(script: string, args: string[], acks: number): Promise<number> {
  let acked = -1;
  let seen = 0;
  await runUntilKilled(script, args, (line) => {
    if (line.startsWith('ready')) return false;
    acked = Number(line);
    return ++seen === acks;
  });
  return acked;
}
