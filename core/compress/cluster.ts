import { WEIGHTED_OPS, nodeByName, outputChannels, type GraphNode, type LayerGraph } from './graph';
import { applyMasks, type StepData } from './prune';
import {
  MAX_FIELD,
  elementImportance,
  fieldSize,
  layerStats,
  refineCentroids,
  relativeOutputError,
  requireSamples,
} from './reconstruct';
import type { ClusterStep } from './recipe';
import { layerFilter } from './select';

export type ClusterInit = ClusterStep['init'];

/** mulberry32: small, seedable, and the same on every platform. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Initial centroids for 1-D k-means over `values` (which need not be sorted). */
export function initCentroids(
  values: Float32Array,
  k: number,
  init: ClusterInit,
  random: () => number,
): Float64Array {
  const sorted = Float64Array.from(values).sort();
  const lo = sorted[0];
  const hi = sorted[sorted.length - 1];
  const c = new Float64Array(k);
  if (init === 'linear') {
    for (let i = 0; i < k; i++) c[i] = k === 1 ? (lo + hi) / 2 : lo + ((hi - lo) * i) / (k - 1);
  } else if (init === 'random') {
    for (let i = 0; i < k; i++) c[i] = lo + (hi - lo) * random();
  } else if (init === 'density') {
    // Equal steps of the empirical CDF: dense regions of the weight distribution get more centroids.
    for (let i = 0; i < k; i++)
      c[i] = sorted[Math.min(sorted.length - 1, Math.floor(((i + 0.5) / k) * sorted.length))];
  } else {
    c[0] = sorted[Math.floor(random() * sorted.length)];
    const d2 = new Float64Array(sorted.length).fill(Infinity);
    for (let j = 1; j < k; j++) {
      let total = 0;
      for (let i = 0; i < sorted.length; i++) {
        const d = sorted[i] - c[j - 1];
        d2[i] = Math.min(d2[i], d * d);
        total += d2[i];
      }
      if (total === 0) {
        c[j] = c[j - 1];
        continue;
      }
      let r = random() * total;
      let pick = sorted.length - 1;
      for (let i = 0; i < sorted.length; i++) {
        r -= d2[i];
        if (r <= 0) {
          pick = i;
          break;
        }
      }
      c[j] = sorted[pick];
    }
  }
  return c.sort();
}

export interface KMeansResult {
  centroids: Float64Array;
  /** Sum of squared distances from each value to its centroid. */
  inertia: number;
  iterations: number;
}

/** Index of the nearest centroid in a sorted list (ties go to the lower one). */
function nearest(sortedCentroids: Float64Array, v: number): number {
  let lo = 0;
  let hi = sortedCentroids.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v > (sortedCentroids[mid] + sortedCentroids[mid + 1]) / 2) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Lloyd's algorithm in one dimension; an empty cluster keeps its centroid. */
export function kmeans1d(
  values: Float32Array,
  k: number,
  init: ClusterInit,
  random: () => number,
  maxIterations: number,
  /** How much each value's distance counts (1 each when absent). */
  weights?: Float64Array,
): KMeansResult {
  if (values.length === 0) return { centroids: new Float64Array(0), inertia: 0, iterations: 0 };
  const centroids = initCentroids(values, Math.min(k, values.length), init, random);
  const assign = new Int32Array(values.length).fill(-1);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    let changed = false;
    for (let i = 0; i < values.length; i++) {
      const a = nearest(centroids, values[i]);
      if (a !== assign[i]) {
        assign[i] = a;
        changed = true;
      }
    }
    if (!changed) break;
    const sum = new Float64Array(centroids.length);
    const count = new Float64Array(centroids.length);
    for (let i = 0; i < values.length; i++) {
      const wt = weights ? weights[i] : 1;
      sum[assign[i]] += wt * values[i];
      count[assign[i]] += wt;
    }
    for (let j = 0; j < centroids.length; j++) if (count[j] > 0) centroids[j] = sum[j] / count[j];
    centroids.sort();
  }
  let inertia = 0;
  for (let i = 0; i < values.length; i++) {
    const d = values[i] - centroids[nearest(centroids, values[i])];
    inertia += (weights ? weights[i] : 1) * d * d;
  }
  return { centroids, inertia, iterations };
}

export interface ClusterRecord {
  layer: string;
  k: number;
  granularity: ClusterStep['granularity'];
  groups: number;
  /** Most distinct values in any one group afterwards (zero included). */
  maxDistinct: number;
  inertia: number;
  /**
   * With refine: the layer's output error against the original on the samples, relative to
   * the output's energy, with k-means centroids and with the re-solved ones.
   */
  outputError?: { kmeans: number; refined: number };
}

/**
 * Replaces one group's weights by their centroids. When sparsity is preserved, zero is a
 * fixed cluster: zeros are left out of k-means and k - 1 centroids serve the rest, so the
 * group holds at most k values with zero among them.
 */
function clusterGroup(
  w: Float32Array,
  indices: number[],
  k: number,
  preserve: boolean,
  step: ClusterStep,
  random: () => number,
  importance?: Float64Array,
): { centroids: Float32Array; inertia: number } {
  const live = preserve ? indices.filter((i) => w[i] !== 0) : indices;
  const hasZeroCluster = preserve && live.length < indices.length;
  const free = hasZeroCluster ? k - 1 : k;
  const values = Float32Array.from(live, (i) => w[i]);
  // A weight on an input that never fires gets a small share, never none: k-means needs mass.
  const weights = importance && Float64Array.from(live, (i) => importance[i]! + 1e-12);
  const { centroids, inertia } = kmeans1d(
    values,
    free,
    step.init,
    random,
    step.maxIterations,
    weights,
  );
  const c32 = Float32Array.from(centroids);
  for (const i of live) w[i] = c32[nearest(centroids, w[i])];
  const all = hasZeroCluster ? Float32Array.from([0, ...c32]).sort() : c32;
  return { centroids: all, inertia };
}

function groupsOf(node: GraphNode, granularity: ClusterStep['granularity']): number[][] {
  const n = node.kernel!.data.length;
  if (granularity === 'per-layer') return [Array.from({ length: n }, (_, i) => i)];
  const channels = outputChannels(node.kernel!, node.op);
  const groups: number[][] = Array.from({ length: channels }, () => []);
  for (let i = 0; i < n; i++) groups[i % channels].push(i);
  return groups;
}

export function distinctCount(values: ArrayLike<number>, indices?: number[]): number {
  const s = new Set<number>();
  if (indices) for (const i of indices) s.add(values[i]);
  else for (let i = 0; i < values.length; i++) s.add(values[i]);
  return s.size;
}

/**
 * Weight clustering as the recipe's cluster step says; returns what it did per layer. With
 * refine, layers are taken in graph order on `data` so each one's centroids are solved on the
 * inputs the clustered layers before it produce.
 */
export function cluster(graph: LayerGraph, step: ClusterStep, data?: StepData): ClusterRecord[] {
  const chosen = layerFilter(step.include, step.exclude);
  const random = seededRandom(step.seed);
  const records: ClusterRecord[] = [];
  const samples = step.refine ? requireSamples(data?.samples, 'cluster') : undefined;
  for (const node of graph.nodes) {
    if (!node.kernel || !WEIGHTED_OPS.has(node.op) || !chosen(node)) continue;
    // A pruned layer keeps its zeros whatever the step says: masks are re-applied below.
    const preserve = step.preserveSparsity || node.mask !== undefined;
    const groups = groupsOf(node, step.granularity);
    const centroids: Float32Array[] = [];
    let inertia = 0;
    const stats =
      samples && fieldSize(node) + 1 <= MAX_FIELD
        ? layerStats(graph, node.name, samples)
        : undefined;
    const importance = stats && elementImportance(node, stats);
    for (const g of groups) {
      const r = clusterGroup(node.kernel.data, g, step.k, preserve, step, random, importance);
      centroids.push(r.centroids);
      inertia += r.inertia;
    }
    let outputError: ClusterRecord['outputError'];
    if (stats) {
      applyMasks({ ...graph, nodes: [node] });
      const ref = nodeByName(data!.reference, node.name)!;
      const kmeans = relativeOutputError(node, ref, stats);
      const columns = outputChannels(node.kernel, node.op);
      const codebooks =
        step.granularity === 'per-layer'
          ? [Array.from({ length: columns }, (_, o) => o)]
          : Array.from({ length: columns }, (_, o) => [o]);
      refineCentroids(node, ref, stats, codebooks, preserve);
      outputError = { kmeans, refined: relativeOutputError(node, ref, stats) };
      groups.forEach((g, i) => {
        const values = new Set<number>();
        for (const j of g) values.add(node.kernel!.data[j]!);
        centroids[i] = Float32Array.from(values).sort();
      });
    }
    node.clusters = {
      k: step.k,
      granularity: step.granularity,
      centroids,
      preserveSparsity: preserve,
    };
    records.push({
      layer: node.name,
      k: step.k,
      granularity: step.granularity,
      groups: groups.length,
      maxDistinct: Math.max(...groups.map((g) => distinctCount(node.kernel!.data, g))),
      inertia,
      ...(outputError ? { outputError } : {}),
    });
  }
  applyMasks(graph);
  return records;
}

export { groupsOf as clusterGroups };
