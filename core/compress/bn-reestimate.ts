import * as tf from '@tensorflow/tfjs';
import { disposeAll, runGraph } from './execute';
import type { LayerGraph } from './graph';

/**
 * Re-estimates the moving mean and variance of every BatchNormalization still in the graph
 * from representative samples run through the compressed graph, in graph order (each BN sees
 * the inputs the BNs before it now produce). Pruning and clustering shift the statistics a BN
 * normalises by; refreshing them restores much of what one-shot compression loses, and
 * touches no kernel, so zeros and clusters stay exactly as they are.
 */
export function reestimateBatchNorms(graph: LayerGraph, samples: tf.Tensor): string[] {
  const updated: string[] = [];
  for (const bn of graph.nodes.filter((n) => n.op === 'batch_norm')) {
    const values = runGraph(graph, samples, { keep: new Set([bn.inputs[0]]) });
    const x = values.get(bn.inputs[0])!;
    const { mean, variance } = tf.tidy(() => {
      const axes = x.shape.slice(0, -1).map((_, i) => i);
      const m = tf.moments(x, axes);
      return {
        mean: m.mean.dataSync() as Float32Array,
        variance: m.variance.dataSync() as Float32Array,
      };
    });
    disposeAll(values);
    bn.bn!.mean = Float32Array.from(mean);
    bn.bn!.variance = Float32Array.from(variance);
    updated.push(bn.name);
  }
  return updated;
}
