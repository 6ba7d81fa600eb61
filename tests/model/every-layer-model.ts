import * as tf from '@tensorflow/tfjs';
import {
  inferenceIdentityLayers,
  Normalization,
  ReLU,
  Rescaling,
  Subtract,
} from '../../core/model/layers/index';

type T = tf.SymbolicTensor;
const apply = (layer: tf.layers.Layer, x: T | T[]) => layer.apply(x) as T;

/** Deterministic pseudo-random numbers (mulberry32), independent of tfjs's own generators. */
export function seededValues(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = lo + (hi - lo) * r;
  }
  return out;
}

/** Gives every weight of the model seeded values (BatchNormalization variances kept positive). */
export function seedWeights(model: tf.LayersModel, seed: number): void {
  let s = seed;
  for (const w of model.weights) {
    const size = w.shape.reduce<number>((a, d) => a * (d ?? 1), 1);
    const positive = /variance|gamma/.test(w.originalName);
    const values = seededValues(size, s++, positive ? 0.5 : -0.5, positive ? 1.5 : 0.5);
    w.write(tf.tensor(values, w.shape as number[]));
  }
}

/**
 * A functional model that uses every layer class the importer supports at least once, with
 * a skip connection and a nested Sequential model.
 */
export function everyLayerModel(
  options: { kerasMajor: 2 | 3 } = { kerasMajor: 3 },
): tf.LayersModel {
  const input = tf.input({ shape: [12, 12, 3], name: 'image' });
  let x = input;
  const augmentations: [keyof typeof inferenceIdentityLayers, Record<string, unknown>][] = [
    ['RandomFlip', { mode: 'horizontal' }],
    ['RandomRotation', { factor: 0.1 }],
    ['RandomZoom', { heightFactor: 0.1 }],
    ['RandomTranslation', { heightFactor: 0.1, widthFactor: 0.1 }],
    ['RandomContrast', { factor: 0.2 }],
    ['RandomBrightness', { factor: 0.2 }],
    // Cropping to the input's own size: the one RandomCrop that is an identity at inference.
    ['RandomCrop', { height: 12, width: 12 }],
    // Keras 3's further augmentations, each an identity at inference.
    ['RandomGrayscale', { factor: 0.2 }],
    ['RandomHue', { factor: 0.2 }],
    ['RandomSaturation', { factor: 0.2 }],
    ['RandomSharpness', { factor: 0.2 }],
    ['RandomShear', { x_factor: 0.1 }],
    ['RandomColorJitter', { brightness_factor: 0.1 }],
    ['RandomColorDegeneration', { factor: 0.2 }],
    ['RandomPosterization', { factor: [1, 8] }],
    ['RandomInvert', { factor: 0.2 }],
    ['RandomErasing', { factor: 0.2 }],
    ['RandomGaussianBlur', { factor: 0.2 }],
    ['RandomPerspective', { factor: 0.2 }],
    ['RandomElasticTransform', { factor: 0.2 }],
    ['GaussianDropout', { rate: 0.1 }],
  ];
  for (const [name, args] of augmentations) {
    x = apply(
      new inferenceIdentityLayers[name]({
        name: name.toLowerCase(),
        ...args,
      } as tf.serialization.ConfigDict),
      x,
    );
  }
  x = apply(tf.layers.gaussianNoise({ stddev: 0.1 }), x);
  x = apply(new Rescaling({ scale: [1 / 255, 1 / 128, 1 / 64], offset: -0.5 }), x);
  x = apply(new Normalization({ axis: -1 }), x);
  x = apply(tf.layers.zeroPadding2d({ padding: 1 }), x);
  x = apply(tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu6' }), x);
  x = apply(tf.layers.batchNormalization({ axis: 3 }), x);
  const skip = apply(new ReLU({ maxValue: 6, negativeSlope: 0.1, threshold: 0.05 }), x);
  let y = apply(
    tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'swish' }),
    skip,
  );
  y = apply(
    tf.layers.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'elu' }),
    y,
  );
  const added = apply(tf.layers.add(), [skip, y]);
  const subtracted = apply(new Subtract({}), [added, skip]);
  const multiplied = apply(tf.layers.multiply(), [subtracted, added]);
  x = apply(tf.layers.concatenate({ axis: -1 }), [multiplied, added]);
  x = apply(tf.layers.maxPooling2d({ poolSize: 2 }), x);
  x = apply(tf.layers.averagePooling2d({ poolSize: 2 }), x);
  x = apply(tf.layers.upSampling2d({ size: [2, 2] }), x);
  x = apply(new inferenceIdentityLayers.SpatialDropout2D({ rate: 0.2 }), x);
  x = apply(tf.layers.layerNormalization({ axis: -1 }), x);
  x = apply(tf.layers.activation({ activation: 'gelu' }), x);
  // hard_sigmoid means 0.2x + 0.5 in Keras 2 and relu6(x + 3) / 6 in Keras 3.
  x = apply(
    tf.layers.activation({
      activation: (options.kerasMajor === 3 ? 'hardSigmoidKeras3' : 'hardSigmoid') as 'relu',
    }),
    x,
  );
  x = apply(tf.layers.activation({ activation: 'tanh' }), x);
  const pooledMax = apply(tf.layers.globalMaxPooling2d({}), x);
  const pooledAvg = apply(tf.layers.globalAveragePooling2d({}), x);
  x = apply(tf.layers.concatenate(), [pooledMax, pooledAvg]);

  const inner = tf.sequential({
    name: 'head',
    layers: [
      tf.layers.dense({ units: 12, activation: 'sigmoid', inputShape: [32] }),
      tf.layers.dropout({ rate: 0.3 }),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.prelu({}),
    ],
  });
  x = apply(inner, x);
  x = apply(tf.layers.reshape({ targetShape: [4, 3] }), x);
  x = apply(tf.layers.permute({ dims: [2, 1] }), x);
  x = apply(tf.layers.conv1d({ filters: 4, kernelSize: 2, activation: 'linear' }), x);
  x = apply(tf.layers.maxPooling1d({ poolSize: 1 }), x);
  x = apply(tf.layers.averagePooling1d({ poolSize: 1 }), x);
  x = apply(tf.layers.dense({ units: 5, activation: 'relu' }), x); // Dense on a rank-3 tensor
  const pooled1d = apply(tf.layers.globalAveragePooling1d({}), x);
  x = apply(tf.layers.flatten(), x);
  x = apply(tf.layers.concatenate(), [x, pooled1d]);
  x = apply(tf.layers.elu({}), x);
  x = apply(tf.layers.dense({ units: 4 }), x);
  x = apply(tf.layers.softmax({}), x);
  return tf.model({ inputs: input, outputs: x, name: 'every_layer' });
}
