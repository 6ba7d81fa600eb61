import type { CliCommand } from '../command';
import { infoCommand } from './info';
import { inspectCommand } from './inspect';
import { runsCommand } from './runs';
import { serveCommand } from './serve';

/** Every CLI command, in the order `quantbench --help` lists them. */
export const commands: CliCommand[] = [
  infoCommand,
  serveCommand,
  runsCommand,
  inspectCommand,
];
