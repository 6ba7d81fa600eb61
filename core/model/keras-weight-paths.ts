/**
 * Where Keras keeps a layer's variables inside model.weights.h5. Keras 3 and tf.keras 2.13-2.15
 * do not address a layer by its name (often auto-generated and so not reproducible) but by its
 * class and its position among layers of that class in the model's layer list: the first Dense
 * is `dense`, the second `dense_1`, whatever the layers are called. See saving_lib.py's
 * `_save_container_state` in either Keras.
 */

/** Keras's `to_snake_case`: `DepthwiseConv2D` -> `depthwise_conv2d`, `BatchNormalization` -> `batch_normalization`. */
export function kerasSnakeCase(className: string): string {
  return className
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** The weight-group key of each layer, in the order of the container's layer list. */
export function kerasContainerKeys(classNames: readonly string[]): string[] {
  const used = new Map<string, number>();
  return classNames.map((cls) => {
    const base = kerasSnakeCase(cls);
    const seen = used.get(base);
    used.set(base, seen === undefined ? 0 : seen + 1);
    return seen === undefined ? base : `${base}_${seen + 1}`;
  });
}

/**
 * The groups that hold a model's layers: `layers` (Keras 3) or `_layer_checkpoint_dependencies`
 * (tf.keras 2.13-2.15, whose attribute walk reaches that property before `layers`).
 */
export const LAYER_CONTAINER_GROUPS = ['layers', '_layer_checkpoint_dependencies'] as const;

/** Layer name -> weight-group key for one model's layer list (a Keras config), and the same for models nested in it. */
export interface WeightKeys {
  keys: Map<string, string>;
  nested: Map<string, WeightKeys>;
}

function layerList(raw: unknown): { className: string; name: string; config: unknown }[] {
  const config = (raw as { config?: { layers?: unknown } } | null)?.config;
  if (!config || !Array.isArray(config.layers)) return [];
  return config.layers.flatMap((l: unknown) => {
    const entry = l as { class_name?: unknown; config?: { name?: unknown } } | null;
    if (typeof entry?.class_name !== 'string' || typeof entry.config?.name !== 'string') return [];
    return [{ className: entry.class_name, name: entry.config.name, config: entry }];
  });
}

export function weightKeys(raw: unknown): WeightKeys {
  const layers = layerList(raw);
  const keys = kerasContainerKeys(layers.map((l) => l.className));
  const tree: WeightKeys = { keys: new Map(), nested: new Map() };
  layers.forEach((l, i) => {
    tree.keys.set(l.name, keys[i]!);
    if (layerList(l.config).length) tree.nested.set(l.name, weightKeys(l.config));
  });
  return tree;
}
