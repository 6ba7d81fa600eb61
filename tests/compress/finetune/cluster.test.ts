import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../core/train/backend';
import { registerFineTuneKernels } from '../../../core/compress/finetune/kernels';
import { magnitudeMask } from '../../../core/compress/finetune/masks';
import type { CompressionState } from '../../../core/compress/finetune/state';
import { batchOf, ConstrainedTrainer } from '../../../core/compress/finetune/trainer';
import { kernelValues, quadrantData, smallConvModel } from './small-model';

/** Linear centroids over the live weights, nearest assignment; pruned weights in the zero cluster. */
function clusterLayer(w: Float32Array, mask: Uint8Array, k: number, channels?: number) {
  const groups = channels ?? 1;
  const centroids: Float32Array[] = [];
  const assignments = new Int32Array(w.length).fill(-1);
  for (let g = 0; g < groups; g++) {
    const live = [...w.keys()].filter(
      (i) => mask[i] === 1 && (channels ? i % channels === g : true),
    );
    const vals = live.map((i) => w[i]!);
    const lo = Math.min(...vals);
    const hi = Math.max(...vals);
    const c = Float32Array.from({ length: k }, (_, j) => lo + ((hi - lo) * (j + 0.5)) / k);
    centroids.push(c);
    for (const i of live) {
      let best = 0;
      for (let j = 1; j < k; j++)
        if (Math.abs(c[j]! - w[i]!) < Math.abs(c[best]! - w[i]!)) best = j;
      assignments[i] = best;
    }
  }
  return { centroids, assignments };
}

function distinct(w: Float32Array, indices?: number[]): Set<number> {
  return new Set(indices ? indices.map((i) => w[i]!) : w);
}

describe('cluster-preserving fine-tune', () => {
  before(async () => {
    await initBackend();
    registerFineTuneKernels();
  });

  it('holds at most K values per layer, zero cluster at exactly 0, weights = centroids[assignment] after every step', () => {
    const model = smallConvModel(3);
    const K = 6;
    const state: CompressionState = {};
    for (const layer of ['conv', 'pw', 'classes']) {
      const w = kernelValues(model, layer);
      const mask = magnitudeMask(w, 0.5);
      const c = clusterLayer(w, mask, K - 1);
      state[layer] = {
        mask,
        cluster: { granularity: 'per-layer', centroids: c.centroids, assignments: c.assignments },
      };
    }
    // Per-channel on the depthwise layer: 8 groups of K - 1 centroids plus the zero cluster.
    const dw = kernelValues(model, 'dw');
    const dwMask = magnitudeMask(dw, 0.5);
    const dwc = clusterLayer(dw, dwMask, K - 1, 8);
    state.dw = {
      mask: dwMask,
      cluster: {
        granularity: 'per-channel',
        centroids: dwc.centroids,
        assignments: dwc.assignments,
      },
    };

    const trainer = new ConstrainedTrainer(model, state, {
      optimizer: 'adam',
      learningRate: 0.01,
      schedule: { kind: 'cosine', alpha: 0 },
      totalSteps: 30,
    });
    const data = quadrantData(192, 11);
    const order = Array.from({ length: data.count }, (_, i) => i);
    const first = trainer.net.centroidsOf('pw')![0]!.slice();
    let tensors = 0;
    for (let step = 0; step < 30; step++) {
      // Optimizer slots exist from the first step on; after that a step must not leak tensors.
      if (step === 2) tensors = tf.memory().numTensors;
      const { xs, labels } = batchOf(data, order, (step * 16) % data.count, 16);
      trainer.trainBatch(xs, labels);
      xs.dispose();
      for (const [layer, c] of Object.entries(state)) {
        const w = kernelValues(model, layer);
        const cents = trainer.net.centroidsOf(layer)!;
        const channels = c.cluster!.granularity === 'per-channel' ? 8 : 1;
        for (let i = 0; i < w.length; i++) {
          const a = c.cluster!.assignments[i]!;
          const want = a < 0 ? 0 : cents[channels > 1 ? i % channels : 0]![a]!;
          assert.equal(w[i], want, `step ${step}: ${layer}[${i}]`);
          if (c.mask![i] === 0) assert.equal(w[i], 0);
        }
        if (channels === 1)
          assert.ok(distinct(w).size <= K, `${layer}: ${distinct(w).size} values`);
        else
          for (let g = 0; g < channels; g++) {
            const idx = [...w.keys()].filter((i) => i % channels === g);
            assert.ok(distinct(w, idx).size <= K, `${layer} channel ${g}`);
          }
      }
    }
    assert.equal(tf.memory().numTensors, tensors, 'tensors leaked per step');
    const last = trainer.net.centroidsOf('pw')![0]!;
    assert.ok(
      last.some((v, j) => v !== first[j]),
      'centroids trained',
    );
    trainer.dispose();
  });
});
