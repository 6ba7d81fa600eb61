import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../core/model/index';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { repoRoot } from '../helpers/cli';
import { seededValues } from './every-layer-model';

/**
 * The reference models users arrive with (MLPerf Tiny, Keras 2.4; a Keras 3.1.1 convnet) must
 * import with every weight in place. Their outputs on fixed inputs are kept as fixtures, so a
 * change in the importer that alters a number shows up here.
 * Regenerate after an intended change with QUANTBENCH_UPDATE_FIXTURES=1.
 */

const fixturesDir = path.join(repoRoot, 'tests', 'fixtures', 'model');
const TOLERANCE = 1e-5;

interface OutputFixture {
  model: string;
  input: string;
  outputShape: number[];
  first16: number[];
  sum: number;
  sumAbs: number;
}

function fingerprint(model: string, input: string, output: tf.Tensor): OutputFixture {
  const values = Array.from(output.dataSync());
  return {
    model,
    input,
    outputShape: output.shape,
    first16: values.slice(0, 16),
    sum: values.reduce((a, b) => a + b, 0),
    sumAbs: values.reduce((a, b) => a + Math.abs(b), 0),
  };
}

function checkFixture(name: string, actual: OutputFixture): void {
  const file = path.join(fixturesDir, name);
  if (process.env.QUANTBENCH_UPDATE_FIXTURES === '1' || !existsSync(file)) {
    assert.ok(
      process.env.QUANTBENCH_UPDATE_FIXTURES === '1',
      `fixture ${file} is missing; run with QUANTBENCH_UPDATE_FIXTURES=1 to create it`,
    );
    writeFileSync(file, JSON.stringify(actual, null, 2) + '\n');
    return;
  }
  const expected = JSON.parse(readFileSync(file, 'utf8')) as OutputFixture;
  assert.deepEqual(actual.outputShape, expected.outputShape);
  actual.first16.forEach((v, i) => {
    assert.ok(
      Math.abs(v - expected.first16[i]!) <= TOLERANCE * Math.max(1, Math.abs(expected.first16[i]!)),
      `${name} value ${i}: ${v} vs ${expected.first16[i]}`,
    );
  });
  // The sums cover every output value; their tolerance scales with how many values they add up.
  const n = actual.outputShape.reduce((a, b) => a * b, 1);
  assert.ok(
    Math.abs(actual.sum - expected.sum) <= TOLERANCE * Math.max(n, Math.abs(expected.sum)),
    `${name} sum ${actual.sum} vs ${expected.sum}`,
  );
  assert.ok(
    Math.abs(actual.sumAbs - expected.sumAbs) <= TOLERANCE * Math.max(n, expected.sumAbs),
    `${name} sum |x| ${actual.sumAbs} vs ${expected.sumAbs}`,
  );
}

const countOf = (classes: string[], name: string) => classes.filter((c) => c === name).length;

describe('importing the shared reference models', () => {
  it(
    'reads ad01.h5 (Keras 2.4 autoencoder) with every layer and weight mapped, and reconstructs a real input',
    { skip: missingSharedModels('ad01.h5', 'ad01_input_normal_id_01_00000000.bin') },
    async () => {
      const imported = await loadModel(sharedModel('ad01.h5'));
      assert.equal(imported.format, 'keras2-h5');
      assert.equal(imported.kerasVersion, '2.4.0');
      assert.deepEqual(imported.inputShape, [null, 640]);
      assert.deepEqual(imported.outputShape, [null, 640]);
      const classes = imported.layers.map((l) => l.className);
      assert.equal(countOf(classes, 'Dense'), 10);
      assert.equal(countOf(classes, 'BatchNormalization'), 9);
      // Every variable of the model came from the file: 269,992 parameters, MLPerf Tiny's "270K".
      assert.equal(
        imported.layers.reduce((a, l) => a + l.params, 0),
        269_992,
      );

      const bytes = readFileSync(sharedModel('ad01_input_normal_id_01_00000000.bin'));
      const frames = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      assert.equal(frames.length, 40 * 640);
      const x = tf.tensor(frames, [40, 640]);
      const y = imported.model.predict(x) as tf.Tensor;
      // A trained autoencoder reconstructs a normal recording far better than predicting its mean.
      const mse = tf.mean(tf.square(tf.sub(x, y))).dataSync()[0]!;
      const variance = tf.moments(x).variance.dataSync()[0]!;
      assert.ok(
        mse < variance / 2,
        `reconstruction MSE ${mse} is not well below the input variance ${variance}`,
      );
      checkFixture(
        'ad01.json',
        fingerprint('ad01.h5', 'ad01_input_normal_id_01_00000000.bin (40 x 640 float32)', y),
      );
    },
  );

  it(
    'reads pretrainedResnet.h5 (Keras 2.4, Add skip connections, L2 regularizers)',
    { skip: missingSharedModels('pretrainedResnet.h5') },
    async () => {
      const imported = await loadModel(sharedModel('pretrainedResnet.h5'));
      assert.equal(imported.format, 'keras2-h5');
      assert.deepEqual(imported.inputShape, [null, 32, 32, 3]);
      assert.deepEqual(imported.outputShape, [null, 10]);
      const classes = imported.layers.map((l) => l.className);
      assert.equal(countOf(classes, 'Conv2D'), 9);
      assert.equal(countOf(classes, 'BatchNormalization'), 7);
      assert.equal(countOf(classes, 'Add'), 3);
      assert.equal(
        imported.layers.reduce((a, l) => a + l.params, 0),
        78_666,
      );
      // The L2 regularizers survive normalisation, under the name tfjs knows.
      const conv = (
        imported.config.config as {
          layers: { class_name: string; config: Record<string, unknown> }[];
        }
      ).layers.find((l) => l.class_name === 'Conv2D')!;
      assert.deepEqual(
        (conv.config.kernel_regularizer as { class_name: string }).class_name,
        'L1L2',
      );

      const x = tf.tensor(seededValues(2 * 32 * 32 * 3, 1, 0, 1), [2, 32, 32, 3]);
      const y = imported.model.predict(x) as tf.Tensor;
      for (const s of Array.from(tf.sum(y, 1).dataSync()))
        assert.ok(Math.abs(s - 1) < 1e-5, `softmax row sums to ${s}`);
      checkFixture(
        'pretrainedResnet.json',
        fingerprint('pretrainedResnet.h5', 'seededValues(2*32*32*3, seed 1, [0,1))', y),
      );
    },
  );

  it(
    'reads mnist_moonflower_cnn.keras (Keras 3.1.1)',
    { skip: missingSharedModels('mnist_moonflower_cnn.keras') },
    async () => {
      const imported = await loadModel(sharedModel('mnist_moonflower_cnn.keras'));
      assert.equal(imported.format, 'keras3');
      assert.equal(imported.kerasVersion, '3.1.1');
      assert.deepEqual(imported.inputShape, [null, 28, 28, 1]);
      assert.deepEqual(
        imported.layers.map((l) => l.className),
        ['Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dropout', 'Dense'],
      );
      // keras.io's "simple MNIST convnet" summary: 34,826 parameters.
      assert.equal(
        imported.layers.reduce((a, l) => a + l.params, 0),
        34_826,
      );

      const x = tf.tensor(seededValues(2 * 28 * 28, 2, 0, 1), [2, 28, 28, 1]);
      const y = imported.model.predict(x) as tf.Tensor;
      for (const s of Array.from(tf.sum(y, 1).dataSync()))
        assert.ok(Math.abs(s - 1) < 1e-5, `softmax row sums to ${s}`);
      checkFixture(
        'mnist_moonflower_cnn.json',
        fingerprint('mnist_moonflower_cnn.keras', 'seededValues(2*28*28, seed 2, [0,1))', y),
      );
    },
  );
});
