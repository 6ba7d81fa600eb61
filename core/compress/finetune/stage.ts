import type * as tf from '@tensorflow/tfjs';
import type { LayerGraph } from '../graph';
import { writeGraphWeights } from '../keras-weights';
import { lowerKerasModel } from '../lower-keras';
import type { PolicyDecision } from '../policy';
import type { FineTuneConfig, QuantizeStep } from '../recipe';
import { FineTuneError } from './errors';
import { registerFineTuneKernels } from './kernels';
import { fineTune, type FineTuneOutcome, type FineTuneProgress } from './run';
import { stateFromGraph, type CompressionState } from './state';
import type { TrainingData } from './trainer';

/** What the fine-tune stage trains on, beyond the graph the weight stages left. */
export interface FineTuneStageInput {
  /** The float model the graph was lowered from; it ends holding the fine-tuned weights. */
  model: tf.LayersModel;
  train: TrainingData;
  signal?: AbortSignal;
  onProgress?: (p: FineTuneProgress) => void;
  /** Stops after this many optimizer steps in total (benchmarks). */
  maxSteps?: number;
}

/** The part of a compression run the stage reads: the graph after prune and cluster. */
export interface WeightStagesOutput {
  graph: LayerGraph;
  policies: Map<string, PolicyDecision>;
  /** Layers folded into others; fine-tuning trains the Keras layers, so there must be none. */
  folded: string[];
  clustered: { layer: string; k: number }[];
}

export interface FineTuneStageResult {
  /**
   * The fine-tuned float graph, lowered again from the trained model with the masks and
   * clusters put back; it is not folded or fused yet.
   */
  graph: LayerGraph;
  outcome: FineTuneOutcome;
}

/**
 * The fine-tune stage: writes the pruned and clustered weights into the model, trains it with
 * masks, clusters and (when the recipe quantizes) fake quantization held, and hands back the
 * fine-tuned graph and the activation ranges learned (in `outcome`).
 */
export async function fineTuneStage(
  prepared: WeightStagesOutput,
  config: FineTuneConfig,
  input: FineTuneStageInput & { quantize?: QuantizeStep },
): Promise<FineTuneStageResult> {
  if (prepared.folded.length) {
    throw new FineTuneError(
      'FINETUNE_FOLD',
      `${prepared.folded.join(', ')} were folded before fine-tuning`,
      {
        hint: 'add a quantize policy rule keeping BatchNormalization and Rescaling float (as the *-keep-rescaling-float presets do)',
      },
    );
  }
  registerFineTuneKernels();
  const { model, train, quantize: q } = input;
  writeGraphWeights(model, prepared.graph);
  const state = stateFromGraph(prepared.graph, prepared.policies);
  const outcome = await fineTune(model, train, state, config, {
    quantize: q !== undefined,
    weights: q?.weights,
    signal: input.signal,
    onProgress: input.onProgress,
    maxSteps: input.maxSteps,
  });
  const graph = lowerKerasModel(model);
  applyState(graph, outcome.state, new Map(prepared.clustered.map((c) => [c.layer, c.k])));
  return { graph, outcome };
}

/** Puts fine-tuned masks and centroids on a freshly lowered graph, as the compress steps left them. */
export function applyState(
  graph: LayerGraph,
  state: CompressionState,
  ks: Map<string, number>,
): void {
  for (const node of graph.nodes) {
    const s = state[node.name];
    if (!s || !node.kernel) continue;
    if (node.folded?.length) {
      throw new FineTuneError(
        'FINETUNE_FOLD',
        `layer "${node.name}" had ${node.folded.join(', ')} folded into it before fine-tuning`,
        {
          hint: 'keep BatchNormalization float (policy float) in recipes that fine-tune; folding after fine-tuning is not supported yet',
        },
      );
    }
    if (s.mask) node.mask = s.mask.slice();
    if (s.cluster) {
      const hasZero = s.cluster.assignments.some((a) => a < 0);
      node.clusters = {
        k: ks.get(node.name) ?? s.cluster.centroids[0]!.length + (hasZero ? 1 : 0),
        granularity: s.cluster.granularity,
        centroids: s.cluster.centroids.map((c) =>
          hasZero ? Float32Array.from([0, ...c]).sort() : c.slice(),
        ),
        preserveSparsity: hasZero,
      };
    }
  }
}
