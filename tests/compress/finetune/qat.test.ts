import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../core/train/backend';
import { registerFineTuneKernels } from '../../../core/compress/finetune/kernels';
import { activationParams, MovingRange } from '../../../core/compress/finetune/fake-quant';
import type { CompressionState } from '../../../core/compress/finetune/state';
import { ConstrainedTrainer } from '../../../core/compress/finetune/trainer';

function mlp(): tf.LayersModel {
  const input = tf.input({ shape: [6], name: 'x' });
  const h = tf.layers
    .dense({
      units: 5,
      activation: 'relu',
      name: 'd1',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      biasInitializer: tf.initializers.randomNormal({ seed: 2, stddev: 0.1 }),
    })
    .apply(input) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({
      units: 3,
      name: 'd2',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
      biasInitializer: tf.initializers.randomNormal({ seed: 4, stddev: 0.1 }),
    })
    .apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

const round = (v: number) => Math.sign(v) * Math.floor(Math.abs(v) + 0.5);
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/**
 * Integer arithmetic as the TFLite int8 FullyConnected kernel does it (per-tensor weight
 * scale, as the exporter writes FULLY_CONNECTED), then dequantized.
 */
function int8Dense(
  x: number[][],
  kernel: Float32Array,
  bias: Float32Array,
  inRange: { min: number; max: number },
  outRange: { min: number; max: number },
  relu: boolean,
  inputIsQuantized: boolean,
): number[][] {
  const [nIn, nOut] = [x[0]!.length, bias.length];
  const pin = activationParams(inRange);
  const pout = activationParams(outRange);
  const maxAbs = kernel.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const sw = Array.from({ length: nOut }, () => maxAbs / 127);
  return x.map((row) => {
    const qx = row.map((v) =>
      inputIsQuantized
        ? round(v / pin.scale) + pin.zeroPoint
        : clamp(round(v / pin.scale) + pin.zeroPoint, -128, 127),
    );
    return Array.from({ length: nOut }, (_, j) => {
      let acc = round(bias[j]! / (pin.scale * sw[j]!));
      for (let i = 0; i < nIn; i++)
        acc += (qx[i]! - pin.zeroPoint) * clamp(round(kernel[i * nOut + j]! / sw[j]!), -127, 127);
      const lo = relu ? Math.max(pout.zeroPoint, -128) : -128;
      const q = clamp(round((acc * pin.scale * sw[j]!) / pout.scale) + pout.zeroPoint, lo, 127);
      return (q - pout.zeroPoint) * pout.scale;
    });
  });
}

function weights(model: tf.LayersModel, name: string): [Float32Array, Float32Array] {
  const [k, b] = model.getLayer(name).getWeights();
  return [k!.dataSync() as Float32Array, b!.dataSync() as Float32Array];
}

function trainFew(model: tf.LayersModel, state: CompressionState): ConstrainedTrainer {
  const trainer = new ConstrainedTrainer(model, state, {
    optimizer: 'sgd',
    learningRate: 0.05,
    schedule: { kind: 'constant' },
    totalSteps: 5,
    qat: { emaDecay: 0.9 },
  });
  for (let s = 0; s < 5; s++) {
    const xs = tf.randomNormal([32, 6], 0, 1, 'float32', 10 + s);
    trainer.trainBatch(
      xs,
      Int32Array.from({ length: 32 }, (_, i) => (i * 7 + s) % 3),
    );
    xs.dispose();
  }
  return trainer;
}

describe('quantization-aware fine-tune', () => {
  before(async () => {
    await initBackend();
    registerFineTuneKernels();
  });

  it('fake-quantized forward equals an int8 integer-arithmetic forward within one output step', () => {
    const model = mlp();
    const trainer = trainFew(model, {});
    const ranges = trainer.net.activationRanges();
    const xs = tf.randomNormal([20, 6], 0, 1, 'float32', 99);
    const x = xs.arraySync() as number[][];
    const fq = tf.tidy(() => trainer.net.forward(xs, false).arraySync() as number[][]);
    const [k1, b1] = weights(model, 'd1');
    const [k2, b2] = weights(model, 'd2');
    const h = int8Dense(x, k1, b1, ranges.get('x')!, ranges.get('d1')!, true, false);
    const y = int8Dense(h, k2, b2, ranges.get('d1')!, ranges.get('d2')!, false, true);
    const step = activationParams(ranges.get('d2')!).scale;
    let worst = 0;
    for (let i = 0; i < 20; i++)
      for (let j = 0; j < 3; j++) worst = Math.max(worst, Math.abs(fq[i]![j]! - y[i]![j]!));
    assert.ok(worst <= step * 1.001, `largest difference ${worst}, one step ${step}`);
    // And it is really quantized: not the float model's output.
    const float = model.predict(xs) as tf.Tensor;
    assert.ok(tf.tidy(() => float.sub(tf.tensor(fq)).abs().max().dataSync()[0]!) > 0);
    tf.dispose([xs, float]);
    trainer.dispose();
  });

  it('moving ranges warm up as tf.train.ExponentialMovingAverage with num_updates', () => {
    const r = new MovingRange(0.999);
    const batch = (max: number) => tf.tensor1d([0, max]);
    const seen = [1, 2, 4].map((max) => {
      const x = batch(max);
      const out = r.update(x).max;
      x.dispose();
      return out;
    });
    // decay after n updates: min(0.999, (1 + n) / (10 + n)).
    const d1 = 2 / 11;
    const d2 = 3 / 12;
    assert.equal(seen[0], 1);
    assert.ok(Math.abs(seen[1]! - (d1 * 1 + (1 - d1) * 2)) < 1e-12);
    assert.ok(Math.abs(seen[2]! - (d2 * seen[1]! + (1 - d2) * 4)) < 1e-12);
  });

  it('leaves float-policy layers out of fake quantization', () => {
    const model = mlp();
    const trainer = trainFew(model, { d1: { policy: 'float' } });
    assert.equal(trainer.net.isFakeQuantized('d1'), false);
    assert.equal(trainer.net.isFakeQuantized('d2'), true);
    const ranges = trainer.net.activationRanges();
    // d1 runs in float on float input: no QUANTIZE before it.
    assert.equal(ranges.has('x'), false);
    const xs = tf.randomNormal([20, 6], 0, 1, 'float32', 5);
    const x = xs.arraySync() as number[][];
    const [k1, b1] = weights(model, 'd1');
    const [k2, b2] = weights(model, 'd2');
    const h = x.map((row) =>
      Array.from({ length: 5 }, (_, j) =>
        Math.max(0, b1[j]! + row.reduce((a, v, i) => a + v * k1[i * 5 + j]!, 0)),
      ),
    );
    const y = int8Dense(h, k2, b2, ranges.get('d1')!, ranges.get('d2')!, false, false);
    const fq = tf.tidy(() => trainer.net.forward(xs, false).arraySync() as number[][]);
    const step = activationParams(ranges.get('d2')!).scale;
    for (let i = 0; i < 20; i++)
      for (let j = 0; j < 3; j++) assert.ok(Math.abs(fq[i]![j]! - y[i]![j]!) <= step * 1.001);
    xs.dispose();
    trainer.dispose();
  });

  it('with every layer float, QAT forward is the float model exactly', () => {
    const model = mlp();
    const trainer = trainFew(model, { d1: { policy: 'float' }, d2: { policy: 'float' } });
    const xs = tf.randomNormal([8, 6], 0, 1, 'float32', 3);
    const a = tf.tidy(() => trainer.net.forward(xs, false).dataSync());
    const b = tf.tidy(() => (model.predict(xs) as tf.Tensor).dataSync());
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-6);
    xs.dispose();
    trainer.dispose();
  });

  it('simulates BatchNormalization folded into the conv, with pruned weights still exactly 0', () => {
    const input = tf.input({ shape: [6, 6, 2] });
    let h = tf.layers
      .conv2d({
        filters: 4,
        kernelSize: 3,
        useBias: false,
        name: 'c',
        kernelInitializer: tf.initializers.heNormal({ seed: 5 }),
      })
      .apply(input) as tf.SymbolicTensor;
    h = tf.layers
      .batchNormalization({
        name: 'b',
        movingVarianceInitializer: tf.initializers.constant({ value: 2 }),
        gammaInitializer: tf.initializers.constant({ value: 1.5 }),
      })
      .apply(h) as tf.SymbolicTensor;
    const out = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
    const model = tf.model({
      inputs: input,
      outputs: tf.layers
        .dense({ units: 3, activation: 'softmax', name: 'o' })
        .apply(out) as tf.SymbolicTensor,
    });
    const k = model.getLayer('c').getWeights()[0]!.dataSync() as Float32Array;
    const mask = Uint8Array.from(k, (_, i) => (i % 3 === 0 ? 0 : 1));
    const trainer = new ConstrainedTrainer(
      model,
      { c: { mask }, b: { policy: 'fold' } },
      {
        optimizer: 'adam',
        learningRate: 0.01,
        schedule: { kind: 'constant' },
        totalSteps: 5,
        qat: { emaDecay: 0.9 },
      },
    );
    const xs = tf.randomNormal([16, 6, 6, 2], 0, 1, 'float32', 8);
    // Frozen BN: the moving statistics do not move under folding.
    const before = model.getLayer('b').getWeights()[3]!.dataSync().slice();
    let tensors = 0;
    for (let s = 0; s < 5; s++) {
      if (s === 2) tensors = tf.memory().numTensors;
      trainer.trainBatch(
        xs,
        Int32Array.from({ length: 16 }, (_, i) => i % 3),
      );
    }
    assert.equal(tf.memory().numTensors, tensors, 'tensors leaked per step');
    assert.deepEqual(model.getLayer('b').getWeights()[3]!.dataSync(), before);
    const after = model.getLayer('c').getWeights()[0]!.dataSync();
    for (let i = 0; i < after.length; i++) if (mask[i] === 0) assert.equal(after[i], 0);
    // The exported graph holds one tensor for conv and folded BN, named after the conv.
    assert.equal(trainer.net.activationRanges().has('b'), false);
    assert.equal(trainer.net.activationRanges().has('c'), true);
    xs.dispose();
    trainer.dispose();
  });
});
