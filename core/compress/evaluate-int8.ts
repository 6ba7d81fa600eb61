import type * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/index';
import { evaluateFloat, type FloatEvalResult } from '../eval/index';
import { argmaxRows, ClassificationTally, SquaredErrorTally } from '../eval/metrics';
import { BatchRunner, defaultEvaluationThreads } from '../runtime/index';
import type { Metric } from './report';

export interface Int8EvalOptions {
  /** Names the model in runtime errors. */
  name: string;
  /** Number of classes when the data has class labels. */
  classes: number;
  signal?: AbortSignal;
  /** Samples done so far, after each batch. */
  onBatch?: (done: number, total: number) => void;
  /**
   * Run every sample on worker threads (this many; default the idle cores) and hand every
   * batch out at once, so the calling thread stays free: compress evaluates the float model
   * on it meanwhile. Batches are scored in order, so the figures are the same either way.
   */
  workers?: number;
}

export interface Int8Eval {
  metric: Metric;
  /** Per class: null when the labels are regression targets. */
  confusion: number[][] | null;
}

function where(data: Dataset, batch: { offset: number; size: number }): string {
  return `${data.name} samples ${batch.offset}..${batch.offset + batch.size - 1}`;
}

/**
 * Scores an exported .tflite on `data` with the wasm build of the firmware, the runtime the
 * board runs: the run's int8 figure and every float island's ablation go through here, so
 * they are measured the same way on the same samples.
 */
export async function evaluateInt8(
  bytes: Uint8Array,
  data: Dataset,
  options: Int8EvalOptions,
): Promise<Int8Eval> {
  const classify = data.labelKind === 'class';
  // Batches cross into the runtime once each and split over the machine's cores.
  const background = options.workers !== undefined;
  const runner = await BatchRunner.create(bytes, {
    name: options.name,
    ...(background ? { workersOnly: true, threads: options.workers } : {}),
  });
  const classTally = new ClassificationTally(classify ? options.classes : 0);
  const errTally = new SquaredErrorTally();
  const outSize = runner.output.shape.reduce((a, b) => a * b, 1);
  const tally = (out: Float32Array, y: Float32Array | Int32Array, size: number) => {
    if (classify) {
      const predicted = argmaxRows(out, size, outSize);
      for (let i = 0; i < size; i++) classTally.add(y[i], predicted[i]);
    } else {
      errTally.add(out, y.subarray(0, size * outSize), size);
    }
  };
  try {
    if (!background) {
      for await (const batch of data.batches(256)) {
        options.signal?.throwIfAborted();
        const out = await runner.run(batch.x, batch.size, where(data, batch));
        tally(out, batch.y, batch.size);
        options.onBatch?.(batch.offset + batch.size, data.count);
      }
    } else {
      // Workers take batches from their queues while this thread is busy elsewhere; each
      // batch is tallied once those before it are, so sums add up in the same order.
      const done: Array<
        { out: Float32Array; y: Float32Array | Int32Array; size: number } | undefined
      > = [];
      const runs: Promise<void>[] = [];
      let next = 0;
      let samples = 0;
      try {
        for await (const batch of data.batches(256)) {
          options.signal?.throwIfAborted();
          const index = runs.length;
          const y = batch.y.slice();
          const size = batch.size;
          runs.push(
            runner.run(batch.x, size, where(data, batch)).then((out) => {
              done[index] = { out, y, size };
              for (let d = done[next]; d; d = done[next]) {
                tally(d.out, d.y, d.size);
                done[next++] = undefined;
                samples += d.size;
                options.onBatch?.(samples, data.count);
              }
            }),
          );
        }
      } catch (error) {
        // Closing the runner rejects the batches still out; nobody waits for them now.
        for (const r of runs) r.catch(() => {});
        throw error;
      }
      await Promise.all(runs);
    }
  } finally {
    await runner.close();
  }
  return classify
    ? {
        metric: { accuracy: classTally.accuracy, samples: classTally.samples },
        confusion: classTally.confusion,
      }
    : { metric: { mse: errTally.mse, samples: errTally.samples }, confusion: null };
}

export interface StageOptions {
  name: string;
  classes: number;
  signal?: AbortSignal;
  /** Both halves together, 0..1. */
  onProgress?: (fraction: number, message: string) => void;
  /** Worker threads for the int8 half (default: the idle cores). */
  workers?: number;
}

/**
 * compress's evaluate stage: the float model with tfjs on this thread and the int8 export on
 * worker threads (one per idle core) at the same time; once the float half is done the
 * workers have the cores to themselves. The figures are those of running the two one after
 * the other.
 */
export async function evaluateFloatAndInt8(
  model: tf.LayersModel,
  bytes: Uint8Array,
  data: Dataset,
  options: StageOptions,
): Promise<{ float: FloatEvalResult; int8: Int8Eval }> {
  // The two halves share one progress bar: each counts for half of it.
  const halves = { float: 0, int8: 0 };
  const report = (half: 'float' | 'int8', done: number, total: number) => {
    halves[half] = done / total;
    options.onProgress?.(
      0.5 * (halves.float + halves.int8),
      halves.float < 1 ? 'float and int8' : 'int8',
    );
  };
  const int8 = evaluateInt8(bytes, data, {
    name: options.name,
    classes: options.classes,
    signal: options.signal,
    workers: options.workers ?? defaultEvaluationThreads(),
    onBatch: (done, total) => report('int8', done, total),
  });
  let float: FloatEvalResult;
  try {
    float = await evaluateFloat(model, data, {
      onProgress: (p) => report('float', p.done, p.total),
      signal: options.signal,
    });
  } catch (error) {
    // The batches already handed out finish on their own; the error need not wait for them.
    int8.catch(() => {});
    throw error;
  }
  return { float, int8: await int8 };
}
