import { flashImage, type FlashProgress } from '../../device/gdb/flash';
import { stringOption, UsageError } from '../args';
import type { CliCommand } from '../command';
import { emit } from '../output';

export const flashCommand: CliCommand = {
  name: 'flash',
  usage: `Usage: quantbench flash FIRMWARE.elf --gdb HOST:PORT [--reset-cmd CMD] [--no-run] [--json]

Loads a firmware image onto a board through a GDB server: OpenOCD (port 3333), pyOCD
(3333), J-Link GDB Server (2331), st-util (4242) or QEMU started with -S -gdb tcp::PORT.
Segments in the flash of the server's memory map are erased and programmed with
vFlashErase/vFlashWrite; the rest is written as memory. Every byte is then checked (the
server's qCRC, or read back), the core is started and the server detached.

  --gdb HOST:PORT   the GDB server (a port alone means 127.0.0.1)
  --reset-cmd CMD   start the image with this monitor command instead of loading SP and
                    PC from its vector table: "reset run" (OpenOCD), "reset" (pyOCD,
                    J-Link), "system_reset" (QEMU)
  --no-run          leave the core halted after loading and verifying

Build the images with make -C resources/firmware; docs/boards.md says which to use.`,
  valueOptions: ['gdb', 'reset-cmd'],
  flags: ['no-run'],
  async run(ctx) {
    const image = ctx.positionals[0];
    if (!image) throw new UsageError('name the image: quantbench flash FIRMWARE.elf --gdb HOST:PORT');
    if (ctx.positionals.length > 1) throw new UsageError(`one image at a time (got ${ctx.positionals.join(', ')})`);
    const gdb = stringOption(ctx.options, 'gdb');
    if (!gdb) throw new UsageError('say where the GDB server listens: --gdb HOST:PORT (for example --gdb localhost:3333)');
    let last = '';
    const onProgress = (p: FlashProgress) => {
      const line = `${p.phase} ${Math.round((100 * p.done) / Math.max(1, p.total))}%`;
      if (line !== last) ctx.stderr.write(`\r${line}   `);
      last = line;
    };
    const result = await flashImage(image, {
      gdb,
      resetCommand: stringOption(ctx.options, 'reset-cmd'),
      noRun: ctx.options['no-run'] === true,
      onProgress,
    });
    if (last) ctx.stderr.write('\n');
    emit(ctx, result, () =>
      [
        `${result.image} -> ${result.server}: ${result.bytes} bytes in ${result.segments.length} segment(s), ${result.ms} ms`,
        ...result.segments.map((s) => `  ${s.address}  ${s.bytes} bytes  (${s.via === 'flash' ? 'flash programmed' : 'memory write'})`),
        `verified by ${result.verifiedBy === 'qCRC' ? 'the server CRC (qCRC)' : 'reading every byte back'}`,
        result.start === 'halted'
          ? 'core left halted (--no-run)'
          : result.start === 'monitor'
            ? 'started by the monitor reset command; server detached'
            : `started at ${result.entry} with SP ${result.stack} from the vector table; server detached`,
      ].join('\n'),
    );
    return 0;
  },
};
