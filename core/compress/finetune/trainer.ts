import * as tf from '@tensorflow/tfjs';
import { ConstrainedModel, type QatOptions } from './constrained';
import { activationName } from './layers';
import {
  learningRateAt,
  polynomialSparsity,
  shouldPrune,
  type LearningRateSchedule,
  type PolynomialDecay,
} from './schedule';
import type { CompressionState } from './state';

export interface PruningSchedule extends PolynomialDecay {
  /** Layers the schedule prunes; default every Conv2D, DepthwiseConv2D and Dense without clusters. */
  layers?: string[];
}

export interface TrainerOptions {
  optimizer: 'adam' | 'sgd';
  learningRate: number;
  schedule: LearningRateSchedule;
  /** Steps the schedule spans (epochs × steps per epoch). */
  totalSteps: number;
  pruning?: PruningSchedule;
  qat?: QatOptions;
  freezeBatchNorm?: boolean;
}

/** Labelled samples held in memory: x row-major with `sampleShape` per sample, y class indices. */
export interface TrainingData {
  x: Float32Array;
  y: Int32Array;
  count: number;
  sampleShape: number[];
  classes: number;
}

export function batchOf(
  data: TrainingData,
  order: ArrayLike<number>,
  from: number,
  size: number,
): { xs: tf.Tensor; labels: Int32Array } {
  const per = data.sampleShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(size * per);
  const labels = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const s = order[from + i]!;
    x.set(data.x.subarray(s * per, (s + 1) * per), i * per);
    labels[i] = data.y[s]!;
  }
  return { xs: tf.tensor(x, [size, ...data.sampleShape]), labels };
}

/**
 * One optimizer step at a time under the compression constraints: gradients through the
 * constrained forward (masked kernels, centroid gathers, fake quantization), then the
 * constraints written back, so after every step a pruned weight is exactly 0 and a
 * clustered kernel holds only its centroids.
 */
export class ConstrainedTrainer {
  readonly net: ConstrainedModel;
  private readonly optimizer: tf.Optimizer;
  private readonly softmaxOutput: boolean;
  private readonly classes: number;
  step = 0;

  constructor(
    model: tf.LayersModel,
    state: CompressionState,
    readonly options: TrainerOptions,
  ) {
    this.net = new ConstrainedModel(model, state, options.qat, {
      freezeBatchNorm: options.freezeBatchNorm ?? false,
    });
    this.optimizer =
      options.optimizer === 'adam'
        ? tf.train.adam(options.learningRate)
        : tf.train.sgd(options.learningRate);
    const last = model.layers[model.layers.length - 1]!;
    this.softmaxOutput = activationName(last) === 'softmax' || last.getClassName() === 'Softmax';
    this.classes = (model.outputs[0]!.shape.at(-1) as number) ?? 1;
    if (options.pruning) this.prune();
  }

  get learningRate(): number {
    return learningRateAt(
      this.options.learningRate,
      this.options.schedule,
      this.step,
      this.options.totalSteps,
    );
  }

  private prune(): void {
    const p = this.options.pruning!;
    if (!shouldPrune(p, this.step)) return;
    this.net.updateMasks(polynomialSparsity(p, this.step), p.layers ?? this.defaultPruned());
  }

  private defaultPruned(): string[] {
    return this.net.model.layers
      .filter(
        (l) =>
          ['Conv2D', 'DepthwiseConv2D', 'Dense'].includes(l.getClassName()) &&
          !this.net.state[l.name]?.cluster,
      )
      .map((l) => l.name);
  }

  private loss(output: tf.Tensor, labels: tf.Tensor): tf.Scalar {
    const onehot = tf.oneHot(labels as tf.Tensor1D, this.classes);
    if (!this.softmaxOutput) return tf.losses.softmaxCrossEntropy(onehot, output) as tf.Scalar;
    const p = output.clipByValue(1e-7, 1 - 1e-7);
    return tf.neg(onehot.mul(tf.log(p)).sum(-1).mean()) as tf.Scalar;
  }

  /** One step on a batch; returns loss and batch accuracy. */
  trainBatch(xs: tf.Tensor, labels: Int32Array): { loss: number; accuracy: number } {
    // tfjs reads the rate on every step but exposes no setter for it.
    (this.optimizer as unknown as { learningRate: number }).learningRate = this.learningRate;
    const y = tf.tensor1d(labels, 'int32');
    let correct = 0;
    const vars = this.net.trainableVariables();
    const loss = this.optimizer.minimize(
      () => {
        const out = this.net.forward(xs, true);
        correct = tf.tidy(() => out.argMax(-1).equal(y).sum().dataSync()[0]!);
        return this.loss(out, y);
      },
      true,
      vars,
    )!;
    const value = loss.dataSync()[0]!;
    tf.dispose([loss, y]);
    this.step++;
    if (this.options.pruning) this.prune();
    this.net.enforce();
    return { loss: value, accuracy: correct / labels.length };
  }

  /** Predicted classes through the constrained (and, under QAT, fake-quantized) forward. */
  predict(xs: tf.Tensor): Int32Array {
    return tf.tidy(() => this.net.forward(xs, false).argMax(-1).dataSync() as Int32Array);
  }

  evaluate(data: TrainingData, indices: ArrayLike<number>, batchSize = 256): number {
    let correct = 0;
    for (let from = 0; from < indices.length; from += batchSize) {
      const size = Math.min(batchSize, indices.length - from);
      const { xs, labels } = batchOf(data, indices, from, size);
      const predicted = this.predict(xs);
      xs.dispose();
      for (let i = 0; i < size; i++) if (predicted[i] === labels[i]) correct++;
    }
    return indices.length ? correct / indices.length : 0;
  }

  dispose(): void {
    this.net.dispose();
    this.optimizer.dispose();
  }
}
