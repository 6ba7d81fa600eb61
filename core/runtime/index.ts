export {
  Interpreter,
  type LoadOptions,
  type TensorData,
  type TensorInfo,
  type TensorType,
} from './interpreter';
export { RuntimeError } from './errors';
export { BatchRunner, defaultEvaluationThreads, type BatchRunnerOptions } from './batch';
export { runSamples, evaluateSamples, type Sample, type SampleResult } from './evaluate';
export { quantizeInt8, dequantize, encodeInput, decodeOutput } from './quantize';
export {
  runtimeWasmPath,
  chooseRuntimeBuild,
  engineSupportsWasmSimd,
  type RuntimeBuild,
  type RuntimeBuildChoice,
} from './wasm-module';

import { Interpreter, type LoadOptions } from './interpreter';

/** Entry point: `const it = await Runtime.load(bytes)`. */
export const Runtime = {
  load: (model: Uint8Array, options?: LoadOptions): Promise<Interpreter> =>
    Interpreter.load(model, options),
};
