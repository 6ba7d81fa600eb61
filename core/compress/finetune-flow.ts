import * as tf from '@tensorflow/tfjs';
import { exportTflite } from './export-tflite';
import type { LayerGraph } from './graph';
import { checkExportedGuarantees, type LayerGuarantee } from './guarantees';
import { writeGraphWeights } from './keras-weights';
import { lowerKerasModel } from './lower-keras';
import { compress, type CompressOptions, type CompressResult } from './pipeline';
import type { QuantizeStep, Recipe } from './recipe';
import { Runtime, decodeOutput, encodeInput } from '../runtime/index';
import { FineTuneError } from './finetune/errors';
import type { FineTuneConfig } from './recipe';
import { fineTune, type FineTuneOutcome, type FineTuneRunOptions } from './finetune/run';
import { stateFromGraph, type CompressionState } from './finetune/state';
import type { TrainingData } from './finetune/trainer';

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

export interface FlowResult {
  /** The recipe without fine-tuning, as the compression engine ran it. */
  oneShot: CompressResult;
  fineTuned: FineTuneOutcome;
  /** Quantize step again on the fine-tuned weights, with the masks and clusters kept. */
  final: CompressResult;
  tflite: Uint8Array;
  guarantees: LayerGuarantee[];
  /** Tensors whose export ranges are the ones learned in training, not calibrated. */
  learnedRanges: string[];
}

export interface FlowOptions extends Omit<FineTuneRunOptions, 'quantize' | 'weights'> {
  /** Passed to both compression runs (progress, autoExclude's scorer). */
  compress?: Pick<CompressOptions, 'onProgress' | 'score'>;
}

/**
 * prune → cluster → fine-tune (sparsity-, cluster- and, when the recipe quantizes,
 * quantization-aware) → quantize → export: the order the recipe's fineTune step implies.
 * `model` is changed in place and ends holding the fine-tuned float weights.
 */
export async function compressWithFineTune(
  model: tf.LayersModel,
  recipe: Recipe,
  config: FineTuneConfig,
  train: TrainingData,
  calibration: tf.Tensor,
  run: FlowOptions = {},
): Promise<FlowResult> {
  const { compress: compressOptions, ...trainOptions } = run;
  const q = recipe.steps.find((s) => s.step === 'quantize') as QuantizeStep | undefined;
  // One bar that only moves forward: the first run reports up to clustering, the second from
  // calibration on (its own check and fold are instant).
  const report = compressOptions?.onProgress;
  const before = new Set(['check', 'fold', 'prune', 'cluster']);
  const oneShot = compress(lowerKerasModel(model), {
    ...compressOptions,
    onProgress: report && ((p) => before.has(p.stage) && report(p)),
    recipe,
    calibration,
  });
  if (oneShot.folded.length) {
    throw new FineTuneError(
      'FINETUNE_FOLD',
      `recipe "${recipe.name}" folds ${oneShot.folded.join(', ')} before fine-tuning`,
      {
        hint: 'add a quantize policy rule keeping BatchNormalization and Rescaling float (as the *-keep-rescaling-float presets do)',
      },
    );
  }
  writeGraphWeights(model, oneShot.graph);
  const state = stateFromGraph(oneShot.graph, oneShot.policies);
  const fineTuned = await fineTune(model, train, state, config, {
    ...trainOptions,
    quantize: q !== undefined,
    weights: q?.weights,
  });
  const graph = lowerKerasModel(model);
  applyState(graph, fineTuned.state, new Map(oneShot.clustered.map((c) => [c.layer, c.k])));
  const learned = new Map(Object.entries(fineTuned.activationRanges));
  const final = compress(graph, {
    ...compressOptions,
    onProgress: report && ((p) => !before.has(p.stage) && report(p)),
    // The weights already went through equalization once, before pruning and clustering;
    // a second pass would scale clustered columns apart and move the ranges training learned.
    recipe: {
      name: `${recipe.name}+fineTune`,
      steps: q ? [{ ...q, equalizeFloatBatchNorm: false }] : [],
    },
    calibration,
    activationRanges: learned,
  });
  if (!final.quantized) {
    throw new FineTuneError('FINETUNE_RECIPE', `recipe "${recipe.name}" has no quantize step`, {
      hint: 'add a quantize step: the flow exports an int8 .tflite',
    });
  }
  // Training mirrors the exporter's tensor naming; a name it has not is a range that went unused.
  const tensors = new Set(final.graph.nodes.map((n) => n.name));
  const unused = [...learned.keys()].filter((name) => !tensors.has(name));
  if (unused.length) {
    final.warnings.push(
      `activation ranges learned in training for ${unused.join(', ')} match no tensor of the exported graph; those tensors were calibrated`,
    );
  }
  const tflite = exportTflite(final.quantized, `Quantbench ${recipe.name}+fineTune`);
  return {
    oneShot,
    fineTuned,
    final,
    tflite,
    guarantees: checkExportedGuarantees(tflite, final.quantized),
    learnedRanges: [...learned.keys()].filter((name) => tensors.has(name)),
  };
}

/** Top-1 class of each sample (or of `indices`) from an int8 .tflite on the firmware's wasm build. */
export async function int8Predictions(
  tflite: Uint8Array,
  data: TrainingData,
  indices?: ArrayLike<number>,
): Promise<Int32Array> {
  const interpreter = await Runtime.load(tflite, { name: 'fine-tuned model' });
  const per = data.sampleShape.reduce((a, b) => a * b, 1);
  const n = indices ? indices.length : data.count;
  const predicted = new Int32Array(n);
  try {
    for (let k = 0; k < n; k++) {
      const i = indices ? indices[k]! : k;
      interpreter.setInput(
        0,
        encodeInput(data.x.subarray(i * per, (i + 1) * per), interpreter.inputs[0]!, `sample ${i}`),
      );
      interpreter.invoke();
      const out = decodeOutput(interpreter.getOutput(0), interpreter.outputs[0]!);
      let best = 0;
      for (let j = 1; j < out.length; j++) if (out[j]! > out[best]!) best = j;
      predicted[k] = best;
    }
  } finally {
    interpreter.dispose();
  }
  return predicted;
}

/** Top-1 accuracy of an int8 .tflite on the firmware's wasm build. */
export async function int8Accuracy(
  tflite: Uint8Array,
  data: TrainingData,
  indices?: ArrayLike<number>,
): Promise<number> {
  const predicted = await int8Predictions(tflite, data, indices);
  let correct = 0;
  for (let k = 0; k < predicted.length; k++)
    if (predicted[k] === data.y[indices ? indices[k]! : k]) correct++;
  return predicted.length ? correct / predicted.length : 0;
}
