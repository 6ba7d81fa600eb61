import type * as tf from '@tensorflow/tfjs';
import {
  compressAsync,
  type CompressOptions,
  type CompressProgress,
  type CompressResult,
} from './pipeline';
import type { LayerGraph } from './graph';
import { resolvePolicies } from './policy';
import type { Recipe } from './recipe';
import type { OpenDatasetOptions } from '../data';
import { loadTrainingData } from './finetune/data';
import { FineTuneError } from './finetune/errors';
import { registerFineTuneKernels } from './finetune/kernels';
import type { FineTuneConfig } from './recipe';
import type { EpochRecord } from './finetune/run';
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
 * The compression engine's run of a recipe with a fineTune step: the pipeline prunes and
 * clusters, fine-tunes with them held and quantizes with the learned activation ranges.
 * `model` is the float model `graph` was lowered from; it ends holding the fine-tuned weights.
 */
export async function compressFineTuned(
  model: tf.LayersModel,
  graph: LayerGraph,
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
  const result = await compressAsync(graph, {
    recipe,
    calibration,
    score: options.score,
    onProgress: options.onProgress,
    fineTune: { model, train: fine.train, signal: options.signal },
  });
  const tuned = result.fineTuned!;
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
      quantizationAware: config.quantizationAware && result.quantized !== undefined,
      steps: tuned.outcome.steps,
      bestEpoch: tuned.outcome.best.epoch + 1,
      bestValAccuracy: tuned.outcome.best.valAccuracy,
      history: tuned.outcome.epochs.map((e) => ({ ...e, epoch: e.epoch + 1 })),
      learnedRanges: tuned.learnedRanges,
      seconds: tuned.seconds,
    },
  };
}
