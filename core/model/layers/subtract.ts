import * as tf from '@tensorflow/tfjs';

/** Keras `Subtract`: exactly two inputs, first minus second (tfjs-layers has no Subtract). */
export class Subtract extends tf.layers.Layer {
  static className = 'Subtract';

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    if (!Array.isArray(inputs) || inputs.length !== 2) {
      throw new Error(`Subtract layer "${this.name}" needs exactly two inputs`);
    }
    return tf.sub(inputs[0]!, inputs[1]!);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const shapes = inputShape as tf.Shape[];
    return Array.isArray(shapes[0]) ? shapes[0] : (inputShape as tf.Shape);
  }
}

tf.serialization.registerClass(Subtract);
