import * as tf from '@tensorflow/tfjs';
import { CompressError } from './errors';
import { disposeAll, runGraph } from './execute';
import { bnAffine } from './fold';
import { consumers, nodeByName, outputChannels, type GraphNode, type LayerGraph } from './graph';
import { solveSpd } from './linalg';

/**
 * Layer-wise output statistics for data-aware pruning and clustering.
 *
 * For a weighted layer, each output channel (column) is a dot product of a receptive field
 * of its input with the column's weights, plus a bias. Over representative samples, with P
 * the receptive fields the layer sees in the model compressed so far (a column of ones
 * appended for the bias), the squared output error of weights w against the layer's original
 * weights w0 on those same inputs is
 *
 *   e(w) = (w − w0)ᵀ·H·(w − w0),   H = PᵀP.
 *
 * Minimising e over the weights a step leaves free (the unpruned ones; or the centroids with
 * assignments fixed) is a small linear least-squares problem per layer, as in OBS/SparseGPT.
 * Matching the original layer on the inputs it now gets (rather than the original model's
 * inputs) keeps the solve from inflating weights to make up for the layers before it, which
 * int8 rounding then punishes.
 */
export interface LayerStats {
  /** Receptive-field size d; unknowns per column are d weights then the bias (d + 1). */
  fieldSize: number;
  columns: number;
  /** H per group, (d+1)², row-major; conv and dense share one group. */
  h: Float64Array[];
  /** Which group's matrices column `o` uses (the input channel for depthwise). */
  groupOf(o: number): number;
  /**
   * How much an error in column `o` counts: the square of the per-channel multiplier of a
   * BatchNormalization that reads the layer (its error reaches the rest of the model scaled
   * by it), else 1.
   */
  weight: Float64Array;
  /** Flat index into the Keras kernel of column `o`, receptive position `p`. */
  kernelIndex(o: number, p: number): number;
}

/** Pull of re-solved weights towards their original values, as a fraction of mean input energy. */
const RIDGE = 0.01;

/** Largest receptive field (plus bias) solved for; beyond it the steps fall back to magnitude. */
export const MAX_FIELD = 2500;

export function fieldSize(node: GraphNode): number {
  const s = node.kernel!.shape;
  if (node.op === 'dense') return s[0]!;
  if (node.op === 'conv2d') return s[0]! * s[1]! * s[2]!;
  return s[0]! * s[1]!;
}

/** Receptive fields of `x` as [rows, groups, d + 1], the last entry 1 (the bias input). */
function receptiveFields(node: GraphNode, x: tf.Tensor): tf.Tensor3D {
  return tf.tidy(() => {
    const s = node.kernel!.shape;
    const a = node.attrs;
    let fields: tf.Tensor3D;
    if (node.op === 'dense') {
      fields = x.reshape([-1, 1, s[0]!]);
    } else if (node.op === 'conv2d') {
      const d = s[0]! * s[1]! * s[2]!;
      // A convolution with the identity as kernel copies each receptive field into channels
      // and handles strides, padding and dilation exactly as the layer does.
      const eye = tf.eye(d).reshape([s[0]!, s[1]!, s[2]!, d]) as tf.Tensor4D;
      fields = tf
        .conv2d(x as tf.Tensor4D, eye, a.strides!, a.padding!, 'NHWC', a.dilation)
        .reshape([-1, 1, d]);
    } else {
      const taps = s[0]! * s[1]!;
      const cin = s[2]!;
      const eye = tf.eye(taps).reshape([s[0]!, s[1]!, 1, taps]).tile([1, 1, cin, 1]) as tf.Tensor4D;
      fields = tf
        .depthwiseConv2d(x as tf.Tensor4D, eye, a.strides!, a.padding!, 'NHWC', a.dilation)
        .reshape([-1, cin, taps]);
    }
    return tf.concat([fields, tf.onesLike(fields.slice([0, 0, 0], [-1, -1, 1]))], 2);
  });
}

function addInto(sum: Float64Array, part: ArrayLike<number>): void {
  for (let i = 0; i < sum.length; i++) sum[i] += part[i]!;
}

/**
 * Collects H for `name` over `samples` run through `current` (compressed so far), in chunks
 * so the receptive fields never all sit in memory.
 */
export function layerStats(
  current: LayerGraph,
  name: string,
  samples: tf.Tensor,
  chunk = 64,
): LayerStats {
  const node = nodeByName(current, name)!;
  const s = node.kernel!.shape;
  const d = fieldSize(node);
  const groups = node.op === 'depthwise_conv2d' ? s[2]! : 1;
  const n = (d + 1) * (d + 1);
  const h = Array.from({ length: groups }, () => new Float64Array(n));
  const inputName = node.inputs[0]!;
  for (let start = 0; start < samples.shape[0]; start += chunk) {
    const size = Math.min(chunk, samples.shape[0] - start);
    const batch = samples.slice(start, size);
    const values = runGraph(current, batch, { keep: new Set([inputName]) });
    const hh = tf.tidy(() => {
      const p = receptiveFields(node, values.get(inputName)!).transpose([1, 0, 2]) as tf.Tensor3D;
      return tf.matMul(p, p, true, false).dataSync();
    });
    disposeAll(values);
    batch.dispose();
    for (let k = 0; k < groups; k++) addInto(h[k]!, hh.subarray(k * n, (k + 1) * n));
  }
  const columns = outputChannels(node.kernel!, node.op);
  const weight = new Float64Array(columns).fill(1);
  const readers = consumers(current, name);
  if (readers.length === 1 && readers[0]!.op === 'batch_norm' && node.activation === 'linear') {
    const { mul } = bnAffine(readers[0]!);
    for (let o = 0; o < columns; o++) weight[o] = mul[o]! * mul[o]!;
  }
  const mult = node.op === 'depthwise_conv2d' ? s[3]! : 1;
  const cin = node.op === 'depthwise_conv2d' ? s[2]! : 1;
  return {
    fieldSize: d,
    columns,
    h,
    weight,
    groupOf: node.op === 'depthwise_conv2d' ? (o) => Math.floor(o / mult) : () => 0,
    kernelIndex:
      node.op === 'depthwise_conv2d'
        ? (o, p) => (p * cin + Math.floor(o / mult)) * mult + (o % mult)
        : (o, p) => p * columns + o,
  };
}

/**
 * Each kernel element's share of the output error a change to it causes, to first order:
 * the energy of the input it multiplies times its column's weight. Data-aware k-means
 * weighs values by it.
 */
export function elementImportance(node: GraphNode, stats: LayerStats): Float64Array {
  const d = stats.fieldSize;
  const out = new Float64Array(node.kernel!.data.length);
  for (let o = 0; o < stats.columns; o++) {
    const h = stats.h[stats.groupOf(o)]!;
    for (let p = 0; p < d; p++)
      out[stats.kernelIndex(o, p)] = Math.max(0, h[p * (d + 1) + p]!) * stats.weight[o]!;
  }
  return out;
}

function allColumns(stats: LayerStats): number[] {
  return Array.from({ length: stats.columns }, (_, o) => o);
}

/**
 * At most `count` output columns spread evenly over the layer: enough to estimate its relative
 * output error at a fraction of the solves.
 */
export function sampleColumns(stats: LayerStats, count: number): number[] {
  if (stats.columns <= count) return allColumns(stats);
  return Array.from({ length: count }, (_, i) => Math.floor((i * stats.columns) / count));
}

/** Column `o` of a node's kernel and bias as one vector of d + 1 unknowns. */
export function columnOf(node: GraphNode, stats: LayerStats, o: number): Float64Array {
  const d = stats.fieldSize;
  const w = new Float64Array(d + 1);
  for (let p = 0; p < d; p++) w[p] = node.kernel!.data[stats.kernelIndex(o, p)]!;
  w[d] = node.bias?.[o] ?? 0;
  return w;
}

function matVec(m: Float64Array, v: Float64Array): Float64Array {
  const n = v.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += m[i * n + j]! * v[j]!;
    out[i] = s;
  }
  return out;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * Output error of the node's weights against the reference's, relative to the reference
 * output's energy, summed over columns: 0 is exact, 1 is as bad as an output of zeros.
 */
export function relativeOutputError(
  node: GraphNode,
  ref: GraphNode,
  stats: LayerStats,
  columns: Iterable<number> = allColumns(stats),
): number {
  let err = 0;
  let energy = 0;
  for (const o of columns) {
    const k = stats.groupOf(o);
    const w = columnOf(node, stats, o);
    const w0 = columnOf(ref, stats, o);
    const diff = w.map((v, i) => v - w0[i]!);
    err += stats.weight[o]! * dot(diff, matVec(stats.h[k]!, diff));
    energy += stats.weight[o]! * dot(w0, matVec(stats.h[k]!, w0));
  }
  return energy > 0 ? err / energy : 0;
}

/**
 * Re-solves every unpruned weight (and the bias, where the layer has one) of `node` for the
 * least output error against `ref`. Pruned weights stay exactly zero: they are not unknowns.
 */
export function reconstructPruned(
  node: GraphNode,
  ref: GraphNode,
  stats: LayerStats,
  columns: Iterable<number> = allColumns(stats),
): void {
  const d = stats.fieldSize;
  const w = node.kernel!.data;
  for (const o of columns) {
    const k = stats.groupOf(o);
    const free: number[] = [];
    for (let p = 0; p < d; p++) if (!node.mask || node.mask[stats.kernelIndex(o, p)]) free.push(p);
    if (node.bias) free.push(d);
    if (free.length === 0) continue;
    const h = stats.h[k]!;
    const original = columnOf(ref, stats, o);
    const rhs = matVec(h, original);
    const m = free.length;
    const a = new Float64Array(m * m);
    const b = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      b[i] = rhs[free[i]!]!;
      for (let j = 0; j < m; j++) a[i * m + j] = h[free[i]! * (d + 1) + free[j]!]!;
    }
    const x = solveSpd(
      a,
      b,
      m,
      RIDGE,
      Float64Array.from(free, (p) => original[p]!),
    );
    free.forEach((p, i) => {
      if (p === d) node.bias![o] = x[i]!;
      else w[stats.kernelIndex(o, p)] = x[i]!;
    });
  }
}

/**
 * Re-solves the centroids of a clustered node for the least output error against `ref`, with
 * every weight's assignment fixed (and the zero cluster fixed at zero), then the bias given
 * the new weights. `groups` lists the output columns that share one codebook.
 */
export function refineCentroids(
  node: GraphNode,
  ref: GraphNode,
  stats: LayerStats,
  groups: number[][],
  keepZero: boolean,
): void {
  const d = stats.fieldSize;
  const w = node.kernel!.data;
  for (const columns of groups) {
    const values: number[] = [];
    const slot = new Map<number, number>();
    for (const o of columns)
      for (let p = 0; p < d; p++) {
        const v = w[stats.kernelIndex(o, p)]!;
        if ((keepZero && v === 0) || slot.has(v)) continue;
        slot.set(v, values.length);
        values.push(v);
      }
    const k = values.length;
    if (k === 0) continue;
    const m = new Float64Array(k * k);
    const r = new Float64Array(k);
    for (const o of columns) {
      const grp = stats.groupOf(o);
      const h = stats.h[grp]!;
      const assigned: [number, number][] = [];
      for (let p = 0; p < d; p++) {
        const a = slot.get(w[stats.kernelIndex(o, p)]!);
        if (a !== undefined && !(keepZero && w[stats.kernelIndex(o, p)] === 0))
          assigned.push([p, a]);
      }
      const omega = stats.weight[o]!;
      const rhs = matVec(h, columnOf(ref, stats, o));
      const bias = node.bias?.[o] ?? 0;
      for (const [p, a] of assigned) {
        r[a] += omega * (rhs[p]! - h[p * (d + 1) + d]! * bias);
        for (const [q, c] of assigned) m[a * k + c] += omega * h[p * (d + 1) + q]!;
      }
    }
    const centroids = solveSpd(m, r, k, 1e-4);
    for (const o of columns)
      for (let p = 0; p < d; p++) {
        const i = stats.kernelIndex(o, p);
        const a = slot.get(w[i]!);
        if (a !== undefined && !(keepZero && w[i] === 0)) w[i] = Math.fround(centroids[a]!);
      }
    if (node.bias) for (const o of columns) refitBias(node, ref, stats, o);
  }
}

/** The bias that minimises a column's output error given its weights. */
function refitBias(node: GraphNode, ref: GraphNode, stats: LayerStats, o: number): void {
  const d = stats.fieldSize;
  const grp = stats.groupOf(o);
  const h = stats.h[grp]!;
  const count = h[d * (d + 1) + d]!;
  if (!(count > 0)) return;
  const rhs = matVec(h, columnOf(ref, stats, o));
  let s = rhs[d]!;
  for (let p = 0; p < d; p++)
    s -= h[d * (d + 1) + p]! * node.kernel!.data[stats.kernelIndex(o, p)]!;
  node.bias![o] = s / count;
}

export function requireSamples(samples: tf.Tensor | undefined, step: string): tf.Tensor {
  if (!samples)
    throw new CompressError(
      'CALIBRATION_MISSING',
      `the ${step} step is data-aware (criterion activation, reconstruct or refine) but no representative samples were given`,
      {
        hint: 'pass --calib-data (or --data), or set the step to magnitude without reconstruct/refine',
      },
    );
  return samples;
}
