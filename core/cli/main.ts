import { resolveDataDir } from '../app/data-dir';
import { appVersion } from '../app/version';
import { formatError, serializeError } from '../errors';
import { nearest, parseArgs, stringOption, UsageError } from './args';
import type { CliContext } from './command';
import { commands } from './commands/index';

const globalValueOptions = ['data-dir'];
const globalFlags = ['json', 'help'];

function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: quantbench <command> [options]',
    '',
    'Prune, cluster and quantize Keras models for microcontrollers, measure them on a',
    'board, and keep every experiment.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    '  --data-dir DIR  where experiments are kept (or QUANTBENCH_DATA_DIR)',
    '  --json          print one JSON document on stdout and nothing else there',
    '  --help          help for quantbench or a command',
    '  --version       print the version',
    '',
  ].join('\n');
}

/** Runs the CLI and returns the exit code; never calls process.exit itself. */
export async function main(argv: string[], io: Pick<CliContext, 'stdout' | 'stderr'> = process): Promise<number> {
  const first = argv[0];
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const target = first === 'help' ? commands.find((c) => c.name === argv[1]) : undefined;
    io.stdout.write(target ? (await target.load()).usage.trimEnd() + '\n' : mainHelp());
    return 0;
  }
  if (first === '--version' || first === '-v') {
    io.stdout.write(`${appVersion()}\n`);
    return 0;
  }
  const entry = commands.find((c) => c.name === first);
  if (!entry) {
    const near = first.startsWith('-') ? undefined : nearest(first, commands.map((c) => c.name));
    io.stderr.write(
      `quantbench: unknown ${first.startsWith('-') ? 'option' : 'command'} "${first}"${near ? `; did you mean "${near}"?` : ''}\n\n${mainHelp()}`,
    );
    return 2;
  }
  const command = await entry.load();
  const rest = argv.slice(1);
  const json = rest.includes('--json');
  try {
    const { positionals, options } = parseArgs(
      rest,
      {
        values: [...globalValueOptions, ...(command.valueOptions ?? [])],
        flags: [...globalFlags, ...(command.flags ?? [])],
        synonyms: command.synonyms,
      },
      `quantbench ${command.name}`,
    );
    if (options.help) {
      io.stdout.write(command.usage.trimEnd() + '\n');
      return 0;
    }
    const controller = new AbortController();
    const onSigint = () => controller.abort(new Error('interrupted'));
    process.once('SIGINT', onSigint);
    try {
      return await command.run({
        positionals,
        options,
        json,
        dataDir: resolveDataDir({ flag: stringOption(options, 'data-dir') }),
        stdout: io.stdout,
        stderr: io.stderr,
        signal: controller.signal,
      });
    } finally {
      process.off('SIGINT', onSigint);
    }
  } catch (error) {
    if (json) io.stdout.write(JSON.stringify({ error: serializeError(error) }, null, 2) + '\n');
    io.stderr.write(`quantbench ${command.name}: ${formatError(error)}\n`);
    if (error instanceof UsageError) io.stderr.write(`\n${command.usage.trimEnd()}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}
