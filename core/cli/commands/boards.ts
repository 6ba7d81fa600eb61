import { listPorts } from '../../device/ports';
import type { CliCommand } from '../command';
import { emit } from '../output';

export const boardsCommand: CliCommand = {
  name: 'boards',
  usage: `Usage: quantbench boards [--json]

Lists USB serial ports (/dev/serial/by-id, /dev/ttyACM*, /dev/ttyUSB*; COM ports on
Windows) with their USB IDs and the board recognised from them. Boards behind ser2net are
not listed: pass their tcp:// or rfc2217:// URL to push directly. Without hardware, start a
virtual board with \`quantbench board virtual\`.`,
  async run(ctx) {
    const ports = await listPorts();
    emit(ctx, { ports }, () =>
      ports.length === 0
        ? 'No serial ports found. Plug a board in, or start one with `quantbench board virtual`.'
        : ports
            .map((p) => {
              const ids = p.vendorId ? ` ${p.vendorId}:${p.productId ?? '????'}` : '';
              const what = p.board ?? p.product ?? p.manufacturer ?? '';
              return `${p.path}${ids}${what ? `  ${what}` : ''}${p.byId ? `\n    ${p.byId}` : ''}`;
            })
            .join('\n'),
    );
    return 0;
  },
};
