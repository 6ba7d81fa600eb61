import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { exportTflite } from '../compress/export-tflite';
import type { LayerGuarantee } from '../compress/guarantees';
import { loadRecipe } from '../compress/recipe';
import { jobModule } from '../jobs/registry';
import type { JobHandler, JobModule } from '../jobs/types';
import { loadModel } from '../model';
import { saveKeras } from '../model/keras-writer';
import { initBackend, type BackendName } from '../train/backend';
import { loadTrainingData } from '../compress/finetune/data';
import { FineTuneError } from '../compress/finetune/errors';
import { registerFineTuneKernels } from '../compress/finetune/kernels';
import { fineTuneStepSchema, type FineTuneInput } from '../compress/recipe';
import { compressWithFineTune, int8Accuracy } from '../compress/finetune-flow';
import {
  describeFineTuneProgress,
  fineTune,
  type FineTuneOutcome,
  type FineTuneProgress,
} from '../compress/finetune/run';
import type { CompressionState } from '../compress/finetune/state';

export interface FineTuneJobParams {
  /** .keras, .h5 or tfjs model.json of the (pruned/clustered) float model. */
  model: string;
  /** Without `recipe`, the step to run on the model as it is (with `state`). */
  fineTune?: FineTuneInput;
  /**
   * A recipe file or preset: the job then runs prune → cluster → fine-tune → quantize →
   * export and writes model.tflite to `out`. Its fineTune step is used unless `fineTune` is given.
   */
  recipe?: string;
  /** Labelled data to measure the exported int8 model on (the firmware's wasm build). */
  testData?: string;
  /** Used when the fineTune step names no data. */
  data?: string;
  state?: CompressionState;
  /** Whether the recipe quantizes, so int8 layers train with fake quantization. */
  quantize?: boolean;
  /** Directory for best.keras, the best checkpoint. */
  out?: string;
  /** At most this many samples (after the spec's slice). */
  limit?: number;
  backend?: BackendName;
}

export interface FineTuneJobResult extends Omit<FineTuneOutcome, 'state'> {
  backend: string;
  /** best.keras when an output directory was given. */
  checkpoint?: string;
  /** With a recipe: the exported model and what the guarantees check found in it. */
  tflite?: string;
  guarantees?: LayerGuarantee[];
  int8Accuracy?: number;
  oneShotInt8Accuracy?: number;
}

/** Where the job manager finds this handler. */
export const fineTuneJobModule: JobModule = jobModule('fineTune');

export const fineTuneJob: JobHandler<FineTuneJobParams, FineTuneJobResult> = async (ctx) => {
  const p = ctx.params;
  const recipe = p.recipe ? loadRecipe(p.recipe) : undefined;
  const step = p.fineTune ?? recipe?.steps.find((s) => s.step === 'fineTune');
  if (!step) {
    throw new FineTuneError(
      'FINETUNE_RECIPE',
      `recipe "${p.recipe ?? '(none)'}" has no fineTune step`,
      {
        hint: 'add a `- step: fineTune` after quantize (see docs/finetuning.md) or give its options directly',
      },
    );
  }
  const parsed = fineTuneStepSchema.safeParse(step);
  if (!parsed.success) {
    throw new FineTuneError(
      'FINETUNE_RECIPE',
      `fineTune step is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`,
      {
        hint: 'see docs/finetuning.md for the fields of a fineTune step',
      },
    );
  }
  const config = parsed.data;
  const spec = config.data ?? p.data;
  if (!spec)
    throw new FineTuneError(
      'FINETUNE_DATA',
      'no training data: the fineTune step has no data and none was given',
      { hint: 'add data: "fashion-mnist:train" (any dataset spec) to the step or pass --data' },
    );

  ctx.progress('load', null, `loading ${p.model}`);
  const backend = await initBackend(p.backend);
  registerFineTuneKernels();
  const { model, inputShape, outputShape } = await loadModel(p.model);
  const data = await loadTrainingData(
    spec,
    inputShape.slice(1),
    Number(outputShape.at(-1)),
    p.limit,
  );
  ctx.log(
    `fine-tuning on ${backend}: ${data.count} samples from ${spec}, ${config.epochs} epoch(s)`,
  );

  const onProgress = (e: FineTuneProgress) =>
    ctx.progress(
      'fine-tune',
      e.fraction,
      describeFineTuneProgress(e),
    );
  const result: FineTuneJobResult = {
    backend,
    epochs: [],
    best: { epoch: -1, valAccuracy: null },
    steps: 0,
    activationRanges: {},
  };
  if (recipe) {
    const calibration = tf.tensor(
      data.x.subarray(0, Math.min(100, data.count) * perSample(data.sampleShape)),
      [Math.min(100, data.count), ...data.sampleShape],
    );
    const flow = await compressWithFineTune(
      model,
      { ...recipe, steps: recipe.steps.filter((s) => s.step !== 'fineTune') },
      config,
      data,
      calibration,
      { signal: ctx.signal, onProgress },
    );
    calibration.dispose();
    const { state: _state, ...outcome } = flow.fineTuned;
    Object.assign(result, outcome, { guarantees: flow.guarantees });
    if (p.out) {
      mkdirSync(p.out, { recursive: true });
      result.tflite = path.join(p.out, 'model.tflite');
      writeFileSync(result.tflite, flow.tflite);
    }
    if (p.testData) {
      ctx.progress('evaluate', null, `int8 accuracy on ${p.testData}`);
      const test = await loadTrainingData(
        p.testData,
        inputShape.slice(1),
        Number(outputShape.at(-1)),
      );
      result.int8Accuracy = await int8Accuracy(flow.tflite, test);
      result.oneShotInt8Accuracy = await int8Accuracy(exportTflite(flow.oneShot.quantized!), test);
    }
  } else {
    const { state: _state, ...outcome } = await fineTune(model, data, p.state ?? {}, config, {
      quantize: p.quantize ?? false,
      signal: ctx.signal,
      onProgress,
    });
    Object.assign(result, outcome);
  }
  if (p.out) {
    mkdirSync(p.out, { recursive: true });
    result.checkpoint = path.join(p.out, 'best.keras');
    await saveKeras(model, result.checkpoint);
  }
  return result;
};

function perSample(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
