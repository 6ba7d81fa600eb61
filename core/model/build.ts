import * as tf from '@tensorflow/tfjs';
import './layers/index';
import { QuantbenchError } from '../errors';
import { ModelConfigError } from './errors';
import { withWeightBudget } from './weight-budget';
import type { JsonObject } from './keras-config';

/**
 * Builds the tfjs model from a normalised config, naming the file when tfjs refuses it.
 * `weightValues` is how many values the file stores; no single weight may need more.
 */
export async function buildModel(
  config: JsonObject,
  file: string,
  weightValues: number,
): Promise<tf.LayersModel> {
  try {
    return await withWeightBudget(file, weightValues, () =>
      tf.models.modelFromJSON({ modelTopology: config } as unknown as tf.io.ModelJSON),
    );
  } catch (error) {
    if (error instanceof QuantbenchError) throw error;
    const message = (error as Error).message?.split('\n')[0] ?? String(error);
    throw new ModelConfigError(file, `the model config does not build: ${message}`, {
      cause: error,
    });
  }
}
