import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ensureRuntimeBuild } from '../app/runtime-builds';
import { RuntimeError } from './errors';

/** The wasm build found by the resource locator (built on first use in a checkout); QUANTBENCH_RUNTIME_WASM overrides it. */
export function runtimeWasmPath(): string {
  return path.resolve(process.env.QUANTBENCH_RUNTIME_WASM ?? ensureRuntimeBuild('wasm'));
}

/** The part of the WebAssembly JS API used here (the project's TypeScript lib has no DOM types). */
interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: object): Promise<{ exports: unknown }>;
}
type WasmModule = object;
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

/** A fresh instance (own memory) of the runtime; the compiled module is shared. */
export async function instantiateRuntime(file = runtimeWasmPath()): Promise<RuntimeExports> {
  let module = compiled.get(file);
  if (!module) {
    module = compile(file);
    compiled.set(file, module);
    module.catch(() => compiled.delete(file));
  }
  const instance = await wasmApi.instantiate(await module, {});
  return instance.exports as unknown as RuntimeExports;
}
