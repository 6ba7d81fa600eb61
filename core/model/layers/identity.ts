import * as tf from '@tensorflow/tfjs';
import { QuantbenchError } from '../../errors';

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

/**
 * Keras's random image augmentations (keras.layers.Random*, both Keras 2 and 3): each returns
 * its input unchanged when not training. RandomCrop is the exception handled below.
 */
export const augmentationClasses = [
  'RandomFlip',
  'RandomRotation',
  'RandomZoom',
  'RandomTranslation',
  'RandomContrast',
  'RandomBrightness',
  'RandomCrop',
  'RandomGrayscale',
  'RandomHue',
  'RandomSaturation',
  'RandomSharpness',
  'RandomShear',
  'RandomColorJitter',
  'RandomColorDegeneration',
  'RandomPosterization',
  'RandomInvert',
  'RandomErasing',
  'RandomGaussianBlur',
  'RandomPerspective',
  'RandomElasticTransform',
] as const;

export const inferenceIdentityClasses = [
  ...augmentationClasses,
  'SpatialDropout2D',
  'GaussianDropout',
  'ActivityRegularization',
] as const;

/**
 * Every class that computes nothing at inference, including the ones tfjs implements itself:
 * the int8 exporter and the fine-tuner drop them and rewire their consumers.
 */
export const inferencePassThroughClasses: ReadonlySet<string> = new Set([
  ...inferenceIdentityClasses,
  'Dropout',
  'SpatialDropout1D',
  'GaussianNoise',
  'AlphaDropout',
]);

/** Why a pass-through layer is absent from an exported graph, in words for the per-layer report. */
export function passThroughReason(className: string): string {
  return (augmentationClasses as readonly string[]).includes(className)
    ? 'random augmentation: returns its input unchanged at inference'
    : 'regularisation: acts only while training';
}

/**
 * At inference RandomCrop centre-crops to the target aspect ratio and resizes to height x width,
 * so it is an identity only when its input already has that size; anything else would give
 * wrong outputs silently, so it is refused with the sizes that differ.
 */
class RandomCropAtInference extends InferenceIdentity {
  static className = 'RandomCrop';

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const { height, width } = this.getConfig() as { height?: number; width?: number };
    const [h, w] = [shape[shape.length - 3], shape[shape.length - 2]];
    if (height !== undefined && width !== undefined && (h !== height || w !== width)) {
      throw new QuantbenchError(
        'LAYER_UNSUPPORTED',
        `layer "${this.name}" (RandomCrop) resizes its ${h}x${w} input to ${height}x${width} at inference, which Quantbench does not implement`,
        {
          hint: 'crop or resize the images in preprocessing and remove the RandomCrop layer, or set its height and width to the input size',
        },
      );
    }
    return inputShape;
  }
}

/** One subclass per Keras name: tfjs keys its registry by the static className. */
export const inferenceIdentityLayers = Object.fromEntries(
  inferenceIdentityClasses.map((className) => {
    const cls =
      className === 'RandomCrop'
        ? RandomCropAtInference
        : {
            [className]: class extends InferenceIdentity {
              static className = className;
            },
          }[className]!;
    tf.serialization.registerClass(cls);
    return [className, cls];
  }),
) as unknown as Record<(typeof inferenceIdentityClasses)[number], typeof InferenceIdentity>;
