import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { strToU8, zipSync } from 'fflate';
import h5wasm from 'h5wasm/node';
import { kerasActivationName } from '../../core/model/layers/activations';

/**
 * Writers for synthetic model files in the layouts Keras itself writes, so tests can cover
 * variants (old configs, odd metadata, broken weights) that no real file at hand has.
 */

export interface NamedArray {
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface H5Layer {
  name: string;
  weights: NamedArray[];
}

/** Keras 2 `model.save('x.h5')`: root attributes plus model_weights/<layer>/<weight name>. */
export async function writeKeras2H5(
  file: string,
  modelConfig: unknown,
  layers: H5Layer[],
  kerasVersion = '2.4.0',
): Promise<void> {
  await h5wasm.ready;
  const f = new h5wasm.File(file, 'w');
  try {
    f.create_attribute('keras_version', kerasVersion);
    f.create_attribute('backend', 'tensorflow');
    f.create_attribute('model_config', JSON.stringify(modelConfig));
    const root = f.create_group('model_weights');
    root.create_attribute(
      'layer_names',
      layers.map((l) => l.name),
    );
    for (const layer of layers) {
      const g = root.create_group(layer.name);
      if (layer.weights.length === 0) continue;
      g.create_attribute(
        'weight_names',
        layer.weights.map((w) => w.name),
      );
      for (const w of layer.weights) {
        const parts = w.name.split('/');
        let parent = g;
        for (const part of parts.slice(0, -1)) {
          const existing = parent.get(part);
          parent = (
            existing instanceof h5wasm.Group ? existing : parent.create_group(part)
          ) as typeof g;
        }
        parent.create_dataset({ name: parts.at(-1)!, data: w.values, shape: w.shape, dtype: '<f' });
      }
    }
  } finally {
    f.close();
  }
}

/** Keras 3 model.weights.h5: layers/<name>/vars/<i>, nested models under layers/<outer>/layers/<inner>. */
export interface VarTree {
  vars?: NamedArray[];
  layers?: Record<string, VarTree>;
}

export async function keras3WeightsBytes(tree: Record<string, VarTree>): Promise<Uint8Array> {
  await h5wasm.ready;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qb-test-h5-'));
  const file = path.join(dir, 'w.h5');
  try {
    const f = new h5wasm.File(file, 'w');
    const write = (group: InstanceType<typeof h5wasm.Group>, node: VarTree) => {
      const vars = group.create_group('vars');
      (node.vars ?? []).forEach((w, i) =>
        vars.create_dataset({ name: String(i), data: w.values, shape: w.shape, dtype: '<f' }),
      );
      if (node.layers) {
        const layers = group.create_group('layers');
        for (const [name, child] of Object.entries(node.layers))
          write(layers.create_group(name), child);
      }
    };
    const layers = f.create_group('layers');
    for (const [name, node] of Object.entries(tree)) write(layers.create_group(name), node);
    f.create_group('vars');
    f.close();
    return new Uint8Array(readFileSync(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function writeKerasZip(file: string, entries: Record<string, Uint8Array | string>): void {
  const bytes: Record<string, Uint8Array> = {};
  for (const [name, value] of Object.entries(entries))
    bytes[name] = typeof value === 'string' ? strToU8(value) : value;
  writeFileSync(file, zipSync(bytes, { level: 0 }));
}

function kerasActivations(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(kerasActivations);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'activation' && typeof v === 'string')
      out[k] = v === 'hard_sigmoid' ? 'hard_sigmoid' : (kerasActivationName(v) ?? v);
    else if (k === 'class_name' && v === 'Model') out[k] = 'Functional';
    else out[k] = kerasActivations(v);
  }
  return out;
}

function layerArrays(layer: tf.layers.Layer, prefix: string): NamedArray[] {
  return layer.weights.map((w) => ({
    name: `${prefix}${w.originalName}:0`,
    shape: w.shape as number[],
    values: Float32Array.from(w.read().dataSync() as Float32Array),
  }));
}

/** Writes a tfjs model the way Keras 2.4 would have saved the same architecture. */
export async function saveAsKeras2H5(model: tf.LayersModel, file: string): Promise<void> {
  const config = kerasActivations(model.toJSON(null, false));
  const layers = model.layers.map((l) => ({ name: l.name, weights: layerArrays(l, '') }));
  await writeKeras2H5(file, config, layers);
}

/**
 * An HDF5 file holding `datasets` at the given paths. Only `/` separates groups, so a
 * backslash stays part of a group's name, as it does in files tf.keras saved on Windows.
 */
export async function h5BytesAtPaths(
  datasets: Record<string, NamedArray>,
  emptyGroups: string[] = [],
): Promise<Uint8Array> {
  await h5wasm.ready;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qb-test-h5-'));
  const file = path.join(dir, 'w.h5');
  try {
    const f = new h5wasm.File(file, 'w');
    const groupAt = (p: string) => {
      let g: InstanceType<typeof h5wasm.Group> = f;
      for (const part of p.split('/').filter(Boolean)) {
        const existing = g.get(part);
        g = existing instanceof h5wasm.Group ? existing : g.create_group(part);
      }
      return g;
    };
    for (const p of emptyGroups) groupAt(p);
    for (const [p, w] of Object.entries(datasets)) {
      const parts = p.split('/');
      groupAt(parts.slice(0, -1).join('/')).create_dataset({
        name: parts.at(-1)!,
        data: w.values,
        shape: w.shape,
        dtype: '<f',
      });
    }
    f.close();
    return new Uint8Array(readFileSync(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
