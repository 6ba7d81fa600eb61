import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '../layers/index';
import { QuantbenchError } from '../../errors';
import { readUserFile, UserFileError } from '../../files/user-file';
import { oneLine } from '../errors';
import {
  kerasMajorVersion,
  normalizeKerasConfig,
  parseConfigJson,
  type JsonObject,
} from '../keras-config';
import { firstLine } from './keras-h5';
import { withWeightBudget } from '../weight-budget';
import type { ModelReader, ReadModel } from './types';

/**
 * TensorFlow.js layers format: model.json (`modelTopology` holding a Keras config, and a
 * `weightsManifest` naming binary shards beside it). Format: tfjs-core/src/io/types.ts.
 */
export class TfjsModelError extends QuantbenchError {
  constructor(file: string, problem: string, options: { cause?: unknown } = {}) {
    super('MODEL_TFJS_INVALID', oneLine(`${file}: ${problem}`, 500), {
      hint: 'Keep model.json together with the weight shard files it lists, as tensorflowjs_converter wrote them',
      cause: options.cause,
    });
  }
}

const isObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

async function readTfjs(file: string): Promise<ReadModel> {
  const json = parseConfigJson(readUserFile(file, { what: 'model.json', maxBytes: 64 * 1024 * 1024 }).toString('utf8'), file, 'model.json');
  const topology = json.modelTopology;
  if (!isObject(topology))
    throw new TfjsModelError(
      file,
      'has no modelTopology, so it is not a tfjs layers model (a graph model cannot be imported)',
    );
  // tensorflowjs_converter nests the Keras config under model_config; tfjs's own save does not.
  const rawConfig = isObject(topology.model_config) ? topology.model_config : topology;
  const kerasVersion =
    typeof topology.keras_version === 'string' ? topology.keras_version : undefined;
  const config = normalizeKerasConfig(rawConfig, {
    file,
    kerasMajor: kerasMajorVersion(kerasVersion?.replace(/^tfjs-layers /, '2')),
  });

  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) throw new TfjsModelError(file, 'has no weightsManifest');
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const shards: Uint8Array[] = [];
  for (const group of manifest) {
    if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new TfjsModelError(file, 'has a weightsManifest entry without paths and weights');
    }
    for (const shard of group.paths) {
      // Shards are named relative to model.json; one that resolves elsewhere (`../..`, an
      // absolute path, a symbolic link out) would turn any readable file into weights.
      const shardPath = path.resolve(path.dirname(file), String(shard));
      try {
        shards.push(readUserFile(shardPath, { within: path.dirname(file), what: 'weight shard' }));
      } catch (error) {
        if (!(error instanceof UserFileError)) throw error;
        const problem =
          error.code === 'FILE_OUTSIDE_FOLDER'
            ? `weight shard ${JSON.stringify(String(shard))} lies outside the model's folder`
            : `cannot read weight shard ${error.message}`;
        throw new TfjsModelError(file, problem, { cause: error });
      }
    }
    weightSpecs.push(...(group.weights as unknown as tf.io.WeightsManifestEntry[]));
  }
  const total = shards.reduce((n, s) => n + s.length, 0);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const s of shards) {
    weightData.set(s, offset);
    offset += s.length;
  }
  const handler: tf.io.IOHandler = {
    load: async () => ({
      modelTopology: config as unknown as tf.io.ModelArtifacts['modelTopology'],
      weightSpecs,
      weightData: weightData.buffer,
    }),
  };
  let model: tf.LayersModel;
  try {
    model = await withWeightBudget(file, total / 4, () => tf.loadLayersModel(handler));
  } catch (error) {
    if (error instanceof QuantbenchError) throw error;
    throw new TfjsModelError(file, `does not load: ${firstLine(error)}`, { cause: error });
  }
  return { format: 'tfjs', kerasVersion, config, model };
}

export const tfjsReader: ModelReader = {
  format: 'tfjs',
  description: 'TensorFlow.js layers model (model.json + weight shards)',
  extensions: ['.json'],
  matches: (head) => {
    const text = new TextDecoder().decode(head).trimStart();
    return text.startsWith('{');
  },
  read: readTfjs,
};
