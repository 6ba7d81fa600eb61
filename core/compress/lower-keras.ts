import type * as tf from '@tensorflow/tfjs';
import { inferencePassThroughClasses, passThroughReason } from '../model/layers/identity';
import { CompressError } from './errors';
import type { Activation, GraphNode, LayerGraph, NodeAttrs, OpKind, RemovedLayer } from './graph';

type Layer = tf.layers.Layer;
type Config = Record<string, unknown>;

const OP_OF_CLASS: Record<string, OpKind> = {
  InputLayer: 'input',
  Conv2D: 'conv2d',
  DepthwiseConv2D: 'depthwise_conv2d',
  Dense: 'dense',
  BatchNormalization: 'batch_norm',
  Add: 'add',
  Activation: 'activation',
  ReLU: 'activation',
  AveragePooling2D: 'avg_pool',
  MaxPooling2D: 'max_pool',
  GlobalAveragePooling2D: 'global_avg_pool',
  Flatten: 'flatten',
  Reshape: 'reshape',
  Softmax: 'softmax',
  Rescaling: 'rescaling',
  ZeroPadding2D: 'zero_pad',
};

const UNFUSED = new Set<Activation>(['softmax', 'tanh', 'sigmoid']);

const ACTIVATIONS: Record<string, Activation> = {
  linear: 'linear',
  relu: 'relu',
  relu6: 'relu6',
  tanh: 'tanh',
  sigmoid: 'sigmoid',
  softmax: 'softmax',
};

function pair(v: unknown, fallback: number): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[1] ?? v[0])];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
}

function activationOf(layer: Layer, config: Config): Activation {
  const cls = layer.getClassName();
  if (cls === 'ReLU') return config.maxValue === 6 ? 'relu6' : 'relu';
  const raw = config.activation;
  if (raw === undefined || raw === null) return 'linear';
  const name = String(raw).toLowerCase();
  const act = ACTIVATIONS[name];
  if (!act) {
    throw new CompressError(
      'LAYER_UNSUPPORTED',
      `layer "${layer.name}" uses activation "${name}", which the int8 exporter does not lower`,
      {
        hint: `use one of ${Object.keys(ACTIVATIONS).join(', ')}, or keep this layer out of the model before compressing`,
      },
    );
  }
  return act;
}

function weightByName(
  layer: Layer,
  suffix: string,
): { data: Float32Array; shape: number[] } | undefined {
  const w = layer.weights.find(
    (v) => v.originalName.endsWith(`/${suffix}`) || v.originalName === suffix,
  );
  if (!w) return undefined;
  const t = w.read();
  return { data: Float32Array.from(t.dataSync()), shape: [...t.shape] };
}

function shapeWithoutBatch(layer: Layer): number[] {
  const s = layer.outputShape as unknown[];
  if (Array.isArray(s[0])) {
    throw new CompressError('LAYER_UNSUPPORTED', `layer "${layer.name}" has several outputs`, {
      hint: 'only single-output layers are lowered',
    });
  }
  return (s as (number | null)[]).slice(1).map((d) => d ?? 0);
}

function lowerLayer(layer: Layer, inputs: string[]): GraphNode {
  const cls = layer.getClassName();
  const op = OP_OF_CLASS[cls];
  if (!op) {
    throw new CompressError(
      'LAYER_UNSUPPORTED',
      `layer "${layer.name}" is a ${cls}, which the compression engine cannot lower to int8 ops`,
      {
        hint: `supported layer types: ${[...Object.keys(OP_OF_CLASS), ...inferencePassThroughClasses].join(', ')}`,
      },
    );
  }
  const config = layer.getConfig() as Config;
  const attrs: NodeAttrs = {};
  const node: GraphNode = {
    name: layer.name,
    kerasClass: cls,
    op,
    inputs,
    activation: op === 'softmax' ? 'softmax' : activationOf(layer, config),
    attrs,
    outputShape: shapeWithoutBatch(layer),
  };
  if (op === 'conv2d' || op === 'depthwise_conv2d') {
    attrs.strides = pair(config.strides, 1);
    attrs.padding = config.padding === 'same' ? 'same' : 'valid';
    attrs.dilation = pair(config.dilationRate, 1);
    node.kernel = weightByName(layer, op === 'conv2d' ? 'kernel' : 'depthwise_kernel');
  } else if (op === 'dense') {
    node.kernel = weightByName(layer, 'kernel');
  } else if (op === 'avg_pool' || op === 'max_pool') {
    attrs.poolSize = pair(config.poolSize, 2);
    attrs.strides = pair(config.strides ?? config.poolSize, 2);
    attrs.padding = config.padding === 'same' ? 'same' : 'valid';
  } else if (op === 'rescaling') {
    attrs.scale = Number(config.scale);
    attrs.offset = Number(config.offset ?? 0);
  } else if (op === 'reshape') {
    attrs.targetShape = (config.targetShape as number[]).map(Number);
  } else if (op === 'zero_pad') {
    const p = config.padding as unknown;
    const rows = Array.isArray(p) ? pair((p as unknown[])[0], 1) : pair(p, 1);
    const cols = Array.isArray(p) ? pair((p as unknown[])[1], 1) : pair(p, 1);
    attrs.pad = [rows, cols];
  } else if (op === 'batch_norm') {
    const channels = node.outputShape[node.outputShape.length - 1];
    const ones = new Float32Array(channels).fill(1);
    node.bn = {
      gamma: weightByName(layer, 'gamma')?.data ?? ones,
      beta: weightByName(layer, 'beta')?.data ?? new Float32Array(channels),
      mean: weightByName(layer, 'moving_mean')!.data,
      variance: weightByName(layer, 'moving_variance')!.data,
      epsilon: Number(config.epsilon ?? 1e-3),
    };
  }
  if (node.kernel && config.useBias !== false) node.bias = weightByName(layer, 'bias')?.data;
  return node;
}

/** A model used as a layer of another (Keras's `data_augmentation = Sequential([...])` idiom). */
type NestedModel = Layer & {
  layers: Layer[];
  inputLayers: Layer[];
  outputs: tf.SymbolicTensor[];
};

function isNestedModel(layer: Layer): layer is NestedModel {
  const m = layer as Partial<NestedModel>;
  return Array.isArray(m.layers) && Array.isArray(m.inputLayers) && Array.isArray(m.outputs);
}

/**
 * Each layer's place in Keras's layer order, nested models' layers just after the model that
 * holds them: Keras keeps layers in creation order, which is topological and is the order the
 * TFLite converter emits ops in (a ResNet's shortcut conv after the main branch).
 */
function layerRanks(layers: Layer[], base = 0, step = 1e6, out = new Map<string, number>()) {
  layers.forEach((layer, i) => {
    const rank = base + i * step;
    out.set(layer.name, rank);
    if (isNestedModel(layer)) layerRanks(layer.layers, rank + step / 1e3, step / 1e3, out);
  });
  return out;
}

/**
 * Lowers a built tfjs LayersModel (what core/model's importer returns) into a LayerGraph.
 * Pass-through layers such as Dropout and random augmentations disappear (listed in
 * `removed`) and their consumers are rewired; nested models are inlined.
 */
export function lowerKerasModel(model: tf.LayersModel): LayerGraph {
  const alias = new Map<string, string>();
  const resolve = (name: string): string => {
    let n = name;
    while (alias.has(n)) n = alias.get(n)!;
    return n;
  };
  const nodes: GraphNode[] = [];
  const removed: RemovedLayer[] = [];
  const seen = new Set<string>();
  const inputs: string[] = [];

  const visit = (layer: Layer): void => {
    if (seen.has(layer.name)) return;
    seen.add(layer.name);
    // A model's first node is its own input-to-output node; where it was applied comes after.
    const applied = isNestedModel(layer)
      ? layer.inboundNodes.find((n) => n.inboundLayers.length > 0)
      : layer.inboundNodes[0];
    const inbound = applied?.inboundLayers ?? [];
    for (const l of inbound) visit(l);
    const inboundNames = inbound.map((l) => resolve(l.name));
    const cls = layer.getClassName();
    if (inferencePassThroughClasses.has(cls)) {
      alias.set(layer.name, inboundNames[0]);
      removed.push({ name: layer.name, kerasClass: cls, reason: passThroughReason(cls) });
      return;
    }
    if (isNestedModel(layer)) {
      if (layer.inputLayers.length !== 1 || layer.outputs.length !== 1)
        throw new CompressError(
          'LAYER_UNSUPPORTED',
          `nested model "${layer.name}" has ${layer.inputLayers.length} inputs and ${layer.outputs.length} outputs`,
          { hint: 'the compression engine inlines nested models with one input and one output' },
        );
      // Its input layer stands for the outer tensor that feeds it.
      const inner = layer.inputLayers[0]!;
      if (seen.has(inner.name) || alias.has(inner.name))
        throw new CompressError(
          'LAYER_UNSUPPORTED',
          `layer name "${inner.name}" is used both inside nested model "${layer.name}" and outside it`,
          { hint: 'give the layers unique names in Keras and save the model again' },
        );
      seen.add(inner.name);
      alias.set(inner.name, inboundNames[0]);
      const out = layer.outputs[0]!.sourceLayer as Layer;
      visit(out);
      alias.set(layer.name, resolve(out.name));
      return;
    }
    if (cls === 'InputLayer') {
      const shape = (layer.batchInputShape ?? (layer.outputShape as number[]))
        .slice(1)
        .map((d) => d ?? 0);
      nodes.push({
        name: layer.name,
        kerasClass: cls,
        op: 'input',
        inputs: [],
        activation: 'linear',
        attrs: {},
        outputShape: shape,
      });
      inputs.push(layer.name);
      return;
    }
    if (nodes.some((n) => n.name === layer.name))
      throw new CompressError(
        'LAYER_UNSUPPORTED',
        `two layers are named "${layer.name}" (one inside a nested model)`,
        { hint: 'give the layers unique names in Keras and save the model again' },
      );
    const node = lowerLayer(layer, inboundNames);
    nodes.push(node);
    if (node.op !== 'activation' && node.op !== 'softmax' && UNFUSED.has(node.activation)) {
      // TFLite fuses only ReLU-family activations into an op; the rest are ops of their own
      // with their own output tensor, so they get a node (and a calibrated range) here.
      const act: GraphNode = {
        name: `${node.name}/${node.activation}`,
        kerasClass: 'Activation',
        op: 'activation',
        inputs: [node.name],
        activation: node.activation,
        attrs: {},
        outputShape: [...node.outputShape],
      };
      node.activation = 'linear';
      nodes.push(act);
      alias.set(layer.name, act.name);
    }
  };

  for (const out of model.outputs) visit(out.sourceLayer as Layer);
  for (const layer of model.layers) visit(layer);
  const rank = layerRanks(model.layers);
  const rankOf = (n: GraphNode): number => {
    if (n.op === 'input') return -1;
    const base = n.name.includes('/') ? n.name.slice(0, n.name.lastIndexOf('/')) : n.name;
    return (rank.get(base) ?? Number.MAX_SAFE_INTEGER) + (base === n.name ? 0 : 0.5);
  };
  nodes.sort((a, b) => rankOf(a) - rankOf(b));
  const outputs = model.outputs.map((o) => resolve((o.sourceLayer as Layer).name));
  if (inputs.length !== 1) {
    throw new CompressError('MODEL_UNSUPPORTED', `the model has ${inputs.length} inputs`, {
      hint: 'the compression engine handles single-input models',
    });
  }
  return { nodes, inputs, outputs, ...(removed.length ? { removed } : {}) };
}
