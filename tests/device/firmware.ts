import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const firmwareDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'resources', 'firmware');

/** Builds protocol targets (incremental, so cheap when `npm test` already built them). */
export function buildProtocolTarget(target: 'protocol' | 'protocol-fuzz' | 'protocol-mps2'): void {
  execFileSync('make', ['-s', '-C', firmwareDir, '-f', 'protocol/protocol.mk', target], { stdio: ['ignore', 'ignore', 'inherit'] });
}
