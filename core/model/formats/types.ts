import type * as tf from '@tensorflow/tfjs';
import type { JsonObject } from '../keras-config';

export type ModelFormat = 'keras3' | 'keras2-h5' | 'tfjs';

/** What a format reader produces: a built tfjs model with every weight set. */
export interface ReadModel {
  format: ModelFormat;
  kerasVersion?: string;
  /** The normalised Keras config the model was built from. */
  config: JsonObject;
  model: tf.LayersModel;
}

/** One entry of the importer table: how to recognise a format and how to read it. */
export interface ModelReader {
  format: ModelFormat;
  description: string;
  /** Lower-case, with the dot. */
  extensions: readonly string[];
  /** True when the file's first bytes identify this format. */
  matches(head: Uint8Array): boolean;
  read(file: string): Promise<ReadModel>;
}
