import type * as tf from '@tensorflow/tfjs';
import {
  WEIGHTED_OPS,
  inputChannels,
  nodeByName,
  outputChannels,
  type GraphNode,
  type LayerGraph,
} from './graph';
import {
  MAX_FIELD,
  columnOf,
  fieldSize,
  layerStats,
  reconstructPruned,
  relativeOutputError,
  sampleColumns,
  requireSamples,
  type LayerStats,
} from './reconstruct';
import { parseMN, type PruneStep } from './recipe';
import { layerFilter } from './select';

/** What data-aware steps measure against: the graph before any step, and samples to run. */
export interface StepData {
  reference: LayerGraph;
  samples?: tf.Tensor;
}

export interface PruneRecord {
  layer: string;
  pattern: string;
  /** Fraction of the kernel that is zero afterwards. */
  sparsity: number;
  /** Largest magnitude that was pruned (0 when nothing was). */
  threshold: number;
  criterion: PruneStep['criterion'];
  /**
   * Output error of the layer against the original on the samples, relative to the output's
   * energy: right after masking, and after the surviving weights were re-solved.
   */
  outputError?: { masked: number; reconstructed?: number };
}

/** Zeroes every masked weight; run after each step so nothing can revive a pruned weight. */
export function applyMasks(graph: LayerGraph): void {
  for (const node of graph.nodes) {
    if (!node.mask || !node.kernel) continue;
    const w = node.kernel.data;
    for (let i = 0; i < w.length; i++) if (node.mask[i] === 0) w[i] = 0;
  }
}

export function sparsityOf(data: ArrayLike<number>): number {
  let zeros = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === 0) zeros++;
  return data.length ? zeros / data.length : 0;
}

function ensureMask(node: GraphNode): Uint8Array {
  if (!node.mask) {
    node.mask = new Uint8Array(node.kernel!.data.length);
    node.kernel!.data.forEach((v, i) => (node.mask![i] = v === 0 ? 0 : 1));
  }
  return node.mask;
}

/** Indices of the `count` lowest scores still alive, ties broken by index. */
function lowestAlive(score: Float64Array, mask: Uint8Array, count: number): number[] {
  const alive: number[] = [];
  for (let i = 0; i < score.length; i++) if (mask[i]) alive.push(i);
  alive.sort((a, b) => score[a] - score[b] || a - b);
  return alive.slice(0, Math.max(0, count));
}

/**
 * How much each weight matters. magnitude: |w| (TF MOT). activation: |w| times the RMS of
 * the input it multiplies on the samples (Wanda, Sun et al. 2023), so a large weight on an
 * input that is almost always zero goes before a small one on a busy input.
 */
function scores(node: GraphNode, stats: LayerStats | undefined): Float64Array {
  const w = node.kernel!.data;
  const score = Float64Array.from(w, Math.abs);
  if (!stats) return score;
  const d = stats.fieldSize;
  for (let o = 0; o < stats.columns; o++) {
    const h = stats.h[stats.groupOf(o)]!;
    // Relative to the column's own output, so layers and channels of any scale compare.
    const column = columnOf(node, stats, o);
    let energy = 0;
    for (let p = 0; p <= d; p++)
      for (let q = 0; q <= d; q++) energy += column[p]! * h[p * (d + 1) + q]! * column[q]!;
    const norm = energy > 0 ? 1 / Math.sqrt(energy) : 1;
    for (let p = 0; p < d; p++) {
      const i = stats.kernelIndex(o, p);
      score[i] = score[i]! * Math.sqrt(Math.max(0, h[p * (d + 1) + p]!)) * norm;
    }
  }
  return score;
}

function zeroCount(mask: Uint8Array): number {
  let z = 0;
  for (let i = 0; i < mask.length; i++) if (!mask[i]) z++;
  return z;
}

/** Raise one layer to `sparsity` by zeroing its lowest-scored surviving weights. */
function pruneToSparsity(node: GraphNode, sparsity: number, score: Float64Array): number {
  const w = node.kernel!.data;
  const mask = ensureMask(node);
  const target = Math.round(sparsity * w.length);
  let threshold = 0;
  for (const i of lowestAlive(score, mask, target - zeroCount(mask))) {
    threshold = Math.max(threshold, Math.abs(w[i]));
    mask[i] = 0;
  }
  return threshold;
}

/**
 * Keep the n largest of every m consecutive input channels, for each kernel position and
 * output channel. A trailing group shorter than m keeps at most n as well.
 */
function pruneNofM(node: GraphNode, n: number, m: number, score: Float64Array): number {
  const w = node.kernel!.data;
  const mask = ensureMask(node);
  const cin = inputChannels(node.kernel!, node.op);
  const inner = outputChannels(node.kernel!, node.op);
  const outer = w.length / (cin * inner);
  let threshold = 0;
  const group: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (let c0 = 0; c0 < cin; c0 += m) {
      for (let j = 0; j < inner; j++) {
        group.length = 0;
        for (let c = c0; c < Math.min(c0 + m, cin); c++) group.push((o * cin + c) * inner + j);
        group.sort((a, b) => score[b] - score[a] || a - b);
        for (const i of group.slice(n)) {
          if (mask[i]) threshold = Math.max(threshold, Math.abs(w[i]));
          mask[i] = 0;
        }
      }
    }
  }
  return threshold;
}

const SENSITIVITY_LEVELS = Array.from({ length: 20 }, (_, i) => i * 0.05);
/** Cholesky work per sparsity level of a curve, in (unknowns)³ units. */
const CURVE_BUDGET = 3e8;

/**
 * Per-layer sparsities that reach `target` over all the layers' weights together while adding
 * the least output error: for a price λ per pruned weight each layer takes the level that
 * minimises error − λ·weights pruned, and λ rises until the weights pruned reach the target.
 * Small, sensitive layers (a first convolution, depthwise kernels) then keep more weights and
 * large, redundant ones give more (as in OWL and SPDY).
 */
function allocateSparsity(
  layers: { node: GraphNode; curve: number[] }[],
  target: number,
  /** Sparsity a pattern such as 2:4 implies anyway: levels below it count as it. */
  floor: number,
): Map<GraphNode, number> {
  const total = layers.reduce((s, l) => s + l.node.kernel!.data.length, 0);
  const pick = (lambda: number) =>
    layers.map(({ node, curve }) => {
      const n = node.kernel!.data.length;
      let best = 0;
      curve.forEach((err, i) => {
        const cost = (e: number, level: number) => e - lambda * level * n;
        if (cost(err, SENSITIVITY_LEVELS[i]!) < cost(curve[best]!, SENSITIVITY_LEVELS[best]!))
          best = i;
      });
      return SENSITIVITY_LEVELS[best]!;
    });
  const pruned = (levels: number[]) =>
    levels.reduce(
      (s, level, i) => s + Math.max(level, floor) * layers[i]!.node.kernel!.data.length,
      0,
    );
  let lo = 0;
  let hi = 1;
  while (pruned(pick(hi)) < target * total && hi < 1e12) hi *= 2;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (pruned(pick(mid)) >= target * total) hi = mid;
    else lo = mid;
  }
  const levels = pick(hi);
  return new Map(layers.map((l, i) => [l.node, levels[i]!]));
}

/**
 * Pruning as the recipe's prune step says; returns what it did per layer. Data-aware options
 * (criterion activation, reconstruct) work layer by layer in graph order on `data`, so each
 * layer is scored and re-solved on the inputs the layers pruned before it now produce.
 */
export function prune(graph: LayerGraph, step: PruneStep, data?: StepData): PruneRecord[] {
  const chosen = layerFilter(step.include, step.exclude);
  const mn = parseMN(step.pattern);
  const layers = graph.nodes.filter(
    (n) =>
      n.kernel &&
      WEIGHTED_OPS.has(n.op) &&
      chosen(n) &&
      (!mn || inputChannels(n.kernel, n.op) >= mn.m),
  );
  const dataAware =
    step.criterion === 'activation' || step.reconstruct || step.scope === 'sensitivity';
  const samples = dataAware ? requireSamples(data?.samples, 'prune') : undefined;
  const solvable = (node: GraphNode) => dataAware && fieldSize(node) + 1 <= MAX_FIELD;
  const statsOf = (node: GraphNode) =>
    solvable(node) ? layerStats(graph, node.name, samples!) : undefined;
  const thresholds = new Map<string, number>();
  const errors = new Map<string, PruneRecord['outputError']>();

  /** The layer's output error at each sparsity level, pruned and re-solved as this step would. */
  const errorCurve = (node: GraphNode, stats: LayerStats): number[] => {
    const ref = nodeByName(data!.reference, node.name)!;
    const score = scores(node, step.criterion === 'activation' ? stats : undefined);
    // The curve only shares the sparsity out: for layers whose solves are costly (a wide
    // receptive field), a sample of output channels estimates it.
    const kept = (stats.fieldSize + 1) / 2;
    const columns = sampleColumns(stats, Math.max(8, Math.floor(CURVE_BUDGET / kept ** 3)));
    return SENSITIVITY_LEVELS.map((level) => {
      const trial: GraphNode = {
        ...node,
        kernel: { data: node.kernel!.data.slice(), shape: node.kernel!.shape },
        bias: node.bias?.slice(),
        mask: node.mask?.slice(),
      };
      if (mn) pruneNofM(trial, mn.n, mn.m, score);
      pruneToSparsity(trial, level, score);
      applyMasks({ ...graph, nodes: [trial] });
      if (step.reconstruct) reconstructPruned(trial, ref, stats, columns);
      return relativeOutputError(trial, ref, stats, columns);
    });
  };

  const finish = (node: GraphNode, stats: LayerStats | undefined) => {
    applyMasks({ ...graph, nodes: [node] });
    if (!stats) return;
    const ref = nodeByName(data!.reference, node.name)!;
    const masked = relativeOutputError(node, ref, stats);
    if (!step.reconstruct) {
      errors.set(node.name, { masked });
      return;
    }
    reconstructPruned(node, ref, stats);
    errors.set(node.name, { masked, reconstructed: relativeOutputError(node, ref, stats) });
  };

  if (step.scope === 'sensitivity') {
    const measured = layers.filter(solvable);
    const targets = allocateSparsity(
      measured.map((node) => ({ node, curve: errorCurve(node, statsOf(node)!) })),
      step.sparsity,
      mn ? 1 - mn.n / mn.m : 0,
    );
    for (const node of layers) {
      const stats = statsOf(node);
      const score = scores(node, step.criterion === 'activation' ? stats : undefined);
      let t = mn ? pruneNofM(node, mn.n, mn.m, score) : 0;
      t = Math.max(t, pruneToSparsity(node, targets.get(node) ?? step.sparsity, score));
      thresholds.set(node.name, t);
      finish(node, stats);
    }
  } else if (step.scope === 'global') {
    const all: { node: GraphNode; i: number; score: number; mag: number }[] = [];
    let total = 0;
    let zeros = 0;
    for (const node of layers) {
      const mask = ensureMask(node);
      const stats = step.criterion === 'activation' ? statsOf(node) : undefined;
      const score = scores(node, stats);
      total += mask.length;
      zeros += zeroCount(mask);
      node.kernel!.data.forEach(
        (v, i) => mask[i] && all.push({ node, i, score: score[i]!, mag: Math.abs(v) }),
      );
    }
    all.sort((a, b) => a.score - b.score);
    const toZero = Math.max(0, Math.round(step.sparsity * total) - zeros);
    for (const e of all.slice(0, toZero)) {
      e.node.mask![e.i] = 0;
      thresholds.set(e.node.name, Math.max(thresholds.get(e.node.name) ?? 0, e.mag));
    }
    // Masks first for all layers, then re-solve in order on the inputs pruned layers produce.
    for (const node of layers) finish(node, step.reconstruct ? statsOf(node) : undefined);
  } else {
    for (const node of layers) {
      const stats = statsOf(node);
      const score = scores(node, step.criterion === 'activation' ? stats : undefined);
      let t = mn ? pruneNofM(node, mn.n, mn.m, score) : 0;
      t = Math.max(t, pruneToSparsity(node, step.sparsity, score));
      thresholds.set(node.name, t);
      finish(node, stats);
    }
  }
  applyMasks(graph);
  return layers.map((node) => ({
    layer: node.name,
    pattern: step.pattern,
    sparsity: sparsityOf(node.kernel!.data),
    threshold: thresholds.get(node.name) ?? 0,
    criterion: step.criterion,
    ...(errors.has(node.name) ? { outputError: errors.get(node.name) } : {}),
  }));
}
