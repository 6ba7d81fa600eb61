import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Subtract } from '../../core/model/layers/index';
import { useBackend } from '../../core/train/backend';

/**
 * Every trainable layer Quantbench imports gets one optimizer step on wasm. A kernel missing
 * from tfjs-backend-wasm shows up here as "Kernel 'X' not registered for backend 'wasm'".
 */
type Case = { layers: () => tf.layers.Layer[]; input: number[] };
const image = [8, 8, 2];
const seq = [8, 2];
const flat = [4];
const cases: Record<string, Case> = {
  Conv2D: { input: image, layers: () => [tf.layers.conv2d({ filters: 3, kernelSize: 3 })] },
  'Conv2D strided same': {
    input: image,
    layers: () => [tf.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' })],
  },
  Conv1D: { input: seq, layers: () => [tf.layers.conv1d({ filters: 3, kernelSize: 3 })] },
  DepthwiseConv2D: {
    input: image,
    layers: () => [tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2 })],
  },
  'DepthwiseConv2D strided same': {
    input: image,
    layers: () => [tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same' })],
  },
  SeparableConv2D: {
    input: image,
    layers: () => [tf.layers.separableConv2d({ filters: 3, kernelSize: 3 })],
  },
  BatchNormalization: {
    input: image,
    layers: () => [tf.layers.conv2d({ filters: 3, kernelSize: 1 }), tf.layers.batchNormalization()],
  },
  LayerNormalization: {
    input: flat,
    layers: () => [tf.layers.dense({ units: 3 }), tf.layers.layerNormalization()],
  },
  'ReLU max_value': {
    input: flat,
    layers: () => [tf.layers.dense({ units: 3 }), tf.layers.reLU({ maxValue: 6 })],
  },
  LeakyReLU: { input: flat, layers: () => [tf.layers.dense({ units: 3 }), tf.layers.leakyReLU()] },
  PReLU: { input: flat, layers: () => [tf.layers.dense({ units: 3 }), tf.layers.prelu()] },
  ...Object.fromEntries(
    (
      [
        'relu',
        'relu6',
        'elu',
        'selu',
        'sigmoid',
        'tanh',
        'swish',
        'gelu',
        'hardSigmoid',
        'softmax',
        'linear',
      ] as const
    ).map((a) => [
      `Activation ${a}`,
      {
        input: flat,
        layers: () => [
          tf.layers.dense({ units: 3 }),
          tf.layers.activation({ activation: a as never }),
        ],
      },
    ]),
  ),
  MaxPooling2D: {
    input: image,
    layers: () => [
      tf.layers.conv2d({ filters: 2, kernelSize: 1 }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
    ],
  },
  AveragePooling2D: {
    input: image,
    layers: () => [
      tf.layers.conv2d({ filters: 2, kernelSize: 1 }),
      tf.layers.averagePooling2d({ poolSize: 2 }),
    ],
  },
  MaxPooling1D: {
    input: seq,
    layers: () => [
      tf.layers.conv1d({ filters: 2, kernelSize: 1 }),
      tf.layers.maxPooling1d({ poolSize: 2 }),
    ],
  },
  AveragePooling1D: {
    input: seq,
    layers: () => [
      tf.layers.conv1d({ filters: 2, kernelSize: 1 }),
      tf.layers.averagePooling1d({ poolSize: 2 }),
    ],
  },
  GlobalAveragePooling2D: {
    input: image,
    layers: () => [
      tf.layers.conv2d({ filters: 2, kernelSize: 1 }),
      tf.layers.globalAveragePooling2d({}),
    ],
  },
  GlobalAveragePooling1D: {
    input: seq,
    layers: () => [
      tf.layers.conv1d({ filters: 2, kernelSize: 1 }),
      tf.layers.globalAveragePooling1d({}),
    ],
  },
  GlobalMaxPooling2D: {
    input: image,
    layers: () => [
      tf.layers.conv2d({ filters: 2, kernelSize: 1 }),
      tf.layers.globalMaxPooling2d({}),
    ],
  },
  ZeroPadding2D: {
    input: image,
    layers: () => [tf.layers.conv2d({ filters: 2, kernelSize: 1 }), tf.layers.zeroPadding2d({})],
  },
  UpSampling2D: {
    input: image,
    layers: () => [tf.layers.conv2d({ filters: 2, kernelSize: 1 }), tf.layers.upSampling2d({})],
  },
  Permute: {
    input: image,
    layers: () => [
      tf.layers.conv2d({ filters: 2, kernelSize: 1 }),
      tf.layers.permute({ dims: [3, 1, 2] }),
    ],
  },
  Reshape: {
    input: image,
    layers: () => [
      tf.layers.conv2d({ filters: 2, kernelSize: 1 }),
      tf.layers.reshape({ targetShape: [64, 2] }),
    ],
  },
  Dropout: {
    input: flat,
    layers: () => [tf.layers.dense({ units: 3 }), tf.layers.dropout({ rate: 0.5 })],
  },
  SpatialDropout1D: {
    input: seq,
    layers: () => [
      tf.layers.conv1d({ filters: 2, kernelSize: 1 }),
      tf.layers.spatialDropout1d({ rate: 0.5 }),
    ],
  },
  'Dense on rank 3': { input: [5, 4], layers: () => [tf.layers.dense({ units: 3 })] },
  Softmax: { input: flat, layers: () => [tf.layers.dense({ units: 3 }), tf.layers.softmax()] },
};

describe('training every supported layer on wasm', () => {
  before(async () => {
    await useBackend('wasm');
  });

  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      const model = tf.sequential();
      const [first, ...rest] = c.layers();
      model.add(tf.layers.inputLayer({ inputShape: c.input }));
      for (const layer of [first!, ...rest]) model.add(layer);
      if (model.outputs[0]!.shape.length > 2) model.add(tf.layers.flatten());
      model.add(tf.layers.dense({ units: 2 }));
      model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
      const x = tf.randomNormal([4, ...c.input], 0, 1, 'float32', 1);
      const y = tf.randomNormal([4, 2], 0, 1, 'float32', 2);
      const loss = (await model.trainOnBatch(x, y)) as number;
      assert.ok(Number.isFinite(loss));
      tf.dispose([x, y]);
      model.dispose();
    });
  }

  it('merge layers: Add, Subtract, Multiply, Concatenate', async () => {
    const input = tf.input({ shape: [4] });
    const a = tf.layers.dense({ units: 3 }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.dense({ units: 3 }).apply(input) as tf.SymbolicTensor;
    const merged = [tf.layers.add(), tf.layers.multiply(), tf.layers.concatenate()].map(
      (l) => l.apply([a, b]) as tf.SymbolicTensor,
    );
    const diff = new Subtract({}).apply([a, b]) as tf.SymbolicTensor;
    const out = tf.layers
      .dense({ units: 2 })
      .apply(
        tf.layers.concatenate().apply([...merged, diff]) as tf.SymbolicTensor,
      ) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    const loss = (await model.trainOnBatch(
      tf.randomNormal([4, 4], 0, 1, 'float32', 3),
      tf.oneHot(tf.tensor1d([0, 1, 0, 1], 'int32'), 2),
    )) as number;
    assert.ok(Number.isFinite(loss));
  });
});
