import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './cli';

const firmwareDir = path.join(repoRoot, 'resources', 'firmware');
const buildDir = path.join(repoRoot, 'build', 'firmware', 'wasm');

/**
 * A directory holding both wasm builds of the runtime (qb_runtime.wasm and
 * qb_runtime_simd.wasm), or a skip reason.
 *
 * When `make wasm` already wrote the SIMD build, that is the build output itself. Otherwise
 * the SIMD file is compiled here into a temp dir with the Makefile's own wasm command (as
 * `make -n` prints it) plus -msimd128, so the loader's choice between the two files is
 * tested against a real SIMD module of the same C sources.
 */
export function runtimeBuildsDir(): { dir: string; cleanup(): void } | { skip: string } {
  const plain = path.join(buildDir, 'qb_runtime.wasm');
  if (!existsSync(plain)) return { skip: `${plain} missing: run make -C resources/firmware wasm` };
  if (existsSync(path.join(buildDir, 'qb_runtime_simd.wasm')))
    return { dir: buildDir, cleanup: () => {} };
  const dry = spawnSync('make', ['-s', '-n', '-B', '-C', firmwareDir, plain], { encoding: 'utf8' });
  const command = dry.stdout
    ?.replace(/\\\n/g, ' ')
    .split('\n')
    .find((line) => line.includes('--target=wasm32') && line.includes(plain));
  if (dry.status !== 0 || !command) return { skip: 'make -n does not show the wasm build command' };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qb-runtime-builds-'));
  const simd = path.join(dir, 'qb_runtime_simd.wasm');
  const r = spawnSync(
    'sh',
    ['-c', command.replace('--target=wasm32', '--target=wasm32 -msimd128').replace(plain, simd)],
    { cwd: firmwareDir, encoding: 'utf8' },
  );
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) {
    cleanup();
    return { skip: `building the SIMD runtime failed: ${r.stderr}` };
  }
  copyFileSync(plain, path.join(dir, 'qb_runtime.wasm'));
  return { dir, cleanup };
}
