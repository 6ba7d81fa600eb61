import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { recogniseBoard } from './known-boards';

export interface PortInfo {
  path: string;
  vendorId?: string;
  productId?: string;
  manufacturer?: string;
  product?: string;
  serialNumber?: string;
  /** Stable name under /dev/serial/by-id, when there is one. */
  byId?: string;
  /** A board or bridge recognised by VID:PID. */
  board?: string;
}

export interface ListPortsOptions {
  /** Roots for tests and containers; default `/dev` and `/sys`. */
  devRoot?: string;
  sysRoot?: string;
  /** PATH used to look for udevadm; default process.env.PATH. */
  searchPath?: string;
}

function onPath(program: string, searchPath: string): boolean {
  return searchPath.split(path.delimiter).some((dir) => {
    try {
      return dir !== '' && statSync(path.join(dir, program)).isFile();
    } catch {
      return false;
    }
  });
}

function readAttr(dir: string, name: string): string | undefined {
  try {
    return readFileSync(path.join(dir, name), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** USB attributes of a tty from sysfs: walk up from the tty's device to the USB device. */
function usbAttributes(sysRoot: string, tty: string): Partial<PortInfo> {
  let dir: string;
  try {
    dir = realpathSync(path.join(sysRoot, 'class', 'tty', tty, 'device'));
  } catch {
    return {};
  }
  for (let depth = 0; depth < 4 && dir.startsWith(sysRoot); depth++, dir = path.dirname(dir)) {
    const vendorId = readAttr(dir, 'idVendor');
    if (vendorId) {
      return {
        vendorId,
        productId: readAttr(dir, 'idProduct'),
        manufacturer: readAttr(dir, 'manufacturer'),
        product: readAttr(dir, 'product'),
        serialNumber: readAttr(dir, 'serial'),
      };
    }
  }
  return {};
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Serial ports from /dev/serial/by-id and /dev/tty{ACM,USB}*, described from sysfs. */
export function scanLinuxPorts(options: ListPortsOptions = {}): PortInfo[] {
  const devRoot = options.devRoot ?? '/dev';
  const sysRoot = realpathOr(options.sysRoot ?? '/sys');
  const byId = new Map<string, string>();
  const byIdDir = path.join(devRoot, 'serial', 'by-id');
  for (const name of list(byIdDir)) {
    try {
      byId.set(realpathSync(path.join(byIdDir, name)), path.join(byIdDir, name));
    } catch {
      // A dangling link is a board unplugged while we looked.
    }
  }
  const devices = new Set<string>(byId.keys());
  for (const name of list(devRoot)) {
    if (/^tty(ACM|USB)\d+$/.test(name)) devices.add(realpathOr(path.join(devRoot, name)));
  }
  return [...devices].sort().map((device) => {
    const attrs = usbAttributes(sysRoot, path.basename(device));
    const board = recogniseBoard(attrs.vendorId, attrs.productId);
    return { path: device, ...attrs, ...(byId.has(device) ? { byId: byId.get(device) } : {}), ...(board ? { board } : {}) };
  });
}

function realpathOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/**
 * Lists serial ports. On Linux serialport's list() spawns udevadm without handling a
 * missing binary, which kills the process with an unhandled 'error'; it is only asked when
 * udevadm is on PATH, and sysfs is scanned either way (containers often lack udev data).
 */
export async function listPorts(options: ListPortsOptions = {}): Promise<PortInfo[]> {
  const found = new Map<string, PortInfo>();
  if (process.platform === 'linux') {
    for (const p of scanLinuxPorts(options)) found.set(p.path, p);
    if (options.devRoot !== undefined || !onPath('udevadm', options.searchPath ?? process.env.PATH ?? '')) {
      return [...found.values()];
    }
  }
  const { SerialPort } = await import('serialport');
  const ports = await SerialPort.list();
  for (const p of ports) {
    if (process.platform === 'linux' && !existsSync(p.path)) continue;
    if (process.platform === 'linux' && !/tty(ACM|USB)/.test(p.path) && !found.has(p.path) && !p.vendorId) continue;
    const board = recogniseBoard(p.vendorId, p.productId);
    found.set(p.path, {
      ...found.get(p.path),
      path: p.path,
      ...(p.vendorId ? { vendorId: p.vendorId.toLowerCase() } : {}),
      ...(p.productId ? { productId: p.productId.toLowerCase() } : {}),
      ...(p.manufacturer ? { manufacturer: p.manufacturer } : {}),
      ...(p.serialNumber ? { serialNumber: p.serialNumber } : {}),
      ...(board ? { board } : {}),
    });
  }
  return [...found.values()];
}
