import * as tf from '@tensorflow/tfjs';

export interface NormalizationArgs {
  name?: string;
  trainable?: boolean;
  dtype?: tf.DataType;
  batchInputShape?: (number | null)[];
  inputShape?: (number | null)[];
  axis?: number | number[] | null;
  mean?: number | number[] | null;
  variance?: number | number[] | null;
  invert?: boolean;
}

/** Keras backend.epsilon(): the floor Keras puts under the standard deviation. */
const EPSILON = 1e-7;

/**
 * Keras `Normalization`: (x - mean) / max(sqrt(variance), 1e-7), or the inverse with
 * `invert`. Mean and variance come from the config when the model was built with them, else
 * from the weights `adapt()` produced (non-trainable `mean` and `variance`).
 */
export class Normalization extends tf.layers.Layer {
  static className = 'Normalization';
  private readonly axis: number[];
  private readonly fixedMean: number[] | null;
  private readonly fixedVariance: number[] | null;
  private readonly invert: boolean;
  private mean?: tf.LayerVariable;
  private variance?: tf.LayerVariable;

  constructor(args: NormalizationArgs = {}) {
    super(args as unknown as tf.serialization.ConfigDict);
    const axis = args.axis === undefined ? -1 : args.axis;
    this.axis = axis === null ? [] : Array.isArray(axis) ? axis : [axis];
    this.fixedMean = args.mean == null ? null : ([args.mean].flat(Infinity) as number[]);
    this.fixedVariance =
      args.variance == null ? null : ([args.variance].flat(Infinity) as number[]);
    this.invert = args.invert ?? false;
  }

  private statShape(inputShape: tf.Shape): number[] {
    const rank = inputShape.length;
    const axes = this.axis.map((a) => (a < 0 ? rank + a : a));
    return inputShape.map((d, i) => (axes.includes(i) ? (d as number) : 1));
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    if (this.fixedMean === null) {
      const statShape = this.statShape(shape).slice(1);
      this.mean = this.addWeight(
        'mean',
        statShape,
        'float32',
        tf.initializers.zeros(),
        undefined,
        false,
      );
      this.variance = this.addWeight(
        'variance',
        statShape,
        'float32',
        tf.initializers.ones(),
        undefined,
        false,
      );
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const statShape = this.statShape(x.shape);
      const mean = this.mean
        ? this.mean.read().reshape(statShape)
        : tf.tensor(this.fixedMean!).reshape(this.fixedMean!.length === 1 ? [] : statShape);
      const variance = this.variance
        ? this.variance.read().reshape(statShape)
        : tf.tensor(this.fixedVariance!).reshape(this.fixedVariance!.length === 1 ? [] : statShape);
      const std = tf.maximum(tf.sqrt(variance), EPSILON);
      return this.invert ? tf.add(mean, tf.mul(x, std)) : tf.div(tf.sub(x, mean), std);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      axis: this.axis.length === 1 ? this.axis[0]! : this.axis,
      mean: this.fixedMean,
      variance: this.fixedVariance,
      invert: this.invert,
    };
  }
}

tf.serialization.registerClass(Normalization);
