import { listGdbServers, listProbes } from '../../device/gdb/servers';
import { listPorts } from '../../device/ports';
import type { CliCommand } from '../command';
import { emit } from '../output';

export const boardsCommand: CliCommand = {
  name: 'boards',
  usage: `Usage: quantbench boards [--json]

Lists USB serial ports (/dev/serial/by-id, /dev/ttyACM*, /dev/ttyUSB*; COM ports on
Windows) with their USB IDs and the board recognised from them. Boards behind ser2net are
not listed: pass their tcp:// or rfc2217:// URL to push directly. Without hardware, start a
virtual board with \`quantbench board virtual\`.

Also lists USB debug probes (ST-LINK, J-Link, CMSIS-DAP, Black Magic) and the GDB servers
listening on this machine (OpenOCD, pyOCD, J-Link GDB Server, st-util, QEMU -gdb), found
without connecting to them: give one's address to \`quantbench flash\`.`,
  async run(ctx) {
    const ports = await listPorts();
    const probes = listProbes();
    const gdbServers = listGdbServers();
    emit(ctx, { ports, probes, gdbServers }, () =>
      (ports.length === 0
        ? 'No serial ports found. Plug a board in, or start one with `quantbench board virtual`.'
        : ports
            .map((p) => {
              const ids = p.vendorId ? ` ${p.vendorId}:${p.productId ?? '????'}` : '';
              const what = p.board ?? p.product ?? p.manufacturer ?? '';
              return `${p.path}${ids}${what ? `  ${what}` : ''}${p.byId ? `\n    ${p.byId}` : ''}`;
            })
            .join('\n')) +
      (probes.length ? `\n\nDebug probes:\n${probes.map((p) => `  ${p.vendorId}:${p.productId}  ${p.name}${p.serial ? `  serial ${p.serial}` : ''}  (${p.servers})`).join('\n')}` : '') +
      (gdbServers.length ? `\n\nGDB servers:\n${gdbServers.map((g) => `  ${g.address}  ${g.server} (pid ${g.pid})`).join('\n')}` : ''),
    );
    return 0;
  },
};
