import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { openDataset } from '../../core/data/dataset';
import { DEBIAN_FASHION_MNIST_DIR } from '../../core/data/fashion-mnist';
import { loadModel } from '../../core/model/index';
import { runCliAsync } from '../helpers/cli';
import { useBackend } from '../../core/train/backend';
import {
  buildSampleModel,
  trainSampleModel,
  type TrainingSet,
} from '../../core/train/sample-model';

const sample = path.resolve(
  import.meta.dirname,
  '..',
  '..',
  'resources',
  'samples',
  'fashion-mnist-cnn.keras',
);
const missingSample = existsSync(sample)
  ? false
  : `${sample} has not been trained yet (npm run train:sample)`;
const missingFullSet = existsSync(DEBIAN_FASHION_MNIST_DIR)
  ? false
  : `${DEBIAN_FASHION_MNIST_DIR} not installed (Debian package dataset-fashion-mnist)`;

describe('sample model', () => {
  before(async () => {
    await useBackend('wasm');
  });

  it(
    'is a committed .keras under 1 MB with the layers Quantbench is about',
    { skip: missingSample },
    async () => {
      assert.ok(statSync(sample).size < 1024 * 1024, `${statSync(sample).size} bytes`);
      const imported = await loadModel(sample);
      assert.equal(imported.format, 'keras3');
      const classes = imported.model.layers.map((l) => l.getClassName());
      for (const required of [
        'Rescaling',
        'Conv2D',
        'DepthwiseConv2D',
        'BatchNormalization',
        'GlobalAveragePooling2D',
        'Dense',
      ]) {
        assert.ok(classes.includes(required), `${required} in ${classes.join(', ')}`);
      }
      const conv = classes.indexOf('Conv2D');
      const depthwise = classes.indexOf('DepthwiseConv2D');
      assert.equal(classes[conv + 1], 'BatchNormalization');
      assert.equal(classes[depthwise + 1], 'BatchNormalization');
      assert.equal(classes[0] === 'InputLayer' ? classes[1] : classes[0], 'Rescaling');
      assert.deepEqual(imported.inputShape, [null, 28, 28, 1]);
      assert.deepEqual(imported.outputShape, [null, 10]);
    },
  );

  it(
    'reaches at least 89% top-1 on the full 10,000-image Fashion-MNIST test set, as quantbench eval reports',
    { skip: missingSample || missingFullSet },
    async () => {
      const result = await runCliAsync(
        [
          'eval',
          sample,
          '--data',
          'fashion-mnist:test',
          '--fashion-mnist-dir',
          DEBIAN_FASHION_MNIST_DIR,
          '--json',
        ],
        { timeoutMs: 120_000 },
      );
      assert.equal(result.status, 0, result.stderr);
      const report = JSON.parse(result.stdout) as { accuracy: number; samples: number };
      assert.equal(report.samples, 10000);
      assert.ok(report.accuracy >= 0.89, `accuracy ${report.accuracy}`);
    },
  );

  it('trains on wasm reproducibly from a seed, and the loss falls', async () => {
    const subset = await openDataset('fashion-mnist:train[0:256]');
    const all = (await subset.batches(256).next()).value!;
    const set: TrainingSet = { x: all.x, y: all.y as Int32Array, count: all.size };
    const run = async () => {
      const losses: number[] = [];
      const model = buildSampleModel(7);
      await trainSampleModel(model, set, {
        epochs: 1,
        batchSize: 32,
        seed: 7,
        learningRate: 0.003,
        onStep: (e) => losses.push(e.loss),
      });
      model.dispose();
      return losses;
    };
    const first = await run();
    const second = await run();
    assert.equal(first.length, 8);
    assert.deepEqual(second, first);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(
      mean(first.slice(-3)) < mean(first.slice(0, 3)),
      `losses ${first.map((l) => l.toFixed(3)).join(' ')}`,
    );
  });
});
