/**
 * One float graph through every op the compression engine emits, built with
 * TfliteModelBuilder and run in the real TFLite runtime, checked against plain JavaScript.
 * It proves the writer encodes each op's inputs and options the way TFLite reads them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TfliteModelBuilder } from '../../core/tflite';
import { TfliteReference, missingTfliteReference } from '../helpers/tflite-reference';

/** A tiny NHWC tensor for the expected values. */
class T {
  constructor(
    readonly shape: number[],
    readonly data: number[],
  ) {}
  at(n: number, y: number, x: number, c: number): number {
    const [, h, w, ch] = this.shape;
    return this.data[((n * h + y) * w + x) * ch + c];
  }
  map(f: (v: number) => number): T {
    return new T(this.shape, this.data.map(f));
  }
  zip(o: T, f: (a: number, b: number) => number): T {
    return new T(
      this.shape,
      this.data.map((v, i) => f(v, o.data[i])),
    );
  }
}

function nhwc(shape: number[], f: (y: number, x: number, c: number) => number): T {
  const [, h, w, ch] = shape;
  const data: number[] = [];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) for (let c = 0; c < ch; c++) data.push(f(y, x, c));
  return new T(shape, data);
}

function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('every emitted op in the real TFLite runtime', { skip: missingTfliteReference() }, () => {
  let ref: TfliteReference;
  before(async () => {
    ref = await TfliteReference.start();
  });
  after(async () => {
    await ref?.close();
  });

  it('PAD, DEPTHWISE_CONV_2D, pools, ADD/SUB/MUL, CONCATENATION, activations, MEAN, RESHAPE, FULLY_CONNECTED, SOFTMAX, QUANTIZE, DEQUANTIZE', async () => {
    const rand = random(21);
    const dwFilter = Array.from({ length: 9 * 2 }, () => rand() * 2 - 1);
    const dwBias = [0.25, -0.5];
    const fcWeights = Array.from({ length: 3 * 4 }, () => rand() * 2 - 1);

    const b = new TfliteModelBuilder();
    const f32 = (name: string, shape: number[], data?: number[]) =>
      b.addTensor({ name, shape, type: 'float32', data: data && new Float32Array(data) });
    const x = f32('x', [1, 4, 4, 2]);
    const paddings = b.addTensor({
      name: 'paddings',
      shape: [4, 2],
      type: 'int32',
      data: new Int32Array([0, 0, 1, 1, 0, 1, 0, 0]),
    });
    const p = f32('p', [1, 6, 5, 2]);
    const d = f32('d', [1, 4, 3, 2]);
    const ap = f32('ap', [1, 3, 2, 2]);
    const mp = f32('mp', [1, 3, 2, 2]);
    const a = f32('a', [1, 3, 2, 2]);
    const s = f32('s', [1, 3, 2, 2]);
    const m = f32('m', [1, 3, 2, 2]);
    const c = f32('c', [1, 3, 2, 4]);
    const names = ['LOGISTIC', 'TANH', 'RELU6', 'LEAKY_RELU', 'HARD_SWISH'] as const;
    const acts = names.map((n) => f32(n.toLowerCase(), [1, 3, 2, 4]));
    const r = f32('relu', [1, 3, 2, 4]);
    const axes = b.addTensor({
      name: 'axes',
      shape: [2],
      type: 'int32',
      data: new Int32Array([1, 2]),
    });
    const mean = f32('mean', [1, 1, 1, 4]);
    const shape = b.addTensor({
      name: 'shape',
      shape: [2],
      type: 'int32',
      data: new Int32Array([1, 4]),
    });
    const flat = f32('flat', [1, 4]);
    const fc = f32('fc', [1, 3]);
    const sm = f32('sm', [1, 3]);
    const q = b.addTensor({
      name: 'q',
      shape: [1, 3],
      type: 'int8',
      quantization: { scale: [1 / 256], zeroPoint: [-128] },
    });
    const dq = f32('dq', [1, 3]);

    b.addOperator('PAD', [x, paddings], [p]);
    b.addOperator(
      'DEPTHWISE_CONV_2D',
      [p, f32('dwf', [1, 3, 3, 2], dwFilter), f32('dwb', [2], dwBias)],
      [d],
      {
        padding: 'VALID',
        strideW: 1,
        strideH: 1,
        depthMultiplier: 1,
      },
    );
    b.addOperator('AVERAGE_POOL_2D', [d], [ap], {
      padding: 'VALID',
      strideW: 1,
      strideH: 1,
      filterWidth: 2,
      filterHeight: 2,
    });
    b.addOperator('MAX_POOL_2D', [d], [mp], {
      padding: 'VALID',
      strideW: 1,
      strideH: 1,
      filterWidth: 2,
      filterHeight: 2,
    });
    b.addOperator('ADD', [ap, mp], [a]);
    b.addOperator('SUB', [a, mp], [s]);
    b.addOperator('MUL', [s, ap], [m], { fusedActivationFunction: 'RELU' });
    b.addOperator('CONCATENATION', [a, m], [c], { axis: 3 });
    names.forEach((n, i) =>
      b.addOperator(n, [c], [acts[i]], n === 'LEAKY_RELU' ? { alpha: 0.1 } : {}),
    );
    b.addOperator('RELU', [acts[1]], [r]);
    b.addOperator('MEAN', [acts[4], axes], [mean], { keepDims: true });
    b.addOperator('RESHAPE', [mean, shape], [flat], { newShape: [1, 4] });
    b.addOperator('FULLY_CONNECTED', [flat, f32('fcw', [3, 4], fcWeights), -1], [fc]);
    b.addOperator('SOFTMAX', [fc], [sm], { beta: 1 });
    b.addOperator('QUANTIZE', [sm], [q]);
    b.addOperator('DEQUANTIZE', [q], [dq]);
    b.setInputs(x).setOutputs(acts[0], r, acts[2], acts[3], mean, sm, q, dq);

    const input = Float32Array.from({ length: 32 }, () => rand() * 6 - 3);
    const { results } = await ref.run(b.toBytes(), [input]);
    const [logistic, relu, relu6, leaky, meanOut, softmax, quantized, dequantized] = results[0];

    // The same graph in JavaScript.
    const X = new T([1, 4, 4, 2], Array.from(input));
    const P = nhwc([1, 6, 5, 2], (y, xx, ch) =>
      y >= 1 && y <= 4 && xx < 4 ? X.at(0, y - 1, xx, ch) : 0,
    );
    const D = nhwc([1, 4, 3, 2], (y, xx, ch) => {
      let acc = dwBias[ch];
      for (let ky = 0; ky < 3; ky++)
        for (let kx = 0; kx < 3; kx++)
          acc += P.at(0, y + ky, xx + kx, ch) * dwFilter[(ky * 3 + kx) * 2 + ch];
      return acc;
    });
    const window = (y: number, xx: number, ch: number) => [
      D.at(0, y, xx, ch),
      D.at(0, y + 1, xx, ch),
      D.at(0, y, xx + 1, ch),
      D.at(0, y + 1, xx + 1, ch),
    ];
    const AP = nhwc([1, 3, 2, 2], (y, xx, ch) => window(y, xx, ch).reduce((u, v) => u + v) / 4);
    const MP = nhwc([1, 3, 2, 2], (y, xx, ch) => Math.max(...window(y, xx, ch)));
    const A = AP.zip(MP, (u, v) => u + v);
    const S = A.zip(MP, (u, v) => u - v);
    const M = S.zip(AP, (u, v) => Math.max(0, u * v));
    const C = nhwc([1, 3, 2, 4], (y, xx, ch) =>
      ch < 2 ? A.at(0, y, xx, ch) : M.at(0, y, xx, ch - 2),
    );
    const HS = C.map((v) => (v * Math.min(6, Math.max(0, v + 3))) / 6);
    const MEAN = [0, 1, 2, 3].map((ch) => {
      let sum = 0;
      for (let y = 0; y < 3; y++) for (let xx = 0; xx < 2; xx++) sum += HS.at(0, y, xx, ch);
      return sum / 6;
    });
    const FC = [0, 1, 2].map((o) => MEAN.reduce((acc, v, i) => acc + v * fcWeights[o * 4 + i], 0));
    const top = Math.max(...FC);
    const exps = FC.map((v) => Math.exp(v - top));
    const SM = exps.map((e) => e / exps.reduce((u, v) => u + v));
    const Q = SM.map((v) => Math.max(-128, Math.min(127, Math.round(v * 256) - 128)));

    const close = (got: ArrayLike<number>, want: number[], what: string, tol = 1e-5) => {
      assert.equal(got.length, want.length, what);
      want.forEach((w, i) =>
        assert.ok(
          Math.abs(got[i] - w) <= tol * Math.max(1, Math.abs(w)),
          `${what}[${i}]: TFLite ${got[i]}, here ${w}`,
        ),
      );
    };
    close(
      logistic,
      C.data.map((v) => 1 / (1 + Math.exp(-v))),
      'LOGISTIC',
    );
    close(
      relu,
      C.data.map((v) => Math.max(0, Math.tanh(v))),
      'TANH then RELU',
    );
    close(
      relu6,
      C.data.map((v) => Math.min(6, Math.max(0, v))),
      'RELU6',
    );
    close(
      leaky,
      C.data.map((v) => (v > 0 ? v : 0.1 * v)),
      'LEAKY_RELU',
    );
    close(meanOut, MEAN, 'HARD_SWISH then MEAN');
    close(softmax, SM, 'FULLY_CONNECTED then SOFTMAX');
    quantized.forEach((v, i) =>
      assert.ok(Math.abs(v - Q[i]) <= 1, `QUANTIZE[${i}]: TFLite ${v}, here ${Q[i]}`),
    );
    close(
      dequantized,
      Array.from(quantized, (v) => (v + 128) / 256),
      'DEQUANTIZE',
      0,
    );
    assert.ok(C.data.some((v) => v < 0) && C.data.some((v) => v > 0), 'activations see both signs');
  });
});
