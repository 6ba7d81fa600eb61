import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadModel, supportedLayerClasses } from '../../core/model/index';
import { saveKeras } from '../../core/model/keras-writer';
import { tempDir } from '../helpers/tmp';
import { everyLayerModel, seededValues, seedWeights } from './every-layer-model';
import {
  keras3WeightsBytes,
  saveAsKeras2H5,
  writeKeras2H5,
  writeKerasZip,
  type NamedArray,
} from './keras-files';

const dir = tempDir();
const arr = (name: string, shape: number[], seed: number): NamedArray => ({
  name,
  shape,
  values: seededValues(
    shape.reduce((a, b) => a * b, 1),
    seed,
  ),
});

/** y = x W + b for a batch of row vectors, written out so the test does not trust tfjs for it. */
function denseRef(
  x: number[][],
  w: NamedArray,
  b: NamedArray,
  act: (v: number) => number = (v) => v,
): number[][] {
  const [inDim, outDim] = w.shape as [number, number];
  return x.map((row) =>
    Array.from({ length: outDim }, (_, j) => {
      let s = b.values[j]!;
      for (let i = 0; i < inDim; i++) s += row[i]! * w.values[i * outDim + j]!;
      return act(s);
    }),
  );
}

function assertClose(actual: tf.Tensor, expected: number[][], tol = 1e-5): void {
  const got = actual.arraySync() as number[][];
  assert.deepEqual(actual.shape, [expected.length, expected[0]!.length]);
  got.forEach((row, i) =>
    row.forEach((v, j) =>
      assert.ok(Math.abs(v - expected[i]![j]!) <= tol, `[${i}][${j}] ${v} vs ${expected[i]![j]}`),
    ),
  );
}

const relu = (v: number) => Math.max(0, v);
const input = [Array.from(seededValues(4, 90)), Array.from(seededValues(4, 91))];

const keras21Sequential = {
  class_name: 'Sequential',
  // Keras 2.1 wrote the Sequential config as a bare list, the input shape on the first layer.
  config: [
    {
      class_name: 'Dense',
      config: {
        name: 'dense_1',
        batch_input_shape: [null, 4],
        units: 3,
        activation: 'relu',
        use_bias: true,
        kernel_initializer: {
          class_name: 'VarianceScaling',
          config: { scale: 1, mode: 'fan_avg', distribution: 'uniform', seed: null },
        },
      },
    },
    {
      class_name: 'Dense',
      config: { name: 'dense_2', units: 2, activation: 'linear', use_bias: true },
    },
  ],
};
const w1 = arr('dense_1/kernel:0', [4, 3], 1);
const b1 = arr('dense_1/bias:0', [3], 2);
const w2 = arr('dense_2/kernel:0', [3, 2], 3);
const b2 = arr('dense_2/bias:0', [2], 4);

describe('importing model files as they occur in the wild', () => {
  it('reads a Keras 2.1 Sequential whose config is a bare list, without an InputLayer', async () => {
    const file = path.join(dir, 'keras21.h5');
    await writeKeras2H5(
      file,
      keras21Sequential,
      [
        { name: 'dense_1', weights: [w1, b1] },
        { name: 'dense_2', weights: [w2, b2] },
      ],
      '2.1.6',
    );
    const imported = await loadModel(file);
    assert.equal(imported.format, 'keras2-h5');
    assert.equal(imported.kerasVersion, '2.1.6');
    assert.deepEqual(imported.inputShape, [null, 4]);
    assertClose(
      imported.model.predict(tf.tensor(input)) as tf.Tensor,
      denseRef(denseRef(input, w1, b1, relu), w2, b2),
    );
  });

  it('reads an HDF5 file saved under a .keras name by its magic bytes', async () => {
    const h5 = path.join(dir, 'keras21-again.h5');
    await writeKeras2H5(h5, keras21Sequential, [
      { name: 'dense_1', weights: [w1, b1] },
      { name: 'dense_2', weights: [w2, b2] },
    ]);
    const misnamed = path.join(dir, 'actually-hdf5.keras');
    copyFileSync(h5, misnamed);
    const imported = await loadModel(misnamed);
    assert.equal(imported.format, 'keras2-h5');
    assertClose(
      imported.model.predict(tf.tensor(input)) as tf.Tensor,
      denseRef(denseRef(input, w1, b1, relu), w2, b2),
    );
  });

  it('reads a .keras zip written by tf.keras 2.x (Keras 2 config, metadata says 2.13) and keeps Keras 2 hard_sigmoid', async () => {
    const config = {
      class_name: 'Functional',
      config: {
        name: 'model',
        layers: [
          {
            class_name: 'InputLayer',
            config: { batch_input_shape: [null, 4], dtype: 'float32', name: 'in' },
            name: 'in',
            inbound_nodes: [],
          },
          {
            class_name: 'Dense',
            config: { name: 'd', units: 3, activation: 'hard_sigmoid' },
            name: 'd',
            inbound_nodes: [[['in', 0, 0, {}]]],
          },
        ],
        input_layers: [['in', 0, 0]],
        output_layers: [['d', 0, 0]],
      },
    };
    const file = path.join(dir, 'tfkeras213.keras');
    const w = arr('kernel', [4, 3], 5);
    const b = arr('bias', [3], 6);
    writeKerasZip(file, {
      'metadata.json': JSON.stringify({
        keras_version: '2.13.1',
        date_saved: '2023-07-01@10:00:00',
      }),
      'config.json': JSON.stringify(config),
      'model.weights.h5': await keras3WeightsBytes({ in: {}, d: { vars: [w, b] } }),
    });
    const imported = await loadModel(file);
    assert.equal(imported.format, 'keras3');
    assert.equal(imported.kerasVersion, '2.13.1');
    const x = input.map((r) => r.map((v) => v * 4));
    assertClose(
      imported.model.predict(tf.tensor(x)) as tf.Tensor,
      denseRef(x, w, b, (v) => Math.min(1, Math.max(0, 0.2 * v + 0.5))),
    );
  });

  it('reads a Keras 3 functional config: DTypePolicy mixed_float16, flat input_layers, Dense on a rank-3 tensor', async () => {
    const policy = {
      module: 'keras',
      class_name: 'DTypePolicy',
      config: { name: 'mixed_float16' },
      registered_name: null,
    };
    const tensor = (layer: string, shape: (number | null)[]) => ({
      class_name: '__keras_tensor__',
      config: { shape, dtype: 'float16', keras_history: [layer, 0, 0] },
    });
    const layer = (
      cls: string,
      name: string,
      config: object,
      from?: [string, (number | null)[]],
    ) => ({
      module: 'keras.layers',
      class_name: cls,
      config: { name, trainable: true, dtype: policy, ...config },
      registered_name: null,
      build_config: from ? { input_shape: from[1] } : undefined,
      name,
      inbound_nodes: from
        ? [{ args: [tensor(from[0], from[1])], kwargs: { training: false } }]
        : [],
    });
    const config = {
      module: 'keras.src.models.functional',
      class_name: 'Functional',
      config: {
        name: 'functional',
        trainable: true,
        layers: [
          {
            module: 'keras.layers',
            class_name: 'InputLayer',
            config: {
              batch_shape: [null, 5, 4],
              dtype: 'float32',
              sparse: false,
              name: 'input_layer',
            },
            registered_name: null,
            name: 'input_layer',
            inbound_nodes: [],
          },
          layer(
            'Dense',
            'per_step',
            {
              units: 3,
              activation: 'relu',
              use_bias: true,
              kernel_initializer: {
                module: 'keras.initializers',
                class_name: 'GlorotUniform',
                config: { seed: null },
                registered_name: null,
              },
              kernel_regularizer: {
                module: 'keras.regularizers',
                class_name: 'L2',
                config: { l2: 0.01 },
                registered_name: null,
              },
            },
            ['input_layer', [null, 5, 4]],
          ),
          layer('Flatten', 'flatten', { data_format: 'channels_last' }, ['per_step', [null, 5, 3]]),
          layer('Dense', 'logits', { units: 2, activation: 'linear', use_bias: true }, [
            'flatten',
            [null, 15],
          ]),
        ],
        input_layers: ['input_layer', 0, 0],
        output_layers: ['logits', 0, 0],
      },
      registered_name: 'Functional',
    };
    const wa = arr('kernel', [4, 3], 7);
    const ba = arr('bias', [3], 8);
    const wb = arr('kernel', [15, 2], 9);
    const bb = arr('bias', [2], 10);
    const file = path.join(dir, 'keras3-rank3.keras');
    writeKerasZip(file, {
      'metadata.json': JSON.stringify({
        keras_version: '3.4.1',
        date_saved: '2024-08-01@10:00:00',
      }),
      'config.json': JSON.stringify(config),
      'model.weights.h5': await keras3WeightsBytes({
        input_layer: {},
        per_step: { vars: [wa, ba] },
        flatten: {},
        logits: { vars: [wb, bb] },
      }),
    });
    const imported = await loadModel(file);
    assert.deepEqual(imported.inputShape, [null, 5, 4]);
    const x = [Array.from(seededValues(20, 11)), Array.from(seededValues(20, 12))];
    const steps = x.map((row) =>
      denseRef(
        Array.from({ length: 5 }, (_, t) => row.slice(t * 4, t * 4 + 4)),
        wa,
        ba,
        relu,
      ).flat(),
    );
    const y = imported.model.predict(tf.tensor(x, [2, 5, 4])) as tf.Tensor;
    assert.equal(y.dtype, 'float32');
    assertClose(y, denseRef(steps, wb, bb));
    const perStep = imported.layers.find((l) => l.name === 'per_step')!;
    assert.equal(perStep.macs, 5 * 4 * 3);
  });

  it('reads a legacy .h5 written by Keras 3 (Keras 3 config and layout-free weight names)', async () => {
    const config = {
      module: 'keras',
      class_name: 'Sequential',
      config: {
        name: 'sequential',
        trainable: true,
        dtype: {
          module: 'keras',
          class_name: 'DTypePolicy',
          config: { name: 'float32' },
          registered_name: null,
        },
        layers: [
          {
            module: 'keras.layers',
            class_name: 'InputLayer',
            config: {
              batch_shape: [null, 4],
              dtype: 'float32',
              sparse: false,
              name: 'input_layer',
            },
            registered_name: null,
          },
          {
            module: 'keras.layers',
            class_name: 'Dense',
            config: {
              name: 'dense_1',
              trainable: true,
              dtype: 'float32',
              units: 3,
              activation: 'relu',
              use_bias: true,
            },
            registered_name: null,
            build_config: { input_shape: [null, 4] },
          },
          {
            module: 'keras.layers',
            class_name: 'Dense',
            config: {
              name: 'dense_2',
              trainable: true,
              dtype: 'float32',
              units: 2,
              activation: 'linear',
              use_bias: true,
            },
            registered_name: null,
            build_config: { input_shape: [null, 3] },
          },
        ],
      },
    };
    const file = path.join(dir, 'keras3-legacy.h5');
    // Keras 3 names legacy weights by variable path, without the ':0' suffix.
    await writeKeras2H5(
      file,
      config,
      [
        {
          name: 'dense_1',
          weights: [
            { ...w1, name: 'sequential/dense_1/kernel' },
            { ...b1, name: 'sequential/dense_1/bias' },
          ],
        },
        {
          name: 'dense_2',
          weights: [
            { ...w2, name: 'sequential/dense_2/kernel' },
            { ...b2, name: 'sequential/dense_2/bias' },
          ],
        },
      ],
      '3.3.3',
    );
    const imported = await loadModel(file);
    assert.equal(imported.format, 'keras2-h5');
    assert.equal(imported.kerasVersion, '3.3.3');
    assertClose(
      imported.model.predict(tf.tensor(input)) as tf.Tensor,
      denseRef(denseRef(input, w1, b1, relu), w2, b2),
    );
  });

  /**
   * Supported classes the fixture model does not contain: the containers (its nested model
   * shows up as its layers, head/...) and classes no test builds yet. The list is derived from
   * the supported one, so a newly supported class fails here until it is built or named.
   */
  const notBuiltByEveryLayerModel = new Set([
    'Sequential',
    'Functional',
    'ActivityRegularization',
    'Average',
    'Cropping2D',
    'ELU',
    'GaussianDropout',
    'GlobalMaxPooling1D',
    'Maximum',
    'Minimum',
    'RandomBrightness',
    'SpatialDropout1D',
  ]);

  for (const major of [2, 3] as const) {
    it(`builds every supported layer class from a Keras ${major} file, nested model and skip connections included`, async () => {
      const model = everyLayerModel({ kerasMajor: major });
      seedWeights(model, 21);
      const file = path.join(dir, major === 3 ? 'every.keras' : 'every.h5');
      if (major === 3) await saveKeras(model, file);
      else await saveAsKeras2H5(model, file);
      const imported = await loadModel(file);
      assert.equal(imported.format, major === 3 ? 'keras3' : 'keras2-h5');
      const x = tf.tensor(seededValues(3 * 12 * 12 * 3, 22, 0, 255), [3, 12, 12, 3]);
      const diff = tf
        .max(tf.abs(tf.sub(model.predict(x) as tf.Tensor, imported.model.predict(x) as tf.Tensor)))
        .dataSync()[0]!;
      assert.ok(diff <= 1e-6, `max abs difference ${diff}`);
      const classes = new Set(imported.layers.map((l) => l.className));
      for (const cls of notBuiltByEveryLayerModel)
        assert.ok(supportedLayerClasses.includes(cls), `${cls} is listed as not built but is not supported at all`);
      const required = supportedLayerClasses.filter((c) => !notBuiltByEveryLayerModel.has(c));
      for (const cls of required) {
        assert.ok(classes.has(cls), `${cls} was not exercised`);
      }
      // The nested Sequential shows up as head/<layer>.
      assert.ok(imported.layers.some((l) => l.name.startsWith('head/') && l.className === 'PReLU'));
    });
  }

  it('reads a TensorFlow.js layers model (model.json + weight shard)', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ units: 3, inputShape: [4], activation: 'relu' }),
        tf.layers.dense({ units: 2 }),
      ],
    });
    seedWeights(model, 31);
    const tfjsDir = path.join(dir, 'tfjs');
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const { mkdirSync } = await import('node:fs');
        mkdirSync(tfjsDir, { recursive: true });
        writeFileSync(
          path.join(tfjsDir, 'group1-shard1of1.bin'),
          new Uint8Array(artifacts.weightData as ArrayBuffer),
        );
        const json = {
          format: 'layers-model',
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: artifacts.weightSpecs }],
        };
        writeFileSync(path.join(tfjsDir, 'model.json'), JSON.stringify(json));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    for (const target of [path.join(tfjsDir, 'model.json'), tfjsDir]) {
      const imported = await loadModel(target);
      assert.equal(imported.format, 'tfjs');
      const x = tf.tensor(input);
      const diff = tf
        .max(tf.abs(tf.sub(model.predict(x) as tf.Tensor, imported.model.predict(x) as tf.Tensor)))
        .dataSync()[0]!;
      assert.equal(diff, 0);
    }
  });
});

describe('Keras activations by name', () => {
  const erf = (x: number) => {
    // Abramowitz-Stegun 7.1.26 is only 1e-7 accurate; integrate instead for a reference.
    const n = 2000;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const t = ((i + 0.5) / n) * x;
      s += Math.exp(-t * t);
    }
    return ((2 / Math.sqrt(Math.PI)) * s * x) / n;
  };
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  const cases: [string, (v: number) => number][] = [
    ['linear', (v) => v],
    ['relu', (v) => Math.max(0, v)],
    ['relu6', (v) => Math.min(6, Math.max(0, v))],
    ['sigmoid', sigmoid],
    ['tanh', Math.tanh],
    ['swish', (v) => v * sigmoid(v)],
    ['silu', (v) => v * sigmoid(v)],
    ['hard_sigmoid', (v) => Math.min(6, Math.max(0, v + 3)) / 6],
    ['elu', (v) => (v > 0 ? v : Math.exp(v) - 1)],
    ['gelu', (v) => 0.5 * v * (1 + erf(v / Math.SQRT2))],
    ['hard_silu', (v) => (v * Math.min(6, Math.max(0, v + 3))) / 6],
  ];
  const x = [[-7, -3.5, -1.2, -0.3, 0, 0.4, 1.7, 2.9, 4.5, 8]];
  for (const [name, ref] of cases) {
    it(`runs Keras 3 activation "${name}" as Keras defines it`, async () => {
      const config = {
        module: 'keras',
        class_name: 'Sequential',
        config: {
          name: 'seq',
          layers: [
            {
              module: 'keras.layers',
              class_name: 'InputLayer',
              config: { batch_shape: [null, 10], dtype: 'float32', name: 'in' },
              registered_name: null,
            },
            {
              module: 'keras.layers',
              class_name: 'Activation',
              config: { name: 'act', activation: name, dtype: 'float32' },
              registered_name: null,
            },
          ],
        },
      };
      const file = path.join(dir, `act-${name}.keras`);
      writeKerasZip(file, {
        'metadata.json': JSON.stringify({ keras_version: '3.3.3' }),
        'config.json': JSON.stringify(config),
        'model.weights.h5': await keras3WeightsBytes({ act: {} }),
      });
      const imported = await loadModel(file);
      assertClose(imported.model.predict(tf.tensor(x)) as tf.Tensor, [x[0]!.map(ref)], 1e-5);
    });
  }
  it('runs softmax over the last axis', async () => {
    const config = {
      class_name: 'Sequential',
      config: {
        name: 's',
        layers: [
          {
            class_name: 'Activation',
            config: { name: 'a', activation: 'softmax', batch_input_shape: [null, 10] },
          },
        ],
      },
    };
    const file = path.join(dir, 'softmax.h5');
    await writeKeras2H5(file, config, [{ name: 'a', weights: [] }]);
    const imported = await loadModel(file);
    const e = x[0]!.map(Math.exp);
    const total = e.reduce((a, b) => a + b, 0);
    assertClose(imported.model.predict(tf.tensor(x)) as tf.Tensor, [e.map((v) => v / total)], 1e-6);
  });
});

describe('layers Quantbench adds to tfjs, against the Keras definitions', () => {
  const x = [[-7, -3.5, -1.2, -0.3, 0, 0.4, 1.7, 2.9, 4.5, 8]];
  async function runKeras3(
    name: string,
    layer: object,
    weights: Record<string, NamedArray[]> = {},
    shape = 10,
  ): Promise<tf.Tensor> {
    const config = {
      module: 'keras',
      class_name: 'Sequential',
      config: {
        name: 'seq',
        layers: [
          {
            module: 'keras.layers',
            class_name: 'InputLayer',
            config: { batch_shape: [null, shape], dtype: 'float32', name: 'in' },
            registered_name: null,
          },
          { module: 'keras.layers', registered_name: null, ...layer },
        ],
      },
    };
    const file = path.join(dir, `layer-${name}.keras`);
    const tree = Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, { vars: v }]));
    writeKerasZip(file, {
      'metadata.json': JSON.stringify({ keras_version: '3.3.3' }),
      'config.json': JSON.stringify(config),
      'model.weights.h5': await keras3WeightsBytes(tree),
    });
    return (await loadModel(file)).model.predict(tf.tensor(x)) as tf.Tensor;
  }

  it('ReLU with max_value, negative_slope and threshold', async () => {
    const y = await runKeras3('relu', {
      class_name: 'ReLU',
      config: { name: 'r', max_value: 4, negative_slope: 0.1, threshold: 0.5 },
    });
    const ref = (v: number) => (v >= 4 ? 4 : v >= 0.5 ? v : 0.1 * (v - 0.5));
    assertClose(y, [x[0]!.map(ref)], 1e-6);
  });

  it('LeakyReLU takes Keras 3 negative_slope (default 0.2) and Keras 2 alpha (default 0.3)', async () => {
    const k3 = await runKeras3('leaky3', { class_name: 'LeakyReLU', config: { name: 'l' } });
    assertClose(k3, [x[0]!.map((v) => (v < 0 ? 0.2 * v : v))], 1e-6);
    const file = path.join(dir, 'leaky2.h5');
    await writeKeras2H5(
      file,
      {
        class_name: 'Sequential',
        config: {
          name: 's',
          layers: [
            { class_name: 'LeakyReLU', config: { name: 'l', batch_input_shape: [null, 10] } },
          ],
        },
      },
      [{ name: 'l', weights: [] }],
    );
    const k2 = (await loadModel(file)).model.predict(tf.tensor(x)) as tf.Tensor;
    assertClose(k2, [x[0]!.map((v) => (v < 0 ? 0.3 * v : v))], 1e-6);
  });

  it('Rescaling with a per-channel scale and an offset', async () => {
    const scale = Array.from({ length: 10 }, (_, i) => (i + 1) / 10);
    const y = await runKeras3('rescale', {
      class_name: 'Rescaling',
      config: { name: 'r', scale, offset: -1 },
    });
    assertClose(y, [x[0]!.map((v, i) => v * scale[i]! - 1)], 1e-6);
  });

  it('Normalization from config statistics, and from adapt() weights', async () => {
    const mean = Array.from({ length: 10 }, (_, i) => i - 5);
    const variance = Array.from({ length: 10 }, (_, i) => (i + 1) * 0.5);
    const ref = (v: number, i: number) => (v - mean[i]!) / Math.sqrt(variance[i]!);
    const fromConfig = await runKeras3('norm-config', {
      class_name: 'Normalization',
      config: { name: 'n', axis: -1, mean, variance, invert: false },
    });
    assertClose(fromConfig, [x[0]!.map(ref)], 1e-5);
    const adapted = await runKeras3(
      'norm-adapted',
      {
        class_name: 'Normalization',
        config: { name: 'n', axis: -1, mean: null, variance: null, invert: false },
      },
      {
        n: [
          { name: 'mean', shape: [10], values: Float32Array.from(mean) },
          { name: 'variance', shape: [10], values: Float32Array.from(variance) },
        ],
      },
    );
    assertClose(adapted, [x[0]!.map(ref)], 1e-5);
    // Keras 2 stores an adapt() sample count beside the statistics; inference ignores it.
    const file = path.join(dir, 'norm2.h5');
    await writeKeras2H5(
      file,
      {
        class_name: 'Sequential',
        config: {
          name: 's',
          layers: [
            {
              class_name: 'Normalization',
              config: { name: 'n', axis: -1, batch_input_shape: [null, 10] },
            },
          ],
        },
      },
      [
        {
          name: 'n',
          weights: [
            { name: 'n/mean:0', shape: [10], values: Float32Array.from(mean) },
            { name: 'n/variance:0', shape: [10], values: Float32Array.from(variance) },
            { name: 'n/count:0', shape: [], values: Float32Array.of(1000) },
          ],
        },
      ],
    );
    assertClose(
      (await loadModel(file)).model.predict(tf.tensor(x)) as tf.Tensor,
      [x[0]!.map(ref)],
      1e-5,
    );
  });

  it('PReLU with one learned slope per unit', async () => {
    const alpha = arr('alpha', [10], 40);
    const y = await runKeras3(
      'prelu',
      { class_name: 'PReLU', config: { name: 'p' } },
      { p: [alpha] },
    );
    assertClose(y, [x[0]!.map((v, i) => (v < 0 ? alpha.values[i]! * v : v))], 1e-6);
  });
});
