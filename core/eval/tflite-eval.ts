import { performance } from 'node:perf_hooks';
import type { Dataset } from '../data/index';
import { decodeOutput, encodeInput, Runtime } from '../runtime/index';
import { argmaxRows, ClassificationTally, SquaredErrorTally } from './metrics';
import type { ClassificationResult, EvalProgress, RegressionResult } from './float-eval';

type RuntimeFields = { dtype: 'int8' | 'float32'; backend: 'quantbench runtime (wasm)'; arenaBytes: number };
export type TfliteEvalResult =
  | (Omit<ClassificationResult, 'dtype' | 'backend'> & RuntimeFields)
  | (Omit<RegressionResult, 'dtype' | 'backend'> & RuntimeFields);

/**
 * Evaluates a .tflite with the wasm build of the board firmware, so the desktop figure is
 * the one the board will reproduce. Float inputs are quantized with the model's own input
 * scale and zero point when its input is int8.
 */
export async function evaluateTflite(
  bytes: Uint8Array,
  name: string,
  dataset: Dataset,
  options: { onProgress?: (p: EvalProgress) => void; signal?: AbortSignal } = {},
): Promise<TfliteEvalResult> {
  const interpreter = await Runtime.load(bytes, { name });
  try {
    const input = interpreter.inputs[0]!;
    const output = interpreter.outputs[0]!;
    const classes = output.shape.at(-1) ?? 1;
    const classify = dataset.labelKind === 'class';
    const classTally = new ClassificationTally(classify ? classes : 0);
    const errors = new SquaredErrorTally();
    const size = dataset.sampleShape.reduce((a, b) => a * b, 1);
    const t0 = performance.now();
    for await (const batch of dataset.batches(256)) {
      options.signal?.throwIfAborted();
      for (let i = 0; i < batch.size; i++) {
        interpreter.setInput(0, encodeInput(batch.x.subarray(i * size, (i + 1) * size), input, `${dataset.name} sample ${batch.offset + i}`));
        interpreter.invoke();
        const out = decodeOutput(interpreter.getOutput(0), output);
        if (classify) classTally.add(batch.y[i]!, argmaxRows(out, 1, out.length)[0]!);
        else errors.add(out, batch.y.subarray(i * out.length, (i + 1) * out.length) as Float32Array, 1);
      }
      options.onProgress?.({ done: batch.offset + batch.size, total: dataset.count });
    }
    const seconds = (performance.now() - t0) / 1000;
    const samples = classify ? classTally.samples : errors.samples;
    const common = {
      dataset: dataset.name,
      samples,
      backend: 'quantbench runtime (wasm)' as const,
      dtype: input.type === 'int8' ? ('int8' as const) : ('float32' as const),
      seconds,
      samplesPerSecond: samples / Math.max(seconds, 1e-9),
      preprocessing: dataset.preprocessing,
      notices: dataset.notices,
      arenaBytes: interpreter.arenaBytes,
    };
    return classify
      ? {
          ...common,
          task: 'classification',
          accuracy: classTally.accuracy,
          classes,
          classNames: dataset.source.classNames,
          confusion: classTally.confusion,
          perClassAccuracy: classTally.perClassAccuracy(),
        }
      : { ...common, task: 'regression', mse: errors.mse };
  } finally {
    interpreter.dispose();
  }
}
