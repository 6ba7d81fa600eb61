import type { CliCommand } from '../command';

export interface CommandEntry {
  name: string;
  /** One line for `quantbench --help`, kept here so listing commands loads none of them. */
  summary: string;
  /** Loads the command's module; each pulls in only what it needs (tfjs, SQLite, serial). */
  load(): Promise<CliCommand>;
}

/** Every CLI command, in the order `quantbench --help` lists them. */
export const commands: CommandEntry[] = [
  { name: 'info', summary: 'version, data directory, tfjs backends and platform', load: async () => (await import('./info')).infoCommand },
  { name: 'serve', summary: 'the app in a browser: UI and API on 127.0.0.1 behind a token', load: async () => (await import('./serve')).serveCommand },
  { name: 'inspect', summary: 'layers, shapes, parameters and MACs of a Keras, tfjs or .tflite model', load: async () => (await import('./inspect')).inspectCommand },
  { name: 'eval', summary: 'accuracy (or MSE) of a Keras or .tflite model on a dataset', load: async () => (await import('./eval')).evalCommand },
  { name: 'compress', summary: 'prune, cluster and quantize a Keras model to an int8 .tflite', load: async () => (await import('./compress')).compressCommand },
  { name: 'finetune', summary: 'fine-tune a pruned and clustered model with its constraints held, then export int8', load: async () => (await import('./finetune')).finetuneCommand },
  { name: 'runs', summary: 'list, show, compare, export and import experiment runs', load: async () => (await import('./runs')).runsCommand },
  { name: 'boards', summary: 'list serial ports and the boards recognised on them', load: async () => (await import('./boards')).boardsCommand },
  { name: 'board', summary: 'run a virtual board (host build or QEMU Cortex-M4) on a pseudo-terminal', load: async () => (await import('./board')).boardCommand },
  { name: 'flash', summary: 'load a firmware image onto a board through a GDB server (OpenOCD, pyOCD, J-Link, st-util, QEMU)', load: async () => (await import('./flash')).flashCommand },
  { name: 'push', summary: 'upload a .tflite to a board, benchmark it and evaluate it there', load: async () => (await import('./push')).pushCommand },
];
