/**
 * The machine's limits, measured in the same run as everything else, so Sluice's figures
 * can be given as a fraction of them:
 *
 * - memory copy bandwidth: Buffer.copy between two large buffers (one core);
 * - sequential disk write bandwidth on the filesystem the benchmark's data directories use
 *   (os.tmpdir()): fio (1 MiB writes, psync, one fdatasync at the end) when installed, else
 *   dd with conv=fdatasync. Both count the time to the data being on disk, the same rule
 *   the durable Sluice run is held to.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { benchDir, now, throughput, type Throughput } from './util.js';
import { hasCommand } from './peers.js';

export interface Limits {
  memcpy: Throughput;
  disk?: Throughput;
  diskSkipped?: string;
}

/** Buffer.copy of a `mib` MiB buffer into another, repeated for about `seconds`; the median pass is kept. */
export function memcpyBandwidth(mib: number, seconds: number): Throughput {
  const src = Buffer.alloc(mib * 2 ** 20, 0x5a);
  const dst = Buffer.alloc(mib * 2 ** 20);
  src.copy(dst); // fault the pages in before timing
  const passes: number[] = [];
  const t0 = now();
  while (now() - t0 < seconds * 1000 || passes.length < 3) {
    const s = now();
    src.copy(dst);
    passes.push(now() - s);
  }
  passes.sort((a, b) => a - b);
  const ms = passes[passes.length >> 1]!;
  const t = throughput(`memory copy (Buffer.copy of ${mib} MiB)`, 0, src.length, ms / 1000);
  t.note = `median of ${passes.length} passes, one core`;
  return t;
}

/** Sequential write of `mib` MiB with the data on disk at the end, in a fresh directory under os.tmpdir(). */
export function diskWriteBandwidth(mib: number): { result?: Throughput; skipped?: string } {
  const dir = benchDir();
  try {
    if (hasCommand('fio')) {
      // Timed from outside, start to the end of the fdatasync: fio's own bw leaves the end fsync out.
      const t0 = now();
      const r2 = spawnSync(
        'fio',
        ['--name=seqwrite', `--directory=${dir}`, '--rw=write', '--bs=1M', `--size=${mib}M`, '--ioengine=psync', '--end_fsync=1', '--numjobs=1', '--output-format=json'],
        { encoding: 'utf8', maxBuffer: 16 << 20 },
      );
      const seconds = (now() - t0) / 1000;
      if (r2.status !== 0) return { skipped: `fio failed: ${r2.stderr}` };
      const bytes = mib * 2 ** 20;
      const t = throughput(`disk sequential write (fio, ${mib} MiB, 1 MiB writes + fdatasync)`, 0, bytes, seconds);
      const fioBw = (JSON.parse(r2.stdout) as { jobs: { write: { bw_bytes: number } }[] }).jobs[0]!.write.bw_bytes / 1e6;
      t.note = `timed to the end of the fdatasync; fio's own figure without it ${fioBw.toFixed(0)} MB/s`;
      return { result: t };
    }
    const file = `${dir}/dd.bin`;
    const r = spawnSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${mib}`, 'conv=fdatasync'], { encoding: 'utf8' });
    if (r.status !== 0) return { skipped: `dd failed: ${r.stderr}` };
    const m = r.stderr.match(/(\d+) bytes .* copied, ([\d.]+) s/);
    if (!m) return { skipped: `unexpected dd output: ${r.stderr}` };
    const t = throughput(`disk sequential write (dd, ${mib} MiB, conv=fdatasync)`, 0, Number(m[1]), Number(m[2]));
    t.note = 'fio not installed (apt-get install -y fio); dd timed to the end of the fdatasync';
    return { result: t };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The limits; the disk figure is the best of `diskRuns` runs: a limit is what the machine
 * can do at its best, and this shared disk varies by 2x from one run to the next.
 */
export function limitsBench(quick: boolean, diskRuns = quick ? 2 : 3): Limits {
  const memcpy = memcpyBandwidth(256, quick ? 0.5 : 2);
  const runs: Throughput[] = [];
  let skipped: string | undefined;
  for (let i = 0; i < diskRuns; i++) {
    const d = diskWriteBandwidth(quick ? 512 : 2048);
    if (d.skipped) {
      skipped = d.skipped;
      break;
    }
    runs.push(d.result!);
  }
  runs.sort((a, b) => b.mbPerSec - a.mbPerSec);
  const disk = runs[0];
  if (disk && runs.length > 1) disk.note = `best of ${runs.length} runs (${runs.map((r) => r.mbPerSec.toFixed(0)).join(', ')} MB/s); ${disk.note}`;
  return { memcpy, disk, diskSkipped: skipped };
}
