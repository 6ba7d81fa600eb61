import * as tf from '@tensorflow/tfjs';
import { FineTuneError } from './errors';

/** tfjs-layers keeps weights on protected fields; these are the ones fine-tuning reads. */
interface LayerVariableLike {
  read(): tf.Variable;
  write(value: tf.Tensor): void;
}

export type WeightedKind = 'Conv2D' | 'DepthwiseConv2D' | 'Dense';
export const WEIGHTED_CLASSES: ReadonlySet<string> = new Set([
  'Conv2D',
  'DepthwiseConv2D',
  'Dense',
]);

function field(layer: tf.layers.Layer, name: string): LayerVariableLike | undefined {
  return (
    (layer as unknown as Record<string, LayerVariableLike | null | undefined>)[name] ?? undefined
  );
}

export function kernelOf(layer: tf.layers.Layer): LayerVariableLike {
  const k = field(layer, layer.getClassName() === 'DepthwiseConv2D' ? 'depthwiseKernel' : 'kernel');
  if (!k)
    throw new FineTuneError('FINETUNE_LAYER', `layer "${layer.name}" has no kernel`, {
      hint: 'build the model before fine-tuning it',
    });
  return k;
}

export function biasOf(layer: tf.layers.Layer): LayerVariableLike | undefined {
  return field(layer, 'bias');
}

export interface BatchNormVars {
  gamma?: tf.Variable;
  beta?: tf.Variable;
  mean: tf.Variable;
  variance: tf.Variable;
  epsilon: number;
}

export function batchNormVars(layer: tf.layers.Layer): BatchNormVars {
  const config = layer.getConfig();
  return {
    gamma: field(layer, 'gamma')?.read(),
    beta: field(layer, 'beta')?.read(),
    mean: field(layer, 'movingMean')!.read(),
    variance: field(layer, 'movingVariance')!.read(),
    epsilon: Number(config.epsilon ?? 1e-3),
  };
}

/** Output channels of a kernel in Keras layout: the flattened last axis (in * multiplier for depthwise). */
export function kernelChannels(layer: tf.layers.Layer, shape: number[]): number {
  return layer.getClassName() === 'DepthwiseConv2D'
    ? shape[2]! * shape[3]!
    : shape[shape.length - 1]!;
}

export function activate(name: string, x: tf.Tensor, layer: string): tf.Tensor {
  switch (name) {
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'tanh':
      return tf.tanh(x);
    case 'softmax':
      return tf.softmax(x);
    default:
      throw new FineTuneError(
        'FINETUNE_ACTIVATION',
        `layer "${layer}" uses activation "${name}", which fine-tuning does not compute`,
        {
          hint: 'use linear, relu, relu6, sigmoid, tanh or softmax, or exclude the layer from compression',
        },
      );
  }
}

function pair(v: unknown): [number, number] {
  return Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)];
}

/** Runs a Conv2D, DepthwiseConv2D or Dense layer with the given kernel, before its activation. */
export function linearPart(
  layer: tf.layers.Layer,
  x: tf.Tensor,
  kernel: tf.Tensor,
  bias: tf.Tensor | undefined,
): tf.Tensor {
  const config = layer.getConfig();
  const kind = layer.getClassName();
  let y: tf.Tensor;
  if (kind === 'Dense') {
    const rows = x.shape.slice(0, -1);
    y = tf
      .matMul(x.reshape([-1, x.shape[x.shape.length - 1]!]), kernel as tf.Tensor2D)
      .reshape([...rows, kernel.shape[1]!]);
  } else {
    const strides = pair(config.strides ?? 1);
    const dilation = pair(config.dilationRate ?? config.dilation_rate ?? 1);
    const padding = (config.padding ?? 'valid') as 'same' | 'valid';
    y =
      kind === 'Conv2D'
        ? tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, strides, padding, 'NHWC', dilation)
        : tf.depthwiseConv2d(
            x as tf.Tensor4D,
            kernel as tf.Tensor4D,
            strides,
            padding,
            'NHWC',
            dilation,
          );
  }
  return bias ? y.add(bias) : y;
}

export function activationName(layer: tf.layers.Layer): string {
  const a = layer.getConfig().activation;
  return typeof a === 'string' ? a : 'linear';
}
