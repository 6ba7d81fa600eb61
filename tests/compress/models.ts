import * as tf from '@tensorflow/tfjs';
import { seededRandom } from '../../core/compress/cluster';

/** Gives every weight of a built model a repeatable value (tfjs initialisers are not seeded by default). */
export function seedWeights(model: tf.LayersModel, seed: number): void {
  const random = seededRandom(seed);
  for (const layer of model.layers) {
    const ws = layer.getWeights().map((w) => {
      const name = w.shape.length;
      const size = w.size;
      const data = new Float32Array(size);
      const isVariance = layer.getClassName() === 'BatchNormalization';
      for (let i = 0; i < size; i++)
        data[i] = isVariance ? 0.5 + random() : (random() - 0.5) * (name > 1 ? 0.6 : 0.2);
      return tf.tensor(data, w.shape);
    });
    layer.setWeights(ws);
  }
}

/**
 * A small image classifier with the layer kinds the sample model has: an input Rescaling,
 * Conv2D + BatchNormalization pairs (foldable), a BatchNormalization after an activation
 * (not foldable), pooling and a softmax Dense.
 */
export function smallCnn(seed = 1): tf.LayersModel {
  const input = tf.input({ shape: [12, 12, 1], name: 'image' });
  let x = tf.layers
    .rescaling({ scale: 1 / 255, name: 'rescale' })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers
    .conv2d({ filters: 8, kernelSize: 3, padding: 'same', name: 'conv1' })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ name: 'relu1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .conv2d({ filters: 16, kernelSize: 3, activation: 'relu', name: 'conv2' })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn_after_relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.2, name: 'drop' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: 10, activation: 'softmax', name: 'classifier' })
    .apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: 'small_cnn' });
  seedWeights(model, seed);
  return model;
}

/** A dense autoencoder shaped like ad01 (Dense + BatchNormalization + ReLU blocks). */
export function denseAutoencoder(seed = 2, width = 32): tf.LayersModel {
  const input = tf.input({ shape: [width], name: 'features' });
  let x: tf.SymbolicTensor = input;
  for (const [i, units] of [16, 8, 16].entries()) {
    x = tf.layers.dense({ units, name: `dense_${i}` }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ name: `bn_${i}` }).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .activation({ activation: 'relu', name: `act_${i}` })
      .apply(x) as tf.SymbolicTensor;
  }
  const out = tf.layers
    .dense({ units: width, name: 'reconstruction' })
    .apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: 'dense_ae' });
  seedWeights(model, seed);
  return model;
}

/** Repeatable pseudo-images with pixel values 0..255. */
export function randomImages(count: number, seed: number, shape = [12, 12, 1]): tf.Tensor {
  const random = seededRandom(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count * size);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(random() * 256);
  return tf.tensor(data, [count, ...shape]);
}

export function randomFeatures(count: number, seed: number, width = 32): tf.Tensor {
  const random = seededRandom(seed);
  const data = new Float32Array(count * width);
  for (let i = 0; i < data.length; i++) data[i] = (random() - 0.3) * 4;
  return tf.tensor(data, [count, width]);
}
