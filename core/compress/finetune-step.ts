import type * as tf from '@tensorflow/tfjs';
import type { CompressOptions, CompressProgress, CompressResult } from './pipeline';
import type { LayerGraph } from './graph';
import { resolvePolicies } from './policy';
import type { Recipe } from './recipe';
import type { OpenDatasetOptions } from '../data';
import { loadTrainingData } from './finetune/data';
import { FineTuneError } from './finetune/errors';
import { compressWithFineTune } from './finetune-flow';
import { registerFineTuneKernels } from './finetune/kernels';
import type { FineTuneConfig } from './recipe';
import { describeFineTuneProgress, type EpochRecord } from './finetune/run';
import type { TrainingData } from './finetune/trainer';

/** A recipe's fineTune step with its training data read and checked, before any work starts. */
export interface PreparedFineTune {
  config: FineTuneConfig;
  /** The dataset spec the samples came from. */
  spec: string;
  train: TrainingData;
}

/** What the fine-tune did, for report.json and the recorded run. Epochs count from 1. */
export interface FineTuneSummary {
  data: string;
  samples: number;
  epochs: number;
  batchSize: number;
  optimizer: FineTuneConfig['optimizer'];
  learningRate: number;
  validationSplit: number;
  quantizationAware: boolean;
  /** Optimizer steps taken. */
  steps: number;
  /** The epoch whose weights were exported. */
  bestEpoch: number;
  /** Accuracy on the held-out split through the constrained (fake-quantized) forward pass. */
  bestValAccuracy: number | null;
  history: EpochRecord[];
  /** Activation tensors exported with the ranges learned during training, not calibrated. */
  learnedRanges: string[];
  seconds: number;
}

/**
 * Checks that a recipe's fineTune step can run on this model and reads its training data (the
 * step's own `data`, else the command's evaluation data), before any work starts. Undefined
 * when the recipe does not fine-tune.
 */
export async function prepareFineTune(
  recipe: Recipe,
  graph: LayerGraph,
  fallbackSpec: string,
  model: {
    inputShape: readonly (number | null)[];
    classes: number;
    preprocessing?: OpenDatasetOptions['preprocessing'];
  },
): Promise<PreparedFineTune | undefined> {
  const config = recipe.steps.find((s) => s.step === 'fineTune');
  if (!config) return undefined;
  const q = recipe.steps.find((s) => s.step === 'quantize');
  const folds = q
    ? [...resolvePolicies(graph, q)].filter(([, d]) => d.policy === 'fold').map(([name]) => name)
    : [];
  if (folds.length) {
    throw new FineTuneError(
      'FINETUNE_FOLD',
      `recipe "${recipe.name}" folds ${folds.join(', ')} before fine-tuning`,
      {
        hint: 'add a quantize policy rule keeping BatchNormalization and Rescaling float (as the *-keep-rescaling-float presets do)',
      },
    );
  }
  const spec = config.data ?? fallbackSpec;
  const train = await loadTrainingData(
    spec,
    model.inputShape,
    model.classes,
    undefined,
    model.preprocessing,
  );
  return { config, spec, train };
}

/**
 * The compression engine's run of a recipe with a fineTune step: prune and cluster, fine-tune
 * with them held, quantize with the learned activation ranges. The result reads as one
 * compression (prune and cluster records of the first pass, quantization of the second).
 */
export async function compressFineTuned(
  model: tf.LayersModel,
  recipe: Recipe,
  fine: PreparedFineTune,
  calibration: tf.Tensor,
  options: {
    signal?: AbortSignal;
    onProgress?: (p: CompressProgress) => void;
    score?: CompressOptions['score'];
  } = {},
): Promise<{ result: CompressResult; summary: FineTuneSummary }> {
  registerFineTuneKernels();
  const started = performance.now();
  const flow = await compressWithFineTune(
    model,
    { ...recipe, steps: recipe.steps.filter((s) => s.step !== 'fineTune') },
    fine.config,
    fine.train,
    calibration,
    {
      signal: options.signal,
      onProgress: (p) =>
        options.onProgress?.({
          stage: 'fineTune',
          fraction: p.fraction,
          message: describeFineTuneProgress(p),
        }),
      compress: { onProgress: options.onProgress, score: options.score },
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const { oneShot, final, fineTuned } = flow;
  const timings: CompressResult['timings'] = { ...oneShot.timings };
  for (const [stage, s] of Object.entries(final.timings) as [keyof typeof timings, number][])
    timings[stage] = (timings[stage] ?? 0) + s;
  const inner = Object.values(oneShot.timings).reduce((a, b) => a + b, 0);
  timings.fineTune = Math.max(
    0,
    seconds - inner - Object.values(final.timings).reduce((a, b) => a + b, 0),
  );
  const result: CompressResult = {
    ...final,
    original: oneShot.original,
    pruned: oneShot.pruned,
    clustered: oneShot.clustered,
    reestimated: [...new Set([...oneShot.reestimated, ...final.reestimated])],
    warnings: [...new Set([...oneShot.warnings, ...final.warnings])],
    timings,
  };
  const { config } = fine;
  return {
    result,
    summary: {
      data: fine.spec,
      samples: fine.train.count,
      epochs: config.epochs,
      batchSize: config.batchSize,
      optimizer: config.optimizer,
      learningRate: config.learningRate,
      validationSplit: config.validationSplit,
      quantizationAware: config.quantizationAware && final.quantized !== undefined,
      steps: fineTuned.steps,
      bestEpoch: fineTuned.best.epoch + 1,
      bestValAccuracy: fineTuned.best.valAccuracy,
      history: fineTuned.epochs.map((e) => ({ ...e, epoch: e.epoch + 1 })),
      learnedRanges: flow.learnedRanges,
      seconds,
    },
  };
}
