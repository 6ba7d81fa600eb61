import type { Writable } from 'node:stream';

/** What every CLI command receives: parsed arguments and where to write. */
export interface CliContext {
  /** Positional arguments after the command name. */
  positionals: string[];
  /** `--name value` and `--flag` options; repeated options keep the last value. */
  options: Record<string, string | boolean>;
  /** `--json`: print exactly one JSON document on stdout and nothing else there. */
  json: boolean;
  /** Data directory resolved from --data-dir, QUANTBENCH_DATA_DIR or the platform default. */
  dataDir: string;
  stdout: Writable;
  /** Progress bars, warnings and logs go here, never to stdout. */
  stderr: Writable;
  /** Set when the user presses Ctrl-C; long commands check it and stop cleanly. */
  signal: AbortSignal;
}

export interface CliCommand {
  name: string;
  /** Full usage text for `quantbench NAME --help`. */
  usage: string;
  /** Option names that take a value (others are boolean flags). */
  valueOptions?: string[];
  /** Boolean flags (`--name`); any option declared in neither list is a usage error. */
  flags?: string[];
  /** Option names other commands use for what this one calls differently, for suggestions. */
  synonyms?: Record<string, string>;
  /** Returns the process exit code. */
  run(ctx: CliContext): Promise<number>;
}
