import { bnAffine } from './fold';
import { WEIGHTED_OPS, nodeByName, type GraphNode, type LayerGraph } from './graph';
import type { PolicyDecision } from './policy';

/** Bounds on one channel's rescaling, so a dead channel cannot blow up its neighbours' range. */
const MAX_RATIO = 64;

/**
 * Equalizes the channels an int8 layer hands to a float BatchNormalization.
 *
 * A float BN after an int8 convolution multiplies each channel of the convolution's int8
 * output by its own gamma/√(var+ε). The output shares one quantization scale, so a channel
 * the BN multiplies by 50 carries 50 times the rounding noise of one it multiplies by 1, and
 * that noise passes into every later layer. Scaling the convolution's output channel c by
 * s_c (its kernel column and bias) and the BN's statistics to match (mean·s, var' with
 * var'+ε = s²(var+ε)) computes exactly the same function in float, keeps the BN a float op
 * with its own parameters, and with s_c ∝ |gamma_c|/√(var_c+ε) gives every channel the same
 * BN multiplier, so the shared scale serves all channels alike.
 *
 * Runs with folding, before prune and cluster: a per-channel factor applied after per-layer
 * clustering would split the clusters.
 */
export function equalizeFloatBatchNorms(
  graph: LayerGraph,
  policies: Map<string, PolicyDecision>,
  /** Layers one codebook will serve: per-channel factors would widen what it must cover. */
  clusteredPerLayer: (node: GraphNode) => boolean = () => false,
): string[] {
  const equalized: string[] = [];
  for (const bn of graph.nodes) {
    if (bn.op !== 'batch_norm' || policies.get(bn.name)?.policy !== 'float') continue;
    const producer = nodeByName(graph, bn.inputs[0]!);
    if (
      !producer?.kernel ||
      !WEIGHTED_OPS.has(producer.op) ||
      clusteredPerLayer(producer) ||
      producer.activation !== 'linear' ||
      (policies.get(producer.name)?.policy ?? 'int8') !== 'int8' ||
      graph.outputs.includes(producer.name) ||
      graph.nodes.filter((n) => n.inputs.includes(producer.name)).length !== 1
    )
      continue;
    const { mul } = bnAffine(bn);
    const live = [...mul].map(Math.abs).filter((m) => m > 0);
    if (live.length === 0) continue;
    const reference = Math.exp(live.reduce((s, m) => s + Math.log(m), 0) / live.length);
    const { mean, variance, epsilon } = bn.bn!;
    const channels = mul.length;
    const scale = new Float64Array(channels);
    for (let c = 0; c < channels; c++) {
      const m = Math.abs(mul[c]!);
      let s = m > 0 ? Math.min(MAX_RATIO, Math.max(1 / MAX_RATIO, m / reference)) : 1;
      // var' = s²(var+ε) − ε must stay non-negative.
      s = Math.max(s, Math.sqrt(epsilon / (variance[c]! + epsilon)));
      scale[c] = s;
    }
    const k = producer.kernel.data;
    for (let i = 0; i < k.length; i++) k[i] = k[i]! * scale[i % channels]!;
    if (producer.bias)
      for (let c = 0; c < channels; c++) producer.bias[c] = producer.bias[c]! * scale[c]!;
    for (let c = 0; c < channels; c++) {
      const s = scale[c]!;
      mean[c] = mean[c]! * s;
      variance[c] = Math.max(0, s * s * (variance[c]! + epsilon) - epsilon);
    }
    equalized.push(bn.name);
  }
  return equalized;
}
