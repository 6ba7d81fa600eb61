export interface ParsedArgs {
  positionals: string[];
  options: Record<string, string | boolean>;
}

/**
 * `--name value`, `--name=value` and `--flag`. Which options take a value is declared by the
 * command, so `--json FILE` is never read as `--json=FILE`.
 */
export function parseArgs(argv: string[], valueOptions: ReadonlySet<string>): ParsedArgs {
  const positionals: string[] = [];
  const options: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      if (eq !== -1) options[name] = arg.slice(eq + 1);
      else if (valueOptions.has(name)) {
        const value = argv[i + 1];
        if (value === undefined) throw new UsageError(`--${name} needs a value`);
        options[name] = value;
        i++;
      } else options[name] = true;
    } else positionals.push(arg);
  }
  return { positionals, options };
}

export class UsageError extends Error {
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function stringOption(options: Record<string, string | boolean>, name: string): string | undefined {
  const value = options[name];
  if (value === true) throw new UsageError(`--${name} needs a value`);
  return value === false ? undefined : value;
}

export function numberOption(options: Record<string, string | boolean>, name: string): number | undefined {
  const raw = stringOption(options, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new UsageError(`--${name} must be a number, got "${raw}"`);
  return value;
}
