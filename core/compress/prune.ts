import {
  WEIGHTED_OPS,
  inputChannels,
  outputChannels,
  type GraphNode,
  type LayerGraph,
} from './graph';
import { parseMN, type PruneStep } from './recipe';
import { layerFilter } from './select';

export interface PruneRecord {
  layer: string;
  pattern: string;
  /** Fraction of the kernel that is zero afterwards. */
  sparsity: number;
  /** Largest magnitude that was pruned (0 when nothing was). */
  threshold: number;
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

/** Indices of the `count` smallest magnitudes still alive, ties broken by index. */
function smallestAlive(w: Float32Array, mask: Uint8Array, count: number): number[] {
  const alive: number[] = [];
  for (let i = 0; i < w.length; i++) if (mask[i]) alive.push(i);
  alive.sort((a, b) => Math.abs(w[a]) - Math.abs(w[b]) || a - b);
  return alive.slice(0, Math.max(0, count));
}

function zeroCount(mask: Uint8Array): number {
  let z = 0;
  for (let i = 0; i < mask.length; i++) if (!mask[i]) z++;
  return z;
}

/** Raise one layer to `sparsity` by zeroing its smallest surviving weights. */
function pruneToSparsity(node: GraphNode, sparsity: number): number {
  const w = node.kernel!.data;
  const mask = ensureMask(node);
  const target = Math.round(sparsity * w.length);
  let threshold = 0;
  for (const i of smallestAlive(w, mask, target - zeroCount(mask))) {
    threshold = Math.max(threshold, Math.abs(w[i]));
    mask[i] = 0;
  }
  return threshold;
}

/**
 * Keep the n largest of every m consecutive input channels, for each kernel position and
 * output channel. A trailing group shorter than m keeps at most n as well.
 */
function pruneNofM(node: GraphNode, n: number, m: number): number {
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
        group.sort((a, b) => Math.abs(w[b]) - Math.abs(w[a]) || a - b);
        for (const i of group.slice(n)) {
          if (mask[i]) threshold = Math.max(threshold, Math.abs(w[i]));
          mask[i] = 0;
        }
      }
    }
  }
  return threshold;
}

/** Magnitude pruning as the recipe's prune step says; returns what it did per layer. */
export function prune(graph: LayerGraph, step: PruneStep): PruneRecord[] {
  const chosen = layerFilter(step.include, step.exclude);
  const mn = parseMN(step.pattern);
  const layers = graph.nodes.filter(
    (n) =>
      n.kernel &&
      WEIGHTED_OPS.has(n.op) &&
      chosen(n) &&
      (!mn || inputChannels(n.kernel, n.op) >= mn.m),
  );
  const thresholds = new Map<string, number>();

  if (step.scope === 'global') {
    const all: { node: GraphNode; i: number; mag: number }[] = [];
    let total = 0;
    let zeros = 0;
    for (const node of layers) {
      const mask = ensureMask(node);
      total += mask.length;
      zeros += zeroCount(mask);
      node.kernel!.data.forEach((v, i) => mask[i] && all.push({ node, i, mag: Math.abs(v) }));
    }
    all.sort((a, b) => a.mag - b.mag);
    const toZero = Math.max(0, Math.round(step.sparsity * total) - zeros);
    for (const e of all.slice(0, toZero)) {
      e.node.mask![e.i] = 0;
      thresholds.set(e.node.name, Math.max(thresholds.get(e.node.name) ?? 0, e.mag));
    }
  } else {
    for (const node of layers) {
      let t = mn ? pruneNofM(node, mn.n, mn.m) : 0;
      t = Math.max(t, pruneToSparsity(node, step.sparsity));
      thresholds.set(node.name, t);
    }
  }
  applyMasks(graph);
  return layers.map((node) => ({
    layer: node.name,
    pattern: step.pattern,
    sparsity: sparsityOf(node.kernel!.data),
    threshold: thresholds.get(node.name) ?? 0,
  }));
}
