import * as tf from '@tensorflow/tfjs';

/** Keras accepts a number or one value per channel for both `scale` and `offset`. */
export type ScaleValue = number | number[];

export interface RescalingArgs {
  name?: string;
  trainable?: boolean;
  dtype?: tf.DataType;
  batchInputShape?: (number | null)[];
  inputShape?: (number | null)[];
  scale: ScaleValue;
  offset?: ScaleValue;
}

/**
 * Keras `Rescaling`: `x * scale + offset`. tfjs-layers ships a Rescaling that takes scalars
 * only; Keras models in the wild also use per-channel lists (e.g. ImageNet mean/std folded in),
 * so this class replaces it under the same name.
 */
export class Rescaling extends tf.layers.Layer {
  static className = 'Rescaling';
  readonly scale: ScaleValue;
  readonly offset: ScaleValue;

  constructor(args: RescalingArgs) {
    super(args as unknown as tf.serialization.ConfigDict);
    this.scale = plainValue(args.scale, 1);
    this.offset = plainValue(args.offset, 0);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (x.dtype !== 'float32') x = tf.cast(x, 'float32');
      return tf.add(tf.mul(x, tf.tensor(this.scale)), tf.tensor(this.offset));
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), scale: this.scale, offset: this.offset };
  }
}

/** Keras 3 may store `scale` as a serialised array (`{class_name: '__numpy__', config: {value}}`). */
function plainValue(value: unknown, fallback: number): ScaleValue {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'number') return value;
  if (Array.isArray(value)) return value.flat(Infinity) as number[];
  if (typeof value === 'object' && 'config' in value) {
    const inner = (value as { config: { value?: unknown } }).config.value;
    return plainValue(inner, fallback);
  }
  return fallback;
}

tf.serialization.registerClass(Rescaling);
