import { parseArgs as parseNodeArgs, type ParseArgsConfig } from 'node:util';

export interface ParsedArgs {
  positionals: string[];
  options: Record<string, string | boolean>;
}

/** The options one command accepts, global ones included. */
export interface OptionSpec {
  /** Options that take a value: `--name value` or `--name=value`. */
  values: readonly string[];
  /** Boolean flags: `--name`. */
  flags: readonly string[];
  /** Names a user may bring from another command, mapped to this command's option. */
  synonyms?: Readonly<Record<string, string>>;
}

/**
 * Strict parsing with node's own parser: an option the command does not declare, a flag given
 * a value, or a value option without one is a UsageError naming the nearest known option.
 * A declared value option always takes the next argument, so `--input-offset -1` reads -1.
 */
export function parseArgs(argv: string[], spec: OptionSpec, context: string): ParsedArgs {
  const values = new Set(spec.values);
  const flags = new Set(spec.flags);
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      joined.push(...argv.slice(i));
      break;
    }
    if (arg === '-h') {
      joined.push('--help');
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      joined.push(arg);
      continue;
    }
    const name = arg.startsWith('--') ? arg.slice(2).split('=')[0]! : arg.slice(1);
    if (!values.has(name) && !flags.has(name)) throw unknownOption(arg.split('=')[0]!, name, spec, context);
    if (values.has(name) && !arg.includes('=')) {
      const value = argv[i + 1];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      joined.push(`--${name}=${value}`);
      i++;
      continue;
    }
    if (flags.has(name) && arg.includes('='))
      throw new UsageError(`--${name} is a flag and takes no value, got "${arg}"`);
    joined.push(arg);
  }
  const options: ParseArgsConfig['options'] = {};
  for (const name of values) options[name] = { type: 'string' };
  for (const name of flags) options[name] = { type: 'boolean' };
  const parsed = parseNodeArgs({ args: joined, options, strict: true, allowPositionals: true });
  const out: Record<string, string | boolean> = {};
  for (const [name, value] of Object.entries(parsed.values))
    if (typeof value === 'string' || typeof value === 'boolean') out[name] = value;
  return { positionals: parsed.positionals, options: out };
}

function unknownOption(given: string, name: string, spec: OptionSpec, context: string): UsageError {
  const known = [...spec.values, ...spec.flags];
  const near = spec.synonyms?.[name] ?? nearest(name, known);
  return new UsageError(
    near
      ? `unknown option ${given}; did you mean --${near}?`
      : `unknown option ${given}; the options of ${context} are ${known.map((k) => `--${k}`).join(', ')}`,
  );
}

/**
 * The candidate closest to `word` by edit distance (an adjacent swap counts as one edit), or
 * undefined when even the closest differs in more than a third of its letters (then a list
 * of every candidate helps more than a guess).
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  return bestDistance <= Math.max(1, Math.floor(Math.max(word.length, best.length) / 3)) ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
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
