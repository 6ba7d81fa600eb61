import type { Calibration } from './calibrate';
import { bnAffine } from './fold';
import { WEIGHTED_OPS, outputChannels, type GraphNode, type LayerGraph } from './graph';
import type { PolicyDecision } from './policy';
import {
  asymmetricParams,
  quantizeAffine,
  quantizeBias,
  quantizeMultiplier,
  quantizeSymmetric,
  symmetricScale,
  type FixedPointMultiplier,
  type QuantParams,
} from './quant-math';
import type { QuantizeStep } from './recipe';

export type WeightScheme = 'per-channel' | 'per-tensor';

export interface QuantizedWeights {
  q: Int8Array;
  shape: number[];
  /** One scale per output channel, or a single one. */
  scales: Float32Array;
  scheme: WeightScheme;
  /** Why this scheme, when it is not what the recipe asked. */
  schemeReason?: string;
}

export interface CentroidMerge {
  group: number;
  centroids: number[];
  q: number;
}

export interface WeightGuarantees {
  /** Weights that were not zero in float and rounded to 0 in int8. */
  newlyZero: number;
  /** Pruned weights that are not 0 in int8: must be 0, checked, never expected. */
  prunedNonZero: number;
  /** Most distinct int8 values in one clustering group (or in the layer when unclustered). */
  maxDistinctPerGroup: number;
  merges: CentroidMerge[];
}

/** A per-channel constant of an int8 MUL+ADD lowering (unfolded BN, Rescaling). */
export interface QuantizedAffine {
  mul: { q: Int8Array; params: QuantParams };
  add: { q: Int8Array; params: QuantParams };
  /** The tensor between MUL and ADD. */
  mid: QuantParams;
}

export interface QuantizedNode {
  name: string;
  policy: 'int8' | 'float';
  /** Parameters of the node's output tensor wherever it is int8. */
  output: QuantParams;
  weights?: QuantizedWeights;
  bias?: { q: Int32Array; scales: Float32Array };
  /** Per-channel accumulator rescale: input_scale * weight_scale / output_scale. */
  multipliers?: FixedPointMultiplier[];
  affine?: QuantizedAffine;
  guarantees?: WeightGuarantees;
}

export interface QuantizedModel {
  /** The compressed float graph (pruned, clustered, folded) that was quantized. */
  graph: LayerGraph;
  nodes: Map<string, QuantizedNode>;
  policies: Map<string, PolicyDecision>;
  inputType: QuantizeStep['inputType'];
  outputType: QuantizeStep['outputType'];
}

/** Output ranges TFLite fixes for bounded activations. */
function fixedOutputParams(node: GraphNode): QuantParams | undefined {
  if (node.op === 'softmax' || node.activation === 'softmax')
    return { scale: 1 / 256, zeroPoint: -128 };
  if (node.activation === 'sigmoid') return { scale: 1 / 256, zeroPoint: -128 };
  if (node.activation === 'tanh') return { scale: 1 / 128, zeroPoint: 0 };
  return undefined;
}

/** Ops whose int8 kernels require the output to share the input's parameters. */
const SAME_PARAMS = new Set(['max_pool', 'avg_pool', 'flatten', 'reshape', 'zero_pad']);

export function activationParams(
  graph: LayerGraph,
  calibration: Calibration,
): Map<string, QuantParams> {
  const params = new Map<string, QuantParams>();
  for (const node of graph.nodes) {
    const fixed = fixedOutputParams(node);
    if (fixed) params.set(node.name, fixed);
    else if (SAME_PARAMS.has(node.op)) params.set(node.name, params.get(node.inputs[0])!);
    else {
      const r = calibration.ranges.get(node.name) ?? { min: 0, max: 0 };
      params.set(node.name, asymmetricParams(r.min, r.max));
    }
  }
  return params;
}

function chooseScheme(
  node: GraphNode,
  asked: WeightScheme,
): { scheme: WeightScheme; reason?: string } {
  if (node.clusters?.granularity === 'per-layer' && asked === 'per-channel') {
    return {
      scheme: 'per-tensor',
      reason: 'clustered per layer: one scale for the layer keeps at most k int8 values in it',
    };
  }
  if (node.op === 'dense' && asked === 'per-channel') {
    return {
      scheme: 'per-tensor',
      reason: 'FULLY_CONNECTED weights are per-tensor, as the TFLite converter emits them',
    };
  }
  return { scheme: asked };
}

/** Symmetric int8 weights with the guarantees checked on the result. */
export function quantizeWeights(
  node: GraphNode,
  asked: WeightScheme,
): QuantizedWeights & { guarantees: WeightGuarantees } {
  const { data, shape } = node.kernel!;
  const { scheme, reason } = chooseScheme(node, asked);
  const channels = outputChannels(node.kernel!, node.op);
  const maxAbs = new Float64Array(scheme === 'per-channel' ? channels : 1);
  for (let i = 0; i < data.length; i++) {
    const g = scheme === 'per-channel' ? i % channels : 0;
    maxAbs[g] = Math.max(maxAbs[g], Math.abs(data[i]));
  }
  const scales = Float32Array.from(maxAbs, symmetricScale);
  const q = new Int8Array(data.length);
  let newlyZero = 0;
  let prunedNonZero = 0;
  for (let i = 0; i < data.length; i++) {
    q[i] = quantizeSymmetric(data[i], scales[scheme === 'per-channel' ? i % channels : 0]);
    if (q[i] === 0 && data[i] !== 0) newlyZero++;
    if (node.mask && node.mask[i] === 0 && q[i] !== 0) prunedNonZero++;
  }

  const merges: CentroidMerge[] = [];
  const groupOf = (i: number) => (node.clusters?.granularity === 'per-channel' ? i % channels : 0);
  const groups = node.clusters?.granularity === 'per-channel' ? channels : 1;
  const distinct: Set<number>[] = Array.from({ length: groups }, () => new Set());
  for (let i = 0; i < q.length; i++) distinct[groupOf(i)].add(q[i]);
  if (node.clusters) {
    node.clusters.centroids.forEach((cs, g) => {
      // Any channel of the group tells which scale the group's centroids meet.
      const scale = scheme === 'per-channel' ? scales[g % channels] : scales[0];
      const byQ = new Map<number, number[]>();
      for (const c of cs) {
        const qc = quantizeSymmetric(c, scale);
        byQ.set(qc, [...(byQ.get(qc) ?? []), c]);
      }
      for (const [qc, list] of byQ)
        if (list.length > 1) merges.push({ group: g, centroids: list, q: qc });
    });
  }
  return {
    q,
    shape: [...shape],
    scales,
    scheme,
    schemeReason: reason,
    guarantees: {
      newlyZero,
      prunedNonZero,
      maxDistinctPerGroup: Math.max(...distinct.map((s) => s.size)),
      merges,
    },
  };
}

function quantizeChannelAffine(
  values: Float32Array,
  add: Float32Array,
  midParams: QuantParams,
): QuantizedAffine {
  const mulScale = symmetricScale(values.reduce((m, v) => Math.max(m, Math.abs(v)), 0));
  const addMin = Math.min(0, ...add);
  const addMax = Math.max(0, ...add);
  const addParams = asymmetricParams(addMin, addMax);
  return {
    mul: {
      q: Int8Array.from(values, (v) => quantizeSymmetric(v, mulScale)),
      params: { scale: mulScale, zeroPoint: 0 },
    },
    add: { q: Int8Array.from(add, (v) => quantizeAffine(v, addParams)), params: addParams },
    mid: midParams,
  };
}

/**
 * Quantizes the compressed graph under the resolved policies. Weighted int8 layers get
 * symmetric int8 kernels (zero point 0, so a pruned weight is exactly 0) and int32 biases
 * at input_scale * weight_scale; every node output gets asymmetric int8 parameters.
 */
export function quantizeGraph(
  graph: LayerGraph,
  policies: Map<string, PolicyDecision>,
  calibration: Calibration,
  step: QuantizeStep,
): QuantizedModel {
  const params = activationParams(graph, calibration);
  const nodes = new Map<string, QuantizedNode>();
  for (const node of graph.nodes) {
    // A float32 model input stays float until the first int8 op quantizes it.
    const policy =
      node.op === 'input'
        ? step.inputType === 'int8'
          ? 'int8'
          : 'float'
        : policies.get(node.name)?.policy === 'float'
          ? 'float'
          : 'int8';
    const qn: QuantizedNode = { name: node.name, policy, output: params.get(node.name)! };
    if (policy === 'int8' && node.kernel && WEIGHTED_OPS.has(node.op)) {
      const w = quantizeWeights(node, step.weights);
      const { guarantees, ...weights } = w;
      qn.weights = weights;
      qn.guarantees = guarantees;
      const inScale = params.get(node.inputs[0])!.scale;
      const channels = outputChannels(node.kernel, node.op);
      const wScale = (c: number) => w.scales[w.scheme === 'per-channel' ? c : 0];
      const biasScales = Float32Array.from({ length: channels }, (_, c) => inScale * wScale(c));
      const bias = node.bias ?? new Float32Array(channels);
      qn.bias = {
        q: Int32Array.from(bias, (b, c) => quantizeBias(b, inScale, wScale(c))),
        scales: biasScales,
      };
      qn.multipliers = Array.from({ length: w.scales.length }, (_, c) =>
        quantizeMultiplier((inScale * w.scales[c]) / qn.output.scale),
      );
    } else if (policy === 'int8' && (node.op === 'batch_norm' || node.op === 'rescaling')) {
      const r = calibration.ranges.get(`${node.name}/mul`) ?? { min: 0, max: 0 };
      const { mul, add } =
        node.op === 'batch_norm'
          ? bnAffine(node)
          : {
              mul: Float32Array.of(node.attrs.scale!),
              add: Float32Array.of(node.attrs.offset ?? 0),
            };
      // Without an offset the MUL writes the output itself: the exporter emits no ADD.
      const mid = add.every((v) => v === 0) ? qn.output : asymmetricParams(r.min, r.max);
      qn.affine = quantizeChannelAffine(mul, add, mid);
    }
    nodes.set(node.name, qn);
  }
  return { graph, nodes, policies, inputType: step.inputType, outputType: step.outputType };
}
