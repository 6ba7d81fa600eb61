import { nodeByName, outputChannels, type GraphNode, type LayerGraph } from './graph';
import { bnFoldTarget, rescalingFoldTargets } from './policy';
import type { PolicyDecision } from './policy';

/** Per-channel scale and shift of an inference-mode BatchNormalization: y = x * mul + add. */
export function bnAffine(node: GraphNode): { mul: Float32Array; add: Float32Array } {
  const { gamma, beta, mean, variance, epsilon } = node.bn!;
  const mul = new Float32Array(gamma.length);
  const add = new Float32Array(gamma.length);
  for (let c = 0; c < gamma.length; c++) {
    mul[c] = gamma[c] / Math.sqrt(variance[c] + epsilon);
    add[c] = beta[c] - mean[c] * mul[c];
  }
  return { mul, add };
}

function removeNode(graph: LayerGraph, name: string, replacement: string): void {
  graph.nodes = graph.nodes.filter((n) => n.name !== name);
  for (const n of graph.nodes) n.inputs = n.inputs.map((i) => (i === name ? replacement : i));
  graph.outputs = graph.outputs.map((o) => (o === name ? replacement : o));
}

/**
 * Folds every BatchNormalization whose policy is fold into the layer before it. Runs before
 * prune and cluster, so the weights they see are the weights that get exported: folding
 * afterwards would scale each channel by its own factor and split the clusters.
 */
export function foldBatchNorms(graph: LayerGraph, policies: Map<string, PolicyDecision>): string[] {
  const folded: string[] = [];
  for (const bn of [...graph.nodes]) {
    if (bn.op !== 'batch_norm' || policies.get(bn.name)?.policy !== 'fold') continue;
    const target = bnFoldTarget(graph, bn)!;
    const { mul, add } = bnAffine(bn);
    const k = target.kernel!.data;
    const channels = mul.length;
    for (let i = 0; i < k.length; i++) k[i] *= mul[i % channels];
    const bias = target.bias ?? new Float32Array(channels);
    for (let c = 0; c < channels; c++) bias[c] = bias[c] * mul[c] + add[c];
    target.bias = bias;
    target.activation = bn.activation;
    target.folded = [...(target.folded ?? []), bn.name];
    target.outputShape = [...bn.outputShape];
    removeNode(graph, bn.name, target.name);
    folded.push(bn.name);
  }
  return folded;
}

/**
 * Folds an input Rescaling whose policy is fold into the Conv/Dense layers it feeds: their
 * kernels absorb the scale and their biases the offset, so the model input is quantized in
 * the units the user feeds. Runs before prune and cluster, like BN folding.
 */
export function foldInputRescaling(
  graph: LayerGraph,
  policies: Map<string, PolicyDecision>,
): GraphNode | undefined {
  const node = graph.nodes.find(
    (n) => n.op === 'rescaling' && policies.get(n.name)?.policy === 'fold',
  );
  if (!node) return undefined;
  const scale = node.attrs.scale!;
  const offset = node.attrs.offset ?? 0;
  for (const target of rescalingFoldTargets(graph, node)!) {
    const k = target.kernel!.data;
    const channels = outputChannels(target.kernel!, target.op);
    const bias = target.bias ?? new Float32Array(channels);
    // W (s x + o) + b = (s W) x + (b + o * sum of W over its inputs).
    for (let i = 0; i < k.length; i++) {
      bias[i % channels] += offset * k[i];
      k[i] *= scale;
    }
    target.bias = bias;
    target.folded = [node.name, ...(target.folded ?? [])];
  }
  removeNode(graph, node.name, node.inputs[0]);
  return node;
}

const FUSIBLE = new Set(['relu', 'relu6']);

/**
 * Fuses a standalone ReLU/ReLU6 into the op before it, as TFLite's fused activation does,
 * when both share a policy and nothing else reads the op's output.
 */
export function fuseActivations(
  graph: LayerGraph,
  policies: Map<string, PolicyDecision>,
): string[] {
  const fused: string[] = [];
  for (const act of [...graph.nodes]) {
    if (act.op !== 'activation' || !FUSIBLE.has(act.activation)) continue;
    const producer = nodeByName(graph, act.inputs[0]);
    const fusesInto =
      ['conv2d', 'depthwise_conv2d', 'dense', 'add'].includes(producer?.op ?? '') ||
      // A float BatchNormalization/Rescaling ends in a float ADD or MUL, which fuses it too.
      (['batch_norm', 'rescaling'].includes(producer?.op ?? '') &&
        policies.get(producer!.name)?.policy === 'float');
    if (!producer || !fusesInto || producer.activation !== 'linear') continue;
    if (
      graph.nodes.filter((n) => n.inputs.includes(producer.name)).length !== 1 ||
      graph.outputs.includes(producer.name)
    )
      continue;
    if (
      (policies.get(act.name)?.policy ?? 'int8') !== (policies.get(producer.name)?.policy ?? 'int8')
    )
      continue;
    producer.activation = act.activation;
    producer.folded = [...(producer.folded ?? []), act.name];
    removeNode(graph, act.name, producer.name);
    fused.push(act.name);
  }
  return fused;
}
