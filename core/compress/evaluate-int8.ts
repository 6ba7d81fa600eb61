import type * as tf from '@tensorflow/tfjs';
import type { Dataset, OpenDatasetOptions } from '../data/index';
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
   * Run the batches on worker threads (this many), each worker taking the next batch as it
   * finishes one, so the calling thread stays free: compress evaluates the float model on it
   * meanwhile. Batches are scored in order, so the figures are the same either way.
   */
  workers?: number;
  /** Without `workers`: threads for the batches, this one included (default: the idle cores). */
  threads?: number;
  /**
   * With `workers`: once this settles, the calling thread takes batches too (compress's float
   * half is done by then and the thread would otherwise wait).
   */
  joinWhen?: Promise<unknown>;
  /**
   * Also score the first this-many samples on their own (`prefix`): the islands stage holds
   * its ablations against the run's export on those samples, the same bytes on the same
   * samples, so it need not run them again.
   */
  prefix?: number;
}

export interface Int8Eval {
  metric: Metric;
  /** Per class: null when the labels are regression targets. */
  confusion: number[][] | null;
  /** The first options.prefix samples' accuracy, for class labels when asked. */
  prefix?: Metric;
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
    ...(background
      ? { workersOnly: true, threads: Math.max(1, options.workers!) }
      : options.threads !== undefined
        ? { threads: options.threads }
        : {}),
  });
  const classTally = new ClassificationTally(classify ? options.classes : 0);
  const errTally = new SquaredErrorTally();
  const prefix = classify && options.prefix !== undefined ? options.prefix : undefined;
  const prefixTally = new ClassificationTally(prefix !== undefined ? options.classes : 0);
  const outSize = runner.output.shape.reduce((a, b) => a * b, 1);
  const tally = (out: Float32Array, y: Float32Array | Int32Array, size: number, offset: number) => {
    if (classify) {
      const predicted = argmaxRows(out, size, outSize);
      for (let i = 0; i < size; i++) {
        classTally.add(y[i], predicted[i]);
        if (prefix !== undefined && offset + i < prefix) prefixTally.add(y[i], predicted[i]);
      }
    } else {
      errTally.add(out, y.subarray(0, size * outSize), size);
    }
  };
  try {
    if (!background) {
      for await (const batch of data.batches(256)) {
        options.signal?.throwIfAborted();
        const out = await runner.run(batch.x, batch.size, where(data, batch));
        tally(out, batch.y, batch.size, batch.offset);
        options.onBatch?.(batch.offset + batch.size, data.count);
      }
    } else {
      await pullBatches(runner, data, options, tally);
    }
  } finally {
    await runner.close();
  }
  const prefixMetric =
    prefix !== undefined
      ? { prefix: { accuracy: prefixTally.accuracy, samples: prefixTally.samples } }
      : {};
  return classify
    ? {
        metric: { accuracy: classTally.accuracy, samples: classTally.samples },
        confusion: classTally.confusion,
        ...prefixMetric,
      }
    : { metric: { mse: errTally.mse, samples: errTally.samples }, confusion: null };
}

/**
 * Every worker takes the next batch as soon as it is free (three queued each, so none waits
 * while this thread is busy between turns of its event loop), and once options.joinWhen
 * settles the calling thread takes batches too. Each batch is tallied once those before it
 * are, so sums add up in the same order.
 */
async function pullBatches(
  runner: BatchRunner,
  data: Dataset,
  options: Int8EvalOptions,
  tally: (out: Float32Array, y: Float32Array | Int32Array, size: number, offset: number) => void,
): Promise<void> {
  const source = data.batches(256)[Symbol.asyncIterator]();
  const done: Array<
    { out: Float32Array; y: Float32Array | Int32Array; size: number; offset: number } | undefined
  > = [];
  let next = 0;
  let taken = 0;
  let samples = 0;
  let failed: unknown = undefined;
  const take = async () => {
    if (failed !== undefined) return undefined;
    options.signal?.throwIfAborted();
    const r = await source.next();
    if (r.done) return undefined;
    return { ...r.value, index: taken++ };
  };
  const finish = (
    index: number,
    entry: { out: Float32Array; y: Float32Array | Int32Array; size: number; offset: number },
  ) => {
    done[index] = entry;
    for (let d = done[next]; d; d = done[next]) {
      tally(d.out, d.y, d.size, d.offset);
      done[next++] = undefined;
      samples += d.size;
      options.onBatch?.(samples, data.count);
    }
  };
  const lane = async (worker: number | 'local') => {
    try {
      for (let batch = await take(); batch; batch = await take()) {
        const out = await runner.runOn(worker, batch.x, batch.size, where(data, batch));
        finish(batch.index, { out, y: batch.y, size: batch.size, offset: batch.offset });
        // The calling thread runs its batches synchronously: let the workers' replies in.
        if (worker === 'local') await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      // The other lanes take no more batches.
      failed ??= error;
      throw error;
    }
  };
  const lanes: Promise<void>[] = [];
  for (let w = 0; w < runner.workerCount; w++) lanes.push(lane(w), lane(w), lane(w));
  if (options.joinWhen)
    lanes.push(
      options.joinWhen.then(
        () => lane('local'),
        () => {},
      ),
    );
  const results = await Promise.allSettled(lanes);
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

export interface StageOptions {
  name: string;
  classes: number;
  signal?: AbortSignal;
  /** Both halves together, 0..1. */
  onProgress?: (fraction: number, message: string) => void;
  /** Threads for the stage, this one included (default: the idle cores). */
  threads?: number;
  /** Also score the int8 export's first this-many samples on their own (Int8Eval.prefix). */
  prefix?: number;
}

/** What the float half's thread needs (core/handlers/float-eval-job.ts runs it). */
export interface FloatHalfParams {
  /** The .keras or .h5 file, read afresh (the compression changes its own copy). */
  model: string;
  /** The dataset spec and the options compress opened it with, so the samples are the same. */
  data: string;
  inputShape: OpenDatasetOptions['inputShape'];
  preprocessing?: OpenDatasetOptions['preprocessing'];
  limit?: OpenDatasetOptions['limit'];
}

/**
 * The float half already under way on a thread of its own (compress starts it with the
 * compression: core/handlers/float-eval-job.ts): its result, and its progress from now on.
 */
export interface FloatHalfRunning {
  result: Promise<FloatEvalResult>;
  /** Calls onProgress with the latest fraction at once, then with each new one. */
  watch(onProgress: (fraction: number) => void): void;
}

function isRunning(
  model: tf.LayersModel | (() => Promise<tf.LayersModel>) | FloatHalfRunning,
): model is FloatHalfRunning {
  return typeof model === 'object' && 'watch' in model;
}

/**
 * compress's evaluate stage: the float model with tfjs on this thread and the int8 export on
 * worker threads at the same time, one fewer than the threads the stage has (at least one),
 * each taking the next batch as it finishes one; once the float half is done this thread
 * takes int8 batches too. The int8 workers start before the float model loads (`model` is
 * called once they are on their way). With the float half already running on a thread of
 * its own (FloatHalfRunning), this thread waits for it the same way. The figures are those
 * of running the two one after the other.
 */
export async function evaluateFloatAndInt8(
  model: tf.LayersModel | (() => Promise<tf.LayersModel>) | FloatHalfRunning,
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
  // A failed float half stops the int8 batches not yet started.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let floatDone = () => {};
  const floatFinished = new Promise<void>((resolve) => (floatDone = resolve));
  const threads = options.threads ?? defaultEvaluationThreads();
  const int8 = evaluateInt8(bytes, data, {
    name: options.name,
    classes: options.classes,
    signal,
    workers: Math.max(1, threads - 1),
    joinWhen: floatFinished,
    prefix: options.prefix,
    onBatch: (done, total) => report('int8', done, total),
  });
  let float: FloatEvalResult;
  try {
    if (isRunning(model)) {
      model.watch((fraction) => report('float', fraction, 1));
      float = await model.result;
    } else {
      const floatModel = typeof model === 'function' ? await model() : model;
      float = await evaluateFloat(floatModel, data, {
        onProgress: (p) => report('float', p.done, p.total),
        signal: options.signal,
      });
    }
  } catch (error) {
    stop.abort(error);
    int8.catch(() => {});
    throw error;
  }
  floatDone();
  return { float, int8: await int8 };
}
