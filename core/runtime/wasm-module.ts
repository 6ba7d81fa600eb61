import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ensureRuntimeBuild } from '../app/runtime-builds';
import { RuntimeError } from './errors';

/**
 * Which wasm build of the runtime to load. `auto` takes the SIMD128 build when the engine
 * validates SIMD code and the file is there, else the plain build; both compute the same
 * outputs bit for bit, the SIMD one faster.
 */
export type RuntimeBuild = 'auto' | 'simd' | 'plain';

export interface RuntimeBuildChoice {
  /** The file that will be instantiated. */
  path: string;
  build: 'simd' | 'plain';
}

export const runtimeBuildFiles = {
  plain: 'qb_runtime.wasm',
  simd: 'qb_runtime_simd.wasm',
} as const;

/**
 * A minimal module whose one function returns `i32x4.splat(0)`: it validates exactly when
 * the engine implements fixed-width SIMD (wasm-feature-detect does the same probe).
 */
const simdProbe = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00, // magic, version
  0x01,
  0x05,
  0x01,
  0x60,
  0x00,
  0x01,
  0x7b, // type: () -> v128
  0x03,
  0x02,
  0x01,
  0x00, // function 0 has type 0
  0x0a,
  0x08,
  0x01,
  0x06,
  0x00,
  0x41,
  0x00,
  0xfd,
  0x11,
  0x0b, // i32.const 0; i32x4.splat; end
]);

let simdSupported: boolean | undefined;

/** Whether this JavaScript engine runs wasm SIMD128 code. */
export function engineSupportsWasmSimd(): boolean {
  simdSupported ??= wasmApi.validate(simdProbe);
  return simdSupported;
}

/**
 * Picks the runtime file: QUANTBENCH_RUNTIME_WASM names one file and wins; otherwise `dir`
 * (default: the folder the resource locator finds the plain build in, built on first use in
 * a checkout) holds the plain and the SIMD build.
 */
export function chooseRuntimeBuild(
  build: RuntimeBuild = 'auto',
  wasmDir?: string,
): RuntimeBuildChoice {
  const forced = process.env.QUANTBENCH_RUNTIME_WASM;
  if (forced && wasmDir === undefined && build === 'auto') {
    const file = path.resolve(forced);
    return { path: file, build: path.basename(file) === runtimeBuildFiles.simd ? 'simd' : 'plain' };
  }
  const dir = wasmDir ?? path.dirname(ensureRuntimeBuild('wasm'));
  const simd = path.resolve(dir, runtimeBuildFiles.simd);
  const plain = path.resolve(dir, runtimeBuildFiles.plain);
  if (build === 'plain') return { path: plain, build: 'plain' };
  if (build === 'simd') {
    if (!engineSupportsWasmSimd())
      throw new RuntimeError(
        'RUNTIME_WASM_SIMD_UNSUPPORTED',
        `This JavaScript engine does not run WebAssembly SIMD, so ${simd} cannot load`,
      );
    return { path: simd, build: 'simd' };
  }
  return engineSupportsWasmSimd() && existsSync(simd)
    ? { path: simd, build: 'simd' }
    : { path: plain, build: 'plain' };
}

/** The runtime file `Runtime.load` uses by default (see chooseRuntimeBuild). */
export function runtimeWasmPath(): string {
  return chooseRuntimeBuild().path;
}

/** The part of the WebAssembly JS API used here (the project's TypeScript lib has no DOM types). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: object): Promise<{ exports: unknown }>;
}
export type WasmModule = object;
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The C exports of ports/wasm/qb_wasm.c and qb_runtime.h (pointers are byte offsets). */
export interface RuntimeExports {
  memory: { buffer: ArrayBuffer };
  qb_wasm_reset(): void;
  qb_wasm_alloc(bytes: number): number;
  qb_wasm_info_bytes(): number;
  qb_interpreter_size(): number;
  qb_load(it: number, model: number, bytes: number): number;
  qb_arena_required(it: number): number;
  qb_set_arena(it: number, arena: number, bytes: number): number;
  qb_input_count(it: number): number;
  qb_output_count(it: number): number;
  qb_input_info(it: number, index: number, info: number): number;
  qb_output_info(it: number, index: number, info: number): number;
  qb_set_input(it: number, index: number, data: number, bytes: number): number;
  qb_invoke(it: number): number;
  qb_get_output(it: number, index: number, data: number, bytes: number): number;
  qb_supported_ops(codes: number): number;
  qb_status_string(status: number): number;
  qb_last_error(it: number): number;
}

const compiled = new Map<string, Promise<WasmModule>>();

async function compile(file: string): Promise<WasmModule> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (cause) {
    throw new RuntimeError('RUNTIME_WASM_MISSING', `Runtime build not found at ${file}`, { cause });
  }
  return wasmApi.compile(bytes);
}

/** The compiled runtime module (compiled once per file; a worker thread can take it as is). */
export function compiledRuntime(file = runtimeWasmPath()): Promise<WasmModule> {
  let module = compiled.get(file);
  if (!module) {
    module = compile(file);
    compiled.set(file, module);
    module.catch(() => compiled.delete(file));
  }
  return module;
}

/** A fresh instance (own memory) of the runtime; the compiled module is shared. */
export async function instantiateRuntime(file = runtimeWasmPath()): Promise<RuntimeExports> {
  const instance = await wasmApi.instantiate(await compiledRuntime(file), {});
  return instance.exports as unknown as RuntimeExports;
}
