import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import h5wasm from 'h5wasm/node';
import { loadModel } from '../../core/model/index';
import type { TfliteModel } from '../../core/tflite';
import {
  AD01_FEATURES,
  AD01_FRAMES,
  ad01BatchNormLayers,
  ad01DenseLayers,
  ad01Frames,
  dropBiasesBeforeBatchNorm,
  evaluateDenseTfliteFloat64,
  frameErrors,
  tfliteFloats,
} from '../helpers/ad01';
import { repoRoot } from '../helpers/cli';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';

/**
 * Independent checks of ad01.h5: a float64 evaluation written out here from the HDF5
 * datasets read by their Keras names, and the TFLite converter's float and int8 files,
 * compared weight by weight. Those files are not the .h5's function: the converter folded
 * each BatchNormalization into the Dense before it and dropped that Dense's bias (docs/runtime.md).
 */

type Vec = Float64Array;
const ULP = 2 ** -23;
const KERAS_EPSILON = 0.001;

/** Every dataset of ad01.h5 the checks need, read once as float64 by its Keras path. */
async function readAd01Weights(): Promise<(p: string) => Vec> {
  await h5wasm.ready;
  const f = new h5wasm.File(sharedModel('ad01.h5'), 'r');
  const cache = new Map<string, Vec>();
  try {
    const names = [
      ...ad01DenseLayers.flatMap((n) => [`${n}/${n}/kernel:0`, `${n}/${n}/bias:0`]),
      ...ad01BatchNormLayers.flatMap((n) =>
        ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((v) => `${n}/${n}/${v}:0`),
      ),
    ];
    for (const n of names)
      cache.set(
        n,
        Float64Array.from((f.get(`model_weights/${n}`) as { value: Float32Array }).value),
      );
  } finally {
    f.close();
  }
  return (p) => {
    const v = cache.get(p);
    if (!v) throw new Error(`${p} was not read from ad01.h5`);
    return v;
  };
}

const kernel = (read: (p: string) => Vec, k: number) =>
  read(`${ad01DenseLayers[k]}/${ad01DenseLayers[k]}/kernel:0`);
const bias = (read: (p: string) => Vec, k: number) =>
  read(`${ad01DenseLayers[k]}/${ad01DenseLayers[k]}/bias:0`);

/** gamma / sqrt(variance + eps), beta and moving mean of the BatchNormalization after Dense k. */
function batchNorm(read: (p: string) => Vec, k: number, eps = KERAS_EPSILON) {
  const bn = ad01BatchNormLayers[k]!;
  const p = (v: string) => read(`${bn}/${bn}/${v}:0`);
  const variance = p('moving_variance');
  const gamma = p('gamma');
  return {
    scale: gamma.map((g, i) => g / Math.sqrt(variance[i]! + eps)),
    beta: p('beta'),
    mean: p('moving_mean'),
  };
}

/** Dense (kernel [in, out]) -> BatchNormalization (eps 0.001) -> ReLU, nine times, then Dense. */
function kerasReference(frame: Float32Array, read: (p: string) => Vec): Vec {
  let x: Vec = Float64Array.from(frame);
  ad01DenseLayers.forEach((_, k) => {
    const w = kernel(read, k);
    const b = bias(read, k);
    const out = b.length;
    const y = new Float64Array(out);
    for (let o = 0; o < out; o++) {
      let s = b[o]!;
      for (let i = 0; i < x.length; i++) s += x[i]! * w[i * out + o]!;
      y[o] = s;
    }
    x = y;
    if (k >= ad01BatchNormLayers.length) return;
    const { scale, beta, mean } = batchNorm(read, k);
    x = x.map((v, i) => Math.max(0, scale[i]! * (v - mean[i]!) + beta[i]!));
  });
  return x;
}

describe('ad01.h5 against independent evaluations', () => {
  it(
    'matches a float64 evaluation of the weights read by name from the HDF5 file',
    { skip: missingSharedModels('ad01.h5', 'ad01_input_normal_id_01_00000000.bin') },
    async (t) => {
      const read = await readAd01Weights();
      const frames = ad01Frames();
      const reference = new Float64Array(AD01_FRAMES * AD01_FEATURES);
      for (let r = 0; r < AD01_FRAMES; r++)
        reference.set(
          kerasReference(frames.subarray(r * AD01_FEATURES, (r + 1) * AD01_FEATURES), read),
          r * AD01_FEATURES,
        );
      const imported = await loadModel(sharedModel('ad01.h5'));
      const ours = tf.tidy(() =>
        (
          imported.model.predict(tf.tensor(frames, [AD01_FRAMES, AD01_FEATURES])) as tf.Tensor
        ).dataSync(),
      );
      const errors = frameErrors(ours, reference, AD01_FEATURES);
      t.diagnostic(JSON.stringify(errors));
      // float32 against float64 through ten ill-conditioned blocks: a few parts in 1e5.
      assert.ok(errors.worstElementOfRange < 1e-4, JSON.stringify(errors));
    },
  );
});

const convertedMissing =
  missingSharedModels(
    'ad01.h5',
    'ad01_fp32.tflite',
    'ad01_int8.tflite',
    'ad01_input_normal_id_01_00000000.bin',
  ) ||
  (!existsSync(path.join(repoRoot, 'core', 'tflite', 'index.ts')) &&
    'core/tflite is not in this tree');

describe(
  "the converter's ad01 files against ad01.h5, weight by weight",
  { skip: convertedMissing },
  () => {
    let read: (p: string) => Vec;
    let fp32: TfliteModel;
    let int8: TfliteModel;
    before(async () => {
      const { readTfliteFile } = await import('../../core/tflite/index');
      read = await readAd01Weights();
      fp32 = await readTfliteFile(sharedModel('ad01_fp32.tflite'));
      int8 = await readTfliteFile(sharedModel('ad01_int8.tflite'));
    });
    const fullyConnected = (model: TfliteModel) => {
      const ops = model.subgraphs[0]!.operators.filter((op) => op.op === 'FULLY_CONNECTED');
      assert.equal(ops.length, ad01DenseLayers.length);
      return ops;
    };

    /** Largest |file - kernel * scale| over all layers, in float32 ulps of the expected weight. */
    function worstFoldedWeight(eps: number): number {
      let worst = 0;
      fullyConnected(fp32).forEach((op, k) => {
        const folded = tfliteFloats(fp32, op.inputs[1]!);
        const w = kernel(read, k);
        const scale = k < ad01BatchNormLayers.length ? batchNorm(read, k, eps).scale : null;
        const out = bias(read, k).length;
        const depth = w.length / out;
        for (let o = 0; o < out; o++)
          for (let i = 0; i < depth; i++) {
            const expected = w[i * out + o]! * (scale ? scale[o]! : 1);
            if (expected === 0) continue;
            worst = Math.max(
              worst,
              Math.abs(folded[o * depth + i]! - expected) / (Math.abs(expected) * ULP),
            );
          }
      });
      return worst;
    }

    it("ad01_fp32.tflite's weights are kernel * gamma / sqrt(variance + 0.001), and no other epsilon fits", (t) => {
      const worst = worstFoldedWeight(KERAS_EPSILON);
      t.diagnostic(`eps 0.001: worst weight ${worst.toFixed(2)} ulp`);
      // gamma / sqrt(variance + eps) and the product, each rounded to float32: a few ulps.
      assert.ok(worst < 8, `worst folded weight is ${worst} ulp off`);
      for (const eps of [0, 1e-5, 1e-4, 0.01]) {
        const other = worstFoldedWeight(eps);
        t.diagnostic(`eps ${eps}: worst weight ${other.toFixed(0)} ulp`);
        assert.ok(other > 100, `epsilon ${eps} also fits (${other} ulp)`);
      }
      const last = fullyConnected(fp32).at(-1)!;
      const lastKernel = kernel(read, ad01DenseLayers.length - 1);
      const lastBias = bias(read, ad01DenseLayers.length - 1);
      const [units, depth] = fp32.subgraphs[0]!.tensors[last.inputs[1]!]!.shape as [number, number];
      const fileKernel = tfliteFloats(fp32, last.inputs[1]!);
      for (let o = 0; o < units; o++)
        for (let i = 0; i < depth; i++)
          assert.equal(
            fileKernel[o * depth + i],
            lastKernel[i * units + o],
            `dense_9 weight ${o},${i}`,
          );
      assert.deepEqual(Array.from(tfliteFloats(fp32, last.inputs[2]!)), Array.from(lastBias));
    });

    it("ad01_fp32.tflite's biases are beta - mean * scale: each Dense bias before a BatchNormalization is missing", (t) => {
      fullyConnected(fp32)
        .slice(0, ad01BatchNormLayers.length)
        .forEach((op, k) => {
          const fileBias = tfliteFloats(fp32, op.inputs[2]!);
          const b = bias(read, k);
          const { scale, beta, mean } = batchNorm(read, k);
          let worstWithout = 0;
          let worstCorrect = 0;
          let missing = 0;
          for (let o = 0; o < b.length; o++) {
            // float32 rounding of mean * scale and of the sum: ulps of the larger term.
            const ulp = Math.max(Math.abs(mean[o]! * scale[o]!), Math.abs(beta[o]!)) * ULP;
            const withoutDenseBias = beta[o]! - mean[o]! * scale[o]!;
            const correct = (b[o]! - mean[o]!) * scale[o]! + beta[o]!;
            worstWithout = Math.max(worstWithout, Math.abs(fileBias[o]! - withoutDenseBias) / ulp);
            worstCorrect = Math.max(worstCorrect, Math.abs(fileBias[o]! - correct) / ulp);
            missing = Math.max(missing, Math.abs(b[o]! * scale[o]!));
          }
          const name = ad01DenseLayers[k];
          t.diagnostic(
            `${name}: bias-free fold within ${worstWithout.toFixed(1)} ulp; Keras fold off by up to ${worstCorrect.toFixed(0)} ulp (|bias * scale| up to ${missing.toExponential(2)})`,
          );
          assert.ok(worstWithout < 4, `${name}: bias-free fold is ${worstWithout} ulp off`);
          assert.ok(worstCorrect > 16, `${name}: the Keras fold fits too (${worstCorrect} ulp)`);
        });
    });

    it('ad01_int8.tflite carries the same biases: each int32 bias is the bias-free fold within half a step', (t) => {
      const graph = int8.subgraphs[0]!;
      fullyConnected(int8).forEach((op, k) => {
        const tensor = graph.tensors[op.inputs[2]!]!;
        assert.equal(tensor.type, 'int32');
        const raw = int8.buffers[tensor.buffer]!;
        const q = new Int32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
        const steps = tensor.quantization!.scale;
        const b = bias(read, k);
        const hasBatchNorm = k < ad01BatchNormLayers.length;
        const bn = hasBatchNorm ? batchNorm(read, k) : null;
        let worstWithout = 0;
        let worstCorrect = 0;
        for (let o = 0; o < b.length; o++) {
          const step = steps.length > 1 ? steps[o]! : steps[0]!;
          const withoutDenseBias = bn ? bn.beta[o]! - bn.mean[o]! * bn.scale[o]! : b[o]!;
          const correct = bn ? (b[o]! - bn.mean[o]!) * bn.scale[o]! + bn.beta[o]! : b[o]!;
          worstWithout = Math.max(worstWithout, Math.abs(q[o]! * step - withoutDenseBias) / step);
          worstCorrect = Math.max(worstCorrect, Math.abs(q[o]! * step - correct) / step);
        }
        const name = ad01DenseLayers[k];
        t.diagnostic(
          `${name}: bias-free fold within ${worstWithout.toFixed(4)} steps, Keras fold within ${worstCorrect.toFixed(2)} steps`,
        );
        // Rounding to the nearest step, from a float32 value the converter computed.
        assert.ok(worstWithout < 0.501, `${name}: bias-free fold is ${worstWithout} steps off`);
        if (hasBatchNorm) assert.ok(worstCorrect > 1, `${name}: the Keras fold fits too`);
      });
    });

    it('the imported ad01.h5 with those biases dropped reproduces a float64 evaluation of ad01_fp32.tflite (relative error < 1e-4)', async (t) => {
      const frames = ad01Frames();
      const reference = evaluateDenseTfliteFloat64(fp32, frames);
      const imported = await loadModel(sharedModel('ad01.h5'));
      const predict = () =>
        tf.tidy(() =>
          (
            imported.model.predict(tf.tensor(frames, [AD01_FRAMES, AD01_FEATURES])) as tf.Tensor
          ).dataSync(),
        );
      const asSaved = frameErrors(predict(), reference, AD01_FEATURES);
      dropBiasesBeforeBatchNorm(imported.model);
      const dropped = frameErrors(predict(), reference, AD01_FEATURES);
      t.diagnostic(
        `as saved: ${JSON.stringify(asSaved)}; biases dropped: ${JSON.stringify(dropped)}`,
      );
      assert.ok(dropped.worstRelative < 1e-4, JSON.stringify(dropped));
      assert.ok(dropped.worstElementOfRange < 1e-4, JSON.stringify(dropped));
      // The dropped biases are the whole gap: with them the outputs are off by percents.
      assert.ok(asSaved.worstRelative > 1e-3, JSON.stringify(asSaved));
    });
  },
);
