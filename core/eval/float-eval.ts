import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset';
import type { Preprocessing } from '../data/preprocess';
import { EvaluationError } from './errors';
import { argmaxRows, ClassificationTally, SquaredErrorTally } from './metrics';

export interface EvalProgress {
  done: number;
  total: number;
}

export interface FloatEvalOptions {
  batchSize?: number;
  onProgress?: (p: EvalProgress) => void;
  signal?: AbortSignal;
  /** Score outputs against the inputs (autoencoders) instead of the labels. */
  reconstruction?: boolean;
}

interface Common {
  dataset: string;
  samples: number;
  backend: string;
  dtype: 'float32';
  seconds: number;
  samplesPerSecond: number;
  preprocessing: Preprocessing;
  notices: string[];
}

export interface ClassificationResult extends Common {
  task: 'classification';
  accuracy: number;
  classes: number;
  classNames?: string[];
  /** confusion[true][predicted] */
  confusion: number[][];
  perClassAccuracy: (number | null)[];
}

export interface RegressionResult extends Common {
  task: 'regression' | 'reconstruction';
  mse: number;
}

export type FloatEvalResult = ClassificationResult | RegressionResult;

function perSample(shape: readonly (number | null)[]): number {
  return shape.slice(1).reduce<number>((a, b) => a * (b ?? 1), 1);
}

/**
 * Runs a float model over a dataset in batches. Classifiers get top-1 accuracy, a confusion
 * matrix and per-class accuracy (a single sigmoid output counts as two classes at 0.5);
 * regressors and autoencoders get the mean squared error over every output value.
 */
export async function evaluateFloat(
  model: tf.LayersModel,
  dataset: Dataset,
  options: FloatEvalOptions = {},
): Promise<FloatEvalResult> {
  const batchSize = options.batchSize ?? 256;
  const outputShape = model.outputs[0]!.shape;
  const outputSize = perSample(outputShape);
  const inputSize = dataset.sampleShape.reduce((a, b) => a * b, 1);
  const reconstruction = options.reconstruction ?? false;
  if (reconstruction && outputSize !== inputSize) {
    throw new EvaluationError(
      `dataset ${dataset.name}: samples have ${inputSize} values but the model outputs ${outputSize}, so it cannot be scored as a reconstruction`,
      'score reconstruction only for autoencoders whose output matches their input',
    );
  }
  const classify = dataset.labelKind === 'class' && !reconstruction;
  const sigmoid = classify && outputSize === 1;
  const classes = sigmoid ? 2 : outputSize;

  const classTally = new ClassificationTally(classify ? classes : 0);
  const errorTally = new SquaredErrorTally();
  const started = performance.now();
  for await (const batch of dataset.batches(batchSize)) {
    options.signal?.throwIfAborted();
    const output = tf.tidy(() => model.predict(tf.tensor(batch.x, batch.shape)) as tf.Tensor);
    const values = (await output.data()) as Float32Array;
    output.dispose();
    if (classify) {
      const predicted = sigmoid
        ? Int32Array.from(values, (v) => (v >= 0.5 ? 1 : 0))
        : argmaxRows(values, batch.size, outputSize);
      for (let i = 0; i < batch.size; i++) {
        const truth = batch.y[i]!;
        if (truth < 0 || truth >= classes) {
          throw new EvaluationError(
            `dataset ${dataset.name}: sample ${batch.offset + i} has label ${truth} but the model has ${classes} classes`,
            'use a dataset whose labels match the model outputs',
          );
        }
        classTally.add(truth, predicted[i]!);
      }
    } else {
      const target = reconstruction ? batch.x : batch.y;
      if (target.length !== values.length) {
        throw new EvaluationError(
          `dataset ${dataset.name}: targets have ${target.length / batch.size} values per sample but the model outputs ${outputSize}`,
          'use a dataset whose targets match the model output',
        );
      }
      errorTally.add(values, target, batch.size);
    }
    options.onProgress?.({ done: batch.offset + batch.size, total: dataset.count });
    // A turn of the event loop per batch: the awaits above may all settle as microtasks, and
    // work running beside this (compress's int8 workers, whose replies are messages) waits
    // for one to hand out its next batch.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const seconds = (performance.now() - started) / 1000;
  const common: Common = {
    dataset: dataset.name,
    samples: classify ? classTally.samples : errorTally.samples,
    backend: tf.getBackend(),
    dtype: 'float32',
    seconds,
    samplesPerSecond: dataset.count / seconds,
    preprocessing: dataset.preprocessing,
    notices: dataset.notices,
  };
  if (!classify)
    return {
      ...common,
      task: reconstruction ? 'reconstruction' : 'regression',
      mse: errorTally.mse,
    };
  return {
    ...common,
    task: 'classification',
    accuracy: classTally.accuracy,
    classes,
    ...(dataset.source.classNames ? { classNames: dataset.source.classNames } : {}),
    confusion: classTally.confusion,
    perClassAccuracy: classTally.perClassAccuracy(),
  };
}
