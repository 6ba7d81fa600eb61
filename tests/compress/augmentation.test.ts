import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { parseRecipe } from '../../core/compress/recipe';
import { runCompressJob, type CompressReport } from '../../core/compress/run';
import { loadModel } from '../../core/model/index';
import { saveKeras } from '../../core/model/keras-writer';
import { augmentationClasses, inferenceIdentityLayers } from '../../core/model/layers/identity';
import { readTflite } from '../../core/tflite/reader';
import { tempDir } from '../helpers/tmp';
import { keras3WeightsBytes, writeKerasZip } from '../model/keras-files';
import { seedWeights } from './models';

/**
 * Keras models usually carry their training augmentation (`data_augmentation =
 * Sequential([RandomFlip(...), ...])` applied to the input). At inference those layers return
 * their input, so compressing the model must give the same export as the model without them.
 */
const recipe = parseRecipe({ name: 'int8', steps: [{ step: 'quantize' }] });
const data = 'fashion-mnist:test[0:200]';

function augmentations(prefix: string): tf.layers.Layer[] {
  return augmentationClasses.map((cls) => {
    const Layer = inferenceIdentityLayers[cls];
    const name = `${prefix}${cls.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase()}`;
    // RandomCrop is an identity at inference only when it crops to the input's own size.
    return new Layer(
      cls === 'RandomCrop' ? { name, height: 28, width: 28 } : { name, factor: 0.1 },
    );
  });
}

/** The same convolutional classifier, with the augmentations nowhere, at top level, or in a nested Sequential. */
function classifier(where: 'none' | 'top' | 'nested'): tf.LayersModel {
  const input = tf.input({ shape: [28, 28, 1], name: 'image' });
  let x: tf.SymbolicTensor = input;
  if (where === 'top') for (const l of augmentations('')) x = l.apply(x) as tf.SymbolicTensor;
  if (where === 'nested') {
    const aug = tf.sequential({ name: 'data_augmentation', layers: [] });
    aug.add(tf.layers.inputLayer({ inputShape: [28, 28, 1], name: 'augmentation_input' }));
    for (const l of augmentations('aug_')) aug.add(l);
    x = aug.apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.rescaling({ scale: 1 / 255, name: 'rescale' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .conv2d({ filters: 6, kernelSize: 3, strides: 2, activation: 'relu', name: 'conv' })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.3, name: 'dropout' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: 10, activation: 'softmax', name: 'classes' })
    .apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: `classifier_${where}` });
  seedWeights(model, 5);
  return model;
}

const opCount = (file: string) => readTflite(readFileSync(file)).subgraphs[0]!.operators.length;

describe('compressing a model that carries augmentation layers', () => {
  const dir = tempDir();
  const reports: Partial<Record<'none' | 'top' | 'nested', CompressReport>> = {};

  before(async () => {
    for (const where of ['none', 'top', 'nested'] as const) {
      const file = path.join(dir, `${where}.keras`);
      await saveKeras(classifier(where), file);
      reports[where] = await runCompressJob({
        model: file,
        recipe,
        data,
        out: path.join(dir, `out-${where}`),
      });
    }
  });

  for (const where of ['top', 'nested'] as const) {
    it(`lowers every augmentation away at ${where === 'top' ? 'top level' : 'the nested Sequential'} and says so per layer`, () => {
      const r = reports[where]!;
      const prefix = where === 'nested' ? 'aug_' : '';
      const removed = new Map(r.removedLayers.map((l) => [l.name, l]));
      for (const cls of augmentationClasses) {
        const entry = [...removed.values()].find((l) => l.kerasClass === cls);
        assert.ok(entry, `${cls} is listed as removed`);
        assert.ok(entry.name.startsWith(prefix), entry.name);
        assert.match(entry.reason, /augmentation/);
      }
      assert.equal(removed.get('dropout')?.kerasClass, 'Dropout');
      assert.ok(!r.layers.some((l) => augmentationClasses.some((c) => l.type === c)));
    });

    it(`exports exactly the ops and accuracy of the model without them (${where})`, () => {
      const r = reports[where]!;
      const plain = reports.none!;
      assert.equal(opCount(r.files.tflite), opCount(plain.files.tflite));
      assert.deepEqual(
        r.layers.map((l) => [l.name, l.op, l.policy]),
        plain.layers.map((l) => [l.name, l.op, l.policy]),
      );
      assert.equal(r.int8.accuracy, plain.int8.accuracy);
      assert.equal(r.float.accuracy, plain.float.accuracy);
    });
  }

  it('refuses a RandomCrop that resizes at inference, naming the layer and the sizes', async () => {
    const layer = (cls: string, config: object) => ({
      module: 'keras.layers',
      class_name: cls,
      config: { trainable: true, dtype: 'float32', ...config },
      registered_name: null,
    });
    const file = path.join(dir, 'crop.keras');
    writeKerasZip(file, {
      'metadata.json': JSON.stringify({ keras_version: '3.1.1' }),
      'config.json': JSON.stringify({
        module: 'keras',
        class_name: 'Sequential',
        config: {
          name: 'cropping',
          layers: [
            layer('InputLayer', { name: 'image', batch_shape: [null, 28, 28, 1] }),
            layer('RandomCrop', { name: 'crop', height: 24, width: 24, seed: null }),
            layer('Flatten', { name: 'flatten' }),
          ],
        },
        registered_name: null,
      }),
      'model.weights.h5': await keras3WeightsBytes({}),
    });
    await assert.rejects(loadModel(file), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'LAYER_UNSUPPORTED');
      assert.match(error.message, /layer "crop" \(RandomCrop\) resizes its 28x28 input to 24x24/);
      return true;
    });
  });
});
