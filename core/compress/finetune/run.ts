import * as tf from '@tensorflow/tfjs';
import { seededRandom, shuffledIndices } from '../../train/sample-model';
import { FineTuneError } from './errors';
import type { ActivationRange } from './fake-quant';
import type { FineTuneConfig } from '../recipe';
import type { CompressionState } from './state';
import { batchOf, ConstrainedTrainer, type TrainingData } from './trainer';

export interface FineTuneProgress {
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  loss: number;
  accuracy: number;
  /** 0..1 over the whole run. */
  fraction: number;
  secondsLeft: number | null;
}

/** One line for a progress display; the display adds the time left from the run's fraction. */
export function describeFineTuneProgress(p: FineTuneProgress): string {
  return (
    `epoch ${p.epoch + 1}/${p.epochs} step ${p.step + 1}/${p.stepsPerEpoch} ` +
    `loss ${p.loss.toFixed(4)} acc ${(p.accuracy * 100).toFixed(1)}%`
  );
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  valAccuracy: number | null;
  seconds: number;
}

export interface FineTuneOutcome {
  epochs: EpochRecord[];
  /** The epoch whose weights the model holds at the end (best validation accuracy). */
  best: { epoch: number; valAccuracy: number | null };
  steps: number;
  /** The constraints as they stand after training: masks the schedule moved, trained centroids. */
  state: CompressionState;
  /**
   * Moving-average ranges of the int8 activation tensors at the best epoch, named as the
   * lowered graph names them; empty without quantization-aware training.
   */
  activationRanges: Record<string, ActivationRange>;
}

export interface FineTuneRunOptions {
  /** Fake-quantize int8 layers (the recipe quantizes and the step asks for it). */
  quantize: boolean;
  /** The quantize step's weight scheme, so fake quantization uses the exported scales. */
  weights?: 'per-channel' | 'per-tensor';
  signal?: AbortSignal;
  onProgress?: (p: FineTuneProgress) => void;
  /** Stops after this many steps in total (benchmarks). */
  maxSteps?: number;
}

export class FineTuneCancelled extends FineTuneError {
  constructor(step: number) {
    super('FINETUNE_CANCELLED', `fine-tuning was cancelled at step ${step}`, {
      hint: 'start it again to train further',
    });
  }
}

/**
 * Fine-tunes `model` in place under the compression state and leaves it holding the
 * weights of the epoch with the best validation accuracy (the last epoch without a split).
 */
export async function fineTune(
  model: tf.LayersModel,
  data: TrainingData,
  state: CompressionState,
  config: FineTuneConfig,
  options: FineTuneRunOptions,
): Promise<FineTuneOutcome> {
  const valCount = Math.floor(data.count * config.validationSplit);
  const trainCount = data.count - valCount;
  const stepsPerEpoch = Math.floor(trainCount / config.batchSize);
  if (stepsPerEpoch < 1) {
    throw new FineTuneError(
      'FINETUNE_DATA',
      `${trainCount} training samples are fewer than one batch of ${config.batchSize}`,
      {
        hint: 'lower batchSize or validationSplit, or give more data',
      },
    );
  }
  const totalSteps = Math.min(options.maxSteps ?? Infinity, stepsPerEpoch * config.epochs);
  const trainer = new ConstrainedTrainer(model, state, {
    optimizer: config.optimizer,
    learningRate: config.learningRate,
    schedule: config.schedule,
    totalSteps,
    pruning: config.pruning,
    freezeBatchNorm: config.freezeBatchNorm,
    qat:
      options.quantize && config.quantizationAware
        ? { emaDecay: config.emaDecay, weights: options.weights }
        : undefined,
  });
  const valIndices = Int32Array.from({ length: valCount }, (_, i) => trainCount + i);
  const random = seededRandom(config.seed);
  const epochs: EpochRecord[] = [];
  let best: {
    epoch: number;
    valAccuracy: number | null;
    weights?: tf.Tensor[];
    ranges: Record<string, ActivationRange>;
  } = { epoch: -1, valAccuracy: null, ranges: {} };
  const started = performance.now();
  try {
    for (let epoch = 0; epoch < config.epochs && trainer.step < totalSteps; epoch++) {
      const order = shuffledIndices(trainCount, random);
      const t0 = performance.now();
      let lossSum = 0;
      let accSum = 0;
      let n = 0;
      for (let b = 0; b < stepsPerEpoch && trainer.step < totalSteps; b++) {
        if (options.signal?.aborted) throw new FineTuneCancelled(trainer.step);
        const { xs, labels } = batchOf(data, order, b * config.batchSize, config.batchSize);
        const r = trainer.trainBatch(xs, labels);
        xs.dispose();
        lossSum += r.loss;
        accSum += r.accuracy;
        n++;
        const fraction = trainer.step / totalSteps;
        const elapsed = (performance.now() - started) / 1000;
        options.onProgress?.({
          epoch,
          epochs: config.epochs,
          step: b,
          stepsPerEpoch,
          loss: r.loss,
          accuracy: r.accuracy,
          fraction,
          secondsLeft: fraction > 0 ? (elapsed * (1 - fraction)) / fraction : null,
        });
        // Lets a cancel message reach the worker between steps.
        await new Promise((resolve) => setImmediate(resolve));
      }
      const valAccuracy = valCount > 0 ? trainer.evaluate(data, valIndices) : null;
      epochs.push({
        epoch,
        loss: lossSum / n,
        accuracy: accSum / n,
        valAccuracy,
        seconds: (performance.now() - t0) / 1000,
      });
      const better =
        valAccuracy === null || best.valAccuracy === null || valAccuracy > best.valAccuracy;
      if (better) {
        tf.dispose(best.weights ?? []);
        best = {
          epoch,
          valAccuracy,
          weights: model.getWeights().map((w) => w.clone()),
          ranges: learnedRanges(trainer),
        };
      }
    }
    if (best.weights) model.setWeights(best.weights);
    return {
      epochs,
      best: { epoch: best.epoch, valAccuracy: best.valAccuracy },
      steps: trainer.step,
      state: finalState(trainer, model, state),
      activationRanges: best.ranges,
    };
  } finally {
    tf.dispose(best.weights ?? []);
    trainer.dispose();
  }
}

/** The ranges as they stand, as plain data (a snapshot: training keeps moving them). */
function learnedRanges(trainer: ConstrainedTrainer): Record<string, ActivationRange> {
  const out: Record<string, ActivationRange> = {};
  for (const [name, r] of trainer.net.activationRanges()) if (r) out[name] = { ...r };
  return out;
}

/** Masks and centroids as the model holds them now (after the best epoch's weights are back). */
function finalState(
  trainer: ConstrainedTrainer,
  model: tf.LayersModel,
  state: CompressionState,
): CompressionState {
  const out: CompressionState = {};
  for (const layer of model.layers) {
    const before = state[layer.name];
    const mask = trainer.net.maskOf(layer.name);
    if (!before && !mask) continue;
    const entry = { ...before };
    if (mask) entry.mask = mask;
    if (before?.cluster) {
      // The best epoch's kernel holds its centroids: read them back through the assignments.
      const w = layer.getWeights()[0]!.dataSync() as Float32Array;
      const { assignments, granularity } = before.cluster;
      const centroids = before.cluster.centroids.map((c) => c.slice());
      const channels = centroids.length;
      for (let i = 0; i < w.length; i++) {
        const a = assignments[i]!;
        if (a >= 0) centroids[granularity === 'per-channel' ? i % channels : 0]![a] = w[i]!;
      }
      entry.cluster = { granularity, centroids, assignments };
    }
    out[layer.name] = entry;
  }
  return out;
}
