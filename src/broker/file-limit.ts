/**
 * The start-up check of RLIMIT_NOFILE: raise the soft limit to the hard one, then compare it
 * with what the settings allow the process to hold open at once (segment files, a server's
 * connections, plus headroom for everything else). Too low a limit shows up late and far
 * from its cause (EMFILE on some accept or segment open under load), so it is said once, at
 * start, naming the settings to change.
 */
import { openFileLimit } from '../native.js';
import type { StorageLogger } from '../storage/index.js';

/** Descriptors beyond the configured ones: the lock, worker threads, index and checkpoint writes, metrics, stdio. */
export const FILE_LIMIT_HEADROOM = 256;

/** One setting that lets the process hold descriptors: its name(s) as the user sets it, and how many. */
export interface OpenFileNeed {
  /** The properties-file key, e.g. 'max.connections'. */
  setting: string;
  /** The flag of `sluice serve` (and the embedded option, when it has one). */
  flag: string;
  count: number;
}

/**
 * Raises the soft limit to the hard one; logs one warning when it is still below what `needs`
 * add up to (plus the headroom). Returns the limits and what is needed.
 */
export function checkOpenFileLimit(needs: OpenFileNeed[], logger?: StorageLogger): { soft: number; hard: number; needed: number } {
  const { soft, hard } = openFileLimit(true);
  const needed = needs.reduce((n, x) => n + x.count, FILE_LIMIT_HEADROOM);
  if (soft < needed) {
    const parts = needs.map((x) => `${x.setting}=${x.count}`).join(' + ');
    const flags = needs.map((x) => x.flag).join(' or ');
    logger?.warn(
      { openFileLimit: soft, hardLimit: hard, needed, needs },
      `open file limit (RLIMIT_NOFILE) is ${soft} (hard limit ${hard}), below the ${needed} descriptors the settings allow (${parts} + ${FILE_LIMIT_HEADROOM} headroom): ` +
        `raise the hard limit (ulimit -Hn, LimitNOFILE= in systemd, --ulimit nofile= in Docker) or lower ${flags}`,
    );
  }
  return { soft, hard, needed };
}
