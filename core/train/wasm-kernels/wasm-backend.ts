import type { DataType, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { Memory } from './simd-module';

/**
 * The part of tfjs-backend-wasm's BackendWasm that our kernels use. The class is not
 * exported with these members typed for kernels outside the package, so we name them here.
 */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  /** A view into the wasm heap: take it after every makeOutput, since allocation can grow
   * (and so detach) the heap buffer. */
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

export function heapFloats(backend: WasmBackend, info: TensorInfo): Float32Array {
  const view = backend.typedArrayFromHeap(info);
  if (!(view instanceof Float32Array))
    throw new TypeError(`expected a float32 tensor, got ${info.dtype}`);
  return view;
}

/** Only channels-last is what Keras models and tfjs-layers produce; say so rather than compute garbage. */
export function assertChannelsLast(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`${kernel} on wasm supports NHWC only, got ${dataFormat}`);
  }
}

/**
 * The backend's own kernels that ours replaced (registerWasmTrainingKernels fills it): the
 * fallback for inputs a faster kernel does not cover, and what tests compare against.
 */
export const replacedWasmKernels = new Map<string, KernelConfig>();

/** The backend's heap and where its tensors lie in it: what the SIMD loops address. */
export interface HeapBackend extends WasmBackend {
  wasm: { asm?: { memory?: Memory } };
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
}

/** The backend's own kernel on `args`, for inputs a faster kernel does not cover. */
export function runReplaced(kernelName: string, args: unknown): TensorInfo {
  const own = replacedWasmKernels.get(kernelName);
  if (!own)
    throw new Error(`${kernelName}: the wasm backend has no kernel of its own to fall back on`);
  return own.kernelFunc(args as never) as TensorInfo;
}

/**
 * Our kernel in place of the backend's `kernelName`. The backend's stays the fallback
 * (runReplaced), so its setup (a cwrap) runs too.
 */
export function replacingKernel<A>(
  kernelName: string,
  kernelFunc: (args: A) => TensorInfo,
): KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    setupFunc: (backend) => replacedWasmKernels.get(kernelName)?.setupFunc?.(backend),
    kernelFunc: kernelFunc as unknown as KernelFunc,
  };
}
