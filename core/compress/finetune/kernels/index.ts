import { getKernel, registerKernel, type KernelConfig } from '@tensorflow/tfjs';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum';

/** Kernels the fine-tuning steps need on wasm beyond what core/train registers. */
export const fineTuneWasmKernels: readonly KernelConfig[] = [unsortedSegmentSumConfig];

/** Idempotent; a tfjs that ships its own keeps it. */
export function registerFineTuneKernels(): void {
  for (const config of fineTuneWasmKernels) {
    if (!getKernel(config.kernelName, config.backendName)) registerKernel(config);
  }
}
