import type * as tf from '@tensorflow/tfjs';
import { calibrate, type Calibration } from './calibrate';
import { cluster, type ClusterRecord } from './cluster';
import { CompressError } from './errors';
import { equalizeFloatBatchNorms } from './equalize';
import { foldBatchNorms, foldInputRescaling, fuseActivations } from './fold';
import { cloneGraph, type LayerGraph } from './graph';
import { resolvePolicies, type PolicyDecision } from './policy';
import { reestimateBatchNorms } from './bn-reestimate';
import { applyMasks, prune, type PruneRecord } from './prune';
import { quantizeGraph, type QuantizedModel } from './quantize';
import {
  checkRecipeAgainstGraph,
  type ClusterStep,
  type FineTuneConfig,
  type QuantizeStep,
  type Recipe,
} from './recipe';
import { layerFilter } from './select';
import { allFloat, layerErrors, type LayerError } from './simulate';
import { fineTuneStage, type FineTuneStageInput } from './finetune/stage';
import { describeFineTuneProgress, type FineTuneOutcome } from './finetune/run';

/** The stages of a compression run, in the order they happen (progress bars go by it). */
export const COMPRESS_STAGES = [
  'check',
  'fold',
  'prune',
  'cluster',
  'fineTune',
  'calibrate',
  'quantize',
  'analyse',
  'autoExclude',
  'export',
  'evaluate',
  'islands',
] as const;

export type CompressStage = (typeof COMPRESS_STAGES)[number];

/**
 * Where a stage's progress puts the whole run, for one bar over all stages: each stage is an
 * equal share, evaluation (the slowest) two, and a recipe's fine-tuning, slower than
 * everything else together, six.
 */
export function overallFraction(stage: CompressStage, fraction: number, fineTunes: boolean): number {
  const weights: number[] = COMPRESS_STAGES.map((s) =>
    s === 'fineTune' ? (fineTunes ? 6 : 0) : s === 'evaluate' ? 2 : 1,
  );
  const total = weights.reduce((a, b) => a + b, 0);
  const index = COMPRESS_STAGES.indexOf(stage);
  const before = weights.slice(0, index).reduce((a, b) => a + b, 0);
  return Math.min(1, (before + weights[index]! * fraction) / total);
}

/** What long steps report, for the job system to forward and the CLI to draw. */
export interface CompressProgress {
  stage: CompressStage;
  /** 0..1 within the stage. */
  fraction: number;
  message?: string;
}

export interface CompressOptions {
  recipe: Recipe;
  /** Representative samples [N, ...inputShape] of raw model input; the first calibration.samples are used. */
  calibration?: tf.Tensor;
  /** Scores the simulated int8 model for autoExclude: higher is better (accuracy). */
  score?: (model: QuantizedModel, subset: number) => number;
  onProgress?: (p: CompressProgress) => void;
  /**
   * Activation ranges by node name that calibration takes as they are instead of measuring
   * them (the moving averages of quantization-aware training); other tensors are calibrated.
   */
  activationRanges?: ReadonlyMap<string, { min: number; max: number }>;
}

export interface CompressResult {
  /** The lowered graph before any step, for float reference and reports. */
  original: LayerGraph;
  /** Pruned, clustered and folded float graph. */
  graph: LayerGraph;
  policies: Map<string, PolicyDecision>;
  pruned: PruneRecord[];
  clustered: ClusterRecord[];
  folded: string[];
  fused: string[];
  /** Float BatchNormalizations whose int8 producer's channels were equalized. */
  equalized: string[];
  quantized?: QuantizedModel;
  /**
   * The activation ranges `quantized` was built with; it does not depend on the policies, so
   * a variant with other layers in float or int8 is quantized against the same ranges.
   */
  calibration?: Calibration;
  layerErrors?: Map<string, LayerError>;
  outputErrors?: Map<string, LayerError>;
  autoExcluded: { layer: string; reason: string }[];
  /** BatchNormalization layers whose statistics were refreshed after pruning or clustering. */
  reestimated: string[];
  warnings: string[];
  /** Seconds per stage; `reestimate` is the BatchNormalization refresh inside calibration. */
  timings: Partial<Record<CompressStage | 'reestimate', number>>;
  /** What the recipe's fineTune step did, when the run had one (`compressAsync`). */
  fineTuned?: FineTuneRecord;
}

export interface FineTuneRecord {
  config: FineTuneConfig;
  outcome: FineTuneOutcome;
  /** Tensors quantized with the ranges learned in training instead of calibrated ones. */
  learnedRanges: string[];
  /** The same recipe quantized without fine-tuning, when asked for (`baseline`). */
  baseline?: CompressResult;
  seconds: number;
}

export interface CompressAsyncOptions extends CompressOptions {
  /**
   * What the recipe's fineTune step trains: the float model the graph was lowered from (it
   * ends holding the fine-tuned weights) and labelled data. Without it a fineTune step is
   * skipped with a warning, as `compress` does.
   */
  fineTune?: FineTuneStageInput & {
    /** Also quantize the graph as it stands before fine-tuning, to compare against. */
    baseline?: boolean;
  };
}

function timed<T>(
  timings: CompressResult['timings'],
  stage: CompressStage | 'reestimate',
  fn: () => T,
): T {
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    timings[stage] = (timings[stage] ?? 0) + (performance.now() - t0) / 1000;
  }
}

/** A recipe's quantize step, checked to have the calibration samples it needs. */
function quantizeStepOf(options: CompressOptions): QuantizeStep | undefined {
  const { recipe } = options;
  const q = recipe.steps.find((s) => s.step === 'quantize') as QuantizeStep | undefined;
  if (q && !options.calibration) {
    throw new CompressError(
      'CALIBRATION_MISSING',
      `recipe "${recipe.name}" quantizes but no calibration samples were given`,
      {
        hint: 'pass representative data (--calib-data, or --data whose first samples are used)',
      },
    );
  }
  return q;
}

/**
 * Folds what the quantize policy folds and fuses activations. Equalization of float
 * BatchNormalizations runs at most once per run: a graph coming back from fine-tuning was
 * equalized before pruning, and a second pass would scale clustered columns apart.
 */
function foldGraph(
  graph: LayerGraph,
  policies: Map<string, PolicyDecision>,
  recipe: Recipe,
  q: QuantizeStep | undefined,
  equalize: boolean,
): Pick<CompressResult, 'folded' | 'fused' | 'equalized'> {
  const folded: string[] = [];
  const fused: string[] = [];
  const equalized: string[] = [];
  folded.push(...foldBatchNorms(graph, policies));
  if (equalize && q?.equalizeFloatBatchNorm) {
    const perLayer = recipe.steps
      .filter((s) => s.step === 'cluster' && s.granularity === 'per-layer')
      .map((s) => layerFilter((s as ClusterStep).include, (s as ClusterStep).exclude));
    equalized.push(
      ...equalizeFloatBatchNorms(graph, policies, (n) => perLayer.some((chosen) => chosen(n))),
    );
  }
  const r = foldInputRescaling(graph, policies);
  if (r) folded.push(r.name);
  fused.push(...fuseActivations(graph, policies));
  return { folded, fused, equalized };
}

/**
 * The weight stages: checks the recipe against the model, folds what the quantize policy
 * folds (before pruning and clustering, so their guarantees hold on the exported weights),
 * prunes and clusters. The result holds the float graph, not yet quantized.
 */
export function prepareGraph(
  input: LayerGraph,
  options: CompressOptions,
  available: { fineTune?: boolean } = {},
): CompressResult {
  const { recipe } = options;
  const progress = options.onProgress ?? (() => {});
  const timings: CompressResult['timings'] = {};
  const graph = cloneGraph(input);
  const { warnings } = timed(timings, 'check', () =>
    checkRecipeAgainstGraph(recipe, graph, available),
  );
  progress({ stage: 'check', fraction: 1 });
  const q = quantizeStepOf(options);

  const policies = q ? resolvePolicies(graph, q) : new Map<string, PolicyDecision>();
  const { folded, fused, equalized } = timed(timings, 'fold', () =>
    foldGraph(graph, policies, recipe, q, true),
  );
  progress({ stage: 'fold', fraction: 1 });

  const pruned: PruneRecord[] = [];
  const clustered: ClusterRecord[] = [];
  // Data-aware prune and cluster measure each layer against its weights as they are before
  // the first of them runs; recipes without either never copy the weights.
  let reference: LayerGraph | undefined;
  const stepData = (count: number) => {
    const c = options.calibration;
    reference ??= cloneGraph(graph);
    return { reference, samples: c?.slice(0, Math.min(count, c.shape[0])) };
  };
  for (const step of recipe.steps) {
    if (step.step === 'prune') {
      const data = stepData(step.samples);
      pruned.push(...timed(timings, 'prune', () => prune(graph, step, data)));
      data.samples?.dispose();
    }
    if (step.step === 'cluster') {
      const data = stepData(step.samples);
      clustered.push(...timed(timings, 'cluster', () => cluster(graph, step, data)));
      data.samples?.dispose();
    }
    applyMasks(graph);
    if (step.step !== 'quantize' && step.step !== 'fineTune')
      progress({ stage: step.step, fraction: 1 });
  }

  return {
    original: input,
    graph,
    policies,
    pruned,
    clustered,
    folded,
    fused,
    equalized,
    autoExcluded: [],
    reestimated: [],
    warnings,
    timings,
  };
}

/**
 * Refreshes the statistics of BatchNormalizations left in a pruned or clustered graph from
 * the calibration samples (part of calibration's share of the progress bar).
 */
export function refreshBatchNorms(result: CompressResult, options: CompressOptions): void {
  const q = quantizeStepOf(options);
  const { graph } = result;
  const compressed = result.pruned.length > 0 || result.clustered.length > 0;
  if (!q?.reestimateBatchNorm || !compressed || !graph.nodes.some((n) => n.op === 'batch_norm'))
    return;
  const bnSamples = options.calibration!.slice(
    0,
    Math.min(q.calibration.samples, options.calibration!.shape[0]),
  );
  result.reestimated = timed(result.timings, 'reestimate', () =>
    reestimateBatchNorms(graph, bnSamples),
  );
  bnSamples.dispose();
  options.onProgress?.({ stage: 'calibrate', fraction: 0, message: 'batch-norm statistics' });
}

/**
 * Calibrates, quantizes and analyses the float graph of `result` (changing `result`), and,
 * when the quantize step asks for it, reverts layers to float until the accuracy budget holds.
 * Ranges in `options.activationRanges` are taken as they are instead of calibrated.
 */
export function finishQuantize(result: CompressResult, options: CompressOptions): CompressResult {
  const q = quantizeStepOf(options);
  if (!q) return result;
  const progress = options.onProgress ?? (() => {});
  const { graph, policies, timings, warnings } = result;
  const samples = options.calibration!.slice(
    0,
    Math.min(q.calibration.samples, options.calibration!.shape[0]),
  );
  const calibration = timed(timings, 'calibrate', () =>
    calibrate(graph, samples, q, undefined, options.activationRanges),
  );
  progress({ stage: 'calibrate', fraction: 1 });
  let quantized = timed(timings, 'quantize', () => quantizeGraph(graph, policies, calibration, q));
  progress({ stage: 'quantize', fraction: 1 });
  let errors = timed(timings, 'analyse', () => layerErrors(quantized, samples));
  progress({ stage: 'analyse', fraction: 1 });

  if (q.autoExclude) {
    if (!options.score) {
      throw new CompressError(
        'AUTO_EXCLUDE_NO_DATA',
        'autoExclude needs labelled evaluation data to measure the accuracy drop',
        {
          hint: 'pass --data with labels, or remove autoExclude from the quantize step',
        },
      );
    }
    const budget = q.autoExclude;
    const score = options.score;
    timed(timings, 'autoExclude', () => {
      const floatScore = score(allFloat(quantized), budget.subset);
      // Most damage first: the layers whose own rounding error is largest in output steps.
      const ranked = [...errors.layers].sort((a, b) => b[1].rmseOverScale - a[1].rmseOverScale);
      let current = score(quantized, budget.subset);
      for (const [rank, [name, err]] of ranked.entries()) {
        if (floatScore - current <= budget.maxAccuracyDrop) break;
        policies.set(name, {
          policy: 'float',
          reason: `autoExclude: rank ${rank + 1} by own rounding error (RMSE ${err.rmseOverScale.toFixed(2)} output steps); the score was ${(floatScore - current).toPrecision(3)} under float, budget ${budget.maxAccuracyDrop}`,
        });
        result.autoExcluded.push({ layer: name, reason: policies.get(name)!.reason });
        quantized = quantizeGraph(graph, policies, calibration, q);
        current = score(quantized, budget.subset);
        progress({
          stage: 'autoExclude',
          fraction: result.autoExcluded.length / ranked.length,
          message: `${name} reverted to float`,
        });
      }
      if (floatScore - current > budget.maxAccuracyDrop) {
        warnings.push(
          `autoExclude: the drop is ${((floatScore - current) * 100).toFixed(2)} points with every ranked layer in float, above the budget of ${(budget.maxAccuracyDrop * 100).toFixed(2)}`,
        );
      }
    });
    if (result.autoExcluded.length) errors = layerErrors(quantized, samples);
  }
  samples.dispose();
  result.quantized = quantized;
  result.calibration = calibration;
  result.layerErrors = errors.layers;
  result.outputErrors = errors.outputs;
  return result;
}

/**
 * Runs a recipe on a lowered graph: the weight stages, a BatchNormalization refresh, then
 * calibration and quantization. A fineTune step needs `compressAsync`; here it is skipped
 * with a warning.
 */
export function compress(input: LayerGraph, options: CompressOptions): CompressResult {
  const result = prepareGraph(input, options);
  if (!quantizeStepOf(options)) return result;
  refreshBatchNorms(result, options);
  return finishQuantize(result, options);
}

/**
 * `compress` with the recipe's fineTune step run where it belongs: after the weight stages
 * (and the BatchNormalization refresh they call for), before calibration, which then takes
 * the activation ranges training learned. Fine-tuning keeps masks, clusters and policies;
 * the graph comes back lowered from the trained model and is folded again, without a second
 * equalization.
 */
export async function compressAsync(
  input: LayerGraph,
  options: CompressAsyncOptions,
): Promise<CompressResult> {
  const config = options.recipe.steps.find((s) => s.step === 'fineTune');
  if (!config || !options.fineTune) return compress(input, options);
  const { baseline, ...stageInput } = options.fineTune;
  const result = prepareGraph(input, options, { fineTune: true });
  const q = quantizeStepOf(options);
  // Its progress belongs to calibration, which on one bar comes after fine-tuning.
  if (q) refreshBatchNorms(result, { ...options, onProgress: undefined });
  // Quantized for comparison only: it reports no progress and leaves the run's policies alone.
  const before =
    q && baseline
      ? finishQuantize(baselineOf(result), { ...options, onProgress: undefined })
      : undefined;

  const t0 = performance.now();
  const tuned = await fineTuneStage(result, config, {
    ...stageInput,
    quantize: q,
    onProgress: (p) => {
      options.onProgress?.({
        stage: 'fineTune',
        fraction: p.fraction,
        message: describeFineTuneProgress(p),
      });
      stageInput.onProgress?.(p);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  result.timings.fineTune = seconds;

  const graph = tuned.graph;
  const refolded = timed(result.timings, 'fold', () =>
    foldGraph(graph, result.policies, options.recipe, q, false),
  );
  result.graph = graph;
  result.folded = refolded.folded;
  result.fused = refolded.fused;
  // Training mirrors the exporter's tensor naming; a name it has not is a range that went unused.
  const tensors = new Set(graph.nodes.map((n) => n.name));
  const learned = new Map(Object.entries(tuned.outcome.activationRanges));
  const unused = [...learned.keys()].filter((name) => !tensors.has(name));
  if (unused.length) {
    result.warnings.push(
      `activation ranges learned in training for ${unused.join(', ')} match no tensor of the exported graph; those tensors were calibrated`,
    );
  }
  finishQuantize(result, { ...options, activationRanges: learned });
  result.fineTuned = {
    config,
    outcome: tuned.outcome,
    learnedRanges: [...learned.keys()].filter((name) => tensors.has(name)),
    baseline: before,
    seconds,
  };
  return result;
}

/** A copy of a prepared run to quantize on its own: the graph is shared, only read from here on. */
function baselineOf(result: CompressResult): CompressResult {
  return {
    ...result,
    policies: new Map(result.policies),
    autoExcluded: [],
    warnings: [...result.warnings],
    timings: {},
  };
}
