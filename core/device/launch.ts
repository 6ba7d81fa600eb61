import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ensureRuntimeBuild, runtimeBuildPath } from '../app/runtime-builds';
import { locateResources } from '../app/resources';
import { DeviceError } from './errors';

// Found by the resource locator: build/firmware in a checkout, resources/firmware in a package.
export const firmwareBuildDir = locateResources().firmwareDir;
export const virtualBoardBinary = runtimeBuildPath('virtualBoard');
export const qemuBoardImage = runtimeBuildPath('qemuImage');

/** A board process we started; `port` is the pseudo-terminal it serves. */
export interface LaunchedBoard {
  port: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface VirtualBoardOptions {
  baud?: number;
  /** e.g. `flip=0.001,drop=0.001,seed=1` (see ports/host/virtual_board.c). */
  faults?: string;
  banner?: string;
  ramBytes?: number;
  flashBytes?: number;
}

export async function startVirtualBoard(options: VirtualBoardOptions = {}): Promise<LaunchedBoard> {
  const args: string[] = [];
  if (options.baud) args.push('--baud', String(options.baud));
  if (options.faults) args.push('--faults', options.faults);
  if (options.banner) args.push('--banner', options.banner);
  if (options.ramBytes !== undefined) args.push('--ram', String(options.ramBytes));
  if (options.flashBytes !== undefined) args.push('--flash', String(options.flashBytes));
  return launch('virtual board', ensureRuntimeBuild('virtualBoard'), args, /^port: (\S+)/m, 'stdout');
}

export interface QemuBoardOptions {
  image?: string;
  qemu?: string;
}

/** The Cortex-M4 image under QEMU; -icount makes cycle counts repeat run to run. */
export async function startQemuBoard(options: QemuBoardOptions = {}): Promise<LaunchedBoard> {
  const image = options.image ?? ensureRuntimeBuild('qemuImage');
  const args = ['-M', 'mps2-an386', '-nographic', '-monitor', 'none', '-icount', 'shift=0', '-serial', 'pty', '-kernel', image];
  return launch('QEMU board', options.qemu ?? 'qemu-system-arm', args, /char device redirected to (\/dev\/\S+)/, 'both', image);
}

function launch(what: string, binary: string, args: string[], portLine: RegExp, stream: 'stdout' | 'both', needs = binary): Promise<LaunchedBoard> {
  if (needs.includes('/') && !existsSync(needs)) {
    return Promise.reject(
      new DeviceError('DEVICE_FIRMWARE_MISSING', `${what}: ${needs} does not exist`, { hint: 'build the firmware first: make -C resources/firmware' }),
    );
  }
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => fail(new Error('no port line within 10 s')), 10000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new DeviceError('DEVICE_LAUNCH_FAILED', `${what} (${binary}) did not start: ${error.message}${seen ? `; it printed: ${seen.trim().slice(0, 300)}` : ''}`, {
        hint: 'build the firmware (make -C resources/firmware) and check the binary runs',
      }));
    };
    const onText = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = portLine.exec(seen);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', onText);
      child.stderr!.off('data', onText);
      // Keep draining so a chatty child never blocks on a full pipe.
      child.stdout!.resume();
      child.stderr!.resume();
      resolve({ port: match[1]!, process: child, stop: () => stop(child) });
    };
    child.stdout!.on('data', onText);
    if (stream === 'both') child.stderr!.on('data', onText);
    else child.stderr!.on('data', (c: Buffer) => { seen += c.toString(); });
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`exited (${signal ?? `code ${code}`})`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
