import type { CliContext } from './command';

export interface ProgressReporter {
  /** `fraction` of the whole command (0..1); `etaSeconds` when the caller knows better than elapsed time. */
  update(fraction: number, text: string, etaSeconds?: number | null): void;
  /** Ends the bar's line; call once, also when the command fails. */
  done(): void;
}

/** Plain lines on a pipe or file: one per tenth of the way, and at least one every this often. */
const PLAIN_LINE_EVERY_MS = 30_000;

/**
 * The one progress display of every long CLI command, on stderr: a bar redrawn in place with
 * the time left on a terminal, a plain line now and then when stderr is a pipe or a file (so
 * logs stay short), and nothing at all with --json.
 */
export function progressReporter(
  ctx: Pick<CliContext, 'stderr' | 'json'>,
  options: { width?: number; now?: () => number } = {},
): ProgressReporter {
  if (ctx.json) return { update: () => {}, done: () => {} };
  const stream = ctx.stderr as NodeJS.WriteStream;
  const width = options.width ?? 30;
  const now = options.now ?? (() => performance.now());
  const started = now();
  let lastDecile = -1;
  let lastLineAt = -Infinity;
  let drawn = false;
  return {
    update(fraction, text, etaSeconds) {
      const f = Math.min(1, Math.max(0, fraction));
      const elapsed = (now() - started) / 1000;
      const eta = etaSeconds ?? (f > 0 && f < 1 ? (elapsed * (1 - f)) / f : null);
      const filled = Math.round(f * width);
      const line =
        `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${text}` +
        (eta == null ? '' : ` ${formatSeconds(eta)} left`);
      if (stream.isTTY) {
        stream.write(`\r${line.slice(0, (stream.columns ?? 120) - 1)}\x1b[K`);
        drawn = true;
        return;
      }
      const decile = Math.floor(f * 10);
      const t = now();
      if (decile !== lastDecile || t - lastLineAt >= PLAIN_LINE_EVERY_MS) {
        lastDecile = decile;
        lastLineAt = t;
        stream.write(`${line}\n`);
      }
    },
    done() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
