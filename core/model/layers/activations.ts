import * as tf from '@tensorflow/tfjs';

/**
 * Activations Keras has and tfjs-layers lacks (or computes differently). They register under
 * camelCase names because tfjs looks activation identifiers up in its class registry.
 */
abstract class KerasActivation extends tf.serialization.Serializable {
  abstract apply(x: tf.Tensor): tf.Tensor;
  override getConfig(): tf.serialization.ConfigDict {
    return {};
  }
}

/** Keras 3: relu6(x + 3) / 6. Keras 2 used 0.2x + 0.5, which is tfjs's `hardSigmoid`. */
export class HardSigmoidKeras3 extends KerasActivation {
  static className = 'hardSigmoidKeras3';
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.div(tf.relu6(tf.add(x, 3)), 6));
  }
}

/** Keras 3 hard_silu / hard_swish: x * relu6(x + 3) / 6. */
export class HardSilu extends KerasActivation {
  static className = 'hardSilu';
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6)));
  }
}

/** Keras `leaky_relu` as an activation string uses a negative slope of 0.2. */
export class LeakyReluActivation extends KerasActivation {
  static className = 'leakyReluKeras';
  apply(x: tf.Tensor): tf.Tensor {
    return tf.leakyRelu(x, 0.2);
  }
}

export class Exponential extends KerasActivation {
  static className = 'exponential';
  apply(x: tf.Tensor): tf.Tensor {
    return tf.exp(x);
  }
}

for (const cls of [HardSigmoidKeras3, HardSilu, LeakyReluActivation, Exponential]) {
  tf.serialization.registerClass(
    cls as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
  );
}

/**
 * Keras activation name -> tfjs registry name. `hard_sigmoid` depends on the Keras major
 * version that wrote the file, so it is resolved in `tfjsActivationName`.
 */
const ACTIVATIONS: Record<string, string> = {
  linear: 'linear',
  relu: 'relu',
  relu6: 'relu6',
  sigmoid: 'sigmoid',
  tanh: 'tanh',
  softmax: 'softmax',
  log_softmax: 'logSoftmax',
  swish: 'swish',
  silu: 'swish',
  elu: 'elu',
  selu: 'selu',
  gelu: 'gelu',
  softplus: 'softplus',
  softsign: 'softsign',
  mish: 'mish',
  hard_silu: 'hardSilu',
  hard_swish: 'hardSilu',
  leaky_relu: 'leakyReluKeras',
  exponential: 'exponential',
};

export const supportedActivations = [...Object.keys(ACTIVATIONS), 'hard_sigmoid'].sort();

/** Returns undefined for an activation Quantbench cannot run. */
export function tfjsActivationName(keras: string, kerasMajor: number): string | undefined {
  if (keras === 'hard_sigmoid') return kerasMajor >= 3 ? 'hardSigmoidKeras3' : 'hardSigmoid';
  return ACTIVATIONS[keras];
}

/**
 * The inverse, for writing Keras files from a tfjs model. tfjs's toJSON writes registry names
 * in snake_case (`hardSigmoidKeras3` becomes `hard_sigmoid_keras3`), so both spellings work.
 */
export function kerasActivationName(name: string): string | undefined {
  const tfjsName = name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  if (tfjsName === 'hardSigmoidKeras3') return 'hard_sigmoid';
  if (tfjsName === 'hardSigmoid') return undefined; // Keras 3 has no 0.2x + 0.5 activation by name
  const entry = Object.entries(ACTIVATIONS).find(([, v]) => v === tfjsName);
  return entry?.[0];
}
