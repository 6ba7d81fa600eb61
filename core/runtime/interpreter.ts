import { RuntimeError, statusCode } from './errors';
import {
  chooseRuntimeBuild,
  instantiateRuntime,
  runtimeBuildFiles,
  type RuntimeBuild,
  type RuntimeExports,
} from './wasm-module';

export type TensorType = 'float32' | 'int8' | 'int32' | 'uint8' | 'int16' | 'int64';
export type TensorData =
  Float32Array | Int8Array | Int32Array | Uint8Array | Int16Array | BigInt64Array;

/** One model input or output as the runtime sees it (qb_tensor_info). */
export interface TensorInfo {
  type: TensorType;
  shape: number[];
  bytes: number;
  /** 0 when the tensor is not quantized. */
  scale: number;
  zeroPoint: number;
}

const typeNames: TensorType[] = ['float32', 'int8', 'int32', 'uint8', 'int16', 'int64'];
const arrayTypes = {
  float32: Float32Array,
  int8: Int8Array,
  int32: Int32Array,
  uint8: Uint8Array,
  int16: Int16Array,
  int64: BigInt64Array,
} as const;

export interface LoadOptions {
  /** Names the model in error messages (a file path, usually). */
  name?: string;
  /** Path of a runtime .wasm file; when set, `build` and `wasmDir` are not consulted. */
  wasmPath?: string;
  /** Which build to load when wasmPath is not set (default `auto`: SIMD when it can run). */
  build?: RuntimeBuild;
  /** Directory holding qb_runtime.wasm and qb_runtime_simd.wasm (default: the build output). */
  wasmDir?: string;
}

/**
 * A loaded .tflite model in the wasm build of the C runtime: the same code, kernels and
 * rounding as the board firmware, so desktop results equal board results bit for bit.
 * Each interpreter owns its own wasm instance and memory; dispose() releases it.
 */
export class Interpreter {
  readonly inputs: TensorInfo[];
  readonly outputs: TensorInfo[];
  readonly arenaBytes: number;
  readonly name: string;
  /** The runtime file this interpreter runs and whether it is the SIMD build. */
  readonly runtime: { path: string; build: 'simd' | 'plain' };
  private wasm: RuntimeExports | undefined;
  private readonly it: number;
  private readonly inPtrs: number[];
  private readonly outPtrs: number[];
  private stageCapacity = 0;
  private stageIn = 0;
  private stageOut = 0;

  private constructor(
    wasm: RuntimeExports,
    it: number,
    name: string,
    runtime: { path: string; build: 'simd' | 'plain' },
  ) {
    this.wasm = wasm;
    this.runtime = runtime;
    this.it = it;
    this.name = name;
    const info = alloc(wasm, wasm.qb_wasm_info_bytes(), name);
    this.inputs = Array.from({ length: wasm.qb_input_count(it) }, (_, i) => {
      check(wasm, it, wasm.qb_input_info(it, i, info), name, `reading input ${i}`);
      return readInfo(wasm, info);
    });
    this.outputs = Array.from({ length: wasm.qb_output_count(it) }, (_, i) => {
      check(wasm, it, wasm.qb_output_info(it, i, info), name, `reading output ${i}`);
      return readInfo(wasm, info);
    });
    this.arenaBytes = wasm.qb_arena_required(it);
    const arena = alloc(wasm, Math.max(this.arenaBytes, 16), name);
    check(
      wasm,
      it,
      wasm.qb_set_arena(it, arena, Math.max(this.arenaBytes, 16)),
      name,
      'setting the arena',
    );
    this.inPtrs = this.inputs.map((t) => alloc(wasm, t.bytes, name));
    this.outPtrs = this.outputs.map((t) => alloc(wasm, t.bytes, name));
  }

  /** Parses, validates and plans `model` (the bytes of a .tflite file). */
  static async load(model: Uint8Array, options: LoadOptions = {}): Promise<Interpreter> {
    const name = options.name ?? 'model';
    const runtime = options.wasmPath
      ? {
          path: options.wasmPath,
          build: options.wasmPath.endsWith(runtimeBuildFiles.simd)
            ? ('simd' as const)
            : ('plain' as const),
        }
      : chooseRuntimeBuild(options.build, options.wasmDir);
    const wasm = await instantiateRuntime(runtime.path);
    wasm.qb_wasm_reset();
    const it = alloc(wasm, wasm.qb_interpreter_size(), name);
    const modelPtr = alloc(wasm, model.byteLength, name);
    new Uint8Array(wasm.memory.buffer, modelPtr, model.byteLength).set(model);
    check(wasm, it, wasm.qb_load(it, modelPtr, model.byteLength), name, 'loading');
    return new Interpreter(wasm, it, name, runtime);
  }

  /** Copies `data` into input `index`; its type and length must match the tensor. */
  setInput(index: number, data: TensorData): void {
    const wasm = this.live();
    const info = this.inputs[index];
    if (!info)
      throw new RuntimeError(
        'RUNTIME_BAD_ARGUMENT',
        `${this.name} has no input ${index} (it has ${this.inputs.length})`,
      );
    if (!(data instanceof arrayTypes[info.type]) || data.byteLength !== info.bytes) {
      throw new RuntimeError(
        'RUNTIME_INPUT',
        `${this.name} input ${index} takes ${info.bytes / arrayTypes[info.type].BYTES_PER_ELEMENT} ${info.type} values, got ${data.length} ${data.constructor.name}`,
      );
    }
    new Uint8Array(wasm.memory.buffer, this.inPtrs[index], info.bytes).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    check(
      wasm,
      this.it,
      wasm.qb_set_input(this.it, index, this.inPtrs[index], info.bytes),
      this.name,
      `setting input ${index}`,
    );
  }

  invoke(): void {
    const wasm = this.live();
    check(wasm, this.it, wasm.qb_invoke(this.it), this.name, 'invoking');
  }

  /** A copy of output `index` in its own typed array. */
  getOutput(index: number): TensorData {
    const wasm = this.live();
    const info = this.outputs[index];
    if (!info)
      throw new RuntimeError(
        'RUNTIME_BAD_ARGUMENT',
        `${this.name} has no output ${index} (it has ${this.outputs.length})`,
      );
    check(
      wasm,
      this.it,
      wasm.qb_get_output(this.it, index, this.outPtrs[index], info.bytes),
      this.name,
      `reading output ${index}`,
    );
    const bytes = new Uint8Array(wasm.memory.buffer, this.outPtrs[index], info.bytes).slice();
    const Ctor = arrayTypes[info.type];
    return new Ctor(bytes.buffer, 0, info.bytes / Ctor.BYTES_PER_ELEMENT);
  }

  /**
   * Runs `count` samples of a one-input model in one call: `inputs` holds the samples' input
   * tensors back to back in the tensor's own encoding (int8 bytes, float32 bytes), and the
   * result holds output 0 of each sample back to back, raw. The batch crosses into wasm
   * memory once instead of once per sample.
   */
  runBatch(inputs: Uint8Array, count: number): Uint8Array {
    const wasm = this.live();
    if (this.inputs.length !== 1)
      throw new RuntimeError(
        'RUNTIME_BAD_ARGUMENT',
        `${this.name} has ${this.inputs.length} inputs; batches take one-input models`,
      );
    const inBytes = this.inputs[0].bytes;
    const outBytes = this.outputs[0].bytes;
    if (!Number.isInteger(count) || count < 0 || inputs.byteLength !== count * inBytes)
      throw new RuntimeError(
        'RUNTIME_INPUT',
        `${this.name}: a batch of ${count} samples takes ${count * inBytes} input bytes, got ${inputs.byteLength}`,
      );
    if (count > this.stageCapacity) {
      // The bump allocator never frees, so staging grows in doublings to bound what is left behind.
      this.stageCapacity = Math.max(count, 2 * this.stageCapacity);
      this.stageIn = alloc(wasm, this.stageCapacity * inBytes, this.name);
      this.stageOut = alloc(wasm, this.stageCapacity * outBytes, this.name);
    }
    new Uint8Array(wasm.memory.buffer, this.stageIn, count * inBytes).set(inputs);
    for (let s = 0; s < count; s++) {
      check(
        wasm,
        this.it,
        wasm.qb_set_input(this.it, 0, this.stageIn + s * inBytes, inBytes),
        this.name,
        `setting input 0 of batch sample ${s}`,
      );
      check(wasm, this.it, wasm.qb_invoke(this.it), this.name, `invoking batch sample ${s}`);
      check(
        wasm,
        this.it,
        wasm.qb_get_output(this.it, 0, this.stageOut + s * outBytes, outBytes),
        this.name,
        `reading output 0 of batch sample ${s}`,
      );
    }
    return new Uint8Array(wasm.memory.buffer, this.stageOut, count * outBytes).slice();
  }

  /** Releases the wasm instance; the interpreter cannot be used afterwards. */
  dispose(): void {
    this.wasm = undefined;
  }

  private live(): RuntimeExports {
    if (!this.wasm) throw new RuntimeError('RUNTIME_DISPOSED', `${this.name} was disposed`);
    return this.wasm;
  }
}

function alloc(wasm: RuntimeExports, bytes: number, name: string): number {
  const ptr = wasm.qb_wasm_alloc(bytes);
  if (ptr === 0)
    throw new RuntimeError(
      'RUNTIME_OUT_OF_MEMORY',
      `No WebAssembly memory left for ${bytes} bytes while loading ${name}`,
    );
  return ptr;
}

function cString(wasm: RuntimeExports, ptr: number): string {
  const mem = new Uint8Array(wasm.memory.buffer);
  let end = ptr;
  while (end < mem.length && mem[end] !== 0) end++;
  return new TextDecoder().decode(mem.subarray(ptr, end));
}

function check(
  wasm: RuntimeExports,
  it: number,
  status: number,
  name: string,
  doing: string,
): void {
  if (status === 0) return;
  const words = cString(wasm, wasm.qb_status_string(status));
  const detail = cString(wasm, wasm.qb_last_error(it));
  throw new RuntimeError(
    statusCode(status),
    `${name}: ${doing} failed: ${words}${detail ? ` (${detail})` : ''}`,
    { status, detail },
  );
}

function readInfo(wasm: RuntimeExports, ptr: number): TensorInfo {
  const view = new DataView(wasm.memory.buffer, ptr, wasm.qb_wasm_info_bytes());
  const rank = view.getInt32(4, true);
  return {
    type: typeNames[view.getInt32(0, true)] ?? 'int8',
    shape: Array.from({ length: rank }, (_, d) => view.getInt32(8 + 4 * d, true)),
    bytes: view.getUint32(32, true),
    scale: view.getFloat32(36, true),
    zeroPoint: view.getInt32(40, true),
  };
}
