/**
 * Importing this module registers every layer and activation Quantbench adds to tfjs-layers,
 * so `tf.models.modelFromJSON` and `tf.loadLayersModel` can build Keras models that use them.
 */
export { Rescaling } from './rescaling';
export { ReLU } from './relu';
export { Subtract } from './subtract';
export { Normalization } from './normalization';
export { InferenceIdentity, inferenceIdentityClasses, inferenceIdentityLayers } from './identity';
export { tfjsActivationName, kerasActivationName, supportedActivations } from './activations';
