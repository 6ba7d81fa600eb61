import * as tf from '@tensorflow/tfjs';

/**
 * Augmentation and regularisation layers that only act while training. At inference they pass
 * their input through, which is all Quantbench needs from them; their config is kept so a
 * model written back to Keras still has them.
 */
export class InferenceIdentity extends tf.layers.Layer {
  private readonly kept: tf.serialization.ConfigDict;

  constructor(args: tf.serialization.ConfigDict) {
    const { name, trainable, dtype, batchInputShape, inputShape, ...rest } = args;
    super({ name, trainable, dtype, batchInputShape, inputShape } as tf.serialization.ConfigDict);
    this.kept = rest;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return tf.clone(x);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...this.kept };
  }
}

export const inferenceIdentityClasses = [
  'RandomFlip',
  'RandomRotation',
  'RandomZoom',
  'RandomTranslation',
  'RandomContrast',
  'RandomBrightness',
  'RandomCrop',
  'SpatialDropout2D',
  'GaussianDropout',
  'ActivityRegularization',
] as const;

/** One subclass per Keras name: tfjs keys its registry by the static className. */
export const inferenceIdentityLayers = Object.fromEntries(
  inferenceIdentityClasses.map((className) => {
    const cls = {
      [className]: class extends InferenceIdentity {
        static className = className;
      },
    }[className]!;
    tf.serialization.registerClass(cls);
    return [className, cls];
  }),
) as unknown as Record<(typeof inferenceIdentityClasses)[number], typeof InferenceIdentity>;
