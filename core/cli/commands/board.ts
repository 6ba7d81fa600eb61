import { startQemuBoard, startVirtualBoard, type LaunchedBoard } from '../../device/launch';
import { numberOption, stringOption, UsageError } from '../args';
import type { CliCommand } from '../command';

export const boardCommand: CliCommand = {
  name: 'board',
  usage: `Usage: quantbench board virtual [--qemu] [--baud N] [--faults SPEC] [--banner TEXT]
                                [--ram BYTES] [--flash BYTES]

Starts the bench firmware built for this machine (or, with --qemu, the Cortex-M4 image
under qemu-system-arm -M mps2-an386) on a pseudo-terminal and prints "port: PATH" as the
first line. Push models to that path from another terminal. Runs until Ctrl-C.

  --baud N        pace the link to N/10 bytes per second, like a UART (host build only)
  --faults SPEC   corrupt received bytes, e.g. flip=0.001,drop=0.001,insert=0.001,
                  reset-after=50000,seed=1 (host build only)
  --banner TEXT   printed on the link at every (re)start, like a boot ROM (host build only)
  --ram BYTES     arena limit reported to clients (host build only)
  --flash BYTES   model storage limit (host build only)`,
  valueOptions: ['baud', 'faults', 'banner', 'ram', 'flash'],
  flags: ['qemu'],
  async run(ctx) {
    if (ctx.positionals[0] !== 'virtual') throw new UsageError('say which board: `quantbench board virtual`');
    const qemu = ctx.options.qemu === true;
    const hostOnly = ['baud', 'faults', 'banner', 'ram', 'flash'].filter((o) => ctx.options[o] !== undefined);
    if (qemu && hostOnly.length) throw new UsageError(`--${hostOnly[0]} applies to the host build only, not --qemu`);
    const board: LaunchedBoard = qemu
      ? await startQemuBoard()
      : await startVirtualBoard({
          baud: numberOption(ctx.options, 'baud'),
          faults: stringOption(ctx.options, 'faults'),
          banner: stringOption(ctx.options, 'banner'),
          ramBytes: numberOption(ctx.options, 'ram'),
          flashBytes: numberOption(ctx.options, 'flash'),
        });
    ctx.stdout.write(ctx.json ? JSON.stringify({ port: board.port, kind: qemu ? 'qemu' : 'virtual' }) + '\n' : `port: ${board.port}\n`);
    ctx.stderr.write(`${qemu ? 'QEMU mps2-an386' : 'virtual'} board running; Ctrl-C stops it\n`);
    const exited = new Promise<number>((resolve) => board.process.once('exit', (code) => resolve(code ?? 0)));
    const stopped = new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      ctx.signal.addEventListener('abort', () => resolve(), { once: true });
      process.once('SIGTERM', () => resolve());
    });
    const which = await Promise.race([exited.then((code) => ({ code })), stopped.then(() => undefined)]);
    if (which) {
      ctx.stderr.write(`board process exited unexpectedly (code ${which.code})\n`);
      return 1;
    }
    await board.stop();
    return 0;
  },
};
