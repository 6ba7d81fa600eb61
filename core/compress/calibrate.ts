import * as tf from '@tensorflow/tfjs';
import { disposeAll, runGraph } from './execute';
import { consumers, type LayerGraph } from './graph';
import { asymmetricParams, dequantizeAffine, quantizeAffine, type QuantParams } from './quant-math';
import type { QuantizeStep } from './recipe';

export type RangeMethod = QuantizeStep['calibration']['method'];

/** Values of one tensor seen during calibration, thinned to a fixed budget. */
export class TensorObserver {
  min = Infinity;
  max = -Infinity;
  private readonly sample: number[] = [];
  private readonly sampleWeights: number[] = [];
  private seen = 0;

  /**
   * `channelWeights`, when given, says how much an error in each channel (the last axis)
   * counts downstream, e.g. the square of the multiplier of a float BatchNormalization that
   * reads the tensor; the MSE range then minimises the error as it reaches later layers.
   */
  constructor(
    private readonly budget = 1 << 18,
    readonly channelWeights?: Float64Array,
  ) {}

  observe(values: Float32Array): void {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
    }
    // Deterministic thinning keeps percentile and MSE estimates representative without
    // holding every activation of every sample in memory.
    const stride = Math.max(1, Math.ceil((this.seen + values.length) / this.budget));
    const w = this.channelWeights;
    for (let i = (stride - (this.seen % stride)) % stride; i < values.length; i += stride) {
      this.sample.push(values[i]);
      if (w) this.sampleWeights.push(w[i % w.length]);
    }
    this.seen += values.length;
  }

  values(): Float32Array {
    return Float32Array.from(this.sample);
  }

  /** Each kept value's channel weight, in the order of `values()`; undefined when unweighted. */
  weights(): Float64Array | undefined {
    return this.channelWeights && Float64Array.from(this.sampleWeights);
  }
}

/** Quantile of a sorted array with linear interpolation. */
function quantile(sorted: Float32Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function quantizationMse(values: Float32Array, p: QuantParams, weights?: Float64Array): number {
  let err = 0;
  for (let i = 0; i < values.length; i++) {
    const d = values[i] - dequantizeAffine(quantizeAffine(values[i], p), p);
    err += (weights ? weights[i] : 1) * d * d;
  }
  return err / Math.max(1, values.length);
}

/** The range the int8 grid covers for one tensor, by the chosen method. */
export function chooseRange(
  obs: TensorObserver,
  method: RangeMethod,
  percentile = 99.99,
): { min: number; max: number } {
  if (!Number.isFinite(obs.min)) return { min: 0, max: 0 };
  if (method === 'minmax') return { min: obs.min, max: obs.max };
  if (method === 'percentile') {
    const sorted = obs.values().sort();
    const tail = (100 - percentile) / 100;
    return {
      min: Math.min(obs.min, 0) < 0 ? quantile(sorted, tail) : obs.min,
      max: quantile(sorted, 1 - tail),
    };
  }
  // MSE: shrink the min/max range and keep the clip with the least round-trip error.
  const values = obs.values();
  const weights = obs.weights();
  let best = { min: obs.min, max: obs.max };
  let bestErr = quantizationMse(values, asymmetricParams(obs.min, obs.max), weights);
  for (let step = 1; step < 64; step++) {
    const f = 1 - step / 80;
    const cand = { min: obs.min * f, max: obs.max * f };
    const err = quantizationMse(values, asymmetricParams(cand.min, cand.max), weights);
    if (err < bestErr) {
      best = cand;
      bestErr = err;
    }
  }
  return best;
}

export interface Calibration {
  observers: Map<string, TensorObserver>;
  ranges: Map<string, { min: number; max: number }>;
}

/**
 * Runs the float graph over the calibration batch and records every node output, plus the
 * intermediate product of int8 MUL+ADD lowerings (`name/mul`). A range in `known` (by node
 * name, e.g. learned during quantization-aware training) replaces the one measured here.
 */
export function calibrate(
  graph: LayerGraph,
  samples: tf.Tensor,
  step: QuantizeStep,
  batchSize = 32,
  known?: ReadonlyMap<string, { min: number; max: number }>,
): Calibration {
  const observers = new Map<string, TensorObserver>();
  const channelWeights = batchNormReaderWeights(graph, step);
  const observe = (name: string, t: tf.Tensor) => {
    let o = observers.get(name);
    if (!o) observers.set(name, (o = new TensorObserver(undefined, channelWeights.get(name))));
    o.observe(t.dataSync() as Float32Array);
  };
  const n = samples.shape[0];
  for (let start = 0; start < n; start += batchSize) {
    const batch = samples.slice(start, Math.min(batchSize, n - start));
    const values = runGraph(graph, batch, {
      afterNode: (node, y) => {
        observe(node.name, y);
        return y;
      },
    });
    for (const node of graph.nodes) {
      if (node.op === 'batch_norm' || node.op === 'rescaling') {
        // The product before the shift, which an int8 MUL writes to its own tensor.
        const x = values.get(node.inputs[0])!;
        const mul = node.op === 'rescaling' ? tf.scalar(node.attrs.scale!) : bnMul(node.bn!);
        tf.tidy(() => observe(`${node.name}/mul`, x.mul(mul)));
        mul.dispose();
      }
    }
    disposeAll(values);
    batch.dispose();
  }
  const ranges = new Map<string, { min: number; max: number }>();
  for (const [name, obs] of observers)
    ranges.set(name, chooseRange(obs, step.calibration.method, step.calibration.percentile));
  for (const [name, r] of known ?? []) ranges.set(name, { min: r.min, max: r.max });
  return { observers, ranges };
}

function bnMul(bn: NonNullable<LayerGraph['nodes'][number]['bn']>): tf.Tensor {
  return tf.tensor1d(bn.gamma.map((g, c) => g / Math.sqrt(bn.variance[c] + bn.epsilon)));
}

/**
 * Channel weights for the tensors whose only reader is a BatchNormalization (a float op or its
 * int8 MUL+ADD): each channel's error reaches the rest of the model multiplied by the BN's
 * gamma/√(var+ε), so with spread multipliers the plain MSE range serves the channels the BN
 * shrinks and starves the ones it amplifies.
 */
function batchNormReaderWeights(graph: LayerGraph, step: QuantizeStep): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  if (step.calibration.method !== 'mse') return out;
  for (const node of graph.nodes) {
    const readers = consumers(graph, node.name);
    if (readers.length !== 1 || readers[0]!.op !== 'batch_norm') continue;
    const bn = readers[0]!.bn!;
    out.set(
      node.name,
      Float64Array.from(bn.gamma, (g, c) => (g * g) / (bn.variance[c]! + bn.epsilon)),
    );
  }
  return out;
}
