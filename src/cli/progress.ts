/**
 * A one-line progress bar on stderr (only when stderr is a terminal): share of the input read,
 * records so far and records/s, redrawn a few times a second.
 */
export class ProgressBar {
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly totalBytes: number,
    private readonly state: () => { bytes: number; records: number },
  ) {}

  static enabled(): boolean {
    return process.stderr.isTTY === true;
  }

  start(): void {
    this.timer = setInterval(() => this.draw(), 200);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    process.stderr.write('\r\x1b[K');
  }

  private draw(): void {
    const { bytes, records } = this.state();
    const share = this.totalBytes > 0 ? Math.min(1, bytes / this.totalBytes) : 0;
    const width = 30;
    const filled = Math.round(share * width);
    const secs = (Date.now() - this.started) / 1000;
    const rate = secs > 0 ? Math.round(records / secs) : 0;
    process.stderr.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ${records.toLocaleString('en')} records  ${rate.toLocaleString('en')} records/s\x1b[K`,
    );
  }
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}
