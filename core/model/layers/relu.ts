import * as tf from '@tensorflow/tfjs';

export interface ReLUArgs {
  name?: string;
  trainable?: boolean;
  dtype?: tf.DataType;
  batchInputShape?: (number | null)[];
  inputShape?: (number | null)[];
  maxValue?: number | null;
  negativeSlope?: number;
  threshold?: number;
}

/**
 * Keras `ReLU(max_value, negative_slope, threshold)`. tfjs-layers' ReLU knows only
 * `maxValue`, so this replaces it under the same class name:
 * f(x) = max_value for x >= max_value, x for threshold <= x < max_value,
 * negative_slope * (x - threshold) otherwise.
 */
export class ReLU extends tf.layers.Layer {
  static className = 'ReLU';
  readonly maxValue: number | null;
  readonly negativeSlope: number;
  readonly threshold: number;

  constructor(args: ReLUArgs = {}) {
    super(args as unknown as tf.serialization.ConfigDict);
    this.maxValue = args.maxValue ?? null;
    this.negativeSlope = args.negativeSlope ?? 0;
    this.threshold = args.threshold ?? 0;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      let y: tf.Tensor;
      if (this.threshold === 0 && this.negativeSlope === 0) {
        y = tf.relu(x);
      } else {
        const below = tf.mul(tf.sub(x, this.threshold), this.negativeSlope);
        y = tf.where(tf.greaterEqual(x, this.threshold), x, below);
      }
      return this.maxValue === null ? y : tf.minimum(y, this.maxValue);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      maxValue: this.maxValue,
      negativeSlope: this.negativeSlope,
      threshold: this.threshold,
    };
  }
}

tf.serialization.registerClass(ReLU);
