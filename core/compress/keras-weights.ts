import * as tf from '@tensorflow/tfjs';
import { CompressError } from './errors';
import type { LayerGraph } from './graph';

type Layer = tf.layers.Layer;

function setNamed(layer: Layer, values: Record<string, Float32Array>): void {
  const current = layer.getWeights();
  const next = layer.weights.map((w, i) => {
    const suffix = w.originalName.slice(w.originalName.lastIndexOf('/') + 1);
    const v = values[suffix];
    if (!v) return current[i];
    if (v.length !== current[i].size) {
      throw new CompressError(
        'INTERNAL',
        `layer "${layer.name}": ${suffix} has ${current[i].size} values, the graph ${v.length}`,
      );
    }
    return tf.tensor(v, current[i].shape);
  });
  layer.setWeights(next);
}

/**
 * Writes the compressed float weights back into the Keras model they came from, so it can be
 * saved as a float .keras whose kernels hold exactly the pruned and clustered values. A BN
 * folded into its conv becomes an identity that only adds the folded bias: the function is
 * unchanged and the conv kernel keeps its zeros and its k values.
 */
export function writeGraphWeights(model: tf.LayersModel, graph: LayerGraph): void {
  for (const node of graph.nodes) {
    if (node.op === 'batch_norm' && node.bn) {
      // Statistics refreshed after pruning or clustering travel with the model.
      setNamed(model.getLayer(node.name), {
        moving_mean: node.bn.mean,
        moving_variance: node.bn.variance,
      });
      continue;
    }
    if (!node.kernel) continue;
    const layer = model.getLayer(node.name);
    const kernelName = node.op === 'depthwise_conv2d' ? 'depthwise_kernel' : 'kernel';
    const rescaling = (node.folded ?? [])
      .map((n) => model.layers.find((l) => l.name === n))
      .find((l) => l?.getClassName() === 'Rescaling');
    let kernel = node.kernel.data;
    let bias = node.bias ?? new Float32Array(0);
    if (rescaling) {
      // The Keras file keeps its Rescaling layer: take its scale and offset back out.
      const { scale, offset } = rescaling.getConfig() as { scale: number; offset?: number };
      const channels = bias.length;
      kernel = kernel.map((v) => v / scale);
      bias = bias.slice();
      kernel.forEach((v, i) => (bias[i % channels] -= (offset ?? 0) * v));
    }
    const bn = (node.folded ?? [])
      .map((n) => model.layers.find((l) => l.name === n))
      .find((l) => l?.getClassName() === 'BatchNormalization');
    const hasBias = layer.weights.some((w) => w.originalName.endsWith('/bias'));
    if (!bn) {
      setNamed(layer, { [kernelName]: kernel, ...(hasBias && node.bias ? { bias } : {}) });
      continue;
    }
    const channels = bias.length;
    const epsilon = Number((bn.getConfig() as { epsilon?: number }).epsilon ?? 1e-3);
    if (!hasBias && !bn.weights.some((w) => w.originalName.endsWith('/beta'))) {
      throw new CompressError(
        'KERAS_WRITEBACK',
        `layer "${node.name}" has no bias and "${bn.name}" no beta: the folded bias has nowhere to go in the .keras file`,
        {
          hint: `give "${bn.name}" policy float or int8 so it is not folded`,
        },
      );
    }
    setNamed(layer, { [kernelName]: kernel, ...(hasBias ? { bias } : {}) });
    setNamed(bn, {
      gamma: new Float32Array(channels).fill(1),
      beta: hasBias ? new Float32Array(channels) : bias,
      moving_mean: new Float32Array(channels),
      moving_variance: new Float32Array(channels).fill(1 - epsilon),
    });
  }
}
