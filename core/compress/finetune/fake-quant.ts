import * as tf from '@tensorflow/tfjs';
import { asymmetricParams, type QuantParams } from '../quant-math';

/** TFLite rounds half away from zero; tf.round rounds half to even. */
function roundHalfAway(v: tf.Tensor): tf.Tensor {
  return tf.sign(v).mul(tf.floor(tf.abs(v).add(0.5)));
}

/** Per-output-channel scales max|w_c| / 127 over a kernel whose last axis (flattened) is the channel. */
export function channelScales(kernel: tf.Tensor, channels: number): tf.Tensor1D {
  return tf.tidy(() => {
    const maxAbs = tf.abs(kernel.reshape([-1, channels])).max(0) as tf.Tensor1D;
    // An all-zero channel quantizes to zeros whatever the scale; 1 avoids a division by zero.
    return tf.where(maxAbs.greater(0), maxAbs.div(127), tf.onesLike(maxAbs)) as tf.Tensor1D;
  });
}

/**
 * Per-channel symmetric int8 round trip (zero point 0, range ±127) with a straight-through
 * gradient. Zero maps to exactly zero, so pruned weights stay pruned through it.
 */
export function fakeQuantWeights(kernel: tf.Tensor, channels: number): tf.Tensor {
  const f = tf.customGrad(((w: tf.Tensor, save: tf.GradSaveFunc) => {
    save([]);
    const value = tf.tidy(() => {
      const flat = w.reshape([-1, channels]);
      const scale = channelScales(flat, channels);
      return roundHalfAway(flat.div(scale)).clipByValue(-127, 127).mul(scale).reshape(w.shape);
    });
    return { value, gradFunc: (dy: tf.Tensor) => dy };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(kernel);
}

export interface ActivationRange {
  min: number;
  max: number;
}

/**
 * Asymmetric int8 parameters of a range: the exporter's own formula, so a range learned here
 * quantizes the exported tensor on exactly the grid training saw.
 */
export function activationParams(range: ActivationRange): QuantParams {
  return asymmetricParams(range.min, range.max);
}

/**
 * Asymmetric int8 round trip of an activation. The gradient passes where the input lies in
 * the representable range and is zero where it was clamped, as TensorFlow's
 * FakeQuantWithMinMaxVars does.
 */
export function fakeQuantActivation(x: tf.Tensor, range: ActivationRange): tf.Tensor {
  const { scale, zeroPoint } = activationParams(range);
  const lo = (-128 - zeroPoint) * scale;
  const hi = (127 - zeroPoint) * scale;
  const f = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    save([input]);
    const value = tf.tidy(() =>
      roundHalfAway(input.div(scale))
        .add(zeroPoint)
        .clipByValue(-128, 127)
        .sub(zeroPoint)
        .mul(scale),
    );
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const s = saved[0]!;
        return dy.mul(tf.logicalAnd(s.greaterEqual(lo), s.lessEqual(hi)).cast('float32'));
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x);
}

/**
 * Moving-average min/max of one activation, TF MOT's MovingAverageQuantizer: the first
 * batch sets the range, later batches move it by (1 - decay). The decay warms up as
 * tf.train.ExponentialMovingAverage's does with num_updates, min(decay, (1 + n) / (10 + n)):
 * a fixed 0.999 still remembers a third of its first batches after 1,000 steps, so a short
 * fine-tune would export ranges of weights it no longer has.
 */
export class MovingRange {
  range: ActivationRange | undefined;
  readonly fixed = false;
  private updates = 0;
  constructor(private readonly decay: number) {}

  update(x: tf.Tensor): ActivationRange {
    const [min, max] = tf.tidy(() => [x.min().dataSync()[0]!, x.max().dataSync()[0]!]);
    if (!this.range) this.range = { min, max };
    else {
      const d = Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
      this.range = {
        min: d * this.range.min + (1 - d) * min,
        max: d * this.range.max + (1 - d) * max,
      };
    }
    this.updates++;
    return this.range;
  }
}

/**
 * The range TFLite fixes for a bounded activation's output (softmax and sigmoid: scale 1/256,
 * zero point -128; tanh: 1/128, 0), written as the min/max that give those parameters.
 */
export class FixedRange {
  readonly fixed = true;
  constructor(readonly range: ActivationRange) {}

  static of(activation: string): FixedRange | undefined {
    if (activation === 'softmax' || activation === 'sigmoid')
      return new FixedRange({ min: 0, max: 255 / 256 });
    if (activation === 'tanh') return new FixedRange({ min: -1, max: 127 / 128 });
    return undefined;
  }

  update(): ActivationRange {
    return this.range;
  }
}
