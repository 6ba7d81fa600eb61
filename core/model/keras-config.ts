import { supportedActivations, tfjsActivationName } from './layers/activations';
import { ModelConfigError, oneLine, UnsupportedLayerError } from './errors';
import { layerClassAliases, supportedLayerClasses } from './supported';

/**
 * Keras 2 and Keras 3 write model configs differently. `normalizeKerasConfig` turns either
 * into one Keras-2-style form that tfjs-layers builds: plain dtype strings, `batch_input_shape`,
 * list-style `inbound_nodes`, initializer/regularizer/constraint names tfjs knows, activation
 * names from tfjs's registry, and no Keras 3 bookkeeping fields.
 *
 * Keras 3 config layout: keras/src/saving/serialization_lib.py and
 * keras/src/models/functional.py (`functional_from_config`).
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface NormalizeContext {
  file: string;
  /** Major version of the Keras that wrote the file (2 when unknown). */
  kerasMajor: number;
}

/** Fields Keras 3 adds that say nothing about the computation. */
const BOOKKEEPING = [
  'module',
  'registered_name',
  'build_config',
  'compile_config',
  'shared_object_id',
];
/** Layer config keys Keras 3 added that tfjs-layers would not know. */
const KERAS3_ONLY = [
  'lora_rank',
  'lora_alpha',
  'quantization_config',
  'synchronized',
  'optional',
  'ragged',
  'sparse',
];

const INITIALIZER_NAMES: Record<string, string> = {
  Zeros: 'Zeros',
  Ones: 'Ones',
  Constant: 'Constant',
  RandomUniform: 'RandomUniform',
  RandomNormal: 'RandomNormal',
  TruncatedNormal: 'TruncatedNormal',
  Identity: 'Identity',
  VarianceScaling: 'VarianceScaling',
  GlorotUniform: 'GlorotUniform',
  GlorotNormal: 'GlorotNormal',
  HeNormal: 'HeNormal',
  HeUniform: 'HeUniform',
  LecunNormal: 'LeCunNormal',
  LecunUniform: 'LeCunUniform',
  LeCunNormal: 'LeCunNormal',
  LeCunUniform: 'LeCunUniform',
  Orthogonal: 'Orthogonal',
  zeros: 'Zeros',
  ones: 'Ones',
  glorot_uniform: 'GlorotUniform',
  glorot_normal: 'GlorotNormal',
  he_normal: 'HeNormal',
  he_uniform: 'HeUniform',
};
const CONSTRAINT_NAMES = new Set(['MaxNorm', 'MinMaxNorm', 'NonNeg', 'UnitNorm']);

const isObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function kerasMajorVersion(version: string | undefined): number {
  const major = Number.parseInt(version ?? '', 10);
  return Number.isFinite(major) ? major : 2;
}

/** Parses a config from text, naming the file when the JSON is broken. */
export function parseConfigJson(text: string, file: string, what: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ModelConfigError(
      file,
      `${what} is not valid JSON (${oneLine((error as Error).message)})`,
      { cause: error },
    );
  }
  if (!isObject(parsed)) throw new ModelConfigError(file, `${what} is not a JSON object`);
  return parsed;
}

export function normalizeKerasConfig(raw: unknown, ctx: NormalizeContext): JsonObject {
  if (!isObject(raw)) throw new ModelConfigError(ctx.file, 'the model config is not a JSON object');
  return normalizeModel(raw, ctx);
}

function className(entry: JsonObject, ctx: NormalizeContext): string {
  const name = entry.class_name;
  if (typeof name !== 'string')
    throw new ModelConfigError(ctx.file, 'a layer in the model config has no class_name');
  return layerClassAliases[name] ?? name;
}

function normalizeModel(entry: JsonObject, ctx: NormalizeContext): JsonObject {
  const cls = className(entry, ctx);
  if (cls === 'Sequential') return normalizeSequential(entry, ctx);
  if (cls === 'Functional') return normalizeFunctional(entry, ctx);
  throw new ModelConfigError(
    ctx.file,
    `the top-level class is ${cls}, not a Sequential or Functional model`,
  );
}

function normalizeSequential(entry: JsonObject, ctx: NormalizeContext): JsonObject {
  // Keras 2.1-era files store the Sequential config as a bare list of layers.
  const config: JsonObject = Array.isArray(entry.config)
    ? { layers: entry.config }
    : isObject(entry.config)
      ? { ...entry.config }
      : {};
  if (!Array.isArray(config.layers))
    throw new ModelConfigError(ctx.file, 'the Sequential config has no layers list');
  const layers = config.layers.map((l) => {
    if (!isObject(l))
      throw new ModelConfigError(ctx.file, 'a Sequential layer entry is not an object');
    return l;
  });
  // Keras 3 (and tf.keras 2.x) write an InputLayer first; tfjs-layers' Sequential expects the
  // input shape on the first real layer, as Keras 2.0 wrote it.
  let pendingInput: JsonObject | undefined;
  const out: JsonObject[] = [];
  for (const layer of layers) {
    const cls = className(layer, ctx);
    if (cls === 'InputLayer' && out.length === 0 && pendingInput === undefined) {
      pendingInput = normalizeLayerConfig(
        'InputLayer',
        isObject(layer.config) ? layer.config : {},
        layerName(layer),
        ctx,
      );
      continue;
    }
    const normalized = normalizeLayer(layer, ctx, false);
    if (pendingInput && out.length === 0) {
      const c = normalized.config as JsonObject;
      if (pendingInput.batch_input_shape !== undefined)
        c.batch_input_shape = pendingInput.batch_input_shape;
      if (pendingInput.dtype !== undefined && c.dtype === undefined) c.dtype = pendingInput.dtype;
    }
    out.push(normalized);
  }
  if (out.length === 0) throw new ModelConfigError(ctx.file, 'the Sequential model has no layers');
  const first = out[0]!.config as JsonObject;
  if (
    first.batch_input_shape === undefined &&
    !['Sequential', 'Model'].includes(out[0]!.class_name as string)
  ) {
    throw new ModelConfigError(
      ctx.file,
      `the first layer "${first.name}" has no input shape (batch_input_shape), so the model was never built`,
    );
  }
  const result: JsonObject = {
    name: typeof config.name === 'string' ? config.name : 'sequential',
    layers: out,
  };
  return { class_name: 'Sequential', config: result };
}

function normalizeFunctional(entry: JsonObject, ctx: NormalizeContext): JsonObject {
  const config = isObject(entry.config) ? entry.config : undefined;
  if (!config || !Array.isArray(config.layers))
    throw new ModelConfigError(ctx.file, 'the Functional model config has no layers list');
  const layers = config.layers.map((l) => {
    if (!isObject(l)) throw new ModelConfigError(ctx.file, 'a layer entry is not an object');
    return normalizeLayer(l, ctx, true);
  });
  const normalized = {
    name: typeof config.name === 'string' ? config.name : 'model',
    layers,
    input_layers: tensorRefList(config.input_layers, 'input_layers', ctx),
    output_layers: tensorRefList(config.output_layers, 'output_layers', ctx),
  };
  checkGraph(normalized, ctx);
  return { class_name: 'Model', config: normalized };
}

/**
 * tfjs-layers rebuilds a functional graph by retrying layers until their inputs exist, so a
 * reference to a missing layer or call, or a cycle, makes it loop forever. Check first.
 */
function checkGraph(
  config: { name: string; layers: JsonObject[]; input_layers: Json[]; output_layers: Json[] },
  ctx: NormalizeContext,
): void {
  const calls = new Map<string, number>();
  for (const layer of config.layers) {
    const name = layer.name as string;
    if (calls.has(name))
      throw new ModelConfigError(ctx.file, `model "${config.name}" has two layers named "${name}"`);
    const nodes = (layer.inbound_nodes as Json[]).length;
    // A nested model owns one extra node (its own inputs), which tfjs counts in call indices.
    const nested = layer.class_name === 'Model' || layer.class_name === 'Sequential';
    calls.set(name, layer.class_name === 'InputLayer' ? 1 : nested ? nodes + 1 : nodes);
  }
  const check = (ref: Json, where: string) => {
    const [layer, node] = ref as [string, number];
    const count = calls.get(layer);
    if (count === undefined)
      throw new ModelConfigError(
        ctx.file,
        `${where} refers to layer "${String(layer).slice(0, 60)}", which the model does not have`,
      );
    if (!Number.isInteger(node) || node < 0 || node >= count) {
      throw new ModelConfigError(
        ctx.file,
        `${where} refers to call ${node} of layer "${layer}", which is called ${count} time(s)`,
      );
    }
  };
  const deps = new Map<string, string[]>();
  for (const layer of config.layers) {
    const name = layer.name as string;
    const inputs: string[] = [];
    for (const node of layer.inbound_nodes as Json[][]) {
      for (const ref of node) {
        check(ref, `layer "${name}"`);
        inputs.push((ref as [string])[0]);
      }
    }
    deps.set(name, inputs);
  }
  config.input_layers.forEach((ref) => check(ref, `model "${config.name}" input_layers`));
  config.output_layers.forEach((ref) => check(ref, `model "${config.name}" output_layers`));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]) => {
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting')
      throw new ModelConfigError(
        ctx.file,
        `layers ${[...path, name].map((n) => `"${n}"`).join(' -> ')} form a cycle`,
      );
    state.set(name, 'visiting');
    for (const d of deps.get(name) ?? []) visit(d, [...path, name]);
    state.set(name, 'done');
  };
  for (const name of deps.keys()) visit(name, []);
}

/** Keras 3 writes a single input or output as `[name, 0, 0]` instead of `[[name, 0, 0]]`. */
function tensorRefList(value: Json | undefined, field: string, ctx: NormalizeContext): Json[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new ModelConfigError(ctx.file, `the Functional model config has no ${field}`);
  if (typeof value[0] === 'string') return [value.slice(0, 3)];
  return value.map((ref) => {
    if (!Array.isArray(ref) || typeof ref[0] !== 'string')
      throw new ModelConfigError(ctx.file, `an entry of ${field} is not [layer, node, tensor]`);
    return ref.slice(0, 3);
  });
}

function layerName(entry: JsonObject): string {
  const c = entry.config;
  if (isObject(c) && typeof c.name === 'string') return c.name;
  return typeof entry.name === 'string' ? entry.name : '(unnamed)';
}

function normalizeLayer(entry: JsonObject, ctx: NormalizeContext, functional: boolean): JsonObject {
  const cls = className(entry, ctx);
  const name = layerName(entry);
  let out: JsonObject;
  if (cls === 'Sequential' || cls === 'Functional') {
    const model = normalizeModel(entry, ctx);
    (model.config as JsonObject).name = name;
    out = { class_name: model.class_name!, config: model.config! };
  } else {
    if (!supportedLayerClasses.includes(cls))
      throw new UnsupportedLayerError(ctx.file, name, cls, supportedLayerClasses);
    const config = isObject(entry.config) ? entry.config : {};
    out = { class_name: cls, config: normalizeLayerConfig(cls, config, name, ctx) };
  }
  if (functional) {
    out.name = name;
    out.inbound_nodes = normalizeInboundNodes(entry.inbound_nodes, name, ctx);
  }
  return out;
}

/**
 * Keras 2: `[[[layer, node, tensor, kwargs], ...], ...]` (one list per call).
 * Keras 3: `[{args: [...keras tensors...], kwargs: {...}}, ...]`, where each tensor is
 * `{class_name: '__keras_tensor__', config: {keras_history: [layer, node, tensor]}}`.
 */
function normalizeInboundNodes(
  nodes: Json | undefined,
  layer: string,
  ctx: NormalizeContext,
): Json[] {
  if (nodes === undefined || nodes === null) return [];
  if (!Array.isArray(nodes))
    throw new ModelConfigError(ctx.file, `layer "${layer}" has inbound_nodes that are not a list`);
  return nodes.map((node) => {
    if (Array.isArray(node)) {
      if (node.length === 0)
        throw new ModelConfigError(
          ctx.file,
          `layer "${layer}" has an inbound node with no input tensors`,
        );
      return node.map((ref) => {
        if (!Array.isArray(ref) || typeof ref[0] !== 'string')
          throw new ModelConfigError(ctx.file, `layer "${layer}" has a malformed inbound node`);
        return [ref[0], Number(ref[1] ?? 0), Number(ref[2] ?? 0), {}];
      });
    }
    if (isObject(node)) {
      const refs: Json[] = [];
      collectKerasTensors(node.args ?? [], refs);
      if (refs.length === 0)
        throw new ModelConfigError(
          ctx.file,
          `layer "${layer}" has an inbound node with no input tensors`,
        );
      return refs;
    }
    throw new ModelConfigError(ctx.file, `layer "${layer}" has a malformed inbound node`);
  });
}

function collectKerasTensors(value: Json, into: Json[]): void {
  if (Array.isArray(value)) {
    for (const v of value) collectKerasTensors(v, into);
  } else if (isObject(value) && value.class_name === '__keras_tensor__' && isObject(value.config)) {
    const h = value.config.keras_history;
    if (Array.isArray(h) && typeof h[0] === 'string')
      into.push([h[0], Number(h[1] ?? 0), Number(h[2] ?? 0), {}]);
  }
}

/** Keras 2 `Policy` and Keras 3 `DTypePolicy` objects become plain dtype strings; tfjs computes in float32. */
function plainDtype(value: Json | undefined): string | undefined {
  let name: Json | undefined = value;
  if (isObject(value)) name = isObject(value.config) ? value.config.name : undefined;
  if (typeof name !== 'string') return undefined;
  if (name.startsWith('mixed_') || name === 'float16' || name === 'bfloat16' || name === 'float64')
    return 'float32';
  return name;
}

function normalizeLayerConfig(
  cls: string,
  raw: JsonObject,
  name: string,
  ctx: NormalizeContext,
): JsonObject {
  const config: JsonObject = {};
  for (const [key, value] of Object.entries(raw)) {
    if (BOOKKEEPING.includes(key) || KERAS3_ONLY.includes(key)) continue;
    // Keras argument names are snake_case identifiers; tfjs-layers can loop forever converting
    // anything else (a damaged `_ame` for `name` was enough), so such keys go no further.
    if (!/^[a-z][a-z0-9_]*$/.test(key))
      throw new ModelConfigError(
        ctx.file,
        `layer "${name}" has a config field "${key.slice(0, 40)}" that is not a Keras argument name`,
      );
    config[key] = value;
  }
  config.name = name;
  const dtype = plainDtype(raw.dtype);
  if (dtype === undefined) delete config.dtype;
  else config.dtype = dtype;
  if (raw.batch_shape !== undefined) {
    config.batch_input_shape = raw.batch_shape;
    delete config.batch_shape;
  }
  if (
    cls === 'InputLayer' &&
    config.batch_input_shape === undefined &&
    Array.isArray(raw.input_shape)
  ) {
    config.batch_input_shape = [null, ...raw.input_shape];
    delete config.input_shape;
  }
  for (const key of Object.keys(config)) {
    if (key.endsWith('_initializer')) setOrDelete(config, key, initializer(config[key]));
    else if (key.endsWith('_regularizer')) setOrDelete(config, key, regularizer(config[key]));
    else if (key.endsWith('_constraint')) setOrDelete(config, key, constraint(config[key]));
  }
  if ('activation' in config) config.activation = activation(config.activation, name, ctx);
  if (Number(config.groups ?? 1) !== 1) {
    throw new UnsupportedLayerError(
      ctx.file,
      name,
      `${cls} with groups=${config.groups}`,
      supportedLayerClasses,
    );
  }
  delete config.groups;

  switch (cls) {
    case 'BatchNormalization':
      if (Array.isArray(config.axis) && config.axis.length === 1) config.axis = config.axis[0]!;
      break;
    case 'LeakyReLU':
      // Keras 3 renamed alpha to negative_slope and changed its default from 0.3 to 0.2.
      if (config.negative_slope !== undefined) config.alpha = config.negative_slope;
      else if (config.alpha === undefined) config.alpha = ctx.kerasMajor >= 3 ? 0.2 : 0.3;
      delete config.negative_slope;
      break;
    case 'Dropout':
    case 'SpatialDropout1D':
      delete config.seed;
      break;
  }
  return config;
}

function setOrDelete(config: JsonObject, key: string, value: Json | undefined): void {
  if (value === undefined) delete config[key];
  else config[key] = value;
}

function stripped(value: JsonObject): { cls: string; config: JsonObject } | undefined {
  if (typeof value.class_name !== 'string') return undefined;
  return { cls: value.class_name, config: isObject(value.config) ? value.config : {} };
}

/** Initializers do not matter once weights are loaded; unknown ones fall back to tfjs defaults. */
function initializer(value: Json | undefined): Json | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') {
    const name = INITIALIZER_NAMES[value];
    return name ? { class_name: name, config: {} } : undefined;
  }
  if (!isObject(value)) return undefined;
  const s = stripped(value);
  const name = s && INITIALIZER_NAMES[s.cls];
  if (!s || !name) return undefined;
  const config = { ...s.config };
  // Keras 3 adds a `distribution` of 'untruncated_normal'; tfjs calls that 'normal'.
  if (config.distribution === 'untruncated_normal') config.distribution = 'normal';
  return { class_name: name, config };
}

/** `L2` and `L1` (Keras 2.4+ names) are `L1L2` to tfjs; the values are kept for the record. */
function regularizer(value: Json | undefined): Json | undefined {
  if (!isObject(value)) return undefined;
  const s = stripped(value);
  if (!s) return undefined;
  const l1 = Number(s.config.l1 ?? 0);
  const l2 = Number(s.config.l2 ?? 0);
  if (s.cls === 'L2' || s.cls === 'l2') return { class_name: 'L1L2', config: { l1: 0, l2 } };
  if (s.cls === 'L1' || s.cls === 'l1') return { class_name: 'L1L2', config: { l1, l2: 0 } };
  if (s.cls === 'L1L2' || s.cls === 'l1_l2') return { class_name: 'L1L2', config: { l1, l2 } };
  return undefined;
}

function constraint(value: Json | undefined): Json | undefined {
  if (!isObject(value)) return undefined;
  const s = stripped(value);
  return s && CONSTRAINT_NAMES.has(s.cls) ? { class_name: s.cls, config: s.config } : undefined;
}

function activation(value: Json | undefined, layer: string, ctx: NormalizeContext): string {
  let name: Json | undefined = value;
  // Keras 3 may serialise an activation as {class_name: 'function', config: 'relu'}.
  if (isObject(value)) name = typeof value.config === 'string' ? value.config : value.class_name;
  if (name === null || name === undefined) return 'linear';
  if (typeof name !== 'string')
    throw new ModelConfigError(ctx.file, `layer "${layer}" has an activation that is not a name`);
  const tfjsName = tfjsActivationName(name, ctx.kerasMajor);
  if (!tfjsName) {
    throw new UnsupportedLayerError(ctx.file, layer, `activation ${name}`, supportedActivations);
  }
  return tfjsName;
}
