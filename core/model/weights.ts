import * as tf from '@tensorflow/tfjs';
import { ModelWeightsError } from './errors';

/** One array from the file. Keras 2 files name their weights; Keras 3 files only number them. */
export interface SourceWeight {
  name?: string;
  shape: number[];
  values: Float32Array;
}

/** What a format reader hands over: the file's weights, grouped by the model's top-level layers. */
export interface WeightSource {
  /** Weights stored for this top-level layer (including those of layers nested in it), in file order. */
  forLayer(layer: tf.layers.Layer): SourceWeight[] | undefined;
  /** Names of the top-level layers the file stores at least one weight for. */
  layersWithWeights(): string[];
}

/** Keras `Normalization` keeps an `adapt()` sample count that inference never reads. */
const UNUSED_WEIGHTS: Record<string, string[]> = { Normalization: ['count'] };

const shapeText = (s: readonly (number | null)[]) => `[${s.join(', ')}]`;
const baseName = (name: string) => name.replace(/:\d+$/, '');
const lastParts = (name: string, n: number) => baseName(name).split('/').slice(-n).join('/');

function withoutUnused(layer: tf.layers.Layer, weights: SourceWeight[]): SourceWeight[] {
  const unused = UNUSED_WEIGHTS[layer.getClassName()];
  if (!unused) return weights;
  const kept = weights.filter((w) => !w.name || !unused.includes(lastParts(w.name, 1)));
  // Numbered weights: the unused ones come after the ones the layer reads.
  return kept.length === weights.length && !weights.some((w) => w.name)
    ? kept.slice(0, layer.weights.length)
    : kept;
}

/** Pairs each of the layer's variables with one file weight: by name when the file has names, else in order. */
function pair(
  layer: tf.layers.Layer,
  targets: tf.LayerVariable[],
  sources: SourceWeight[],
  file: string,
): SourceWeight[] {
  const describe = () => targets.map((t) => lastParts(t.originalName, 1)).join(', ');
  if (sources.length !== targets.length) {
    throw new ModelWeightsError(
      file,
      `layer "${layer.name}" (${layer.getClassName()}) needs ${targets.length} weight(s) (${describe() || 'none'}), the file has ${sources.length}` +
        (sources.some((s) => s.name)
          ? ` (${sources.map((s) => baseName(s.name ?? '?')).join(', ')})`
          : ''),
    );
  }
  if (!sources.every((s) => s.name)) return sources;
  // Nested models need the inner layer's name too, so try layer/variable before variable alone.
  for (const depth of [2, 1]) {
    const used = new Set<SourceWeight>();
    const out: SourceWeight[] = [];
    for (const t of targets) {
      const key = lastParts(t.originalName, depth);
      const matches = sources.filter((s) => !used.has(s) && lastParts(s.name!, depth) === key);
      if (matches.length !== 1) break;
      used.add(matches[0]!);
      out.push(matches[0]!);
    }
    if (out.length === targets.length) return out;
  }
  return sources;
}

/**
 * Sets every weight of `model` from `source`, after checking that every variable gets exactly
 * one array of the right shape and every array in the file finds a variable.
 */
export function assignWeights(model: tf.LayersModel, source: WeightSource, file: string): void {
  const assignments: { layer: tf.layers.Layer; values: SourceWeight[] }[] = [];
  const known = new Set(model.layers.map((l) => l.name));
  for (const name of source.layersWithWeights()) {
    if (!known.has(name))
      throw new ModelWeightsError(
        file,
        `the file has weights for layer "${name}", which the model config does not have`,
      );
  }
  for (const layer of model.layers) {
    const targets = layer.weights;
    const sources = withoutUnused(layer, source.forLayer(layer) ?? []);
    if (targets.length === 0 && sources.length === 0) continue;
    if (sources.length === 0) {
      throw new ModelWeightsError(
        file,
        `layer "${layer.name}" (${layer.getClassName()}) has no weights in the file`,
      );
    }
    const paired = pair(layer, targets, sources, file);
    targets.forEach((t, i) => {
      const s = paired[i]!;
      const expected = t.shape;
      const sameShape =
        expected.length === s.shape.length && expected.every((d, j) => d === s.shape[j]);
      if (!sameShape) {
        throw new ModelWeightsError(
          file,
          `layer "${layer.name}" weight "${lastParts(t.originalName, 1)}" has shape ${shapeText(s.shape)} in the file, the model needs ${shapeText(expected)}`,
        );
      }
      const size = expected.reduce<number>((a, b) => a * (b ?? 1), 1);
      if (s.values.length !== size) {
        throw new ModelWeightsError(
          file,
          `layer "${layer.name}" weight "${lastParts(t.originalName, 1)}" holds ${s.values.length} values, its shape needs ${size}`,
        );
      }
    });
    assignments.push({ layer, values: paired });
  }
  for (const { layer, values } of assignments) {
    const tensors = values.map((v, i) =>
      tf.tensor(v.values, layer.weights[i]!.shape as number[], 'float32'),
    );
    layer.setWeights(tensors);
    tf.dispose(tensors);
  }
}
