import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
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
  return launch(
    'virtual board',
    ensureRuntimeBuild('virtualBoard'),
    args,
    /^port: (\S+)/m,
    'stdout',
  );
}

/**
 * The QEMU machines the board images run on, where each one's protocol USART is, and
 * the -icount shift: each instruction takes 2^shift ns of virtual time, so the timers
 * count about one core clock per instruction (8 ns at 168 MHz, 32 ns at 32 MHz), and a
 * host waiting on the board sees budgets sized like the real part's. mps2-an386 keeps
 * shift 0, which its existing figures were measured with.
 */
export const qemuMachines = {
  'mps2-an386': {
    image: path.join(firmwareBuildDir, 'mps2', 'board.elf'),
    serialBefore: 0,
    icountShift: 0,
  },
  // The STM32F4 image talks on USART2 as on a Nucleo; QEMU wires -serial in USART order.
  netduinoplus2: {
    image: path.join(firmwareBuildDir, 'stm32f4', 'nucleo-f446re', 'board.elf'),
    serialBefore: 1,
    icountShift: 3,
  },
  'mps3-an547': {
    image: path.join(firmwareBuildDir, 'mps3-an547', 'board.elf'),
    serialBefore: 0,
    icountShift: 5,
  },
} as const;
export type QemuMachine = keyof typeof qemuMachines;

export interface QemuBoardOptions {
  machine?: QemuMachine;
  image?: string;
  qemu?: string;
  /** Start halted with no image and a gdbstub on 127.0.0.1:PORT, for loading over GDB. */
  gdbPort?: number;
}

/** A board image under QEMU; -icount makes cycle counts repeat run to run. */
export function startQemuBoard(options: QemuBoardOptions = {}): Promise<LaunchedBoard> {
  const machine = options.machine ?? 'mps2-an386';
  const spec = qemuMachines[machine];
  const serial = [
    ...Array.from({ length: spec.serialBefore }, () => ['-serial', 'null']).flat(),
    '-serial',
    'pty',
  ];
  const args = [
    '-M',
    machine,
    '-nographic',
    '-monitor',
    'none',
    '-icount',
    `shift=${spec.icountShift}`,
    ...serial,
  ];
  if (options.gdbPort !== undefined) {
    args.push('-S', '-gdb', `tcp:127.0.0.1:${options.gdbPort}`);
    return launch(
      'QEMU board',
      options.qemu ?? 'qemu-system-arm',
      args,
      /char device redirected to (\/dev\/\S+)/,
      'both',
    );
  }
  const image =
    options.image ?? (machine === 'mps2-an386' ? ensureRuntimeBuild('qemuImage') : spec.image);
  args.push('-kernel', image);
  return launch(
    'QEMU board',
    options.qemu ?? 'qemu-system-arm',
    args,
    /char device redirected to (\/dev\/\S+)/,
    'both',
    image,
  );
}

function launch(
  what: string,
  binary: string,
  args: string[],
  portLine: RegExp,
  stream: 'stdout' | 'both',
  needs = binary,
): Promise<LaunchedBoard> {
  if (needs.includes('/') && !existsSync(needs)) {
    return Promise.reject(
      new DeviceError('DEVICE_FIRMWARE_MISSING', `${what}: ${needs} does not exist`, {
        hint: 'build the firmware first: make -C resources/firmware',
      }),
    );
  }
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => fail(new Error('no port line within 10 s')), 10000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(
        new DeviceError(
          'DEVICE_LAUNCH_FAILED',
          `${what} (${binary}) did not start: ${error.message}${seen ? `; it printed: ${seen.trim().slice(0, 300)}` : ''}`,
          {
            hint: 'build the firmware (make -C resources/firmware) and check the binary runs',
          },
        ),
      );
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
    else
      child.stderr!.on('data', (c: Buffer) => {
        seen += c.toString();
      });
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
