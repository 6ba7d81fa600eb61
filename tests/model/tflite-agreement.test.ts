import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import h5wasm from 'h5wasm/node';
import { loadModel } from '../../core/model/index';
import { repoRoot } from '../helpers/cli';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';

/**
 * Independent checks that every kernel, bias, gamma, beta, moving mean and moving variance of
 * ad01.h5 landed in the right place: a float64 evaluation written out here from the HDF5
 * datasets read by their Keras names, and the TFLite converter's own float file.
 */

type Vec = Float64Array;
const denseLayers = ['dense', ...Array.from({ length: 9 }, (_, i) => `dense_${i + 1}`)];
const bnLayers = [
  'batch_normalization',
  ...Array.from({ length: 8 }, (_, i) => `batch_normalization_${i + 1}`),
];

function realInput(): Float32Array {
  const bytes = readFileSync(sharedModel('ad01_input_normal_id_01_00000000.bin'));
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

async function importedOutput(frames: Float32Array): Promise<Float32Array> {
  const imported = await loadModel(sharedModel('ad01.h5'));
  return (
    imported.model.predict(tf.tensor(frames, [40, 640])) as tf.Tensor
  ).dataSync() as Float32Array;
}

/** Dense (kernel [in, out]) -> BatchNormalization (eps 0.001) -> ReLU, nine times, then Dense. */
function kerasReference(frame: Float32Array, read: (p: string) => Vec): Vec {
  let x: Vec = Float64Array.from(frame);
  denseLayers.forEach((name, k) => {
    const w = read(`model_weights/${name}/${name}/kernel:0`);
    const b = read(`model_weights/${name}/${name}/bias:0`);
    const out = b.length;
    const y = new Float64Array(out);
    for (let o = 0; o < out; o++) {
      let s = b[o]!;
      for (let i = 0; i < x.length; i++) s += x[i]! * w[i * out + o]!;
      y[o] = s;
    }
    x = y;
    const bn = bnLayers[k];
    if (!bn) return;
    const p = (v: string) => read(`model_weights/${bn}/${bn}/${v}:0`);
    const [g, beta, mean, variance] = [
      p('gamma'),
      p('beta'),
      p('moving_mean'),
      p('moving_variance'),
    ];
    x = x.map((v, i) =>
      Math.max(0, (g[i]! * (v - mean[i]!)) / Math.sqrt(variance[i]! + 0.001) + beta[i]!),
    );
  });
  return x;
}

describe('ad01.h5 against independent evaluations', () => {
  it(
    'matches a float64 evaluation of the weights read by name from the HDF5 file',
    { skip: missingSharedModels('ad01.h5', 'ad01_input_normal_id_01_00000000.bin') },
    async (t) => {
      await h5wasm.ready;
      const f = new h5wasm.File(sharedModel('ad01.h5'), 'r');
      const cache = new Map<string, Vec>();
      const read = (p: string): Vec => {
        if (!cache.has(p))
          cache.set(p, Float64Array.from((f.get(p) as { value: Float32Array }).value));
        return cache.get(p)!;
      };
      const frames = realInput();
      let reference: Vec[];
      try {
        reference = Array.from({ length: 40 }, (_, i) =>
          kerasReference(frames.subarray(i * 640, (i + 1) * 640), read),
        );
      } finally {
        f.close();
      }
      const ours = await importedOutput(frames);
      let worst = 0;
      let scale = 0;
      reference.forEach((row, r) =>
        row.forEach((v, i) => {
          worst = Math.max(worst, Math.abs(v - ours[r * 640 + i]!));
          scale = Math.max(scale, Math.abs(v));
        }),
      );
      // float32 against float64 through ten ill-conditioned blocks: a few parts in 1e5.
      t.diagnostic(`max abs difference ${worst} on outputs up to ${scale}`);
      assert.ok(worst < 1e-4 * scale, `max abs difference ${worst} on outputs up to ${scale}`);
    },
  );

  const tfliteMissing =
    missingSharedModels('ad01.h5', 'ad01_fp32.tflite', 'ad01_input_normal_id_01_00000000.bin') ||
    (!existsSync(path.join(repoRoot, 'core', 'tflite', 'index.ts')) &&
      'core/tflite is not in this tree');

  it(
    "agrees with the converter's ad01_fp32.tflite, where BatchNormalization is folded into Dense",
    { skip: tfliteMissing },
    async (t) => {
      const { readTfliteFile } = await import('../../core/tflite/index');
      const tflite = await readTfliteFile(sharedModel('ad01_fp32.tflite'));
      const graph = tflite.subgraphs[0]!;
      const floats = (tensor: number) => {
        const b = tflite.buffers[graph.tensors[tensor]!.buffer]!;
        return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      };
      const frames = realInput();
      const firstLayer: Vec[] = [];
      const reference: Vec[] = [];
      for (let r = 0; r < 40; r++) {
        let x: Vec = Float64Array.from(frames.subarray(r * 640, (r + 1) * 640));
        for (const op of graph.operators) {
          assert.equal(op.op, 'FULLY_CONNECTED');
          const [out, inDim] = graph.tensors[op.inputs[1]!]!.shape as [number, number];
          const w = floats(op.inputs[1]!);
          const b = floats(op.inputs[2]!);
          const relu =
            (op.options as { fusedActivationFunction: string }).fusedActivationFunction === 'RELU';
          const y = new Float64Array(out);
          for (let o = 0; o < out; o++) {
            let s = b[o]!;
            for (let i = 0; i < inDim; i++) s += w[o * inDim + i]! * x[i]!;
            y[o] = relu ? Math.max(0, s) : s;
          }
          if (firstLayer.length === r) firstLayer.push(y);
          x = y;
        }
        reference.push(x);
      }
      const imported = await loadModel(sharedModel('ad01.h5'));
      const probe = tf.model({
        inputs: imported.model.inputs,
        outputs: [
          imported.model.getLayer('activation').output as tf.SymbolicTensor,
          imported.model.outputs[0]!,
        ],
      });
      const [first, last] = (probe.predict(tf.tensor(frames, [40, 640])) as tf.Tensor[]).map((t) =>
        t.dataSync(),
      );
      // The first block is well conditioned: the folded weights reproduce it to float precision.
      let worstFirst = 0;
      firstLayer.forEach((row, r) =>
        row.forEach(
          (v, i) => (worstFirst = Math.max(worstFirst, Math.abs(v - first![r * 128 + i]!))),
        ),
      );
      assert.ok(worstFirst < 1e-3, `first block differs by ${worstFirst}`);
      // The folded file is not the same function to the last bit: its small per-layer differences
      // grow through the deep layers, so the end-to-end check is statistical (same reconstruction
      // error, near-identical outputs).
      const mse = (out: ArrayLike<number>) => {
        let s = 0;
        for (let i = 0; i < frames.length; i++) s += (out[i]! - frames[i]!) ** 2;
        return s / frames.length;
      };
      const flatRef = Float64Array.from(reference.flatMap((r) => Array.from(r)));
      const relative = Math.abs(mse(last!) - mse(flatRef)) / mse(flatRef);
      t.diagnostic(
        `first block max difference ${worstFirst}; reconstruction MSE ${mse(last!)} vs the converter's ${mse(flatRef)}`,
      );
      assert.ok(
        relative < 0.05,
        `reconstruction MSE ${mse(last!)} vs the converter's ${mse(flatRef)}`,
      );
      let dot = 0,
        na = 0,
        nb = 0;
      for (let i = 0; i < flatRef.length; i++) {
        dot += flatRef[i]! * last![i]!;
        na += flatRef[i]! ** 2;
        nb += last![i]! ** 2;
      }
      const cosine = dot / Math.sqrt(na * nb);
      t.diagnostic(`cosine similarity ${cosine}`);
      assert.ok(cosine > 0.999, `cosine similarity ${cosine}`);
    },
  );
});
