import path from 'node:path';
import { formatDatasetSpec, parseDatasetSpec, type DatasetSpec } from '../data/spec';
import { QuantbenchError } from '../errors';
import { confine, UserFileError } from '../files/user-file';
import type { HandlerContext } from './context';

/**
 * What the app's windows (Electron, serve) may name. The CLI runs as the user with the user's
 * paths; the windows speak for whoever holds the session, so they may only pass files the user
 * picked or dropped (registered by the face through Service.allowPath) or paths relative to the
 * data directory, and only ports the listing returned, device names of serial adapters, or
 * network boards whose host the user added in the Boards screen.
 */
export class FaceInputError extends QuantbenchError {
  constructor(code: string, message: string, hint: string) {
    super(code, message, { hint });
  }
}

const SERIAL_NAME = /^(\/dev\/tty[A-Za-z0-9._-]*|\/dev\/cu\.[A-Za-z0-9._-]+|COM[1-9]\d{0,2})$/;
const NETWORK = /^(tcp|rfc2217):\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/;

/** `host:port` of a tcp:// or rfc2217:// board address, or null when it is not one. */
export function networkHost(url: string): string | null {
  const m = NETWORK.exec(url);
  if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) return null;
  return m[2]!.toLowerCase();
}

export function checkFacePort(ctx: HandlerContext, port: string): void {
  if (ctx.face === 'cli') return;
  if (ctx.knownPorts.has(port) || SERIAL_NAME.test(port)) return;
  const host = networkHost(port);
  if (host !== null && ctx.remoteHosts.has(host)) return;
  throw new FaceInputError(
    'PORT_NOT_ALLOWED',
    host === null
      ? `port ${JSON.stringify(port.slice(0, 80))} is neither a listed port nor a serial device name`
      : `network board ${JSON.stringify(port.slice(0, 80))}: host ${host} was not added in the Boards screen`,
    host === null
      ? 'pick a port from the list, or give /dev/tty…, /dev/cu.… or COMn'
      : 'add the board by its tcp:// or rfc2217:// address in the Boards screen first',
  );
}

function specPaths(spec: DatasetSpec): string[] {
  switch (spec.kind) {
    case 'fashion-mnist':
      return [];
    case 'idx':
      return [spec.images, spec.labels];
    case 'npy':
      return [spec.x, spec.y];
    case 'npz':
    case 'csv':
      return [spec.file];
    case 'folder':
      return [spec.dir];
  }
}

function withPaths(spec: DatasetSpec, paths: string[]): DatasetSpec {
  switch (spec.kind) {
    case 'fashion-mnist':
      return spec;
    case 'idx':
      return { ...spec, images: paths[0]!, labels: paths[1]! };
    case 'npy':
      return { ...spec, x: paths[0]!, y: paths[1]! };
    case 'npz':
    case 'csv':
      return { ...spec, file: paths[0]! };
    case 'folder':
      return { ...spec, dir: paths[0]! };
  }
}

/**
 * The dataset spec a face may use, with every path made absolute: a relative path means the
 * data directory, an absolute one must be a file the user chose. The CLI's spec passes as is.
 */
export function checkFaceDataset(ctx: HandlerContext, text: string): string {
  if (ctx.face === 'cli') return text;
  const spec = parseDatasetSpec(text);
  const resolved = specPaths(spec).map((p) => {
    if (path.isAbsolute(p)) {
      if (ctx.allowedPaths.has(path.resolve(p))) return path.resolve(p);
      throw new FaceInputError(
        'PATH_NOT_ALLOWED',
        `dataset file ${p} was not chosen in this window`,
        'pick the file with the file dialog or drop it on the window, or give a path relative to the data directory',
      );
    }
    try {
      return confine(path.resolve(ctx.dataDir, p), ctx.dataDir, 'dataset file');
    } catch (error) {
      if (!(error instanceof UserFileError)) throw error;
      throw new FaceInputError(
        'PATH_NOT_ALLOWED',
        `dataset path ${p}: ${error.message.slice(error.message.indexOf(': ') + 2)}`,
        `give a path inside the data directory ${ctx.dataDir}`,
      );
    }
  });
  return formatDatasetSpec(withPaths(spec, resolved));
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * The firmware image and GDB server a face may flash with: an image the build produced (the
 * list boards.flashTargets offers) or a file the user chose, and a GDB server on this machine
 * or on a host the user added in the Boards screen. A monitor command reaches the probe as is,
 * so it too is only for a server the user pointed at.
 */
export function checkFaceFlashImage(
  ctx: HandlerContext,
  image: string,
  gdb: string,
  firmwareDir: string,
): string {
  if (ctx.face === 'cli') return image;
  const file = path.resolve(image);
  const built = !path.relative(firmwareDir, file).startsWith('..') && file.endsWith('.elf');
  if (!built && !ctx.allowedPaths.has(file))
    throw new FaceInputError(
      'PATH_NOT_ALLOWED',
      `firmware image ${image} was not built here nor chosen in this window`,
      'pick the .elf with the file dialog, or choose one of the images the Boards screen lists',
    );
  const host = gdb.slice(0, gdb.lastIndexOf(':'));
  if (!LOOPBACK.has(host) && !ctx.remoteHosts.has(host))
    throw new FaceInputError(
      'PORT_NOT_ALLOWED',
      `GDB server ${JSON.stringify(gdb.slice(0, 80))} is neither on this machine nor on a host added in the Boards screen`,
      'add the host in the Boards screen first, or run the GDB server on this machine',
    );
  return file;
}
