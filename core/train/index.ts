export { BackendError, currentBackend, initBackend, useBackend, type BackendName } from './backend';
export {
  buildSampleModel,
  seededRandom,
  shuffledIndices,
  trainSampleModel,
  type TrainingSet,
  type TrainOptions,
} from './sample-model';
export {
  fasterWasmKernels,
  missingWasmKernels,
  registerWasmTrainingKernels,
  wasmTrainingKernels,
} from './wasm-kernels';
