import * as tf from '@tensorflow/tfjs';
import { CompressError } from './errors';
import { bnAffine } from './fold';
import type { Activation, GraphNode, LayerGraph, NodeAttrs } from './graph';

export interface NodeWeights {
  kernel?: tf.Tensor;
  bias?: tf.Tensor;
  /** Per-channel y = x * mul + add of BatchNormalization and Rescaling. */
  affine?: { mul: Float32Array; add: Float32Array };
  /** Applied between the MUL and the ADD, where int8 has a tensor of its own. */
  afterMul?: (t: tf.Tensor) => tf.Tensor;
}

export interface RunOptions {
  /** Weights to use instead of the node's float ones (quantized-then-dequantized, say). */
  weightsOf?: (node: GraphNode) => NodeWeights | undefined;
  /** Transform a node's output, e.g. fake int8 quantization of the activation. */
  afterNode?: (node: GraphNode, output: tf.Tensor, inputs: tf.Tensor[]) => tf.Tensor;
  /** How `node` sees the output of `producer`, e.g. quantized where a float op feeds an int8 one. */
  readInput?: (node: GraphNode, producer: string, value: tf.Tensor) => tf.Tensor;
  /** Keep these outputs (all when absent); the rest are disposed as soon as unused. */
  keep?: Set<string>;
}

/** The activation functions a layer may end with, as the graph names them. */
export const ACTIVATIONS: ReadonlySet<string> = new Set<Activation>([
  'linear',
  'relu',
  'relu6',
  'tanh',
  'sigmoid',
  'softmax',
]);

export function activate(x: tf.Tensor, a: Activation): tf.Tensor {
  switch (a) {
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'softmax':
      return tf.softmax(x);
  }
}

function ownWeights(node: GraphNode): NodeWeights {
  return {
    kernel: node.kernel && tf.tensor(node.kernel.data, node.kernel.shape),
    bias: node.bias && tf.tensor1d(node.bias),
  };
}

export type KernelOp = 'conv2d' | 'depthwise_conv2d' | 'dense';

/**
 * A conv2d, depthwise_conv2d or dense kernel applied to `x`, before bias and activation: the
 * one implementation of these layers' math, for calibration, simulation and fine-tuning
 * alike (the fine-tuner differentiates through it). A dense kernel whose rows match the last
 * axis multiplies along it, as Keras Dense does on a sequence; otherwise the sample is
 * flattened first.
 */
export function applyKernel(
  op: KernelOp,
  attrs: NodeAttrs,
  x: tf.Tensor,
  kernel: tf.Tensor,
): tf.Tensor {
  switch (op) {
    case 'conv2d':
      return tf.conv2d(
        x as tf.Tensor4D,
        kernel as tf.Tensor4D,
        attrs.strides!,
        attrs.padding!,
        'NHWC',
        attrs.dilation,
      );
    case 'depthwise_conv2d':
      return tf.depthwiseConv2d(
        x as tf.Tensor4D,
        kernel as tf.Tensor4D,
        attrs.strides!,
        attrs.padding!,
        'NHWC',
        attrs.dilation,
      );
    case 'dense': {
      const units = kernel.shape[1]!;
      if (x.rank > 2 && x.shape[x.rank - 1] === kernel.shape[0]) {
        const rows = x.shape.slice(0, -1);
        return tf
          .matMul(x.reshape([-1, kernel.shape[0]!]) as tf.Tensor2D, kernel as tf.Tensor2D)
          .reshape([...rows, units]);
      }
      return tf.matMul(x.reshape([x.shape[0], -1]) as tf.Tensor2D, kernel as tf.Tensor2D);
    }
  }
}

/** One node's float output from given inputs and weights (inside the caller's tidy). */
export function computeNode(
  node: GraphNode,
  inputs: tf.Tensor[],
  w: NodeWeights = ownWeights(node),
): tf.Tensor {
  const x = inputs[0];
  const a = node.attrs;
  let y: tf.Tensor;
  switch (node.op) {
    case 'conv2d':
    case 'depthwise_conv2d':
    case 'dense':
      y = applyKernel(node.op, a, x, w.kernel!);
      break;
    case 'batch_norm': {
      const { mul, add } = w.affine ?? bnAffine(node);
      y = x.mul(tf.tensor1d(mul));
      if (w.afterMul) y = w.afterMul(y);
      y = y.add(tf.tensor1d(add));
      break;
    }
    case 'add':
      y = inputs.slice(1).reduce((s, t) => s.add(t), x);
      break;
    case 'activation':
      y = x;
      break;
    case 'avg_pool':
      y = tf.avgPool(x as tf.Tensor4D, a.poolSize!, a.strides!, a.padding!);
      break;
    case 'max_pool':
      y = tf.maxPool(x as tf.Tensor4D, a.poolSize!, a.strides!, a.padding!);
      break;
    case 'global_avg_pool':
      y = tf.mean(x, [1, 2]);
      break;
    case 'flatten':
      y = x.reshape([x.shape[0], -1]);
      break;
    case 'reshape':
      y = x.reshape([x.shape[0], ...a.targetShape!]);
      break;
    case 'softmax':
      y = x;
      break;
    case 'rescaling': {
      const { mul, add } = w.affine ?? {
        mul: Float32Array.of(a.scale!),
        add: Float32Array.of(a.offset ?? 0),
      };
      y = x.mul(tf.tensor1d(mul));
      if (w.afterMul) y = w.afterMul(y);
      y = y.add(tf.tensor1d(add));
      break;
    }
    case 'zero_pad':
      y = tf.pad(x, [[0, 0], a.pad![0], a.pad![1], [0, 0]]);
      break;
    case 'input':
      throw new CompressError('INTERNAL', 'input nodes are fed, not computed');
  }
  if (w.bias) y = y.add(w.bias);
  return activate(y, node.activation);
}

/**
 * Float execution of the layer graph with tfjs ops: the reference that calibration
 * collects activation ranges from and that int8 results are compared against.
 * `input` is a batch [N, ...inputShape] of raw model input.
 */
export function runGraph(
  graph: LayerGraph,
  input: tf.Tensor,
  options: RunOptions = {},
): Map<string, tf.Tensor> {
  const values = new Map<string, tf.Tensor>();
  const remaining = new Map<string, number>();
  for (const n of graph.nodes)
    for (const i of n.inputs) remaining.set(i, (remaining.get(i) ?? 0) + 1);
  const keep = options.keep;
  const release = (name: string) => {
    const left = (remaining.get(name) ?? 0) - 1;
    remaining.set(name, left);
    if (left <= 0 && keep && !keep.has(name) && !graph.outputs.includes(name)) {
      values.get(name)?.dispose();
      values.delete(name);
    }
  };
  for (const node of graph.nodes) {
    const out = tf.tidy(() => {
      if (node.op === 'input') {
        const x = input.reshape([input.shape[0], ...node.outputShape]);
        return options.afterNode ? options.afterNode(node, x, []) : x;
      }
      const ins = node.inputs.map((i) => {
        const v = values.get(i);
        if (!v)
          throw new CompressError(
            'INTERNAL',
            `node "${node.name}" reads "${i}" before it is computed`,
          );
        return options.readInput ? options.readInput(node, i, v) : v;
      });
      const y = computeNode(node, ins, options.weightsOf?.(node) ?? ownWeights(node));
      return options.afterNode ? options.afterNode(node, y, ins) : y;
    });
    values.set(node.name, out);
    for (const i of node.inputs) release(i);
  }
  return values;
}

export function disposeAll(values: Map<string, tf.Tensor>): void {
  for (const t of values.values()) t.dispose();
}
