import type { Activation, FullyConnectedWeightsFormat, Padding, TensorType } from './schema';

/**
 * A .tflite model in memory: plain data, no flatbuffer offsets. Indices (buffer, tensor,
 * opcode, subgraph) mean exactly what they mean in the file, so reading then writing keeps them.
 */
export interface TfliteModel {
  version: number;
  description: string;
  operatorCodes: TfliteOperatorCode[];
  subgraphs: TfliteSubgraph[];
  /** Buffer 0 is the empty sentinel that tensors without data point at. */
  buffers: Uint8Array[];
  /** Deprecated list of buffer indices holding metadata, kept for round trips. */
  metadataBuffer: number[];
  metadata: TfliteMetadata[];
  signatureDefs: TfliteSignatureDef[];
}

export interface TfliteOperatorCode {
  /** Builtin name ('CONV_2D') or, for CUSTOM, the custom code. */
  name: string;
  builtinCode: number;
  customCode?: string;
  version: number;
}

export interface TfliteSubgraph {
  name: string;
  tensors: TfliteTensor[];
  inputs: number[];
  outputs: number[];
  operators: TfliteOperator[];
}

export interface TfliteTensor {
  name: string;
  shape: number[];
  /** Present when the file records it (-1 marks a dynamic dimension). */
  shapeSignature?: number[];
  type: TensorType;
  /** Index into model.buffers; 0 for tensors computed at run time. */
  buffer: number;
  quantization?: TfliteQuantization;
  isVariable: boolean;
  /** Present when the file records it: distinguishes a scalar (true, shape []) from unknown rank. */
  hasRank?: boolean;
}

/**
 * real = scale * (q - zeroPoint). One entry per tensor, or one per slice along
 * `quantizedDimension` (per-axis, as for per-channel conv weights).
 */
export interface TfliteQuantization {
  scale: number[];
  zeroPoint: number[];
  min?: number[];
  max?: number[];
  quantizedDimension: number;
}

export interface TfliteOperator {
  opcodeIndex: number;
  /** The op name from the operator code, for readers of the model (the writer uses opcodeIndex). */
  op: string;
  /** Tensor indices; -1 marks an optional input that is absent. */
  inputs: number[];
  outputs: number[];
  options: BuiltinOptions | null;
  customOptions?: Uint8Array;
  intermediates?: number[];
}

export interface TfliteMetadata {
  name: string;
  buffer: number;
}

export interface TfliteTensorMap {
  name: string;
  tensorIndex: number;
}

export interface TfliteSignatureDef {
  signatureKey: string;
  subgraphIndex: number;
  inputs: TfliteTensorMap[];
  outputs: TfliteTensorMap[];
}

export interface Conv2DOptions {
  type: 'Conv2DOptions';
  padding: Padding;
  strideW: number;
  strideH: number;
  fusedActivationFunction: Activation;
  dilationWFactor: number;
  dilationHFactor: number;
  quantizedBiasType: TensorType;
}

export interface DepthwiseConv2DOptions {
  type: 'DepthwiseConv2DOptions';
  padding: Padding;
  strideW: number;
  strideH: number;
  depthMultiplier: number;
  fusedActivationFunction: Activation;
  dilationWFactor: number;
  dilationHFactor: number;
}

export interface Pool2DOptions {
  type: 'Pool2DOptions';
  padding: Padding;
  strideW: number;
  strideH: number;
  filterWidth: number;
  filterHeight: number;
  fusedActivationFunction: Activation;
}

export interface FullyConnectedOptions {
  type: 'FullyConnectedOptions';
  fusedActivationFunction: Activation;
  weightsFormat: FullyConnectedWeightsFormat;
  keepNumDims: boolean;
  asymmetricQuantizeInputs: boolean;
  quantizedBiasType: TensorType;
}

export interface SoftmaxOptions {
  type: 'SoftmaxOptions';
  beta: number;
}

export interface ConcatenationOptions {
  type: 'ConcatenationOptions';
  axis: number;
  fusedActivationFunction: Activation;
}

export interface AddOptions {
  type: 'AddOptions';
  fusedActivationFunction: Activation;
  potScaleInt16: boolean;
}

export interface SubOptions {
  type: 'SubOptions';
  fusedActivationFunction: Activation;
  potScaleInt16: boolean;
}

export interface MulOptions {
  type: 'MulOptions';
  fusedActivationFunction: Activation;
}

export interface ReshapeOptions {
  type: 'ReshapeOptions';
  newShape: number[] | null;
}

export interface ReducerOptions {
  type: 'ReducerOptions';
  keepDims: boolean;
}

export interface LeakyReluOptions {
  type: 'LeakyReluOptions';
  alpha: number;
}

/** Options tables with no fields (PAD, QUANTIZE, DEQUANTIZE, HARD_SWISH, ...). */
export interface EmptyOptions {
  type:
    | 'PadOptions'
    | 'PadV2Options'
    | 'QuantizeOptions'
    | 'DequantizeOptions'
    | 'HardSwishOptions'
    | 'TransposeOptions';
}

/** Any other options table: the fields from OPTION_FIELDS, or `unmodelled` when we do not know them. */
export interface OtherOptions {
  type: string;
  unmodelled?: true;
  [field: string]: unknown;
}

export type BuiltinOptions =
  | Conv2DOptions
  | DepthwiseConv2DOptions
  | Pool2DOptions
  | FullyConnectedOptions
  | SoftmaxOptions
  | ConcatenationOptions
  | AddOptions
  | SubOptions
  | MulOptions
  | ReshapeOptions
  | ReducerOptions
  | LeakyReluOptions
  | EmptyOptions
  | OtherOptions;
