import { execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const firmwareDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'resources', 'firmware');

/** Builds protocol targets (incremental, so cheap when `npm test` already built them). */
export function buildProtocolTarget(target: 'protocol' | 'protocol-fuzz' | 'protocol-mps2'): void {
  execFileSync('make', ['-s', '-C', firmwareDir, '-f', 'protocol/protocol.mk', target], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Builds firmware Makefile targets (the board images: mps2, stm32f4-*, m55). */
export function buildFirmwareTargets(...targets: string[]): void {
  execFileSync('make', ['-s', '-C', firmwareDir, ...targets], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** A TCP port nothing listens on right now, for a gdbstub to take. */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Why the QEMU board tests cannot run here (the emulator or the Arm toolchain is missing), or false. */
export function missingQemuTools(): string | false {
  for (const tool of ['qemu-system-arm', 'arm-none-eabi-gcc']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed`;
    }
  }
  return false;
}
