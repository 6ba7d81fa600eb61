import type * as tf from '@tensorflow/tfjs';
import { exportTflite } from './export-tflite';
import { checkExportedGuarantees, type LayerGuarantee } from './guarantees';
import { lowerKerasModel } from './lower-keras';
import { compressAsync, type CompressOptions, type CompressResult } from './pipeline';
import type { FineTuneConfig, Recipe } from './recipe';
import { Runtime, decodeOutput, encodeInput } from '../runtime/index';
import { FineTuneError } from './finetune/errors';
import type { FineTuneOutcome } from './finetune/run';
import type { FineTuneStageInput } from './finetune/stage';
import type { TrainingData } from './finetune/trainer';

export { applyState } from './finetune/stage';

export interface FlowResult {
  /** The recipe without fine-tuning: the same pruned and clustered graph, quantized as it was. */
  oneShot: CompressResult;
  fineTuned: FineTuneOutcome;
  /** The run itself: prune, cluster, fine-tune, then quantize with the learned ranges. */
  final: CompressResult;
  tflite: Uint8Array;
  guarantees: LayerGuarantee[];
  /** Tensors whose export ranges are the ones learned in training, not calibrated. */
  learnedRanges: string[];
}

export interface FlowOptions extends Omit<FineTuneStageInput, 'model' | 'train'> {
  /** Passed to the compression run (progress, autoExclude's scorer). */
  compress?: Pick<CompressOptions, 'onProgress' | 'score'>;
}

/**
 * prune → cluster → fine-tune (sparsity-, cluster- and, when the recipe quantizes,
 * quantization-aware) → quantize → export, with the one-shot quantization of the same
 * pruned and clustered graph beside it for comparison. `config` replaces any fineTune step
 * of the recipe. `model` is changed in place and ends holding the fine-tuned float weights.
 */
export async function compressWithFineTune(
  model: tf.LayersModel,
  recipe: Recipe,
  config: FineTuneConfig,
  train: TrainingData,
  calibration: tf.Tensor,
  run: FlowOptions = {},
): Promise<FlowResult> {
  const { compress: compressOptions, ...stageOptions } = run;
  if (!recipe.steps.some((s) => s.step === 'quantize')) {
    throw new FineTuneError('FINETUNE_RECIPE', `recipe "${recipe.name}" has no quantize step`, {
      hint: 'add a quantize step: the flow exports an int8 .tflite',
    });
  }
  const final = await compressAsync(lowerKerasModel(model), {
    ...compressOptions,
    recipe: { ...recipe, steps: [...recipe.steps.filter((s) => s.step !== 'fineTune'), config] },
    calibration,
    fineTune: { ...stageOptions, model, train, baseline: true },
  });
  const tuned = final.fineTuned!;
  const tflite = exportTflite(final.quantized!, `Quantbench ${recipe.name}+fineTune`);
  return {
    oneShot: tuned.baseline!,
    fineTuned: tuned.outcome,
    final,
    tflite,
    guarantees: checkExportedGuarantees(tflite, final.quantized!),
    learnedRanges: tuned.learnedRanges,
  };
}

/** Top-1 class of each sample (or of `indices`) from an int8 .tflite on the firmware's wasm build. */
export async function int8Predictions(
  tflite: Uint8Array,
  data: TrainingData,
  indices?: ArrayLike<number>,
): Promise<Int32Array> {
  const interpreter = await Runtime.load(tflite, { name: 'fine-tuned model' });
  const per = data.sampleShape.reduce((a, b) => a * b, 1);
  const n = indices ? indices.length : data.count;
  const predicted = new Int32Array(n);
  try {
    for (let k = 0; k < n; k++) {
      const i = indices ? indices[k]! : k;
      interpreter.setInput(
        0,
        encodeInput(data.x.subarray(i * per, (i + 1) * per), interpreter.inputs[0]!, `sample ${i}`),
      );
      interpreter.invoke();
      const out = decodeOutput(interpreter.getOutput(0), interpreter.outputs[0]!);
      let best = 0;
      for (let j = 1; j < out.length; j++) if (out[j]! > out[best]!) best = j;
      predicted[k] = best;
    }
  } finally {
    interpreter.dispose();
  }
  return predicted;
}

/** Top-1 accuracy of an int8 .tflite on the firmware's wasm build. */
export async function int8Accuracy(
  tflite: Uint8Array,
  data: TrainingData,
  indices?: ArrayLike<number>,
): Promise<number> {
  const predicted = await int8Predictions(tflite, data, indices);
  let correct = 0;
  for (let k = 0; k < predicted.length; k++)
    if (predicted[k] === data.y[indices ? indices[k]! : k]) correct++;
  return predicted.length ? correct / predicted.length : 0;
}
