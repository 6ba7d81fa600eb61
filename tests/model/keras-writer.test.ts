import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { strFromU8, unzipSync } from 'fflate';
import { loadModel } from '../../core/model/index';
import { saveKeras } from '../../core/model/keras-writer';
import { Rescaling } from '../../core/model/layers/index';
import { withH5Bytes, isDataset } from '../../core/model/h5';
import { tempDir } from '../helpers/tmp';
import { seededValues, seedWeights } from './every-layer-model';

/** The layers of Quantbench's sample model: what most users will write back to Keras. */
function sampleLikeModel(): tf.LayersModel {
  const model = tf.sequential({ name: 'sample_like' });
  model.add(new Rescaling({ scale: 1 / 255, inputShape: [28, 28, 1], name: 'rescale' }));
  model.add(tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', name: 'conv' }));
  model.add(tf.layers.batchNormalization({ name: 'bn1' }));
  model.add(tf.layers.reLU({ name: 'relu1' }));
  model.add(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'dw' }));
  model.add(tf.layers.batchNormalization({ name: 'bn2' }));
  model.add(tf.layers.globalAveragePooling2d({ name: 'gap' }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax', name: 'classifier' }));
  return model;
}

describe('saveKeras', () => {
  it('writes a .keras file that re-imports to the same outputs (max abs difference 1e-6)', async () => {
    const model = sampleLikeModel();
    seedWeights(model, 11);
    const file = path.join(tempDir(), 'sample.keras');
    await saveKeras(model, file);
    const imported = await loadModel(file);
    assert.equal(imported.format, 'keras3');
    const x = tf.tensor(seededValues(8 * 28 * 28, 3, 0, 255), [8, 28, 28, 1]);
    const before = model.predict(x) as tf.Tensor;
    const after = imported.model.predict(x) as tf.Tensor;
    const diff = tf.max(tf.abs(tf.sub(before, after))).dataSync()[0]!;
    assert.ok(diff <= 1e-6, `max abs difference ${diff}`);
    assert.deepEqual(
      imported.layers.map((l) => l.className),
      [
        'Rescaling',
        'Conv2D',
        'BatchNormalization',
        'ReLU',
        'DepthwiseConv2D',
        'BatchNormalization',
        'GlobalAveragePooling2D',
        'Dense',
      ],
    );
  });

  it('uses the Keras 3 archive layout: config.json, metadata.json, layers/<class key>/vars/<i>', async () => {
    const model = sampleLikeModel();
    seedWeights(model, 12);
    const file = path.join(tempDir(), 'layout.keras');
    await saveKeras(model, file);
    const entries = unzipSync(readFileSync(file));
    assert.deepEqual(Object.keys(entries).sort(), [
      'config.json',
      'metadata.json',
      'model.weights.h5',
    ]);
    const metadata = JSON.parse(strFromU8(entries['metadata.json']!));
    assert.match(metadata.keras_version, /^3\./);
    const config = JSON.parse(strFromU8(entries['config.json']!));
    assert.equal(config.class_name, 'Sequential');
    const layers = config.config.layers as {
      module: string;
      class_name: string;
      config: Record<string, unknown>;
      registered_name: null;
    }[];
    assert.equal(layers[0]!.class_name, 'InputLayer');
    assert.deepEqual(layers[0]!.config.batch_shape, [null, 28, 28, 1]);
    for (const l of layers) {
      assert.equal(l.module, 'keras.layers');
      assert.equal(l.registered_name, null);
    }
    const conv = layers.find((l) => l.class_name === 'Conv2D')!;
    assert.deepEqual(
      (conv.config.kernel_initializer as { module: string }).module,
      'keras.initializers',
    );
    // Keras 3 rejects constructor arguments it does not know; tfjs-only fields must not leak.
    assert.deepEqual(Object.keys(conv.config).sort(), [
      'activation',
      'activity_regularizer',
      'bias_constraint',
      'bias_initializer',
      'bias_regularizer',
      'data_format',
      'dilation_rate',
      'dtype',
      'filters',
      'groups',
      'kernel_constraint',
      'kernel_initializer',
      'kernel_regularizer',
      'kernel_size',
      'name',
      'padding',
      'strides',
      'trainable',
      'use_bias',
    ]);

    const shapes = await withH5Bytes(entries['model.weights.h5']!, (f) => {
      const out: Record<string, number[]> = {};
      for (const p of f.paths()) {
        const entity = f.get(p);
        if (isDataset(entity)) out[p] = entity.shape!.map(Number);
      }
      return out;
    });
    // Keras looks variables up by class and position (conv2d, batch_normalization_1, ...), never
    // by the layer's name, so a file keyed by names would load without its weights in Keras.
    assert.deepEqual(shapes, {
      'layers/conv2d/vars/0': [3, 3, 1, 8],
      'layers/conv2d/vars/1': [8],
      'layers/batch_normalization/vars/0': [8],
      'layers/batch_normalization/vars/1': [8],
      'layers/batch_normalization/vars/2': [8],
      'layers/batch_normalization/vars/3': [8],
      'layers/depthwise_conv2d/vars/0': [3, 3, 8, 1],
      'layers/depthwise_conv2d/vars/1': [8],
      'layers/batch_normalization_1/vars/0': [8],
      'layers/batch_normalization_1/vars/1': [8],
      'layers/batch_normalization_1/vars/2': [8],
      'layers/batch_normalization_1/vars/3': [8],
      'layers/dense/vars/0': [8, 10],
      'layers/dense/vars/1': [10],
    });
    // BatchNormalization variables in creation order: gamma, beta, moving_mean, moving_variance.
    const bn = model
      .getLayer('bn1')
      .getWeights()
      .map((w) => Array.from(w.dataSync()));
    const stored = await withH5Bytes(entries['model.weights.h5']!, (f) =>
      [0, 1, 2, 3].map((i) =>
        Array.from(
          (f.get(`layers/batch_normalization/vars/${i}`) as { value: Float32Array }).value,
        ),
      ),
    );
    assert.deepEqual(stored, bn);
  });

  it('refuses a layer Keras 3 has no class for, naming it', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ units: 2, inputShape: [3], name: 'd' }),
        tf.layers.repeatVector({ n: 2, name: 'rep' }),
      ],
    });
    const file = path.join(tempDir(), 'bad.keras');
    await assert.rejects(saveKeras(model, file), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'MODEL_KERAS_WRITE');
      assert.match(e.message, /layer "rep" has class RepeatVector/);
      return true;
    });
  });
});
