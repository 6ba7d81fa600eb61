import * as tf from '@tensorflow/tfjs';

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

/** Asymmetric int8 parameters for a range widened to hold zero, as TFLite requires. */
export function activationParams(range: ActivationRange): { scale: number; zeroPoint: number } {
  const min = Math.min(0, range.min);
  const max = Math.max(0, range.max);
  const scale = max > min ? (max - min) / 255 : 1;
  const zeroPoint = Math.max(-128, Math.min(127, Math.round(-128 - min / scale)));
  return { scale, zeroPoint };
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
 * batch sets the range, later batches move it by (1 - decay).
 */
export class MovingRange {
  range: ActivationRange | undefined;
  constructor(private readonly decay: number) {}

  update(x: tf.Tensor): ActivationRange {
    const [min, max] = tf.tidy(() => [x.min().dataSync()[0]!, x.max().dataSync()[0]!]);
    if (!this.range) this.range = { min, max };
    else {
      const d = this.decay;
      this.range = {
        min: d * this.range.min + (1 - d) * min,
        max: d * this.range.max + (1 - d) * max,
      };
    }
    return this.range;
  }
}
