import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter';
import { depthwiseBackpropFilterConfig } from './depthwise-backprop-filter';
import { depthwiseBackpropInputConfig } from './depthwise-backprop-input';
import { tileConfig } from './tile';

/**
 * Gradient kernels tfjs-backend-wasm 4.22 lacks for the layers Quantbench trains, found by
 * fitting each supported layer on wasm. Without them tfjs throws instead of falling back.
 */
export const missingWasmKernels: readonly KernelConfig[] = [
  conv2dBackpropFilterConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
];

/**
 * Kernels wasm has but that are slow enough to dominate a training step (measured with
 * tf.profile on the sample model): replaced, same results.
 */
export const fasterWasmKernels: readonly KernelConfig[] = [tileConfig];

export const wasmTrainingKernels: readonly KernelConfig[] = [
  ...missingWasmKernels,
  ...fasterWasmKernels,
];

let registered = false;

/** Idempotent. A later tfjs that ships a missing kernel keeps its own. */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  for (const config of missingWasmKernels) {
    if (!getKernel(config.kernelName, 'wasm')) registerKernel(config);
  }
  for (const config of fasterWasmKernels) {
    if (getKernel(config.kernelName, 'wasm')) unregisterKernel(config.kernelName, 'wasm');
    registerKernel(config);
  }
}
