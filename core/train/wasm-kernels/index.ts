import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs';
import { fusedBatchNormConfig } from './batch-norm';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter';
import { depthwiseBackpropFilterConfig } from './depthwise-backprop-filter';
import { depthwiseBackpropInputConfig } from './depthwise-backprop-input';
import { meanConfig } from './mean';
import { tileConfig } from './tile';
import { replacedWasmKernels } from './wasm-backend';

export { replacedWasmKernels };
export { batchNormSimdReady } from './batch-norm';
export { meanLoopGeometry, meanSimdReady } from './mean';

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
 * Kernels wasm has but that are slow enough to dominate a training step or an evaluation
 * (measured with tf.profile on the sample model): replaced, same results.
 */
export const fasterWasmKernels: readonly KernelConfig[] = [
  tileConfig,
  fusedBatchNormConfig,
  meanConfig,
];

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
    const own = getKernel(config.kernelName, 'wasm');
    if (own) {
      replacedWasmKernels.set(config.kernelName, own);
      unregisterKernel(config.kernelName, 'wasm');
    }
    registerKernel(config);
  }
}
