import * as tf from '@tensorflow/tfjs';

/** The sample model's layer sequence at a quarter of its width, so it trains inside a test. */
export function compactModel(): tf.LayersModel {
  let seed = 40;
  const he = () => tf.initializers.heNormal({ seed: seed++ });
  const input = tf.input({ shape: [28, 28, 1], name: 'image' });
  const layers: tf.layers.Layer[] = [
    tf.layers.rescaling({ scale: 1 / 255, offset: 0, name: 'rescale' }),
    tf.layers.conv2d({
      filters: 16,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      useBias: false,
      kernelInitializer: he(),
      name: 'conv',
    }),
    tf.layers.batchNormalization({ momentum: 0.9, name: 'bn1' }),
    tf.layers.reLU({ name: 'relu1' }),
    tf.layers.depthwiseConv2d({
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      useBias: false,
      depthwiseInitializer: he(),
      name: 'dw',
    }),
    tf.layers.batchNormalization({ momentum: 0.9, name: 'bn2' }),
    tf.layers.reLU({ name: 'relu2' }),
    tf.layers.conv2d({
      filters: 32,
      kernelSize: 1,
      useBias: false,
      kernelInitializer: he(),
      name: 'pw',
    }),
    tf.layers.batchNormalization({ momentum: 0.9, name: 'bn3' }),
    tf.layers.reLU({ name: 'relu3' }),
    tf.layers.globalAveragePooling2d({ name: 'pool' }),
    tf.layers.dense({
      units: 10,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
      name: 'classes',
    }),
  ];
  let h: tf.SymbolicTensor = input;
  for (const l of layers) h = l.apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: h });
}

/** A small Fashion-MNIST classifier with the sample model's kinds of layers. */
export function fashionModel(): tf.LayersModel {
  const input = tf.input({ shape: [28, 28, 1], name: 'image' });
  let h = tf.layers
    .rescaling({ scale: 1 / 255, offset: 0, name: 'rescale' })
    .apply(input) as tf.SymbolicTensor;
  h = tf.layers
    .conv2d({
      filters: 8,
      kernelSize: 3,
      strides: 2,
      useBias: false,
      name: 'conv',
      kernelInitializer: tf.initializers.heNormal({ seed: 1 }),
    })
    .apply(h) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization({ name: 'bn' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU({ name: 'relu' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(h) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({
      units: 10,
      activation: 'softmax',
      name: 'classes',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
    })
    .apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}
