import * as tf from '@tensorflow/tfjs';

/**
 * The Fashion-MNIST CNN that ships as resources/samples/fashion-mnist-cnn.keras. It carries
 * the layers Quantbench is about: a Rescaling input, Conv2D and DepthwiseConv2D each followed
 * by BatchNormalization, pointwise convolutions, GlobalAveragePooling2D and a softmax Dense.
 */
export function buildSampleModel(seed: number): tf.LayersModel {
  let n = 0;
  const init = () => tf.initializers.heNormal({ seed: seed + n++ });
  const bn = () => tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3 });
  const relu = () => tf.layers.reLU({});
  const input = tf.input({ shape: [28, 28, 1], name: 'image' });
  const layers: tf.layers.Layer[] = [
    tf.layers.rescaling({ scale: 1 / 255, offset: 0, name: 'rescale' }),
    tf.layers.conv2d({
      filters: 32,
      kernelSize: 3,
      padding: 'same',
      useBias: false,
      kernelInitializer: init(),
      name: 'conv',
    }),
    bn(),
    relu(),
    tf.layers.depthwiseConv2d({
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      useBias: false,
      depthwiseInitializer: init(),
      name: 'dw1',
    }),
    bn(),
    relu(),
    tf.layers.conv2d({
      filters: 128,
      kernelSize: 1,
      useBias: false,
      kernelInitializer: init(),
      name: 'pw1',
    }),
    bn(),
    relu(),
    tf.layers.depthwiseConv2d({
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      useBias: false,
      depthwiseInitializer: init(),
      name: 'dw2',
    }),
    bn(),
    relu(),
    tf.layers.conv2d({
      filters: 256,
      kernelSize: 1,
      useBias: false,
      kernelInitializer: init(),
      name: 'pw2',
    }),
    bn(),
    relu(),
    tf.layers.globalAveragePooling2d({ name: 'pool' }),
    tf.layers.dense({
      units: 10,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + n++ }),
      name: 'classes',
    }),
  ];
  let h: tf.SymbolicTensor = input;
  for (const layer of layers) h = layer.apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: h, name: 'fashion_mnist_cnn' });
}

/** Mulberry32: a seeded shuffle so a training run is repeatable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffledIndices(count: number, random: () => number): Int32Array {
  const order = Int32Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

export interface TrainingSet {
  /** Raw pixels 0..255, [count, 28, 28, 1] row-major: the model rescales them itself. */
  x: Float32Array;
  y: Int32Array;
  count: number;
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  seed: number;
  learningRate: number;
  /** Stops after this many steps in total (benchmarks). */
  maxSteps?: number;
  onStep?: (e: { epoch: number; step: number; stepsPerEpoch: number; loss: number }) => void;
  onEpoch?: (e: { epoch: number; loss: number; seconds: number }) => void;
}

/** Gathers one shuffled batch into tensors. */
export function gatherBatch(
  set: TrainingSet,
  order: Int32Array,
  from: number,
  size: number,
): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const per = 28 * 28;
  const x = new Float32Array(size * per);
  const labels = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const s = order[from + i]!;
    x.set(set.x.subarray(s * per, (s + 1) * per), i * per);
    labels[i] = set.y[s]!;
  }
  return tf.tidy(() => ({
    xs: tf.tensor4d(x, [size, 28, 28, 1]),
    ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 10) as tf.Tensor2D,
  }));
}

/**
 * Adam with a cosine-decayed learning rate, trained step by step so shuffling stays seeded
 * and a step budget can cut a run short.
 */
export async function trainSampleModel(
  model: tf.LayersModel,
  set: TrainingSet,
  options: TrainOptions,
): Promise<void> {
  const optimizer = tf.train.adam(options.learningRate);
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: [] });
  const random = seededRandom(options.seed);
  const stepsPerEpoch = Math.floor(set.count / options.batchSize);
  const totalSteps = Math.min(options.maxSteps ?? Infinity, stepsPerEpoch * options.epochs);
  let step = 0;
  for (let epoch = 0; epoch < options.epochs && step < totalSteps; epoch++) {
    const order = shuffledIndices(set.count, random);
    const started = performance.now();
    let lossSum = 0;
    let batches = 0;
    for (let b = 0; b < stepsPerEpoch && step < totalSteps; b++, step++) {
      // tfjs reads the rate on every step but exposes no setter for it.
      (optimizer as unknown as { learningRate: number }).learningRate =
        options.learningRate * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps));
      const { xs, ys } = gatherBatch(set, order, b * options.batchSize, options.batchSize);
      const loss = (await model.trainOnBatch(xs, ys)) as number;
      tf.dispose([xs, ys]);
      lossSum += loss;
      batches++;
      options.onStep?.({ epoch, step: b, stepsPerEpoch, loss });
    }
    options.onEpoch?.({
      epoch,
      loss: lossSum / batches,
      seconds: (performance.now() - started) / 1000,
    });
  }
}
