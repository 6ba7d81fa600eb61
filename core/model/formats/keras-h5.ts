import { QuantbenchError } from '../../errors';
import { oneLine } from '../errors';
import { assignWeights, type SourceWeight, type WeightSource } from '../weights';
import { buildModel } from '../build';
import { kerasMajorVersion, normalizeKerasConfig, parseConfigJson } from '../keras-config';
import { datasetAt, H5ReadError, readH5Snapshot, type H5GroupSnapshot } from '../h5-snapshot';
import { HDF5_SIGNATURE } from './signatures';
import type { ModelReader, ReadModel } from './types';

/**
 * Keras 2 HDF5 (`model.save('x.h5')`, also what Keras 3 writes for a legacy .h5): root
 * attributes `model_config` (JSON), `keras_version`, `backend`; group `model_weights` with one
 * group per layer whose `weight_names` attribute lists that layer's datasets in order.
 * Layout: keras/src/legacy/saving/legacy_h5_format.py.
 */
export class KerasH5Error extends QuantbenchError {
  constructor(file: string, problem: string, options: { cause?: unknown } = {}) {
    super('MODEL_KERAS_H5_INVALID', oneLine(`${file}: ${problem}`, 500), {
      hint: 'Check that the file is a complete Keras .h5 model (model.save, not save_weights); copy it again if it was cut short',
      cause: options.cause,
    });
  }
}

interface H5Contents {
  modelConfig: string;
  kerasVersion?: string;
  layers: Map<string, SourceWeight[]>;
}

function asString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return undefined;
}

/** Keras writes name lists as arrays of strings; an empty list comes back as an empty numeric array. */
function asStringList(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.map((v) => asString(v) ?? String(v));
  return [];
}

function readContents(root: H5GroupSnapshot, file: string): H5Contents {
  const modelConfig = asString(root.attrs.model_config);
  if (modelConfig === undefined) {
    throw new KerasH5Error(
      file,
      'has no model_config attribute, so it holds weights only (saved with save_weights), not a model',
    );
  }
  const kerasVersion = asString(root.attrs.keras_version);
  const weightsRoot = root.groups.model_weights;
  if (!weightsRoot) throw new KerasH5Error(file, 'has no model_weights group');
  const layerNames = asStringList(weightsRoot.attrs.layer_names);
  const names = layerNames.length ? layerNames : Object.keys(weightsRoot.groups);
  const layers = new Map<string, SourceWeight[]>();
  for (const layerName of names) {
    const group = weightsRoot.groups[layerName];
    if (!group) continue;
    const weights: SourceWeight[] = [];
    for (const weightName of asStringList(group.attrs.weight_names)) {
      const dataset = datasetAt(group, weightName);
      if (!dataset)
        throw new KerasH5Error(
          file,
          `layer "${layerName}" lists weight "${weightName}" but the dataset is missing`,
        );
      if (!dataset.values)
        throw new KerasH5Error(file, `layer "${layerName}" weight "${weightName}" is not numeric`);
      weights.push({ name: weightName, shape: dataset.shape, values: dataset.values });
    }
    if (weights.length) layers.set(layerName, weights);
  }
  return { modelConfig, kerasVersion, layers };
}

function namedSource(layers: Map<string, SourceWeight[]>): WeightSource {
  return {
    forLayer: (layer) => layers.get(layer.name),
    layersWithWeights: () => [...layers.keys()],
  };
}

async function readKerasH5(file: string): Promise<ReadModel> {
  let root: H5GroupSnapshot;
  try {
    root = await readH5Snapshot(file, { skip: ['optimizer_weights'] });
  } catch (error) {
    if (!(error instanceof H5ReadError)) throw error;
    throw new KerasH5Error(file, `is not a readable HDF5 file: ${error.message}`, { cause: error });
  }
  const contents = readContents(root, file);
  const raw = parseConfigJson(contents.modelConfig, file, 'the model_config attribute');
  const config = normalizeKerasConfig(raw, {
    file,
    kerasMajor: kerasMajorVersion(contents.kerasVersion),
  });
  const values = [...contents.layers.values()].flat().reduce((n, w) => n + w.values.length, 0);
  const model = await buildModel(config, file, values);
  assignWeights(model, namedSource(contents.layers), file);
  return { format: 'keras2-h5', kerasVersion: contents.kerasVersion, config, model };
}

export function firstLine(error: unknown): string {
  return oneLine(error instanceof Error ? error.message : String(error));
}

export const kerasH5Reader: ModelReader = {
  format: 'keras2-h5',
  description: 'Keras 2 HDF5 model',
  extensions: ['.h5', '.hdf5'],
  matches: (head) => HDF5_SIGNATURE.every((b, i) => head[i] === b),
  read: (file) => readKerasH5(file),
};
