import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { QuantbenchError } from '../errors';
import { locateResources, type ResourceLocations } from './resources';

/**
 * The three builds of resources/firmware that Quantbench runs itself: made by `npm ci`
 * (scripts/postinstall.mjs) when the toolchain is there, on first use otherwise, and
 * required by `npm run dist`, which ships them in the package.
 */
export type RuntimeBuildName = 'wasm' | 'virtualBoard' | 'qemuImage';

export interface RuntimeBuildSpec {
  /** Relative to the firmware build folder. */
  file: string;
  what: string;
  /** Commands the build needs on PATH. */
  tools: string[];
  /** Debian packages that provide them. */
  debian: string;
}

export const RUNTIME_BUILDS: Record<RuntimeBuildName, RuntimeBuildSpec> = {
  wasm: {
    file: 'wasm/qb_runtime.wasm',
    what: 'the wasm build of the runtime (desktop int8 evaluation)',
    tools: ['make', 'clang', 'wasm-ld'],
    debian: 'make clang lld',
  },
  virtualBoard: {
    file: 'host/virtual_board',
    what: 'the virtual board (host build of the board firmware)',
    tools: ['make', 'cc'],
    debian: 'make gcc',
  },
  qemuImage: {
    file: 'mps2/board.elf',
    what: 'the Cortex-M4 board image for QEMU',
    tools: ['make', 'arm-none-eabi-gcc'],
    debian: 'make gcc-arm-none-eabi libnewlib-arm-none-eabi',
  },
};

export class RuntimeBuildError extends QuantbenchError {}

export function runtimeBuildPath(name: RuntimeBuildName, where: ResourceLocations = locateResources()): string {
  return path.join(where.firmwareDir, RUNTIME_BUILDS[name].file);
}

function onPath(command: string): boolean {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const names = process.platform === 'win32' ? [`${command}.exe`, `${command}.cmd`] : [command];
  return dirs.some((dir) => names.some((n) => existsSync(path.join(dir, n))));
}

export function missingTools(name: RuntimeBuildName): string[] {
  return RUNTIME_BUILDS[name].tools.filter((tool) => !onPath(tool));
}

export interface BuildOutcome {
  name: RuntimeBuildName;
  file: string;
  ok: boolean;
  /** Why it is absent: missing tools or the tail of make's output. */
  problem?: string;
}

/** Runs make for one build; never throws, reports what happened. */
export function buildRuntime(name: RuntimeBuildName, where: ResourceLocations = locateResources(), stdio: 'pipe' | 'inherit' = 'pipe'): BuildOutcome {
  const file = runtimeBuildPath(name, where);
  const spec = RUNTIME_BUILDS[name];
  if (!where.firmwareSourceDir) return { name, file, ok: existsSync(file), problem: 'this installation has no firmware sources to build from' };
  const missing = missingTools(name);
  if (missing.length) return { name, file, ok: false, problem: `${missing.join(', ')} not found (Debian: apt-get install ${spec.debian})` };
  // Targets are absolute file names in the Makefile, so one build can be asked for by name.
  const r = spawnSync('make', ['-s', '-C', where.firmwareSourceDir, `OUT=${where.firmwareDir}`, file], { stdio, encoding: 'utf8' });
  if (r.status === 0 && existsSync(file)) return { name, file, ok: true };
  const output = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').slice(-5).join('\n');
  return { name, file, ok: false, problem: r.error ? r.error.message : `make exited with ${r.status}${output ? `: ${output}` : ''}` };
}

/**
 * The path of a build, building it first when it is missing and this installation has the
 * firmware sources (a checkout whose install step found no toolchain, or whose build/ was
 * removed). Throws a RuntimeBuildError that names the missing tools otherwise.
 */
export function ensureRuntimeBuild(name: RuntimeBuildName): string {
  const where = locateResources();
  const file = runtimeBuildPath(name, where);
  if (existsSync(file)) return file;
  const spec = RUNTIME_BUILDS[name];
  if (where.layout === 'packaged' || !where.firmwareSourceDir) {
    throw new RuntimeBuildError('RUNTIME_BUILD_MISSING', `${spec.what} is missing from this installation: ${file} does not exist`, {
      hint: where.layout === 'packaged' ? 'reinstall Quantbench; the package is incomplete' : 'install Quantbench from a checkout (npm ci builds it) or set QUANTBENCH_FIRMWARE_BUILD',
    });
  }
  process.stderr.write(`Building ${spec.what} (first use)...\n`);
  const outcome = buildRuntime(name, where);
  if (outcome.ok) return file;
  throw new RuntimeBuildError('RUNTIME_BUILD_MISSING', `${spec.what} is not built (${file}) and could not be built: ${outcome.problem}`, {
    hint: 'install what is missing, then run npm run build:firmware (or let the next use build it)',
  });
}
