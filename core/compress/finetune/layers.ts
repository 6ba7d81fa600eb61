import * as tf from '@tensorflow/tfjs';
import { ACTIVATIONS, activate as activateNode, applyKernel, type KernelOp } from '../execute';
import type { Activation } from '../graph';
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

/** The layer's activation, through the compression engine's executor; names it does not compute are refused. */
export function activate(name: string, x: tf.Tensor, layer: string): tf.Tensor {
  if (!ACTIVATIONS.has(name)) {
    throw new FineTuneError(
      'FINETUNE_ACTIVATION',
      `layer "${layer}" uses activation "${name}", which fine-tuning does not compute`,
      {
        hint: 'use linear, relu, relu6, sigmoid, tanh or softmax, or exclude the layer from compression',
      },
    );
  }
  return activateNode(x, name as Activation);
}

function pair(v: unknown): [number, number] {
  return Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)];
}

const KERNEL_OPS: Record<WeightedKind, KernelOp> = {
  Conv2D: 'conv2d',
  DepthwiseConv2D: 'depthwise_conv2d',
  Dense: 'dense',
};

/**
 * Runs a Conv2D, DepthwiseConv2D or Dense layer with the given kernel, before its activation,
 * with the compression engine's layer math (compress/execute.ts), so training and the
 * calibration and simulation that follow it compute each layer the same way.
 */
export function linearPart(
  layer: tf.layers.Layer,
  x: tf.Tensor,
  kernel: tf.Tensor,
  bias: tf.Tensor | undefined,
): tf.Tensor {
  const config = layer.getConfig();
  const y = applyKernel(
    KERNEL_OPS[layer.getClassName() as WeightedKind],
    {
      strides: pair(config.strides ?? 1),
      dilation: pair(config.dilationRate ?? config.dilation_rate ?? 1),
      padding: (config.padding ?? 'valid') as 'same' | 'valid',
    },
    x,
    kernel,
  );
  return bias ? y.add(bias) : y;
}

export function activationName(layer: tf.layers.Layer): string {
  const a = layer.getConfig().activation;
  return typeof a === 'string' ? a : 'linear';
}
