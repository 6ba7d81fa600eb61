import * as tf from '@tensorflow/tfjs';

export type Shape = (number | null)[];

export interface LayerSummary {
  /** Nested layers are named `outer/inner`. */
  name: string;
  className: string;
  outputShape: Shape | Shape[];
  params: number;
  /** Multiply-accumulates for one sample; counted for Dense and convolutions only. */
  macs: number;
}

const product = (dims: readonly (number | null)[]) =>
  dims.reduce<number>((a, d) => a * (d ?? 1), 1);

function singleShape(shape: tf.Shape | tf.Shape[]): Shape {
  return (Array.isArray(shape[0]) ? shape[0] : shape) as Shape;
}

function layerMacs(layer: tf.layers.Layer): number {
  const cls = layer.getClassName();
  const out = singleShape(layer.outputShape);
  const kernel = layer.weights.find((w) => /(^|\/)(kernel|depthwise_kernel)$/.test(w.originalName));
  if (!kernel) return 0;
  const k = kernel.shape as number[];
  switch (cls) {
    case 'Dense':
      // Dense on rank-3 input runs once per leading position.
      return product(out.slice(1, -1)) * k[0]! * k[1]!;
    case 'Conv1D':
    case 'Conv2D':
      return product(out.slice(1, -1)) * product(k);
    case 'DepthwiseConv2D':
      return product(out.slice(1)) * k[0]! * k[1]!;
    case 'SeparableConv2D': {
      const pointwise = layer.weights.find((w) => w.originalName.endsWith('pointwise_kernel'));
      const depthOut = product(out.slice(1, -1)) * k[2]! * k[3]!;
      return depthOut * k[0]! * k[1]! + depthOut * ((pointwise?.shape[3] as number) ?? 0);
    }
    default:
      return 0;
  }
}

function isModel(layer: tf.layers.Layer): layer is tf.LayersModel & tf.layers.Layer {
  return (layer as unknown as { layers?: unknown }).layers !== undefined;
}

/** One row per layer, nested models expanded, in the order the model runs them. */
export function summarizeLayers(model: tf.LayersModel, prefix = ''): LayerSummary[] {
  const rows: LayerSummary[] = [];
  for (const layer of model.layers) {
    if (isModel(layer)) {
      rows.push(...summarizeLayers(layer, `${prefix}${layer.name}/`));
      continue;
    }
    const outputShape = layer.outputShape as Shape | Shape[];
    rows.push({
      name: prefix + layer.name,
      className: layer.getClassName(),
      outputShape,
      params: layer.countParams(),
      macs: layerMacs(layer),
    });
  }
  return rows;
}
