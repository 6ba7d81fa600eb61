/**
 * Builds and runs the C runtime's targets for tests: make targets under
 * resources/firmware, the host CLI qb_run, and self-test images under QEMU mps2-an386.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../helpers/cli';

export const firmwareDir = path.join(repoRoot, 'resources', 'firmware');
export const buildDir = path.join(repoRoot, 'build', 'firmware');
export const qbRunPath = path.join(buildDir, 'host', 'qb_run');

/** Runs `make -s -C resources/firmware <targets>`; throws with make's output when it fails. */
export function make(targets: string[], vars: Record<string, string> = {}): void {
  const r = spawnSync(
    'make',
    ['-s', '-C', firmwareDir, ...targets, ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)],
    {
      encoding: 'utf8',
      timeout: 300_000,
    },
  );
  if (r.status !== 0)
    throw new Error(
      `make ${targets.join(' ')} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`,
    );
}

export function missingTool(...tools: string[]): string | false {
  for (const tool of tools) {
    const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
    if (r.status !== 0) return `${tool} is not installed`;
  }
  return false;
}

/** Runs the host CLI on raw input bytes; returns the raw output bytes and the arena size. */
export function runHost(
  model: string,
  input: Uint8Array,
  workDir: string,
  name: string,
): { output: Buffer; arenaBytes: number } {
  const inPath = path.join(workDir, `${name}.in`);
  const outPath = path.join(workDir, `${name}.out`);
  writeFileSync(inPath, input);
  const r = spawnSync(qbRunPath, [model, inPath, outPath], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`qb_run ${name} failed (exit ${r.status}): ${r.stderr}`);
  const arena = /arena_bytes (\d+)/.exec(r.stdout);
  return { output: readFileSync(outPath), arenaBytes: arena ? Number(arena[1]) : -1 };
}

export interface Mps2Run {
  output: Buffer;
  arenaBytes: number;
  /** SysTick ticks (25 MHz) spent in qb_invoke. */
  ticks: number;
}

/**
 * Links `model` and `input` into a Cortex-M4 self-test image and runs it in QEMU with
 * -icount shift=0 (deterministic virtual time); parses what the image prints on UART0.
 */
export function runMps2(model: string, input: Uint8Array, workDir: string, name: string): Mps2Run {
  const inPath = path.join(workDir, `${name}.mps2.in`);
  writeFileSync(inPath, input);
  make(['selftest'], { MODEL: model, INPUT: inPath, NAME: name });
  const elf = path.join(buildDir, 'mps2', 'selftest', `${name}.elf`);
  if (!existsSync(elf)) throw new Error(`self-test image ${elf} was not built`);
  const r = spawnSync(
    'qemu-system-arm',
    [
      '-M',
      'mps2-an386',
      '-nographic',
      '-monitor',
      'none',
      '-icount',
      'shift=0',
      '-semihosting-config',
      'enable=on,target=native',
      '-serial',
      'stdio',
      '-kernel',
      elf,
    ],
    { encoding: 'utf8', timeout: 600_000, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const text = r.stdout ?? '';
  const status = /status (\d+)/.exec(text);
  if (r.status !== 0 || !status || status[1] !== '0') {
    throw new Error(
      `QEMU run of ${name} failed (exit ${r.status}, signal ${r.signal}):\n${text}\n${r.stderr}`,
    );
  }
  return {
    output: Buffer.from(/output ([0-9a-f]*)/.exec(text)?.[1] ?? '', 'hex'),
    arenaBytes: Number(/arena (\d+)/.exec(text)?.[1] ?? -1),
    ticks: Number(/ticks (\d+)/.exec(text)?.[1] ?? -1),
  };
}

/** A small deterministic generator (mulberry32) so every build sees the same inputs. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt8(count: number, seed: number): Int8Array {
  const r = seededRandom(seed);
  return Int8Array.from({ length: count }, () => Math.floor(r() * 256) - 128);
}

export function randomFloat32(count: number, seed: number, lo = 0, hi = 1): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: count }, () => lo + (hi - lo) * r());
}

export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
