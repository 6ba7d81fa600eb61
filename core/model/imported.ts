import type * as tf from '@tensorflow/tfjs';
import type { ModelFormat } from './formats/index';
import type { JsonObject } from './keras-config';
import type { LayerSummary, Shape } from './summary';

/** A model ready to run: the built tfjs model and what was learned about it while importing. */
export interface ImportedModel {
  format: ModelFormat;
  kerasVersion?: string;
  path: string;
  model: tf.LayersModel;
  layers: LayerSummary[];
  /** Shape of the (first) input, batch dimension first as null. */
  inputShape: Shape;
  /** Shape of the (first) output. */
  outputShape: Shape;
  /** The normalised Keras config (Keras 2 style) the model was built from. */
  config: JsonObject;
}
