import * as tf from '@tensorflow/tfjs';
import type { TrainingData } from '../../../core/compress/finetune/trainer';

/** A small conv net with the layer kinds the sample model has: conv, BN, depthwise, dense. */
export function smallConvModel(seed: number): tf.LayersModel {
  let n = 0;
  const init = () => tf.initializers.heNormal({ seed: seed + n++ });
  const input = tf.input({ shape: [8, 8, 1], name: 'x' });
  let h = tf.layers
    .conv2d({
      filters: 8,
      kernelSize: 3,
      padding: 'same',
      useBias: false,
      kernelInitializer: init(),
      name: 'conv',
    })
    .apply(input) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization({ name: 'bn' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU({ name: 'relu' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers
    .depthwiseConv2d({
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      depthwiseInitializer: init(),
      activation: 'relu',
      name: 'dw',
    })
    .apply(h) as tf.SymbolicTensor;
  h = tf.layers
    .conv2d({
      filters: 16,
      kernelSize: 1,
      kernelInitializer: init(),
      activation: 'relu',
      name: 'pw',
    })
    .apply(h) as tf.SymbolicTensor;
  h = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(h) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({
      units: 4,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + n++ }),
      name: 'classes',
    })
    .apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** A learnable synthetic task: the class is the quadrant holding the brightest blob. */
export function quadrantData(count: number, seed: number): TrainingData {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const x = new Float32Array(count * 64);
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const c = Math.floor(rand() * 4);
    y[i] = c;
    for (let p = 0; p < 64; p++) x[i * 64 + p] = rand() * 0.3;
    const r0 = c < 2 ? 0 : 4;
    const c0 = c % 2 === 0 ? 0 : 4;
    for (let r = 0; r < 3; r++)
      for (let q = 0; q < 3; q++) x[i * 64 + (r0 + r + 1) * 8 + c0 + q] += 1;
  }
  return { x, y, count, sampleShape: [8, 8, 1], classes: 4 };
}

export function kernelValues(model: tf.LayersModel, layer: string): Float32Array {
  return model.getLayer(layer).getWeights()[0]!.dataSync() as Float32Array;
}
