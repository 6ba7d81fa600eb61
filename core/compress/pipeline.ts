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
  type FineTuneStep,
  type QuantizeStep,
  type Recipe,
} from './recipe';
import { layerFilter } from './select';
import { allFloat, layerErrors, type LayerError } from './simulate';

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
   * Runs a recipe's fineTune step on the float graph, where it stands in the recipe (after
   * prune or cluster). It must keep masks and cluster assignments; the pipeline re-applies the
   * masks after it. Without a hook, fineTune steps are skipped with a warning.
   */
  fineTune?: (graph: LayerGraph, step: FineTuneStep) => void;
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

/**
 * Runs a recipe on a lowered graph: checks it against the model first, folds what the
 * quantize policy folds (before pruning and clustering, so their guarantees hold on the
 * exported weights), prunes, clusters, calibrates and quantizes.
 */
export function compress(input: LayerGraph, options: CompressOptions): CompressResult {
  const { recipe } = options;
  const progress = options.onProgress ?? (() => {});
  const timings: CompressResult['timings'] = {};
  const graph = cloneGraph(input);
  const { warnings } = timed(timings, 'check', () =>
    checkRecipeAgainstGraph(recipe, graph, { fineTune: options.fineTune !== undefined }),
  );
  progress({ stage: 'check', fraction: 1 });
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

  const policies = q ? resolvePolicies(graph, q) : new Map<string, PolicyDecision>();
  const folded: string[] = [];
  const fused: string[] = [];
  const equalized: string[] = [];
  timed(timings, 'fold', () => {
    folded.push(...foldBatchNorms(graph, policies));
    if (q?.equalizeFloatBatchNorm) {
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
  });
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
    if (step.step === 'fineTune' && options.fineTune) options.fineTune(graph, step);
    applyMasks(graph);
    if (step.step !== 'quantize' && step.step !== 'fineTune')
      progress({ stage: step.step, fraction: 1 });
  }

  const result: CompressResult = {
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
  if (!q) return result;

  const compressed = pruned.length > 0 || clustered.length > 0;
  if (q.reestimateBatchNorm && compressed && graph.nodes.some((n) => n.op === 'batch_norm')) {
    const bnSamples = options.calibration!.slice(
      0,
      Math.min(q.calibration.samples, options.calibration!.shape[0]),
    );
    result.reestimated = timed(timings, 'reestimate', () => reestimateBatchNorms(graph, bnSamples));
    bnSamples.dispose();
    progress({ stage: 'calibrate', fraction: 0, message: 'batch-norm statistics' });
  }
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
