/**
 * A one-line progress bar on stderr for the CLI. On a terminal the line is redrawn in
 * place; when stderr is a file or pipe, a line is written every tenth of the way so logs stay short.
 */
export class ProgressBar {
  private lastDecile = -1;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly width = 30,
  ) {}

  update(fraction: number, text: string, etaSeconds?: number | null): void {
    const f = Math.min(1, Math.max(0, fraction));
    const filled = Math.round(f * this.width);
    const eta = etaSeconds == null ? '' : ` ${formatSeconds(etaSeconds)} left`;
    const line = `[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${text}${eta}`;
    if (this.stream.isTTY) {
      this.stream.write(`\r${line.slice(0, (this.stream.columns ?? 120) - 1)}\x1b[K`);
      return;
    }
    const decile = Math.floor(f * 10);
    if (decile !== this.lastDecile) {
      this.lastDecile = decile;
      this.stream.write(`${line}\n`);
    }
  }

  done(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
