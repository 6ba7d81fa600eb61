import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** A GDB server listening on this machine, found without connecting to it (a connection
 * would halt the target on some servers, QEMU's among them). */
export interface GdbServerInfo {
  /** HOST:PORT to pass to `quantbench flash --gdb`. */
  address: string;
  server: string;
  pid: number;
}

/** A USB debug probe plugged into this machine. */
export interface ProbeInfo {
  vendorId: string;
  productId: string;
  name: string;
  serial?: string;
  /** GDB servers that drive it. */
  servers: string;
}

const probes: Array<{ vendorId: string; productId?: string; name: string; servers: string }> = [
  { vendorId: '0483', productId: '3748', name: 'ST-LINK/V2', servers: 'OpenOCD, pyOCD, st-util' },
  { vendorId: '0483', productId: '374b', name: 'ST-LINK/V2-1 (Nucleo, Discovery)', servers: 'OpenOCD, pyOCD, st-util' },
  { vendorId: '0483', productId: '3752', name: 'ST-LINK/V2-1 (Nucleo, Discovery)', servers: 'OpenOCD, pyOCD, st-util' },
  { vendorId: '0483', productId: '374e', name: 'STLINK-V3', servers: 'OpenOCD, pyOCD, st-util' },
  { vendorId: '0483', productId: '374f', name: 'STLINK-V3', servers: 'OpenOCD, pyOCD, st-util' },
  { vendorId: '0483', productId: '3753', name: 'STLINK-V3', servers: 'OpenOCD, pyOCD, st-util' },
  { vendorId: '0483', productId: '3754', name: 'STLINK-V3', servers: 'OpenOCD, pyOCD, st-util' },
  { vendorId: '1366', name: 'SEGGER J-Link', servers: 'J-Link GDB Server, OpenOCD, pyOCD' },
  { vendorId: '0d28', productId: '0204', name: 'Arm DAPLink (CMSIS-DAP)', servers: 'pyOCD, OpenOCD' },
  { vendorId: '2e8a', productId: '000c', name: 'Raspberry Pi Debug Probe (CMSIS-DAP)', servers: 'OpenOCD, pyOCD' },
  { vendorId: '1d50', productId: '6018', name: 'Black Magic Probe (a GDB server on its first serial port)', servers: 'built in' },
  { vendorId: '0403', productId: '6010', name: 'FTDI FT2232 (JTAG/SWD adapter)', servers: 'OpenOCD' },
];

const serverNames: Array<[RegExp, string]> = [
  [/^openocd/i, 'OpenOCD'],
  [/pyocd/i, 'pyOCD'],
  [/^JLinkGDBServer/i, 'J-Link GDB Server'],
  [/^st-util/i, 'st-util'],
  [/^qemu-system-/i, 'QEMU gdbstub'],
  [/^gdbserver$/i, 'gdbserver'],
];

/**
 * GDB servers listening on TCP here (Linux: /proc/net/tcp{,6} and the owning process's
 * name). Elsewhere, and for servers on other machines, pass --gdb HOST:PORT directly.
 */
export function listGdbServers(proc = '/proc'): GdbServerInfo[] {
  const listening = new Map<string, { host: string; port: number }>();
  for (const [file, v6] of [['net/tcp', false], ['net/tcp6', true]] as const) {
    let text: string;
    try {
      text = readFileSync(`${proc}/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue; // 0A: LISTEN
      const [hostHex, portHex] = f[1]!.split(':');
      listening.set(f[9]!, { host: v6 ? (/^0+$/.test(hostHex!) ? '::' : '::1') : ipv4(hostHex!), port: parseInt(portHex!, 16) });
    }
  }
  if (listening.size === 0) return [];
  const found: GdbServerInfo[] = [];
  let pids: string[];
  try {
    pids = readdirSync(proc).filter((p) => /^\d+$/.test(p));
  } catch {
    return [];
  }
  for (const pid of pids) {
    const server = identify(proc, pid);
    if (!server) continue;
    let fds: string[];
    try {
      fds = readdirSync(`${proc}/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`${proc}/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      const where = inode ? listening.get(inode) : undefined;
      if (!where) continue;
      // Servers also listen for telnet and TCL (OpenOCD 4444/6666); keep their GDB ports.
      if (server === 'OpenOCD' && (where.port === 4444 || where.port === 6666)) continue;
      const host = where.host === '0.0.0.0' || where.host === '::' ? 'localhost' : where.host === '::1' ? '[::1]' : where.host;
      found.push({ address: `${host}:${where.port}`, server, pid: Number(pid) });
    }
  }
  return found.sort((a, b) => a.address.localeCompare(b.address));
}

function identify(proc: string, pid: string): string | undefined {
  try {
    const argv = readFileSync(`${proc}/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean);
    const exe = (argv[0] ?? '').split('/').pop() ?? '';
    for (const [re, name] of serverNames) {
      if (name === 'pyOCD' ? argv.slice(0, 3).some((a) => re.test(a.split('/').pop() ?? '')) : re.test(exe)) {
        // QEMU serves GDB only when asked to.
        if (name === 'QEMU gdbstub' && !argv.some((a) => a === '-gdb' || a === '-s')) return undefined;
        return name;
      }
    }
  } catch {
    // the process ended while we looked
  }
  return undefined;
}

function ipv4(hex: string): string {
  const n = parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join('.');
}

/** USB debug probes (Linux: /sys/bus/usb/devices), whether or not a server drives them. */
export function listProbes(sys = '/sys/bus/usb/devices'): ProbeInfo[] {
  let entries: string[];
  try {
    entries = readdirSync(sys);
  } catch {
    return [];
  }
  const out: ProbeInfo[] = [];
  for (const dev of entries) {
    const read = (name: string) => {
      try {
        return readFileSync(`${sys}/${dev}/${name}`, 'utf8').trim();
      } catch {
        return undefined;
      }
    };
    const vendorId = read('idVendor')?.toLowerCase();
    const productId = read('idProduct')?.toLowerCase();
    if (!vendorId || !productId) continue;
    const known = probes.find((p) => p.vendorId === vendorId && p.productId === productId) ?? probes.find((p) => p.vendorId === vendorId && p.productId === undefined);
    if (!known) continue;
    out.push({ vendorId, productId, name: known.name, serial: read('serial'), servers: known.servers });
  }
  return out;
}
