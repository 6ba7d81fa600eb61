import { gzipSync } from 'node:zlib';
import type { FitReport } from '../fit/fit-report';
import { floatParamBytes, macs, outputChannels, type GraphNode, type RemovedLayer } from './graph';
import type { LayerGuarantee } from './guarantees';
import type { ClusterRecord } from './cluster';
import type { FineTuneSummary } from './finetune-step';
import type { CompressResult } from './pipeline';
import type { PruneRecord } from './prune';
import type { Recipe } from './recipe';
import { sparsityOf } from './prune';
import type { QuantizedNode } from './quantize';

/** Above this many output steps of RMSE a layer's int8 rounding is flagged (ideal: 1/sqrt(12) = 0.29). */
export const RMSE_FLAG = 0.7;

export interface LayerReport {
  name: string;
  type: string;
  op: string;
  policy: 'int8' | 'float' | 'fold';
  policyReason: string;
  /** Layers folded or fused into this one. */
  folded: string[];
  params: number;
  macs: number;
  sparsity: number | null;
  /** How the layer was pruned: the pattern and the largest magnitude removed. */
  pruning: { pattern: string; threshold: number } | null;
  /** Distinct stored weight values (int8 values for int8 layers, floats otherwise). */
  uniqueValues: number | null;
  weightRange: [number, number] | null;
  weightScale: { scheme: string; min: number; max: number; reason?: string } | null;
  clusters: {
    k: number;
    granularity: string;
    maxDistinctPerGroup: number;
    mergedCentroids: { group: number; centroids: number[]; q: number }[];
  } | null;
  /** Weights rounding to int8 made zero that pruning had not. */
  newlyZero: number | null;
  rmseOverScale: number | null;
  sqnrDb: number | null;
  cosine: number | null;
  flagged: boolean;
}

export interface SizeReport {
  floatParamsBytes: number;
  tfliteBytes: number;
  tfliteGzipBytes: number;
  /** The .tflite with each clustered int8 kernel stored as ceil(log2(values))-bit indices plus an int8 codebook per group. */
  clusterPackedBytes: number;
  /** The .tflite with each int8 kernel stored as a 1-bit nonzero bitmap plus its nonzero values (packed indices when clustered). */
  sparseBytes: number;
}

function bitsFor(values: number): number {
  return values <= 1 ? 0 : Math.ceil(Math.log2(values));
}

/** Bytes of one kernel under the packed-cluster and the sparse layouts. */
function kernelSizes(
  node: GraphNode,
  qn: QuantizedNode,
): { plain: number; packed: number; sparse: number } {
  const q = qn.weights!.q;
  const n = q.length;
  const channels = outputChannels(node.kernel!, node.op);
  const perChannel = node.clusters?.granularity === 'per-channel';
  const groups: number[][] = perChannel ? Array.from({ length: channels }, () => []) : [[]];
  for (let i = 0; i < n; i++) groups[perChannel ? i % channels : 0].push(q[i]);
  let packedBits = 0;
  let sparseBits = n; // the bitmap
  for (const g of groups) {
    const distinct = new Set(g);
    const nonzero = g.filter((v) => v !== 0);
    const distinctNonzero = new Set(nonzero).size;
    if (node.clusters) {
      packedBits += g.length * bitsFor(distinct.size) + distinct.size * 8;
      sparseBits += nonzero.length * bitsFor(distinctNonzero) + distinctNonzero * 8;
    } else {
      packedBits += g.length * 8;
      sparseBits += nonzero.length * 8;
    }
  }
  return { plain: n, packed: Math.ceil(packedBits / 8), sparse: Math.ceil(sparseBits / 8) };
}

export function sizeReport(result: CompressResult, tflite: Uint8Array): SizeReport {
  let packed = tflite.length;
  let sparse = tflite.length;
  for (const node of result.graph.nodes) {
    const qn = result.quantized?.nodes.get(node.name);
    if (!qn?.weights || !node.kernel) continue;
    const s = kernelSizes(node, qn);
    packed += s.packed - s.plain;
    sparse += Math.min(s.sparse, s.plain) - s.plain;
  }
  return {
    floatParamsBytes: floatParamBytes(result.original),
    tfliteBytes: tflite.length,
    tfliteGzipBytes: gzipSync(tflite, { level: 9 }).length,
    clusterPackedBytes: packed,
    sparseBytes: sparse,
  };
}

/** Everything the report says about each layer, in graph order, folded layers included. */
export function layerReports(result: CompressResult, exported?: LayerGuarantee[]): LayerReport[] {
  const out: LayerReport[] = [];
  for (const node of result.graph.nodes) {
    if (node.op === 'input') continue;
    const qn = result.quantized?.nodes.get(node.name);
    const decision = result.policies.get(node.name);
    const err = result.layerErrors?.get(node.name);
    const k = node.kernel?.data;
    let min = Infinity;
    let max = -Infinity;
    if (k) {
      for (const v of k) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
    }
    const stored: ArrayLike<number> | undefined = qn?.weights?.q ?? k;
    const g = qn?.guarantees;
    const exportedCheck = exported?.find((e) => e.layer === node.name);
    const pruneRecord = result.pruned.find((p) => p.layer === node.name);
    out.push({
      name: node.name,
      type: node.kerasClass,
      op: exportedCheck?.op ?? node.op,
      policy: decision?.policy ?? 'int8',
      policyReason: decision?.reason ?? 'no quantize step',
      folded: node.folded ?? [],
      params:
        (k?.length ?? 0) + (node.bias?.length ?? 0) + (node.bn ? node.bn.gamma.length * 4 : 0),
      macs: macs(node),
      sparsity: k ? sparsityOf(stored!) : null,
      pruning: pruneRecord
        ? { pattern: pruneRecord.pattern, threshold: pruneRecord.threshold }
        : null,
      uniqueValues: stored ? new Set(Array.from(stored)).size : null,
      weightRange: k ? [min, max] : null,
      weightScale: qn?.weights
        ? {
            scheme: qn.weights.scheme,
            min: Math.min(...qn.weights.scales),
            max: Math.max(...qn.weights.scales),
            reason: qn.weights.schemeReason,
          }
        : null,
      clusters: node.clusters
        ? {
            k: node.clusters.k,
            granularity: node.clusters.granularity,
            maxDistinctPerGroup: g?.maxDistinctPerGroup ?? exportedCheck?.maxDistinctPerGroup ?? 0,
            mergedCentroids: g?.merges ?? [],
          }
        : null,
      newlyZero: g?.newlyZero ?? null,
      rmseOverScale: err?.rmseOverScale ?? null,
      sqnrDb: err ? (Number.isFinite(err.sqnrDb) ? err.sqnrDb : null) : null,
      cosine: err?.cosine ?? null,
      flagged: (err?.rmseOverScale ?? 0) > RMSE_FLAG,
    });
  }
  // Folded layers have no node of their own any more; the report still lists them.
  for (const name of result.folded) {
    const original = result.original.nodes.find((n) => n.name === name);
    if (!original) continue;
    const into = result.graph.nodes.find((n) => n.folded?.includes(name));
    out.push({
      name,
      type: original.kerasClass,
      op: into ? `folded into ${into.name}` : 'folded into the input quantization',
      policy: 'fold',
      policyReason: result.policies.get(name)?.reason ?? '',
      folded: [],
      params: original.bn ? original.bn.gamma.length * 4 : 0,
      macs: 0,
      sparsity: null,
      pruning: null,
      uniqueValues: null,
      weightRange: null,
      weightScale: null,
      clusters: null,
      newlyZero: null,
      rmseOverScale: null,
      sqnrDb: null,
      cosine: null,
      flagged: false,
    });
  }
  return out;
}

export interface Metric {
  accuracy?: number;
  mse?: number;
  samples: number;
}

export interface CompressReport {
  /** The run's id in the experiment store, when one was given. */
  runId?: number;
  model: string;
  recipe: Recipe;
  data: string;
  calibData: string;
  float: Metric;
  int8: Metric & { evaluatedWith: 'runtime (wasm build of the firmware)' };
  /** SQNR of each model output, int8 simulation against float, on the calibration samples. */
  outputSqnrDb: Record<string, number>;
  sizes: SizeReport;
  /** RAM and flash the model needs, from the runtime's planner, and the verdict on job.board. */
  fit: FitReport;
  layers: LayerReport[];
  guarantees: { ok: boolean; layers: LayerGuarantee[] };
  /** Int8 predictions against labels on the evaluation data (classifiers only). */
  confusion?: { labels: string[]; matrix: number[][] };
  /** Per weighted layer: the imported float weights and the weights after prune/cluster, on shared bins. */
  histograms: Record<string, { edges: number[]; before: number[]; after: number[] }>;
  autoExcluded: { layer: string; reason: string }[];
  /** Keras layers with no op in the export because they compute nothing at inference. */
  removedLayers: RemovedLayer[];
  /** BatchNormalization layers whose statistics were refreshed after pruning or clustering. */
  batchNormReestimated: string[];
  /** Float BatchNormalizations whose int8 producer's output channels were equalized. */
  batchNormEqualized: string[];
  /** What the prune and cluster steps did per layer, with their output errors when data-aware. */
  pruned: PruneRecord[];
  clustered: ClusterRecord[];
  /** What the recipe's fineTune step did, when it has one. */
  fineTune?: FineTuneSummary;
  warnings: string[];
  timings: Record<string, number>;
  files: {
    tflite: string;
    header: string;
    source: string;
    /** MicroMutableOpResolver with exactly the model's ops, for TFLite Micro projects. */
    resolver: string;
    keras: string;
    report: string;
  };
}
