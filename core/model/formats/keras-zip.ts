import type * as tf from '@tensorflow/tfjs';
import { strFromU8 } from 'fflate';
import { readUserFile } from '../../files/user-file';
import { readZip, ZipError } from '../../files/zip';
import { QuantbenchError } from '../../errors';
import { oneLine } from '../errors';
import { assignWeights, type SourceWeight, type WeightSource } from '../weights';
import { buildModel } from '../build';
import { kerasMajorVersion, normalizeKerasConfig, parseConfigJson } from '../keras-config';
import { H5ReadError, readH5SnapshotFromBytes, type H5GroupSnapshot } from '../h5-snapshot';
import { ZIP_SIGNATURE } from './signatures';
import type { ModelReader, ReadModel } from './types';

/**
 * Keras 3 `.keras` (also written by tf.keras 2.13+): a zip of config.json, metadata.json and
 * model.weights.h5. The weights file mirrors the object tree: `layers/<name>/vars/<i>`, with
 * nested models under `layers/<outer>/layers/<inner>/vars/<i>`; variables are numbered in the
 * order the layer created them. Layout: keras/src/saving/saving_lib.py.
 */
export class KerasZipError extends QuantbenchError {
  constructor(file: string, problem: string, options: { cause?: unknown } = {}) {
    super('MODEL_KERAS_ZIP_INVALID', oneLine(`${file}: ${problem}`, 500), {
      hint: 'Check that the file is a complete .keras file written by model.save(); copy it again if it was cut short',
      cause: options.cause,
    });
  }
}

/** The variables stored for one object and the objects nested in it. */
interface VarTree {
  vars: SourceWeight[];
  layers: Map<string, VarTree>;
}

function readTree(group: H5GroupSnapshot, file: string, where: string): VarTree {
  const tree: VarTree = { vars: [], layers: new Map() };
  const vars = group.groups.vars;
  if (vars) {
    // Numbered 0, 1, ..., 10: sort numerically, not as strings.
    const keys = Object.keys(vars.datasets).sort((a, b) => Number(a) - Number(b));
    for (const key of keys) {
      const d = vars.datasets[key]!;
      if (!d.values)
        throw new KerasZipError(
          file,
          `model.weights.h5 variable ${where}vars/${key} is not numeric`,
        );
      tree.vars.push({ shape: d.shape, values: d.values });
    }
  }
  for (const [name, child] of Object.entries(group.groups.layers?.groups ?? {})) {
    tree.layers.set(name, readTree(child, file, `${where}layers/${name}/`));
  }
  return tree;
}

function flatten(tree: VarTree, layer: tf.layers.Layer): SourceWeight[] {
  const inner = (layer as unknown as { layers?: tf.layers.Layer[] }).layers;
  if (!inner) return tree.vars;
  const out = [...tree.vars];
  for (const l of inner) {
    const child = tree.layers.get(l.name);
    if (child) out.push(...flatten(child, l));
  }
  return out;
}

function countValues(tree: VarTree): number {
  let n = tree.vars.reduce((a, v) => a + v.values.length, 0);
  for (const child of tree.layers.values()) n += countValues(child);
  return n;
}

function countVars(tree: VarTree): number {
  let n = tree.vars.length;
  for (const child of tree.layers.values()) n += countVars(child);
  return n;
}

function treeSource(root: VarTree): WeightSource {
  return {
    forLayer: (layer) => {
      const node = root.layers.get(layer.name);
      return node ? flatten(node, layer) : undefined;
    },
    layersWithWeights: () =>
      [...root.layers].filter(([, t]) => countVars(t) > 0).map(([name]) => name),
  };
}

async function readKerasZip(file: string): Promise<ReadModel> {
  // Only the three members Keras writes are inflated; checked for size and CRC on the way.
  const wanted = new Set(['config.json', 'metadata.json', 'model.weights.h5']);
  let members: Map<string, Uint8Array>;
  try {
    members = readZip(readUserFile(file, { what: '.keras archive' }), file, { wanted: (name) => wanted.has(name) });
  } catch (error) {
    if (!(error instanceof ZipError)) throw error;
    throw new KerasZipError(file, error.problem, { cause: error });
  }
  const entries = Object.fromEntries(members);
  const configBytes = entries['config.json'];
  if (!configBytes)
    throw new KerasZipError(file, 'has no config.json, so it is not a Keras model archive');
  const weightsBytes = entries['model.weights.h5'];
  if (!weightsBytes) throw new KerasZipError(file, 'has no model.weights.h5');
  let kerasVersion: string | undefined;
  if (entries['metadata.json']) {
    const metadata = parseConfigJson(strFromU8(entries['metadata.json']), file, 'metadata.json');
    if (typeof metadata.keras_version === 'string') kerasVersion = metadata.keras_version;
  }
  const raw = parseConfigJson(strFromU8(configBytes), file, 'config.json');
  let root: H5GroupSnapshot;
  try {
    root = await readH5SnapshotFromBytes(weightsBytes, { skip: ['optimizer'] });
  } catch (error) {
    if (!(error instanceof H5ReadError)) throw error;
    throw new KerasZipError(
      file,
      `model.weights.h5 is not a readable HDF5 file: ${error.message}`,
      { cause: error },
    );
  }
  const tree = readTree(root, file, '');
  // A file without metadata.json predates nothing we know of; assume the Keras 3 layout.
  const config = normalizeKerasConfig(raw, {
    file,
    kerasMajor: kerasMajorVersion(kerasVersion ?? '3'),
  });
  const model = await buildModel(config, file, countValues(tree));
  assignWeights(model, treeSource(tree), file);
  return { format: 'keras3', kerasVersion, config, model };
}

export const kerasZipReader: ModelReader = {
  format: 'keras3',
  description: 'Keras 3 .keras archive',
  extensions: ['.keras'],
  matches: (head) => ZIP_SIGNATURE.every((b, i) => head[i] === b),
  read: readKerasZip,
};
