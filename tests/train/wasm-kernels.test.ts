import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../../core/train/backend';
import {
  batchNormSimdReady,
  meanLoopGeometry,
  meanSimdReady,
  replacedWasmKernels,
  wasmTrainingKernels,
} from '../../core/train/wasm-kernels';

type Shape4 = [number, number, number, number];

/** Deterministic values in [-1, 1) so both backends see identical inputs. */
function values(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** max |a − b| / max |b|: the scale-free error used for every comparison. */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

async function onBackend(name: 'cpu' | 'wasm', f: () => tf.Tensor): Promise<Float32Array> {
  await useBackend(name);
  const t = tf.tidy(f);
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return data;
}

function run(kernel: string, inputs: Record<string, tf.Tensor>, attrs: object): tf.Tensor {
  return tf.engine().runKernel(kernel, inputs as never, attrs as never) as tf.Tensor;
}

/** A dilated filter is an undilated one with zeros between taps: an independent reference. */
function spreadFilter(
  w: Float32Array,
  shape: Shape4,
  d: number,
): { values: Float32Array; shape: Shape4 } {
  const [kh, kw, c, m] = shape;
  const eh = (kh - 1) * d + 1;
  const ew = (kw - 1) * d + 1;
  const out = new Float32Array(eh * ew * c * m);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      out.set(
        w.subarray((i * kw + j) * c * m, (i * kw + j + 1) * c * m),
        (i * d * ew + j * d) * c * m,
      );
  return { values: out, shape: [eh, ew, c, m] };
}

function gatherTaps(spread: Float32Array, shape: Shape4, d: number): Float32Array {
  const [kh, kw, c, m] = shape;
  const ew = (kw - 1) * d + 1;
  const out = new Float32Array(size(shape));
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      out.set(
        spread.subarray((i * d * ew + j * d) * c * m, (i * d * ew + j * d + 1) * c * m),
        (i * kw + j) * c * m,
      );
  return out;
}

describe('wasm training kernels', () => {
  before(async () => {
    await useBackend('wasm');
  });

  it('registers every kernel for the wasm backend', () => {
    for (const k of wasmTrainingKernels)
      assert.ok(tf.getKernel(k.kernelName, 'wasm'), k.kernelName);
  });

  const convCases: {
    x: Shape4;
    k: [number, number];
    cout: number;
    strides: number;
    pad: 'same' | 'valid';
  }[] = [
    { x: [2, 9, 9, 3], k: [3, 3], cout: 4, strides: 1, pad: 'same' },
    { x: [2, 9, 9, 3], k: [3, 3], cout: 4, strides: 1, pad: 'valid' },
    { x: [3, 10, 7, 2], k: [3, 2], cout: 5, strides: 2, pad: 'same' },
    { x: [1, 11, 11, 4], k: [5, 5], cout: 3, strides: 2, pad: 'valid' },
    { x: [4, 6, 6, 8], k: [1, 1], cout: 16, strides: 1, pad: 'valid' },
    { x: [4, 7, 7, 8], k: [1, 1], cout: 6, strides: 2, pad: 'same' },
    { x: [16, 28, 28, 1], k: [3, 3], cout: 16, strides: 2, pad: 'same' },
  ];
  for (const c of convCases) {
    it(`Conv2DBackpropFilter matches cpu for x ${c.x} kernel ${c.k} stride ${c.strides} ${c.pad}`, async () => {
      const filterShape: Shape4 = [c.k[0], c.k[1], c.x[3], c.cout];
      const xv = values(size(c.x), 1);
      const yShape = tf.tidy(
        () =>
          tf.conv2d(
            tf.zeros(c.x) as tf.Tensor4D,
            tf.zeros(filterShape) as tf.Tensor4D,
            c.strides,
            c.pad,
          ).shape,
      );
      const dyv = values(size(yShape), 2);
      const f = () =>
        run(
          'Conv2DBackpropFilter',
          { x: tf.tensor(xv, c.x), dy: tf.tensor(dyv, yShape) },
          {
            strides: [c.strides, c.strides],
            pad: c.pad,
            dataFormat: 'NHWC',
            filterShape,
          },
        );
      const expected = await onBackend('cpu', f);
      const actual = await onBackend('wasm', f);
      assert.ok(
        relativeError(actual, expected) < 1e-4,
        `relative error ${relativeError(actual, expected)}`,
      );
    });
  }

  const dwCases: {
    x: Shape4;
    k: [number, number];
    mult: number;
    strides: number;
    pad: 'same' | 'valid';
    dil: number;
  }[] = [
    { x: [2, 9, 9, 3], k: [3, 3], mult: 1, strides: 1, pad: 'same', dil: 1 },
    { x: [2, 9, 9, 3], k: [3, 3], mult: 2, strides: 1, pad: 'valid', dil: 1 },
    { x: [3, 10, 8, 4], k: [3, 3], mult: 1, strides: 2, pad: 'same', dil: 1 },
    { x: [1, 12, 12, 2], k: [5, 3], mult: 3, strides: 2, pad: 'valid', dil: 1 },
    { x: [2, 12, 12, 3], k: [3, 3], mult: 1, strides: 1, pad: 'same', dil: 2 },
    { x: [2, 13, 11, 2], k: [3, 2], mult: 2, strides: 1, pad: 'valid', dil: 3 },
    { x: [16, 14, 14, 16], k: [3, 3], mult: 1, strides: 1, pad: 'same', dil: 1 },
  ];
  for (const c of dwCases) {
    const label = `x ${c.x} kernel ${c.k} x${c.mult} stride ${c.strides} ${c.pad} dilation ${c.dil}`;
    const filterShape: Shape4 = [c.k[0], c.k[1], c.x[3], c.mult];
    const yShape = () =>
      tf.tidy(
        () =>
          tf.depthwiseConv2d(
            tf.zeros(c.x) as tf.Tensor4D,
            tf.zeros(filterShape) as tf.Tensor4D,
            c.strides,
            c.pad,
            'NHWC',
            c.dil,
          ).shape,
      );
    // tfjs-cpu ignores dilation in these kernels, so the reference runs the equivalent
    // undilated filter with zeros between the taps.
    const spreadShape = spreadFilter(new Float32Array(size(filterShape)), filterShape, c.dil).shape;

    it(`DepthwiseConv2dNativeBackpropFilter matches cpu for ${label}`, async () => {
      const ys = yShape();
      const xv = values(size(c.x), 3);
      const dyv = values(size(ys), 4);
      const attrs = (shape: Shape4, dil: number) => ({
        strides: [c.strides, c.strides],
        dilations: [dil, dil],
        pad: c.pad,
        filterShape: shape,
      });
      const expected = gatherTaps(
        await onBackend('cpu', () =>
          run(
            'DepthwiseConv2dNativeBackpropFilter',
            { x: tf.tensor(xv, c.x), dy: tf.tensor(dyv, ys) },
            attrs(spreadShape, 1),
          ),
        ),
        filterShape,
        c.dil,
      );
      const actual = await onBackend('wasm', () =>
        run(
          'DepthwiseConv2dNativeBackpropFilter',
          { x: tf.tensor(xv, c.x), dy: tf.tensor(dyv, ys) },
          attrs(filterShape, c.dil),
        ),
      );
      assert.ok(
        relativeError(actual, expected) < 1e-4,
        `relative error ${relativeError(actual, expected)}`,
      );
    });

    it(`DepthwiseConv2dNativeBackpropInput matches cpu for ${label}`, async () => {
      const ys = yShape();
      const wv = values(size(filterShape), 5);
      const dyv = values(size(ys), 6);
      const spread = spreadFilter(wv, filterShape, c.dil);
      const attrs = (dil: number) => ({
        strides: [c.strides, c.strides],
        dilations: [dil, dil],
        pad: c.pad,
        inputShape: c.x,
      });
      const expected = await onBackend('cpu', () =>
        run(
          'DepthwiseConv2dNativeBackpropInput',
          { dy: tf.tensor(dyv, ys), filter: tf.tensor(spread.values, spread.shape) },
          attrs(1),
        ),
      );
      const actual = await onBackend('wasm', () =>
        run(
          'DepthwiseConv2dNativeBackpropInput',
          { dy: tf.tensor(dyv, ys), filter: tf.tensor(wv, filterShape) },
          attrs(c.dil),
        ),
      );
      assert.ok(
        relativeError(actual, expected) < 1e-4,
        `relative error ${relativeError(actual, expected)}`,
      );
    });
  }

  const tileCases: [number[], number[], 'float32' | 'int32' | 'bool'][] = [
    [[1, 1, 1, 8], [16, 7, 7, 1], 'float32'],
    [[3], [4], 'float32'],
    [[2, 3], [3, 2], 'int32'],
    [[2, 1, 3], [1, 5, 2], 'bool'],
    [[2, 2, 2, 2], [2, 1, 3, 2], 'float32'],
    [[4, 1], [1, 1], 'float32'],
    [[2, 3], [0, 2], 'float32'],
    [[], [], 'float32'],
  ];
  for (const [shape, reps, dtype] of tileCases) {
    it(`Tile equals cpu exactly for ${dtype} [${shape}] x [${reps}]`, async () => {
      const data = Array.from(values(Math.max(1, size(shape)), 9), (v) =>
        dtype === 'float32' ? v : dtype === 'int32' ? Math.round(v * 100) : v > 0 ? 1 : 0,
      );
      const f = () => tf.tile(tf.tensor(data.slice(0, size(shape)), shape, dtype), reps);
      const read = async (backend: 'cpu' | 'wasm') => {
        await useBackend(backend);
        const t = f();
        const out = { shape: t.shape, values: Array.from(await t.data()) };
        t.dispose();
        return out;
      };
      assert.deepEqual(await read('wasm'), await read('cpu'));
    });
  }

  it('gives the same weight gradients as cpu through a Conv2D, DepthwiseConv2D, SeparableConv2D and BatchNormalization model', async () => {
    const grads = async (backend: 'cpu' | 'wasm'): Promise<Float32Array[]> => {
      await useBackend(backend);
      const input = tf.input({ shape: [12, 12, 2] });
      let h = tf.layers
        .conv2d({
          filters: 6,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          useBias: false,
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
        })
        .apply(input) as tf.SymbolicTensor;
      // No bias before BatchNormalization: its gradient is zero up to rounding noise.
      h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor;
      h = tf.layers
        .depthwiseConv2d({
          kernelSize: 3,
          padding: 'same',
          depthMultiplier: 2,
          depthwiseInitializer: tf.initializers.glorotUniform({ seed: 2 }),
        })
        .apply(h) as tf.SymbolicTensor;
      h = tf.layers
        .separableConv2d({
          filters: 5,
          kernelSize: 3,
          depthwiseInitializer: tf.initializers.glorotUniform({ seed: 3 }),
          pointwiseInitializer: tf.initializers.glorotUniform({ seed: 4 }),
        })
        .apply(h) as tf.SymbolicTensor;
      h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
      const out = tf.layers
        .dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) })
        .apply(h) as tf.SymbolicTensor;
      const model = tf.model({ inputs: input, outputs: out });
      const x = tf.tensor(values(4 * 12 * 12 * 2, 7), [4, 12, 12, 2]);
      const { grads: g } = tf.variableGrads(
        () => tf.sum(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar,
      );
      const names = model.trainableWeights.map((w) => w.name);
      const result = await Promise.all(
        names.map(async (n) => (await g[n]!.data()) as Float32Array),
      );
      tf.dispose([x, ...Object.values(g)]);
      model.dispose();
      return result;
    };
    const expected = await grads('cpu');
    const actual = await grads('wasm');
    assert.equal(actual.length, expected.length);
    for (let i = 0; i < expected.length; i++) {
      assert.ok(
        relativeError(actual[i]!, expected[i]!) < 1e-4,
        `gradient ${i}: relative error ${relativeError(actual[i]!, expected[i]!)}`,
      );
    }
  });
  // [x shape, parameter length (0: absent), special values in x and the variance]
  const batchNormCases: [number[], number, boolean][] = [
    [[3, 5, 7, 32], 32, false],
    [[2, 4, 4, 8], 8, true],
    [[1, 2, 2, 12], 1, false],
    [[4, 3, 3, 256], 256, true],
    [[2, 3, 3, 6], 6, false], // not a multiple of four channels: the backend's kernel
    [[5, 3], 3, false],
  ];
  for (const [shape, params, special] of batchNormCases) {
    it(`FusedBatchNorm equals the backend's own kernel bit for bit on [${shape}], parameters of ${params}${special ? ', with NaN, infinities, zeros and a zero variance' : ''}`, async () => {
      await useBackend('wasm');
      const own = replacedWasmKernels.get('FusedBatchNorm');
      assert.ok(own, 'the backend kernel was kept as the fallback');
      // Node 20 runs wasm SIMD: the cases with channels a multiple of four take the loop.
      assert.ok(batchNormSimdReady(tf.backend()), 'the SIMD loop can run on this backend');
      const xs = values(size(shape), 21).map((v) => v * 40);
      const p = (seed: number, lo: number) => values(params, seed).map((v) => lo + Math.abs(v) * 3);
      const variance = p(23, 0);
      if (special) {
        xs.set([NaN, Infinity, -Infinity, 0, -0, 3e38, 1e-42], 0);
        variance.set([0, 1e-30], 0);
      }
      const inputs = {
        x: tf.tensor(xs, shape),
        mean: tf.tensor(values(params, 22)),
        variance: tf.tensor(variance),
        offset: tf.tensor(values(params, 24)),
        scale: tf.tensor(p(25, 0.1)),
      };
      const attrs = { varianceEpsilon: 1e-3 };
      const ours = run('FusedBatchNorm', inputs, attrs);
      const theirs = own!.kernelFunc({
        inputs,
        backend: tf.backend(),
        attrs,
      } as never) as tf.TensorInfo;
      const a = new Uint32Array(((await ours.data()) as Float32Array).buffer);
      const b = new Uint32Array(
        (tf.backend().readSync(theirs.dataId) as Float32Array).slice().buffer,
      );
      tf.backend().disposeData(theirs.dataId);
      ours.dispose();
      for (const t of Object.values(inputs)) t.dispose();
      assert.equal(a.length, b.length);
      let differ = 0;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differ++;
      assert.equal(differ, 0, `${differ} of ${a.length} floats differ`);
    });
  }
  // [x shape, axes, keepDims, takes the loop]
  const meanCases: [number[], number[], boolean, boolean][] = [
    [[32, 7, 7, 256], [1, 2], false, true], // GlobalAveragePooling2D on the sample
    [[3, 5, 4, 8], [1, 2], true, true],
    [[3, 5, 4, 8], [2, 1], false, false], // summed height first: the backend's kernel
    [[2, 9, 12], [1], false, true],
    [[4, 6, 8], [0, 1], false, true],
    [[2, 3, 2, 4, 4], [1, 2, 3], false, true],
    [[2, 3, 5, 6], [1, 2], false, false], // not a multiple of four channels
    [[5, 8], [1], false, false], // the innermost axis: no transpose in the backend either
    [[2, 4, 3, 4], [1, 3], false, false], // axes apart
  ];
  for (const [shape, axes, keepDims, loop] of meanCases) {
    it(`Mean equals the backend's own kernel bit for bit on [${shape}] over axes ${axes}${keepDims ? ', keeping dims' : ''} (${loop ? 'the SIMD loop' : "the backend's kernel"})`, async () => {
      await useBackend('wasm');
      const own = replacedWasmKernels.get('Mean');
      assert.ok(own, 'the backend kernel was kept as the fallback');
      assert.ok(meanSimdReady(tf.backend()), 'the SIMD loop can run on this backend');
      assert.equal(
        meanLoopGeometry(shape, axes) !== null,
        loop,
        'the case takes the path it names',
      );
      // Magnitudes far apart, so the order of the additions shows in the sums' roundings.
      const xs = values(size(shape), 31).map(
        (v, i) => v * (i % 3 === 0 ? 1e4 : i % 3 === 1 ? 1 : 1e-3),
      );
      xs.set([NaN, Infinity, -Infinity, -0, 3e38, 3e38, 1e-42], 0);
      const x = tf.tensor(xs, shape);
      const attrs = { axis: axes, keepDims };
      const ours = run('Mean', { x }, attrs);
      const theirs = own!.kernelFunc({
        inputs: { x },
        backend: tf.backend(),
        attrs,
      } as never) as tf.TensorInfo;
      assert.deepEqual(ours.shape, theirs.shape);
      const a = new Uint32Array(((await ours.data()) as Float32Array).buffer);
      const b = new Uint32Array(
        (tf.backend().readSync(theirs.dataId) as Float32Array).slice().buffer,
      );
      tf.backend().disposeData(theirs.dataId);
      ours.dispose();
      x.dispose();
      assert.equal(a.length, b.length);
      let differ = 0;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differ++;
      assert.equal(differ, 0, `${differ} of ${a.length} floats differ`);
    });
  }
});
