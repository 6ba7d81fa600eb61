import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../core/model/index';
import { tempDir } from '../helpers/tmp';
import { seededValues } from './every-layer-model';
import { h5BytesAtPaths, writeKerasZip, type NamedArray } from './keras-files';

/**
 * tf.keras 2.13-2.15 `model.save('m.keras')`: the config names layers as the session numbered
 * them (`dense_4`, `dense_5`), while model.weights.h5 keys them by class and position under
 * `_layer_checkpoint_dependencies` (`dense`, `dense_1`), joined with `\` when saved on Windows.
 */
const dir = tempDir();
const arr = (shape: number[], seed: number, offset = 0): NamedArray => ({
  name: '',
  shape,
  values: seededValues(
    shape.reduce((a, b) => a * b, 1),
    seed,
  ).map((v) => v + offset),
});

const kerasLayer = (cls: string, config: Record<string, unknown>, inputShape?: number[]) => ({
  module: 'keras.layers',
  class_name: cls,
  config: { trainable: true, dtype: 'float32', ...config },
  registered_name: null,
  ...(inputShape ? { build_config: { input_shape: [null, ...inputShape] } } : {}),
});
const init = (cls: string) => ({
  module: 'keras.initializers',
  class_name: cls,
  config: cls === 'Zeros' || cls === 'Ones' ? {} : { seed: null },
  registered_name: null,
});
const dense = (name: string, units: number, activation: string, inDim: number) =>
  kerasLayer(
    'Dense',
    {
      name,
      units,
      activation,
      use_bias: true,
      kernel_initializer: init('GlorotUniform'),
      bias_initializer: init('Zeros'),
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
    },
    [inDim],
  );

/** What tf.keras 2.14 writes for Sequential([Input(4), Dense(8, relu), BatchNormalization(), Dense(3)]), created after other models in the same session. */
const config = {
  module: 'keras',
  class_name: 'Sequential',
  config: {
    name: 'sequential_2',
    layers: [
      {
        module: 'keras.layers',
        class_name: 'InputLayer',
        config: {
          batch_input_shape: [null, 4],
          dtype: 'float32',
          sparse: false,
          ragged: false,
          name: 'input_3',
        },
        registered_name: null,
      },
      dense('dense_4', 8, 'relu', 4),
      kerasLayer(
        'BatchNormalization',
        {
          name: 'batch_normalization_2',
          axis: [1],
          momentum: 0.99,
          epsilon: 0.001,
          center: true,
          scale: true,
          beta_initializer: init('Zeros'),
          gamma_initializer: init('Ones'),
          moving_mean_initializer: init('Zeros'),
          moving_variance_initializer: init('Ones'),
          beta_regularizer: null,
          gamma_regularizer: null,
          beta_constraint: null,
          gamma_constraint: null,
        },
        [8],
      ),
      dense('dense_5', 3, 'linear', 8),
    ],
  },
  registered_name: null,
  build_config: { input_shape: [null, 4] },
  compile_config: null,
};

const w1 = arr([4, 8], 1);
const b1 = arr([8], 2);
const gamma = arr([8], 3, 1);
const beta = arr([8], 4);
const mean = arr([8], 5);
const variance = arr([8], 6, 2); // seeded values lie in [-1, 1): +2 keeps the variance positive
const w2 = arr([8, 3], 7);
const b2 = arr([3], 8);
const layerVars: [string, NamedArray[]][] = [
  ['dense', [w1, b1]],
  ['batch_normalization', [gamma, beta, mean, variance]],
  ['dense_1', [w2, b2]],
];

/** The model's function written out by hand, so the test does not trust tfjs or the importer for it. */
function byHand(x: number[]): number[] {
  const h = Array.from({ length: 8 }, (_, j) => {
    let s = b1.values[j]!;
    for (let i = 0; i < 4; i++) s += x[i]! * w1.values[i * 8 + j]!;
    const relu = Math.max(0, s);
    return (
      ((relu - mean.values[j]!) / Math.sqrt(variance.values[j]! + 0.001)) * gamma.values[j]! +
      beta.values[j]!
    );
  });
  return Array.from({ length: 3 }, (_, k) => {
    let s = b2.values[k]!;
    for (let j = 0; j < 8; j++) s += h[j]! * w2.values[j * 3 + k]!;
    return s;
  });
}

async function writeTfKeras214(file: string, separator: '/' | '\\', omit?: string) {
  const datasets: Record<string, NamedArray> = {};
  for (const [key, vars] of layerVars) {
    if (key === omit) continue;
    vars.forEach((v, i) => {
      datasets[`_layer_checkpoint_dependencies${separator}${key}/vars/${i}`] = v;
    });
  }
  writeKerasZip(file, {
    'metadata.json': JSON.stringify({ keras_version: '2.14.0', date_saved: '2024-01-10@12:00:00' }),
    'config.json': JSON.stringify(config),
    'model.weights.h5': await h5BytesAtPaths(datasets, ['vars']),
  });
}

const inputs = [
  [0.5, -1.25, 2, 0.75],
  [-0.3, 0.1, -2.2, 1.4],
  [0, 0, 0, 0],
];

describe('tf.keras 2.13-2.15 .keras files', () => {
  for (const [style, separator] of [
    ['Linux and macOS', '/'],
    ['Windows', '\\'],
  ] as const) {
    it(`reads weights keyed by class under _layer_checkpoint_dependencies (${style} paths)`, async () => {
      const file = path.join(dir, `tf-keras-214-${separator === '/' ? 'posix' : 'windows'}.keras`);
      await writeTfKeras214(file, separator);
      const imported = await loadModel(file);
      assert.equal(imported.kerasVersion, '2.14.0');
      assert.deepEqual(
        imported.model.layers.map((l) => l.name),
        ['dense_4', 'batch_normalization_2', 'dense_5'],
      );
      const out = (
        imported.model.predict(tf.tensor(inputs)) as tf.Tensor
      ).arraySync() as number[][];
      inputs.forEach((x, n) => {
        const expected = byHand(x);
        expected.forEach((v, k) =>
          assert.ok(Math.abs(out[n]![k]! - v) < 1e-5, `${n},${k}: ${out[n]![k]} vs ${v}`),
        );
      });
    });
  }

  it('still names the layer whose weights the file lacks', async () => {
    const file = path.join(dir, 'tf-keras-214-missing.keras');
    await writeTfKeras214(file, '/', 'dense_1');
    await assert.rejects(loadModel(file), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'MODEL_WEIGHTS_MISMATCH');
      assert.match(error.message, /layer "dense_5" \(Dense\) has no weights in the file/);
      return true;
    });
  });
});
