import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../../../core/train/backend';
import { registerFineTuneKernels } from '../../../core/compress/finetune/kernels';

function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

async function on(
  name: 'cpu' | 'wasm',
  f: () => tf.Tensor,
): Promise<{ data: Float32Array; shape: number[] }> {
  await useBackend(name);
  const t = tf.tidy(f);
  const data = (await t.data()) as Float32Array;
  const shape = t.shape;
  t.dispose();
  return { data, shape };
}

describe('fine-tuning wasm kernels', () => {
  before(async () => {
    await useBackend('wasm');
    registerFineTuneKernels();
  });

  const x = Float32Array.from({ length: 300 }, (_, i) => Math.sin(i * 1.7) * 3);
  const ids = Int32Array.from({ length: 100 }, (_, i) => (i * 7) % 13);

  it('UnsortedSegmentSum matches cpu (1-D and row segments, out-of-range ids dropped)', async () => {
    for (const [shape, segs] of [
      [[300], 13],
      [[100, 3], 13],
      [[100, 3], 9],
    ] as const) {
      const n = shape[0];
      const f = () =>
        tf.unsortedSegmentSum(
          tf.tensor(
            x.subarray(
              0,
              shape.reduce((a, b) => a * b, 1),
            ),
            [...shape],
          ),
          tf.tensor1d(
            n === 300 ? Int32Array.from({ length: 300 }, (_, i) => i % 13) : ids,
            'int32',
          ),
          segs,
        );
      const cpu = await on('cpu', f);
      const wasm = await on('wasm', f);
      assert.deepEqual(wasm.shape, cpu.shape);
      assert.ok(relativeError(wasm.data, cpu.data) < 1e-4);
    }
  });

  it('the gradient of a centroid gather (sum of members) matches cpu', async () => {
    const centroids = Float32Array.from([0.5, -0.25, 1.5, 0.75]);
    const index = Int32Array.from({ length: 50 }, (_, i) => (i * 3) % 5); // 4 = a zero slot past the centroids
    const upstream = Float32Array.from({ length: 50 }, (_, i) => Math.cos(i));
    const f = () =>
      tf.grad((c: tf.Tensor) =>
        tf
          .gather(tf.concat([c, tf.zeros([1])]), tf.tensor1d(index, 'int32'))
          .mul(tf.tensor1d(upstream))
          .sum(),
      )(tf.tensor1d(centroids));
    const cpu = await on('cpu', f);
    const wasm = await on('wasm', f);
    assert.ok(relativeError(wasm.data, cpu.data) < 1e-4);
    // Independent of both backends: each centroid's gradient is the sum of its members' upstream values.
    for (let j = 0; j < 4; j++) {
      let sum = 0;
      for (let i = 0; i < 50; i++) if (index[i] === j) sum += upstream[i]!;
      assert.ok(Math.abs(wasm.data[j]! - sum) < 1e-4);
    }
  });
});
