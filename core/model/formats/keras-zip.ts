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
import { LAYER_CONTAINER_GROUPS, weightKeys, type WeightKeys } from '../keras-weight-paths';
import { ZIP_SIGNATURE } from './signatures';
import type { ModelReader, ReadModel } from './types';

/**
 * Keras 3 `.keras` (also written by tf.keras 2.13-2.15): a zip of config.json, metadata.json and
 * model.weights.h5. The weights file mirrors the object tree: `layers/<key>/vars/<i>` (tf.keras:
 * `_layer_checkpoint_dependencies/<key>/...`), with nested models under
 * `layers/<outer>/layers/<inner>/vars/<i>`; `<key>` is class-based (keras-weight-paths.ts) and
 * variables are numbered in the order the layer created them. Layout: saving_lib.py.
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

/** HDF5 groups re-keyed by path component, whichever separator the writer used. */
interface PathNode {
  group?: H5GroupSnapshot;
  children: Map<string, PathNode>;
}

/**
 * tf.keras on Windows joined weight paths with a backslash, which HDF5 keeps as part of one group
 * name (`_layer_checkpoint_dependencies\dense`); split such names so both styles read alike.
 */
function pathNodes(group: H5GroupSnapshot): PathNode {
  const root: PathNode = { group, children: new Map() };
  for (const [name, child] of Object.entries(group.groups)) {
    let node = root;
    for (const part of name.split('\\').filter(Boolean)) {
      let next = node.children.get(part);
      if (!next) node.children.set(part, (next = { children: new Map() }));
      node = next;
    }
    const sub = pathNodes(child);
    node.group = child;
    for (const [k, v] of sub.children) node.children.set(k, v);
  }
  return root;
}

function readTree(node: PathNode, file: string, where: string): VarTree {
  const tree: VarTree = { vars: [], layers: new Map() };
  const vars = node.children.get('vars')?.group;
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
  for (const container of LAYER_CONTAINER_GROUPS) {
    for (const [name, child] of node.children.get(container)?.children ?? []) {
      tree.layers.set(name, readTree(child, file, `${where}${container}/${name}/`));
    }
  }
  return tree;
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

/**
 * Which key a container's groups use: Keras's class-based keys, or the layer names that files
 * written by earlier Quantbench versions used. Decided per container by which one finds more of
 * the groups that hold variables; Keras's keys win a tie.
 */
function resolver(tree: VarTree, keys: WeightKeys): (layerName: string) => string {
  const withVars = [...tree.layers].filter(([, t]) => countVars(t) > 0).map(([k]) => k);
  const byKey = new Set(keys.keys.values());
  const byName = new Set(keys.keys.keys());
  const foundByKey = withVars.filter((k) => byKey.has(k)).length;
  const foundByName = withVars.filter((k) => byName.has(k)).length;
  if (foundByName > foundByKey) return (name) => name;
  return (name) => keys.keys.get(name) ?? name;
}

function flatten(
  tree: VarTree,
  layer: tf.layers.Layer,
  keys: WeightKeys | undefined,
): SourceWeight[] {
  const inner = (layer as unknown as { layers?: tf.layers.Layer[] }).layers;
  if (!inner) return tree.vars;
  const out = [...tree.vars];
  const keyOf = keys ? resolver(tree, keys) : (name: string) => name;
  for (const l of inner) {
    const child = tree.layers.get(keyOf(l.name));
    if (child) out.push(...flatten(child, l, keys?.nested.get(l.name)));
  }
  return out;
}

function treeSource(root: VarTree, keys: WeightKeys): WeightSource {
  const keyOf = resolver(root, keys);
  return {
    forLayer: (layer) => {
      const node = root.layers.get(keyOf(layer.name));
      return node ? flatten(node, layer, keys.nested.get(layer.name)) : undefined;
    },
    layersWithWeights: () => {
      const nameOf = new Map([...keys.keys.keys()].map((name) => [keyOf(name), name]));
      return [...root.layers]
        .filter(([, t]) => countVars(t) > 0)
        .map(([key]) => nameOf.get(key) ?? key);
    },
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
  const tree = readTree(pathNodes(root), file, '');
  // A file without metadata.json predates nothing we know of; assume the Keras 3 layout.
  const config = normalizeKerasConfig(raw, {
    file,
    kerasMajor: kerasMajorVersion(kerasVersion ?? '3'),
  });
  const model = await buildModel(config, file, countValues(tree));
  assignWeights(model, treeSource(tree, weightKeys(raw)), file);
  return { format: 'keras3', kerasVersion, config, model };
}

export const kerasZipReader: ModelReader = {
  format: 'keras3',
  description: 'Keras 3 .keras archive',
  extensions: ['.keras'],
  matches: (head) => ZIP_SIGNATURE.every((b, i) => head[i] === b),
  read: readKerasZip,
};
