import type { LayerGraph } from '../graph';
import { outputChannels, WEIGHTED_OPS } from '../graph';

export type LayerPolicy = 'int8' | 'float' | 'fold';

/**
 * Weight clustering held fixed during fine-tuning: each weight belongs to one centroid of
 * its group for good, only the centroid values train.
 */
export interface ClusterConstraint {
  granularity: 'per-layer' | 'per-channel';
  /** One list per group (one group, or one per output channel); the fixed zero cluster is not listed. */
  centroids: Float32Array[];
  /** Per kernel element: index into its group's centroids, or -1 for the fixed zero cluster. */
  assignments: Int32Array;
}

/** What the compression steps decided for one layer, in the terms fine-tuning must keep. */
export interface LayerConstraints {
  /** 1 kept, 0 pruned, per kernel element (Keras layout). */
  mask?: Uint8Array;
  cluster?: ClusterConstraint;
  policy?: LayerPolicy;
}

/** Keyed by Keras layer name. Plain data, so it crosses into a job's worker thread as is. */
export type CompressionState = Record<string, LayerConstraints>;

function nearest(centroids: Float32Array, v: number): number {
  let best = 0;
  for (let j = 1; j < centroids.length; j++) {
    if (Math.abs(centroids[j]! - v) < Math.abs(centroids[best]! - v)) best = j;
  }
  return best;
}

/**
 * Reads masks, clusters and policies off a compressed layer graph. Assignments are
 * recovered from the clustered kernel (each weight already equals its centroid); zeros of a
 * sparsity-preserving layer go to the fixed zero cluster.
 */
export function stateFromGraph(
  graph: LayerGraph,
  policies?: Map<string, { policy: LayerPolicy }>,
): CompressionState {
  const state: CompressionState = {};
  for (const node of graph.nodes) {
    const entry: LayerConstraints = {};
    const policy = policies?.get(node.name)?.policy;
    if (policy) entry.policy = policy;
    if (node.kernel && WEIGHTED_OPS.has(node.op)) {
      if (node.mask) entry.mask = node.mask.slice();
      if (node.clusters) {
        const w = node.kernel.data;
        const perChannel = node.clusters.granularity === 'per-channel';
        const channels = outputChannels(node.kernel, node.op);
        const preserve = node.clusters.preserveSparsity;
        const centroids = node.clusters.centroids.map((c) =>
          preserve ? c.filter((v) => v !== 0) : c.slice(),
        );
        const assignments = new Int32Array(w.length);
        for (let i = 0; i < w.length; i++) {
          const pruned = node.mask ? node.mask[i] === 0 : false;
          if ((preserve && w[i] === 0) || pruned) assignments[i] = -1;
          else assignments[i] = nearest(centroids[perChannel ? i % channels : 0]!, w[i]!);
        }
        entry.cluster = { granularity: node.clusters.granularity, centroids, assignments };
      }
    }
    if (Object.keys(entry).length > 0) state[node.name] = entry;
  }
  // Layers fused into another op (a ReLU) have no node of their own but keep their policy.
  for (const [name, decision] of policies ?? [])
    if (!state[name]) state[name] = { policy: decision.policy };
  return state;
}
