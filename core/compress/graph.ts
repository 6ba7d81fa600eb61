/**
 * The layer graph every compression step works on: one node per computing layer, weights
 * as Float32Array in Keras layout (output channels on the last axis, so channel c of
 * element i is `i % channels`), and inbound edges by node name. Lowered once from the
 * imported Keras model; prune, cluster and quantize annotate it; the exporters read it.
 */

export type OpKind =
  | 'input'
  | 'conv2d'
  | 'depthwise_conv2d'
  | 'dense'
  | 'batch_norm'
  | 'add'
  | 'activation'
  | 'avg_pool'
  | 'max_pool'
  | 'global_avg_pool'
  | 'flatten'
  | 'reshape'
  | 'softmax'
  | 'rescaling'
  | 'zero_pad';

export type Activation = 'linear' | 'relu' | 'relu6' | 'tanh' | 'sigmoid' | 'softmax';

/** Ops that carry a weight kernel the compression steps act on. */
export const WEIGHTED_OPS: ReadonlySet<OpKind> = new Set(['conv2d', 'depthwise_conv2d', 'dense']);

export interface WeightTensor {
  data: Float32Array;
  shape: number[];
}

export interface BatchNormParams {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

export interface NodeAttrs {
  strides?: [number, number];
  padding?: 'same' | 'valid';
  dilation?: [number, number];
  poolSize?: [number, number];
  /** Rescaling: y = x * scale + offset. */
  scale?: number;
  offset?: number;
  /** Reshape target without the batch axis. */
  targetShape?: number[];
  /** ZeroPadding2D: [[top, bottom], [left, right]]. */
  pad?: [[number, number], [number, number]];
}

/** Which element of a kernel survived pruning: 1 kept, 0 pruned. */
export type PruneMask = Uint8Array;

export interface ClusterInfo {
  k: number;
  granularity: 'per-layer' | 'per-channel';
  /** One centroid list per group (one group per layer, or one per output channel). */
  centroids: Float32Array[];
  /** Zero is a fixed cluster that nothing may leave or join. */
  preserveSparsity: boolean;
}

export interface GraphNode {
  name: string;
  /** The Keras class the node came from, for type selectors and the report. */
  kerasClass: string;
  op: OpKind;
  inputs: string[];
  activation: Activation;
  attrs: NodeAttrs;
  /** Output shape without the batch axis. */
  outputShape: number[];
  kernel?: WeightTensor;
  bias?: Float32Array;
  bn?: BatchNormParams;
  mask?: PruneMask;
  clusters?: ClusterInfo;
  /** Names of BatchNormalization layers folded into this node's kernel and bias. */
  folded?: string[];
}

/** A Keras layer that computes nothing at inference and so has no node. */
export interface RemovedLayer {
  name: string;
  kerasClass: string;
  reason: string;
}

export interface LayerGraph {
  nodes: GraphNode[];
  inputs: string[];
  outputs: string[];
  /** Layers lowered away (Dropout, random augmentations), for the per-layer report. */
  removed?: RemovedLayer[];
}

export function outputChannels(kernel: WeightTensor, op: OpKind): number {
  const s = kernel.shape;
  // Depthwise kernels are [kh, kw, in, multiplier]: output channel = in * multiplier.
  return op === 'depthwise_conv2d' ? s[2] * s[3] : s[s.length - 1];
}

/** Input channels along which M:N sparsity groups run (TFLite's 2:4 layout). */
export function inputChannels(kernel: WeightTensor, op: OpKind): number {
  const s = kernel.shape;
  if (op === 'dense') return s[0];
  if (op === 'conv2d') return s[2];
  return 1; // depthwise: each output channel sees one input channel
}

export function nodeByName(graph: LayerGraph, name: string): GraphNode | undefined {
  return graph.nodes.find((n) => n.name === name);
}

export function consumers(graph: LayerGraph, name: string): GraphNode[] {
  return graph.nodes.filter((n) => n.inputs.includes(name));
}

/** Multiply-accumulates of one inference, the figure the report ranks layers by. */
export function macs(node: GraphNode): number {
  if (!node.kernel) return 0;
  const k = node.kernel.shape;
  const out = node.outputShape;
  if (node.op === 'dense') return k[0] * k[1];
  if (node.op === 'conv2d') return out[0] * out[1] * out[2] * k[0] * k[1] * k[2];
  if (node.op === 'depthwise_conv2d') return out[0] * out[1] * out[2] * k[0] * k[1];
  return 0;
}

export function cloneGraph(graph: LayerGraph): LayerGraph {
  return {
    inputs: [...graph.inputs],
    outputs: [...graph.outputs],
    nodes: graph.nodes.map((n) => ({
      ...n,
      inputs: [...n.inputs],
      attrs: { ...n.attrs },
      outputShape: [...n.outputShape],
      kernel: n.kernel && { data: n.kernel.data.slice(), shape: [...n.kernel.shape] },
      bias: n.bias?.slice(),
      bn: n.bn && {
        gamma: n.bn.gamma.slice(),
        beta: n.bn.beta.slice(),
        mean: n.bn.mean.slice(),
        variance: n.bn.variance.slice(),
        epsilon: n.bn.epsilon,
      },
      mask: n.mask?.slice(),
      clusters: n.clusters && {
        ...n.clusters,
        centroids: n.clusters.centroids.map((c) => c.slice()),
      },
      folded: n.folded && [...n.folded],
    })),
  };
}

/** Float parameters (weights, biases, BN vectors) in bytes at float32. */
export function floatParamBytes(graph: LayerGraph): number {
  let count = 0;
  for (const n of graph.nodes) {
    count += n.kernel?.data.length ?? 0;
    count += n.bias?.length ?? 0;
    if (n.bn) count += n.bn.gamma.length * 4;
  }
  return count * 4;
}
