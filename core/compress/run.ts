import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { openDataset, type Dataset } from '../data/index';
import { argmaxRows, ClassificationTally, SquaredErrorTally } from '../eval/metrics';
import { toCSource } from '../export/c-source';
import { describeModel } from '../export/model-about';
import { tflmResolverHeader } from '../export/tflm-resolver';
import type { BoardProfile } from '../device/known-boards';
import { doesNotFitError, fitReport } from '../fit/fit-report';
import { loadModel, type ImportedModel } from '../model/index';
import { pairedHistogram } from '../model/histogram';
import { saveKeras } from '../model/keras-writer';
import { CompressError } from './errors';
import { evaluateFloatAndInt8, type FloatHalfParams, type FloatHalfRunning } from './evaluate-int8';
import { exportTflite } from './export-tflite';
import { measureIslandAccuracy } from './island-ablation';
import { checkExportedGuarantees } from './guarantees';
import { writeGraphWeights } from './keras-weights';
import type { LayerGraph } from './graph';
import { lowerKerasModel } from './lower-keras';
import { compress, type CompressProgress, type CompressResult } from './pipeline';
import type { QuantizedModel } from './quantize';
import {
  checkDatasetFits,
  checkRecipeAgainstGraph,
  calibrationSamplesNeeded,
  loadRecipe,
  type QuantizeStep,
  type Recipe,
} from './recipe';
import { layerReports, sizeReport, type CompressReport, type Metric } from './report';
import { beginCompressRun, finishCompressRun } from './record';

export type { CompressReport, Metric } from './report';
import { runSimulated } from './simulate';
import type { Store } from '../store/index';
import type { FloatEvalResult } from '../eval/index';
import { startJobThread } from '../jobs/thread';
import { defaultEvaluationThreads } from '../runtime/index';
import {
  compressFineTuned,
  prepareFineTune,
  type FineTuneSummary,
  type PreparedFineTune,
} from './finetune-step';

export interface CompressJob {
  model: string;
  /** A recipe file or a preset name. */
  recipe: string | Recipe;
  /** Labelled evaluation data (dataset spec). */
  data: string;
  /** Calibration data; the first samples of `data` when absent. */
  calibData?: string;
  /** Multiplies raw samples before they reach the model (for models without a Rescaling layer). */
  inputScale?: number;
  /** Evaluate on at most this many samples of `data`. */
  evalSamples?: number;
  out: string;
  onProgress?: (p: CompressProgress) => void;
  signal?: AbortSignal;
  /** Record the run (figures, per-layer report, files) in this experiment store. */
  store?: Store;
  /** Called as soon as the run's row exists, so a caller can settle it if the job is killed. */
  onRunStarted?: (runId: number) => void;
  /** Judge the fit on this board, and stop before evaluating when the model does not fit. */
  board?: BoardProfile;
  /** Score each float island's ablation on at most this many samples (default ISLAND_SAMPLES). */
  islandSamples?: number;
}

async function readAll(
  dataset: Dataset,
  limit: number,
): Promise<{ x: tf.Tensor; y: Float32Array | Int32Array }> {
  const count = Math.min(limit, dataset.count);
  const size = dataset.sampleShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(count * size);
  const ys: number[] = [];
  for await (const batch of dataset.batches(256)) {
    const take = Math.min(batch.size, count - batch.offset);
    if (take <= 0) break;
    x.set(batch.x.subarray(0, take * size), batch.offset * size);
    const per = batch.y.length / batch.size;
    for (let i = 0; i < take * per; i++) ys.push(batch.y[i]);
  }
  const y = dataset.labelKind === 'class' ? Int32Array.from(ys) : Float32Array.from(ys);
  return { x: tf.tensor(x, [count, ...dataset.sampleShape]), y };
}

function score(
  outputs: Float32Array,
  rows: number,
  labels: Int32Array | Float32Array,
  classify: boolean,
): Metric {
  const cols = outputs.length / rows;
  if (classify) {
    const tally = new ClassificationTally(cols);
    const predicted = argmaxRows(outputs, rows, cols);
    for (let i = 0; i < rows; i++) tally.add(labels[i], predicted[i]);
    return { accuracy: tally.accuracy, samples: rows };
  }
  const tally = new SquaredErrorTally();
  tally.add(outputs, labels, rows);
  return { mse: tally.mse, samples: rows };
}

/** Accuracy of the int8 model as the simulator computes it, for autoExclude's search. */
function simulatedScore(x: tf.Tensor, labels: Int32Array | Float32Array, classify: boolean) {
  return (model: QuantizedModel, subset: number): number => {
    const n = Math.min(subset, x.shape[0]);
    const xs = x.slice(0, n);
    const values = runSimulated(model, xs);
    const out = values.get(model.graph.outputs[0])!.dataSync() as Float32Array;
    for (const t of values.values()) t.dispose();
    xs.dispose();
    const m = score(out, n, labels.subarray(0, n * (labels.length / x.shape[0])), classify);
    return m.accuracy ?? -(m.mse ?? 0);
  };
}

/**
 * Samples each float island's ablation is scored on: enough to resolve a 0.05-point
 * difference (the same samples on both sides, so only samples that flip count), while six
 * islands on a 10,000-sample run would otherwise cost six more full evaluations.
 */
export const ISLAND_SAMPLES = 2000;

function preprocessingOf(job: CompressJob): { scale: number; offset: number } | undefined {
  return job.inputScale !== undefined ? { scale: job.inputScale, offset: 0 } : undefined;
}

/**
 * The whole `compress` command as a job: checks the recipe and data against the model before
 * any work, runs the recipe, writes model.tflite, model_data.h/.c, model.keras and
 * report.json to `out`, and measures float and int8 (wasm runtime) accuracy.
 */
export async function runCompressJob(job: CompressJob): Promise<CompressReport> {
  const progress = job.onProgress ?? (() => {});
  const recipe = typeof job.recipe === 'string' ? loadRecipe(job.recipe) : job.recipe;
  const imported = await loadModel(job.model);
  const graph = lowerKerasModel(imported.model);
  const inputShape = imported.inputShape.slice(1);
  const preprocessing = preprocessingOf(job);
  const data = await openDataset(job.data, { inputShape, preprocessing, limit: job.evalSamples });
  const calibData = job.calibData
    ? await openDataset(job.calibData, { inputShape, preprocessing })
    : data;
  const q = recipe.steps.find((s) => s.step === 'quantize') as QuantizeStep | undefined;
  if (!q)
    throw new CompressError('RECIPE_NO_QUANTIZE', `recipe "${recipe.name}" has no quantize step`, {
      hint: 'add `- step: quantize` at the end: the command writes an int8 .tflite',
    });
  // Everything that can be wrong with the request is checked before the first weight moves.
  checkRecipeAgainstGraph(recipe, graph, { fineTune: true });
  checkDatasetFits(
    graph,
    { sampleShape: calibData.sampleShape, count: calibData.count, source: calibData.name },
    recipe,
  );
  checkDatasetFits(
    graph,
    {
      sampleShape: data.sampleShape,
      count: Math.max(data.count, q.calibration.samples),
      source: data.name,
      classes: data.source.classNames?.length,
    },
    recipe,
  );
  const fineTune = await prepareFineTune(recipe, graph, job.data, {
    inputShape,
    classes: Number(imported.outputShape.at(-1)),
    preprocessing,
  });
  job.signal?.throwIfAborted();
  const runId = job.store
    ? await beginCompressRun(job.store, {
        modelPath: imported.path,
        format: imported.format,
        recipe,
        data,
      })
    : undefined;
  if (runId !== undefined) job.onRunStarted?.(runId);
  try {
    const report = await compressAndMeasure({
      job,
      recipe,
      q,
      imported,
      graph,
      data,
      calibData,
      progress,
      fineTune,
    });
    if (!report.guarantees.ok) {
      const bad = report.guarantees.layers.filter((l) => !l.ok).map((l) => l.layer);
      throw new CompressError(
        'GUARANTEE_BROKEN',
        `the exported model breaks a guarantee in layer(s) ${bad.join(', ')} (details in ${report.files.report})`,
        { hint: 'this is a bug in Quantbench: please report it with the recipe and report.json' },
      );
    }
    if (job.store && runId !== undefined) {
      report.runId = runId;
      writeFileSync(report.files.report, JSON.stringify(report, null, 2));
      finishCompressRun(job.store, runId, report);
    }
    return report;
  } catch (error) {
    if (job.store && runId !== undefined && job.store.getRun(runId).status === 'running') {
      if (job.signal?.aborted) job.store.cancelRun(runId);
      else job.store.failRun(runId, error);
    }
    throw error;
  }
}

interface JobContext {
  job: CompressJob;
  recipe: Recipe;
  q: QuantizeStep;
  imported: ImportedModel;
  graph: LayerGraph;
  data: Dataset;
  calibData: Dataset;
  progress: (p: CompressProgress) => void;
  fineTune?: PreparedFineTune;
}

/** Kernel histograms before and after, for the layers the compression steps touched. */
function weightHistograms(
  original: tf.LayersModel,
  result: CompressResult,
): CompressReport['histograms'] {
  const out: CompressReport['histograms'] = {};
  for (const node of result.graph.nodes) {
    if (!node.kernel) continue;
    const layer = original.layers.find((l) => l.name === node.name);
    const kernel = layer?.weights.find((w) =>
      /(^|\/)(kernel|depthwise_kernel)$/.test(w.originalName),
    );
    if (!kernel) continue;
    out[node.name] = pairedHistogram(kernel.read().dataSync() as Float32Array, node.kernel.data);
  }
  return out;
}

async function compressAndMeasure(ctx: JobContext): Promise<CompressReport> {
  // The cores other work leaves, read before the float thread adds its own load: the
  // one-minute load average would count that thread for a minute after it ends, and the
  // evaluate and islands stages would keep to one thread for nothing.
  const threads = defaultEvaluationThreads();
  const floatHalf = startFloatHalf(ctx);
  const stop = () => void floatHalf.stop();
  ctx.job.signal?.addEventListener('abort', stop);
  try {
    return await compressAndMeasureWith(ctx, floatHalf, threads);
  } finally {
    ctx.job.signal?.removeEventListener('abort', stop);
    await floatHalf.stop();
  }
}

/**
 * The float model's evaluation on a thread of its own from the start: it does not depend on
 * the compression, so it takes the second core while the compression stages hold this
 * thread, and the evaluate stage is left with the int8 half (about 4 of the stage's 5 to 6 s
 * on the sample were the float half).
 */
function startFloatHalf(ctx: JobContext): FloatHalfRunning & { stop(): Promise<void> } {
  let latest = 0;
  let watcher: ((fraction: number) => void) | undefined;
  const params: FloatHalfParams = {
    model: ctx.job.model,
    data: ctx.job.data,
    inputShape: ctx.imported.inputShape.slice(1),
    preprocessing: preprocessingOf(ctx.job),
    limit: ctx.job.evalSamples,
  };
  const thread = startJobThread<FloatEvalResult>('floatEval', params, (fraction) => {
    latest = fraction ?? latest;
    watcher?.(latest);
  });
  return {
    result: thread.done,
    watch: (onProgress) => {
      watcher = onProgress;
      onProgress(latest);
    },
    stop: () => thread.stop(),
  };
}

async function compressAndMeasureWith(
  ctx: JobContext,
  floatHalf: FloatHalfRunning,
  threads: number,
): Promise<CompressReport> {
  const { job, recipe, q, imported, graph, data, calibData, progress } = ctx;
  const classify = data.labelKind === 'class';
  const calib = await readAll(calibData, calibrationSamplesNeeded(recipe));
  const needEval = q.autoExclude ? await readAll(data, q.autoExclude.subset) : undefined;
  const scorer = needEval && simulatedScore(needEval.x, needEval.y, classify);
  let result: CompressResult;
  let fineTuneSummary: FineTuneSummary | undefined;
  if (ctx.fineTune) {
    const tuned = await compressFineTuned(imported.model, graph, recipe, ctx.fineTune, calib.x, {
      signal: job.signal,
      onProgress: progress,
      score: scorer,
    });
    result = tuned.result;
    fineTuneSummary = tuned.summary;
  } else {
    result = compress(graph, {
      recipe,
      calibration: calib.x,
      score: scorer,
      onProgress: progress,
    });
  }
  calib.x.dispose();
  needEval?.x.dispose();
  job.signal?.throwIfAborted();

  mkdirSync(job.out, { recursive: true });
  const files = {
    tflite: path.join(job.out, 'model.tflite'),
    header: path.join(job.out, 'model_data.h'),
    source: path.join(job.out, 'model_data.c'),
    resolver: path.join(job.out, 'tflm_resolver.h'),
    keras: path.join(job.out, 'model.keras'),
    report: path.join(job.out, 'report.json'),
  };
  const t0 = performance.now();
  const bytes = exportTflite(result.quantized!, `Quantbench ${recipe.name}`);
  const exported = checkExportedGuarantees(bytes, result.quantized!);
  writeFileSync(files.tflite, bytes);
  writeGraphWeights(imported.model, result.graph);
  await saveKeras(imported.model, files.keras);
  const floatLayers = [...result.policies].filter(([, d]) => d.policy === 'float').map(([n]) => n);
  const fit = await fitReport(bytes, { board: job.board, floatLayers, name: files.tflite });
  if (fit.board && !fit.board.fits) throw doesNotFitError(fit, files.tflite);
  const about = describeModel(bytes, fit.arenaBytes);
  const c = toCSource(bytes, { name: 'g_model', headerName: 'model_data.h', about });
  writeFileSync(files.header, c.header);
  writeFileSync(files.source, c.source);
  writeFileSync(files.resolver, tflmResolverHeader(about.ops, { name: 'g_model' }));
  result.timings.export = (performance.now() - t0) / 1000;
  progress({ stage: 'export', fraction: 1 });

  const t1 = performance.now();
  const classes = classify ? Number(imported.outputShape.at(-1)) : 0;
  // Each island costs one more int8 evaluation: past ISLAND_SAMPLES the islands are held
  // against the run's own int8 export on those first samples, which the evaluate stage
  // scores on their own as it goes (the same bytes on the same samples).
  const islandLimit = job.islandSamples ?? ISLAND_SAMPLES;
  // Runs without islands (plain int8) skip the second look at the data altogether.
  const subset = classify && fit.floatIslands.length > 0 && data.count > islandLimit;
  const { float: floatEval, int8: scored } = await evaluateFloatAndInt8(
    floatHalf,
    bytes,
    data,
    {
      name: files.tflite,
      classes,
      signal: job.signal,
      threads,
      prefix: subset ? islandLimit : undefined,
      onProgress: (fraction, message) => progress({ stage: 'evaluate', fraction, message }),
    },
  );
  const float: Metric =
    'accuracy' in floatEval
      ? { accuracy: floatEval.accuracy, samples: floatEval.samples }
      : { mse: floatEval.mse, samples: floatEval.samples };
  result.timings.evaluate = (performance.now() - t1) / 1000;
  const int8 = {
    ...scored.metric,
    evaluatedWith: 'runtime (wasm build of the firmware)' as const,
  };

  const t2 = performance.now();
  if (int8.accuracy !== undefined) {
    const islandData = subset
      ? await openDataset(job.data, { inputShape: imported.inputShape.slice(1), preprocessing: preprocessingOf(job), limit: islandLimit })
      : data;
    const islandAccuracy = subset ? scored.prefix!.accuracy! : int8.accuracy;
    fit.floatIslands = await measureIslandAccuracy({
      result,
      step: q,
      recipeName: recipe.name,
      islands: fit.floatIslands,
      accuracy: islandAccuracy,
      data: islandData,
      classes,
      dir: path.join(job.out, 'islands'),
      progress,
      signal: job.signal,
      threads,
    });
  } else {
    const note = `not measured: ${data.name} has regression targets, so there is no accuracy to compare`;
    fit.floatIslands = fit.floatIslands.map((i) => ({ ...i, accuracyNote: note }));
  }
  result.timings.islands = (performance.now() - t2) / 1000;
  progress({ stage: 'islands', fraction: 1 });

  const report: CompressReport = {
    model: imported.path,
    recipe,
    data: data.name,
    calibData: calibData.name,
    float,
    int8,
    outputSqnrDb: Object.fromEntries(
      [...(result.outputErrors ?? new Map())].map(([k, v]) => [k, v.sqnrDb]),
    ),
    sizes: sizeReport(result, bytes),
    fit,
    layers: layerReports(result, exported),
    guarantees: { ok: exported.every((l) => l.ok), layers: exported },
    confusion: scored.confusion
      ? {
          labels: data.source.classNames ?? scored.confusion.map((_, i) => String(i)),
          matrix: scored.confusion,
        }
      : undefined,
    histograms: weightHistograms((await loadModel(job.model)).model, result),
    autoExcluded: result.autoExcluded,
    removedLayers: graph.removed ?? [],
    batchNormReestimated: result.reestimated,
    batchNormEqualized: result.equalized,
    pruned: result.pruned,
    clustered: result.clustered,
    fineTune: fineTuneSummary,
    warnings: [...result.warnings, ...data.notices],
    timings: result.timings as Record<string, number>,
    files,
  };
  writeFileSync(files.report, JSON.stringify(report, null, 2));
  return report;
}
