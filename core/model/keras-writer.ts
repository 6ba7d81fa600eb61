import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { strToU8, zipSync } from 'fflate';
import { QuantbenchError } from '../errors';
import { h5Ready, type H5Group } from './h5';
import { kerasActivationName } from './layers/activations';
import { weightKeys, type WeightKeys } from './keras-weight-paths';
import { augmentationClasses } from './layers/identity';

/**
 * Writes a tfjs LayersModel as a Keras 3 `.keras` archive: config.json in Keras 3's
 * serialisation (module/class_name/config/registered_name, functional inbound nodes as
 * `{args, kwargs}` with `__keras_tensor__` references), metadata.json, and model.weights.h5
 * with `layers/<key>/vars/<i>` (class-based keys, as Keras names them) holding each layer's
 * variables, trainable ones first, as Keras 3's `Layer.save_own_variables` numbers them.
 * Layout: keras/src/saving/saving_lib.py, keras/src/models/functional.py.
 */
export class KerasWriterError extends QuantbenchError {
  constructor(file: string, problem: string) {
    super('MODEL_KERAS_WRITE', `${file}: ${problem}`, {
      hint: 'Only layers Keras 3 has can be written to .keras; export to .tflite instead',
    });
  }
}

/** The Keras version whose file layout this writer follows. */
export const WRITTEN_KERAS_VERSION = '3.1.1';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const BASE_KEYS = ['name', 'trainable', 'dtype'];
const CONV_KEYS = [
  'filters',
  'kernel_size',
  'strides',
  'padding',
  'data_format',
  'dilation_rate',
  'groups',
  'activation',
  'use_bias',
  'kernel_initializer',
  'bias_initializer',
  'kernel_regularizer',
  'bias_regularizer',
  'activity_regularizer',
  'kernel_constraint',
  'bias_constraint',
];
const POOL_KEYS = ['pool_size', 'strides', 'padding', 'data_format'];

/** Constructor arguments Keras 3 accepts, per class; Keras 3 rejects unknown keyword arguments. */
const KERAS3_KEYS: Record<string, string[]> = {
  InputLayer: ['batch_shape', 'dtype', 'sparse', 'name'],
  Dense: [
    'units',
    'activation',
    'use_bias',
    'kernel_initializer',
    'bias_initializer',
    'kernel_regularizer',
    'bias_regularizer',
    'activity_regularizer',
    'kernel_constraint',
    'bias_constraint',
  ],
  Conv1D: CONV_KEYS,
  Conv2D: CONV_KEYS,
  DepthwiseConv2D: [
    'kernel_size',
    'strides',
    'padding',
    'depth_multiplier',
    'data_format',
    'dilation_rate',
    'activation',
    'use_bias',
    'depthwise_initializer',
    'bias_initializer',
    'depthwise_regularizer',
    'bias_regularizer',
    'activity_regularizer',
    'depthwise_constraint',
    'bias_constraint',
  ],
  SeparableConv2D: [
    'filters',
    'kernel_size',
    'strides',
    'padding',
    'data_format',
    'dilation_rate',
    'depth_multiplier',
    'activation',
    'use_bias',
    'depthwise_initializer',
    'pointwise_initializer',
    'bias_initializer',
    'depthwise_regularizer',
    'pointwise_regularizer',
    'bias_regularizer',
    'activity_regularizer',
    'depthwise_constraint',
    'pointwise_constraint',
    'bias_constraint',
  ],
  BatchNormalization: [
    'axis',
    'momentum',
    'epsilon',
    'center',
    'scale',
    'beta_initializer',
    'gamma_initializer',
    'moving_mean_initializer',
    'moving_variance_initializer',
    'beta_regularizer',
    'gamma_regularizer',
    'beta_constraint',
    'gamma_constraint',
  ],
  LayerNormalization: [
    'axis',
    'epsilon',
    'center',
    'scale',
    'beta_initializer',
    'gamma_initializer',
    'beta_regularizer',
    'gamma_regularizer',
    'beta_constraint',
    'gamma_constraint',
  ],
  Rescaling: ['scale', 'offset'],
  Normalization: ['axis', 'mean', 'variance', 'invert'],
  Activation: ['activation'],
  ReLU: ['max_value', 'negative_slope', 'threshold'],
  LeakyReLU: ['negative_slope'],
  PReLU: ['alpha_initializer', 'alpha_regularizer', 'alpha_constraint', 'shared_axes'],
  ELU: ['alpha'],
  Softmax: ['axis'],
  Add: [],
  Subtract: [],
  Multiply: [],
  Average: [],
  Maximum: [],
  Minimum: [],
  Concatenate: ['axis'],
  MaxPooling1D: POOL_KEYS,
  MaxPooling2D: POOL_KEYS,
  AveragePooling1D: POOL_KEYS,
  AveragePooling2D: POOL_KEYS,
  GlobalAveragePooling1D: ['data_format', 'keepdims'],
  GlobalAveragePooling2D: ['data_format', 'keepdims'],
  GlobalMaxPooling1D: ['data_format', 'keepdims'],
  GlobalMaxPooling2D: ['data_format', 'keepdims'],
  Flatten: ['data_format'],
  Reshape: ['target_shape'],
  Permute: ['dims'],
  Dropout: ['rate', 'noise_shape', 'seed'],
  SpatialDropout1D: ['rate', 'seed'],
  SpatialDropout2D: ['rate', 'data_format', 'seed'],
  GaussianNoise: ['stddev', 'seed'],
  ZeroPadding2D: ['padding', 'data_format'],
  Cropping2D: ['cropping', 'data_format'],
  UpSampling2D: ['size', 'data_format', 'interpolation'],
  RandomFlip: ['mode', 'seed'],
  RandomRotation: ['factor', 'fill_mode', 'interpolation', 'seed', 'fill_value'],
  RandomZoom: ['height_factor', 'width_factor', 'fill_mode', 'interpolation', 'seed', 'fill_value'],
  RandomTranslation: [
    'height_factor',
    'width_factor',
    'fill_mode',
    'interpolation',
    'seed',
    'fill_value',
  ],
  RandomContrast: ['factor', 'seed'],
  RandomBrightness: ['factor', 'value_range', 'seed'],
  RandomCrop: ['height', 'width', 'seed'],
  GaussianDropout: ['rate', 'seed'],
  ActivityRegularization: ['l1', 'l2'],
};

const KERAS_INITIALIZER_NAMES: Record<string, string> = {
  LeCunNormal: 'LecunNormal',
  LeCunUniform: 'LecunUniform',
};

const isObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function kerasObject(module: string, className: string, config: JsonObject): JsonObject {
  return { module, class_name: className, config, registered_name: null };
}

function serializable(kind: 'initializers' | 'regularizers' | 'constraints', value: Json): Json {
  if (!isObject(value) || typeof value.class_name !== 'string') return null;
  const config = isObject(value.config) ? { ...value.config } : {};
  // tfjs's 'normal' VarianceScaling draws from a truncated normal, which Keras calls truncated_normal.
  if (config.distribution === 'normal') config.distribution = 'truncated_normal';
  return kerasObject(
    `keras.${kind}`,
    KERAS_INITIALIZER_NAMES[value.class_name] ?? value.class_name,
    config,
  );
}

function isModelLayer(layer: tf.layers.Layer): layer is tf.LayersModel & tf.layers.Layer {
  return (layer as unknown as { layers?: unknown }).layers !== undefined;
}

function layerConfig(cls: string, raw: JsonObject, file: string): JsonObject {
  // Augmentations only Keras 3 has came from a Keras 3 file, so their own keys are Keras 3's.
  const allowed =
    KERAS3_KEYS[cls] ??
    ((augmentationClasses as readonly string[]).includes(cls)
      ? Object.keys(raw).filter((k) => !BASE_KEYS.includes(k))
      : undefined);
  if (!allowed)
    throw new KerasWriterError(
      file,
      `layer "${raw.name}" has class ${cls}, which this writer cannot express for Keras 3`,
    );
  const config: JsonObject = {};
  for (const key of [...BASE_KEYS, ...allowed]) if (raw[key] !== undefined) config[key] = raw[key]!;
  if (cls === 'LeakyReLU') config.negative_slope = raw.alpha ?? 0.3;
  if (cls === 'InputLayer') {
    config.batch_shape = raw.batch_input_shape ?? null;
    config.sparse = false;
  }
  if ((cls === 'Conv1D' || cls === 'Conv2D') && config.groups === undefined) config.groups = 1;
  if (typeof config.dtype !== 'string') config.dtype = 'float32';
  for (const key of Object.keys(config)) {
    if (key.endsWith('_initializer')) config[key] = serializable('initializers', config[key]!);
    else if (key.endsWith('_regularizer')) config[key] = serializable('regularizers', config[key]!);
    else if (key.endsWith('_constraint')) config[key] = serializable('constraints', config[key]!);
  }
  if (typeof config.activation === 'string') {
    const name = kerasActivationName(config.activation);
    if (!name)
      throw new KerasWriterError(
        file,
        `layer "${raw.name}" uses activation ${config.activation}, which Keras 3 has no name for`,
      );
    config.activation = name;
  }
  return config;
}

/** Keras 3 builds each layer from build_config before loading its variables. */
function buildConfig(layer: tf.layers.Layer): JsonObject {
  const shapes = layer.inboundNodes[0]?.inputShapes as
    (number | null)[] | (number | null)[][] | undefined;
  if (!shapes) return {};
  const single = shapes.length === 1 && Array.isArray(shapes[0]);
  return { build_config: { input_shape: (single ? shapes[0] : shapes) as Json } };
}

function shapeOf(layer: tf.layers.Layer, tensorIndex: number): Json {
  const shape = layer.outputShape as (number | null)[] | (number | null)[][];
  return (Array.isArray(shape[0]) ? (shape as (number | null)[][])[tensorIndex] : shape) as Json;
}

/** tfjs writes Keras 2 inbound nodes; Keras 3 wants call arguments with tensor references. */
function keras3Nodes(nodes: Json, byName: Map<string, tf.layers.Layer>, merge: boolean): Json[] {
  if (!Array.isArray(nodes)) return [];
  return nodes.map((node) => {
    const refs = (Array.isArray(node) ? node : []).map((ref) => {
      const [name, nodeIndex, tensorIndex] = ref as [string, number, number];
      const source = byName.get(name);
      return {
        class_name: '__keras_tensor__',
        config: {
          shape: source ? shapeOf(source, tensorIndex) : null,
          dtype: 'float32',
          keras_history: [name, nodeIndex, tensorIndex],
        },
      } as JsonObject;
    });
    return { args: merge || refs.length > 1 ? [refs] : refs, kwargs: {} };
  });
}

const MERGE_CLASSES = new Set([
  'Add',
  'Subtract',
  'Multiply',
  'Average',
  'Maximum',
  'Minimum',
  'Concatenate',
]);

function modelConfig(model: tf.LayersModel, raw: JsonObject, file: string): JsonObject {
  const cls = raw.class_name;
  const config = raw.config as JsonObject;
  const rawLayers = (config.layers ?? []) as JsonObject[];
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const inputShape = (model.inputs[0]!.shape as Json[]) ?? null;
  const convert = (entry: JsonObject, layer: tf.layers.Layer | undefined): JsonObject => {
    const c = entry.class_name as string;
    if (layer && isModelLayer(layer))
      return modelConfig(layer, { class_name: c, config: entry.config! }, file);
    return {
      ...kerasObject('keras.layers', c, layerConfig(c, entry.config as JsonObject, file)),
      ...(layer && c !== 'InputLayer' ? buildConfig(layer) : {}),
    };
  };
  if (cls === 'Sequential') {
    const layers: JsonObject[] = [
      kerasObject('keras.layers', 'InputLayer', {
        batch_shape: inputShape,
        dtype: 'float32',
        sparse: false,
        name: `${model.name}_input`,
      }),
    ];
    rawLayers.forEach((entry, i) => layers.push(convert(entry, model.layers[i])));
    return {
      module: 'keras',
      class_name: 'Sequential',
      config: { name: model.name, trainable: true, dtype: 'float32', layers },
      registered_name: null,
      build_config: { input_shape: inputShape },
    };
  }
  const layers = rawLayers.map((entry) => {
    const name = entry.name as string;
    const converted = convert(entry, byName.get(name));
    return {
      ...converted,
      name,
      inbound_nodes: keras3Nodes(
        entry.inbound_nodes ?? [],
        byName,
        MERGE_CLASSES.has(entry.class_name as string),
      ),
    };
  });
  return {
    module: 'keras.src.models.functional',
    class_name: 'Functional',
    config: {
      name: model.name,
      trainable: true,
      layers,
      input_layers: config.input_layers!,
      output_layers: config.output_layers!,
    },
    registered_name: 'Functional',
    build_config: { input_shape: model.inputs.length === 1 ? inputShape : null },
  };
}

function writeVariables(group: H5Group, layer: tf.layers.Layer, keys?: WeightKeys): void {
  const vars = group.create_group('vars');
  const nested = isModelLayer(layer);
  // A nested model's variables live in its own layers' groups, not in its vars.
  if (!nested) {
    layer.weights.forEach((w, i) => {
      const values = w.read().dataSync() as Float32Array;
      vars.create_dataset({
        name: String(i),
        data: Float32Array.from(values),
        shape: w.shape as number[],
        dtype: '<f',
      });
    });
    return;
  }
  const layers = group.create_group('layers');
  for (const inner of layer.layers)
    writeVariables(
      layers.create_group(keys?.keys.get(inner.name) ?? inner.name),
      inner,
      keys?.nested.get(inner.name),
    );
}

/** Writes `model` to `file` as a Keras 3 .keras archive. */
export async function saveKeras(model: tf.LayersModel, file: string): Promise<void> {
  const raw = model.toJSON(null, false) as unknown as JsonObject;
  const config = modelConfig(model, raw, file);
  const h5 = await h5Ready();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quantbench-keras-'));
  try {
    const weightsPath = path.join(dir, 'model.weights.h5');
    const f = new h5.File(weightsPath, 'w');
    try {
      const layers = f.create_group('layers');
      // Keras finds a layer's variables by class and position, not by name (keras-weight-paths.ts).
      const keys = weightKeys(config);
      for (const layer of model.layers)
        writeVariables(
          layers.create_group(keys.keys.get(layer.name) ?? layer.name),
          layer,
          keys.nested.get(layer.name),
        );
      f.create_group('vars');
    } finally {
      f.close();
    }
    const metadata = {
      keras_version: WRITTEN_KERAS_VERSION,
      date_saved: new Date().toISOString().replace('T', '@').slice(0, 19),
    };
    const archive = zipSync(
      {
        'metadata.json': strToU8(JSON.stringify(metadata)),
        'config.json': strToU8(JSON.stringify(config)),
        'model.weights.h5': new Uint8Array(readFileSync(weightsPath)),
      },
      // Keras writes the archive uncompressed (zipfile's default ZIP_STORED).
      { level: 0 },
    );
    writeFileSync(file, archive);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
