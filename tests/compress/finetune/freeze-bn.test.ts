import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { registerFineTuneKernels } from '../../../core/compress/finetune/kernels';
import { fineTuneStepSchema } from '../../../core/compress/recipe';
import { ConstrainedTrainer } from '../../../core/compress/finetune/trainer';
import { initBackend } from '../../../core/train/backend';

/** Dense → BatchNormalization (float, as the keep-float presets leave it) → Dense. */
function withBatchNorm(): tf.LayersModel {
  const input = tf.input({ shape: [6], name: 'x' });
  let h = tf.layers
    .dense({ units: 5, name: 'd1', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) })
    .apply(input) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization({ name: 'bn', momentum: 0.5 }).apply(h) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: 3, name: 'd2', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) })
    .apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** Trains a few steps; returns the BN weights [gamma, beta, moving mean, moving variance] before and after. */
function train(freezeBatchNorm: boolean): { before: Float32Array[]; after: Float32Array[] } {
  const model = withBatchNorm();
  const read = () =>
    model
      .getLayer('bn')
      .getWeights()
      .map((w) => w.dataSync() as Float32Array);
  const before = read().map((w) => w.slice());
  const trainer = new ConstrainedTrainer(
    model,
    {},
    {
      optimizer: 'sgd',
      learningRate: 0.1,
      schedule: { kind: 'constant' },
      totalSteps: 4,
      freezeBatchNorm,
    },
  );
  for (let s = 0; s < 4; s++) {
    const xs = tf.randomNormal([16, 6], 3, 2, 'float32', 20 + s);
    trainer.trainBatch(
      xs,
      Int32Array.from({ length: 16 }, (_, i) => (i + s) % 3),
    );
    xs.dispose();
  }
  const after = read().map((w) => w.slice());
  trainer.dispose();
  return { before, after };
}

const moved = (a: Float32Array, b: Float32Array) => a.some((v, i) => v !== b[i]);

describe('freezeBatchNorm', () => {
  before(async () => {
    await initBackend();
    registerFineTuneKernels();
  });

  it('is off unless the recipe asks', () => {
    assert.equal(fineTuneStepSchema.parse({ step: 'fineTune' }).freezeBatchNorm, false);
  });

  it('keeps the moving statistics while gamma and beta still train', () => {
    const frozen = train(true);
    const [gamma, beta, mean, variance] = [0, 1, 2, 3];
    assert.ok(!moved(frozen.before[mean]!, frozen.after[mean]!), 'moving mean moved');
    assert.ok(!moved(frozen.before[variance]!, frozen.after[variance]!), 'moving variance moved');
    assert.ok(moved(frozen.before[gamma]!, frozen.after[gamma]!), 'gamma did not train');
    assert.ok(moved(frozen.before[beta]!, frozen.after[beta]!), 'beta did not train');

    const free = train(false);
    assert.ok(
      moved(free.before[mean]!, free.after[mean]!),
      'without freezing the mean follows the batches',
    );
  });
});
