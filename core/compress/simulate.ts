import * as tf from '@tensorflow/tfjs';
import { computeNode, disposeAll, runGraph, type NodeWeights } from './execute';
import type { GraphNode } from './graph';
import type { QuantParams } from './quant-math';
import type { QuantizedModel } from './quantize';

/** Round-trip through int8 with the given parameters (round half away from zero). */
export function fakeQuant(x: tf.Tensor, p: QuantParams): tf.Tensor {
  return tf.tidy(() => {
    const v = x.div(p.scale);
    const r = tf.sign(v).mul(tf.floor(tf.abs(v).add(0.5)));
    return r.add(p.zeroPoint).clipByValue(-128, 127).sub(p.zeroPoint).mul(p.scale);
  });
}

/** The int8 weights and constants of a node, dequantized, as float tensors. */
export function dequantizedWeights(
  model: QuantizedModel,
  node: GraphNode,
): NodeWeights | undefined {
  const qn = model.nodes.get(node.name);
  if (!qn || qn.policy !== 'int8') return undefined;
  if (qn.weights) {
    const { q, scales, scheme, shape } = qn.weights;
    const channels = scales.length;
    const kernel = Float32Array.from(
      q,
      (v, i) => v * scales[scheme === 'per-channel' ? i % channels : 0],
    );
    const bias = Float32Array.from(qn.bias!.q, (v, c) => v * qn.bias!.scales[c]);
    return { kernel: tf.tensor(kernel, shape), bias: tf.tensor1d(bias) };
  }
  if (qn.affine) {
    const { mul, add, mid } = qn.affine;
    return {
      affine: {
        mul: Float32Array.from(mul.q, (v) => (v - mul.params.zeroPoint) * mul.params.scale),
        add: Float32Array.from(add.q, (v) => (v - add.params.zeroPoint) * add.params.scale),
      },
      afterMul: (t) => fakeQuant(t, mid),
    };
  }
  return undefined;
}

export interface LayerError {
  /** RMSE of the layer's int8 output against its float output on the same inputs, in output steps. */
  rmseOverScale: number;
  sqnrDb: number;
  cosine: number;
}

class ErrorAccumulator {
  signal = 0;
  noise = 0;
  dot = 0;
  normA = 0;
  normB = 0;
  count = 0;

  add(ref: Float32Array, got: Float32Array): void {
    for (let i = 0; i < ref.length; i++) {
      const d = ref[i] - got[i];
      this.signal += ref[i] * ref[i];
      this.noise += d * d;
      this.dot += ref[i] * got[i];
      this.normA += ref[i] * ref[i];
      this.normB += got[i] * got[i];
    }
    this.count += ref.length;
  }

  result(scale: number): LayerError {
    return {
      rmseOverScale: Math.sqrt(this.noise / Math.max(1, this.count)) / scale,
      sqnrDb: this.noise === 0 ? Infinity : 10 * Math.log10(this.signal / this.noise),
      cosine:
        this.normA === 0 || this.normB === 0
          ? this.normA === this.normB
            ? 1
            : 0
          : this.dot / Math.sqrt(this.normA * this.normB),
    };
  }
}

/**
 * Runs the model as the int8 kernels compute it, to within accumulator rounding: int8
 * weights, int32 biases, and every int8 tensor rounded to its grid. Float-policy layers run
 * in float; their outputs are rounded only where an int8 op reads them (the QUANTIZE the
 * exporter puts there), as in the exported graph. `inspect` sees each int8 layer's inputs as
 * that layer reads them and its output.
 */
export function runSimulated(
  model: QuantizedModel,
  input: tf.Tensor,
  inspect?: (node: GraphNode, inputs: tf.Tensor[], output: tf.Tensor) => void,
): Map<string, tf.Tensor> {
  const policy = (name: string) => model.nodes.get(name)!.policy;
  const values = runGraph(model.graph, input, {
    weightsOf: (node) => dequantizedWeights(model, node),
    readInput: (node, producer, value) =>
      node.op !== 'input' && policy(node.name) === 'int8' && policy(producer) === 'float'
        ? fakeQuant(value, model.nodes.get(producer)!.output)
        : value,
    afterNode: (node, y, inputs) => {
      if (policy(node.name) === 'float') return y;
      const out = fakeQuant(y, model.nodes.get(node.name)!.output);
      if (node.op !== 'input') inspect?.(node, inputs, out);
      return out;
    },
  });
  for (const o of model.graph.outputs) {
    if (policy(o) === 'float' && model.outputType === 'int8') {
      const v = values.get(o)!;
      values.set(o, fakeQuant(v, model.nodes.get(o)!.output));
      v.dispose();
    }
  }
  return values;
}

/** The same model with every layer in float: the baseline quantization damage is measured from. */
export function allFloat(model: QuantizedModel): QuantizedModel {
  return {
    ...model,
    outputType: 'float32',
    nodes: new Map([...model.nodes].map(([k, v]) => [k, { ...v, policy: 'float' as const }])),
  };
}

/**
 * Per-layer error in the QuantizationDebugger sense: each int8 layer's output against the
 * float layer fed the same (dequantized) inputs, so the figure isolates that layer's own
 * rounding (about 1/sqrt(12) = 0.29 output steps when only the output rounding remains).
 * Also returns the end-to-end SQNR of each model output against the float graph.
 */
export function layerErrors(
  model: QuantizedModel,
  samples: tf.Tensor,
  batchSize = 32,
): { layers: Map<string, LayerError>; outputs: Map<string, LayerError> } {
  const acc = new Map<string, ErrorAccumulator>();
  const outAcc = new Map<string, ErrorAccumulator>();
  const accumulate = (
    map: Map<string, ErrorAccumulator>,
    name: string,
    ref: tf.Tensor,
    got: tf.Tensor,
  ) => {
    let a = map.get(name);
    if (!a) map.set(name, (a = new ErrorAccumulator()));
    a.add(ref.dataSync() as Float32Array, got.dataSync() as Float32Array);
  };
  const n = samples.shape[0];
  for (let start = 0; start < n; start += batchSize) {
    const batch = samples.slice(start, Math.min(batchSize, n - start));
    const floatValues = runGraph(model.graph, batch);
    const simulated = runSimulated(model, batch, (node, inputs, out) => {
      const ref = tf.tidy(() => computeNode(node, inputs));
      accumulate(acc, node.name, ref, out);
      ref.dispose();
    });
    for (const o of model.graph.outputs)
      accumulate(outAcc, o, floatValues.get(o)!, simulated.get(o)!);
    disposeAll(floatValues);
    disposeAll(simulated);
    batch.dispose();
  }
  const layers = new Map<string, LayerError>();
  for (const [name, a] of acc) layers.set(name, a.result(model.nodes.get(name)!.output.scale));
  const outputs = new Map<string, LayerError>();
  for (const [name, a] of outAcc) outputs.set(name, a.result(model.nodes.get(name)!.output.scale));
  return { layers, outputs };
}
