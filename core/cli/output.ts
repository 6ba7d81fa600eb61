import type { CliContext } from './command';

/** Prints the JSON document in --json mode, the human text otherwise. */
export function emit(ctx: CliContext, document: unknown, human: () => string): void {
  ctx.stdout.write(ctx.json ? JSON.stringify(document, null, 2) + '\n' : human().trimEnd() + '\n');
}
