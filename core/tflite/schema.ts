/**
 * The subset of the TFLite flatbuffer schema Quantbench reads and writes, as data.
 * Source of truth: tensorflow/lite/schema/schema.fbs (file identifier "TFL3", schema version 3).
 * Field slots below are the declaration order in that file; a slot never moves once published.
 */

export const TFLITE_FILE_IDENTIFIER = 'TFL3';
export const TFLITE_SCHEMA_VERSION = 3;

/** enum TensorType : byte, indexed by value. */
// prettier-ignore
export const TENSOR_TYPES = [
  'float32', 'float16', 'int32', 'uint8', 'int64', 'string', 'bool', 'int16', 'complex64', 'int8',
  'float64', 'complex128', 'uint64', 'resource', 'variant', 'uint32', 'uint16', 'int4',
] as const;
export type TensorType = (typeof TENSOR_TYPES)[number];

/** Bytes per element; 0 where the size is not fixed (string, resource, variant) or below a byte (int4). */
// prettier-ignore
export const TENSOR_TYPE_BYTES: Record<TensorType, number> = {
  float32: 4, float16: 2, int32: 4, uint8: 1, int64: 8, string: 0, bool: 1, int16: 2, complex64: 8,
  int8: 1, float64: 8, complex128: 16, uint64: 8, resource: 0, variant: 0, uint32: 4, uint16: 2, int4: 0,
};

/** enum BuiltinOperator : int32, indexed by value (0..161; later codes are named BUILTIN_<code>). */
// prettier-ignore
export const BUILTIN_OPERATORS = [
  'ADD', 'AVERAGE_POOL_2D', 'CONCATENATION', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'DEPTH_TO_SPACE', 'DEQUANTIZE',
  'EMBEDDING_LOOKUP', 'FLOOR', 'FULLY_CONNECTED', 'HASHTABLE_LOOKUP', 'L2_NORMALIZATION', 'L2_POOL_2D',
  'LOCAL_RESPONSE_NORMALIZATION', 'LOGISTIC', 'LSH_PROJECTION', 'LSTM', 'MAX_POOL_2D', 'MUL', 'RELU',
  'RELU_N1_TO_1', 'RELU6', 'RESHAPE', 'RESIZE_BILINEAR', 'RNN', 'SOFTMAX', 'SPACE_TO_DEPTH', 'SVDF', 'TANH',
  'CONCAT_EMBEDDINGS', 'SKIP_GRAM', 'CALL', 'CUSTOM', 'EMBEDDING_LOOKUP_SPARSE', 'PAD',
  'UNIDIRECTIONAL_SEQUENCE_RNN', 'GATHER', 'BATCH_TO_SPACE_ND', 'SPACE_TO_BATCH_ND', 'TRANSPOSE', 'MEAN', 'SUB',
  'DIV', 'SQUEEZE', 'UNIDIRECTIONAL_SEQUENCE_LSTM', 'STRIDED_SLICE', 'BIDIRECTIONAL_SEQUENCE_RNN', 'EXP',
  'TOPK_V2', 'SPLIT', 'LOG_SOFTMAX', 'DELEGATE', 'BIDIRECTIONAL_SEQUENCE_LSTM', 'CAST', 'PRELU', 'MAXIMUM',
  'ARG_MAX', 'MINIMUM', 'LESS', 'NEG', 'PADV2', 'GREATER', 'GREATER_EQUAL', 'LESS_EQUAL', 'SELECT', 'SLICE',
  'SIN', 'TRANSPOSE_CONV', 'SPARSE_TO_DENSE', 'TILE', 'EXPAND_DIMS', 'EQUAL', 'NOT_EQUAL', 'LOG', 'SUM', 'SQRT',
  'RSQRT', 'SHAPE', 'POW', 'ARG_MIN', 'FAKE_QUANT', 'REDUCE_PROD', 'REDUCE_MAX', 'PACK', 'LOGICAL_OR',
  'ONE_HOT', 'LOGICAL_AND', 'LOGICAL_NOT', 'UNPACK', 'REDUCE_MIN', 'FLOOR_DIV', 'REDUCE_ANY', 'SQUARE',
  'ZEROS_LIKE', 'FILL', 'FLOOR_MOD', 'RANGE', 'RESIZE_NEAREST_NEIGHBOR', 'LEAKY_RELU', 'SQUARED_DIFFERENCE',
  'MIRROR_PAD', 'ABS', 'SPLIT_V', 'UNIQUE', 'CEIL', 'REVERSE_V2', 'ADD_N', 'GATHER_ND', 'COS', 'WHERE', 'RANK',
  'ELU', 'REVERSE_SEQUENCE', 'MATRIX_DIAG', 'QUANTIZE', 'MATRIX_SET_DIAG', 'ROUND', 'HARD_SWISH', 'IF',
  'WHILE', 'NON_MAX_SUPPRESSION_V4', 'NON_MAX_SUPPRESSION_V5', 'SCATTER_ND', 'SELECT_V2', 'DENSIFY',
  'SEGMENT_SUM', 'BATCH_MATMUL', 'PLACEHOLDER_FOR_GREATER_OP_CODES', 'CUMSUM', 'CALL_ONCE', 'BROADCAST_TO',
  'RFFT2D', 'CONV_3D', 'IMAG', 'REAL', 'COMPLEX_ABS', 'HASHTABLE', 'HASHTABLE_FIND', 'HASHTABLE_IMPORT',
  'HASHTABLE_SIZE', 'REDUCE_ALL', 'CONV_3D_TRANSPOSE', 'VAR_HANDLE', 'READ_VARIABLE', 'ASSIGN_VARIABLE',
  'BROADCAST_ARGS', 'RANDOM_STANDARD_NORMAL', 'BUCKETIZE', 'RANDOM_UNIFORM', 'MULTINOMIAL', 'GELU',
  'DYNAMIC_UPDATE_SLICE', 'RELU_0_TO_1', 'UNSORTED_SEGMENT_PROD', 'UNSORTED_SEGMENT_MAX',
  'UNSORTED_SEGMENT_SUM', 'ATAN2', 'UNSORTED_SEGMENT_MIN', 'SIGN', 'BITCAST', 'BITWISE_XOR', 'RIGHT_SHIFT',
] as const;

/** Codes at or above this are only in OperatorCode.builtin_code; below it deprecated_builtin_code holds them too. */
export const PLACEHOLDER_FOR_GREATER_OP_CODES = 127;

export function builtinOperatorName(code: number): string {
  return BUILTIN_OPERATORS[code] ?? `BUILTIN_${code}`;
}

export function builtinOperatorCode(name: string): number | undefined {
  const i = (BUILTIN_OPERATORS as readonly string[]).indexOf(name);
  if (i >= 0) return i;
  const m = /^BUILTIN_(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export const PADDINGS = ['SAME', 'VALID'] as const;
export type Padding = (typeof PADDINGS)[number];

export const ACTIVATIONS = ['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'TANH', 'SIGN_BIT'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export const FC_WEIGHTS_FORMATS = ['DEFAULT', 'SHUFFLED4x16INT8'] as const;
export type FullyConnectedWeightsFormat = (typeof FC_WEIGHTS_FORMATS)[number];

export const MIRROR_PAD_MODES = ['REFLECT', 'SYMMETRIC'] as const;

/**
 * union BuiltinOptions, in declaration order: the union type value of entry i is i + 1
 * (0 is NONE).
 */
// prettier-ignore
export const BUILTIN_OPTIONS_TYPES = [
  'Conv2DOptions', 'DepthwiseConv2DOptions', 'ConcatEmbeddingsOptions', 'LSHProjectionOptions', 'Pool2DOptions',
  'SVDFOptions', 'RNNOptions', 'FullyConnectedOptions', 'SoftmaxOptions', 'ConcatenationOptions', 'AddOptions',
  'L2NormOptions', 'LocalResponseNormalizationOptions', 'LSTMOptions', 'ResizeBilinearOptions', 'CallOptions',
  'ReshapeOptions', 'SkipGramOptions', 'SpaceToDepthOptions', 'EmbeddingLookupSparseOptions', 'MulOptions',
  'PadOptions', 'GatherOptions', 'BatchToSpaceNDOptions', 'SpaceToBatchNDOptions', 'TransposeOptions',
  'ReducerOptions', 'SubOptions', 'DivOptions', 'SqueezeOptions', 'SequenceRNNOptions', 'StridedSliceOptions',
  'ExpOptions', 'TopKV2Options', 'SplitOptions', 'LogSoftmaxOptions', 'CastOptions', 'DequantizeOptions',
  'MaximumMinimumOptions', 'ArgMaxOptions', 'LessOptions', 'NegOptions', 'PadV2Options', 'GreaterOptions',
  'GreaterEqualOptions', 'LessEqualOptions', 'SelectOptions', 'SliceOptions', 'TransposeConvOptions',
  'SparseToDenseOptions', 'TileOptions', 'ExpandDimsOptions', 'EqualOptions', 'NotEqualOptions', 'ShapeOptions',
  'PowOptions', 'ArgMinOptions', 'FakeQuantOptions', 'PackOptions', 'LogicalOrOptions', 'OneHotOptions',
  'LogicalAndOptions', 'LogicalNotOptions', 'UnpackOptions', 'FloorDivOptions', 'SquareOptions',
  'ZerosLikeOptions', 'FillOptions', 'BidirectionalSequenceLSTMOptions', 'BidirectionalSequenceRNNOptions',
  'UnidirectionalSequenceLSTMOptions', 'FloorModOptions', 'RangeOptions', 'ResizeNearestNeighborOptions',
  'LeakyReluOptions', 'SquaredDifferenceOptions', 'MirrorPadOptions', 'AbsOptions', 'SplitVOptions',
  'UniqueOptions', 'ReverseV2Options', 'AddNOptions', 'GatherNdOptions', 'CosOptions', 'WhereOptions',
  'RankOptions', 'ReverseSequenceOptions', 'MatrixDiagOptions', 'QuantizeOptions', 'MatrixSetDiagOptions',
  'HardSwishOptions', 'IfOptions', 'WhileOptions', 'DepthToSpaceOptions', 'NonMaxSuppressionV4Options',
  'NonMaxSuppressionV5Options', 'ScatterNdOptions', 'SelectV2Options', 'DensifyOptions', 'SegmentSumOptions',
  'BatchMatMulOptions', 'CumsumOptions', 'CallOnceOptions', 'BroadcastToOptions', 'Rfft2dOptions',
  'Conv3DOptions', 'HashtableOptions', 'HashtableFindOptions', 'HashtableImportOptions', 'HashtableSizeOptions',
  'VarHandleOptions', 'ReadVariableOptions', 'AssignVariableOptions', 'RandomOptions', 'BucketizeOptions',
  'GeluOptions', 'DynamicUpdateSliceOptions', 'UnsortedSegmentProdOptions', 'UnsortedSegmentMaxOptions',
  'UnsortedSegmentMinOptions', 'UnsortedSegmentSumOptions', 'ATan2Options', 'SignOptions', 'BitcastOptions',
  'BitwiseXorOptions', 'RightShiftOptions',
] as const;
export type BuiltinOptionsType = (typeof BUILTIN_OPTIONS_TYPES)[number];

export function builtinOptionsTypeValue(type: string): number | undefined {
  const i = (BUILTIN_OPTIONS_TYPES as readonly string[]).indexOf(type);
  return i >= 0 ? i + 1 : undefined;
}

/** How one scalar or int-vector field of an options table is stored. */
export type FieldKind =
  | { kind: 'bool' }
  | { kind: 'int32' }
  | { kind: 'uint32' }
  | { kind: 'float32' }
  | { kind: 'int64' }
  | { kind: 'enum8'; values: readonly string[] }
  | { kind: 'int32[]' };

export interface FieldSpec {
  /** camelCase name in the in-memory model (schema.fbs uses snake_case). */
  name: string;
  type: FieldKind;
  /** The schema default; a field equal to it is omitted from the file, as flatc-generated code does. */
  default: number | boolean | string | null;
}

const bool = (name: string, dflt = false): FieldSpec => ({
  name,
  type: { kind: 'bool' },
  default: dflt,
});
const i32 = (name: string, dflt = 0): FieldSpec => ({
  name,
  type: { kind: 'int32' },
  default: dflt,
});
const u32 = (name: string): FieldSpec => ({ name, type: { kind: 'uint32' }, default: 0 });
const f32 = (name: string): FieldSpec => ({ name, type: { kind: 'float32' }, default: 0 });
const i64 = (name: string): FieldSpec => ({ name, type: { kind: 'int64' }, default: 0 });
const i32s = (name: string): FieldSpec => ({ name, type: { kind: 'int32[]' }, default: null });
const en = (name: string, values: readonly string[], dflt = 0): FieldSpec => ({
  name,
  type: { kind: 'enum8', values },
  default: values[dflt],
});
const padding = en('padding', PADDINGS);
const activation = en('fusedActivationFunction', ACTIVATIONS);
const tensorType = (name: string, dflt = 0) => en(name, TENSOR_TYPES, dflt);

/**
 * Fields of the option tables we model, in slot order. Tables not listed here are read as
 * `{ type, unmodelled: true }` and cannot be written back.
 */
// prettier-ignore
export const OPTION_FIELDS: Partial<Record<BuiltinOptionsType, readonly FieldSpec[]>> = {
  Conv2DOptions: [padding, i32('strideW'), i32('strideH'), activation, i32('dilationWFactor', 1),
    i32('dilationHFactor', 1), tensorType('quantizedBiasType')],
  DepthwiseConv2DOptions: [padding, i32('strideW'), i32('strideH'), i32('depthMultiplier'), activation,
    i32('dilationWFactor', 1), i32('dilationHFactor', 1)],
  Pool2DOptions: [padding, i32('strideW'), i32('strideH'), i32('filterWidth'), i32('filterHeight'), activation],
  FullyConnectedOptions: [activation, en('weightsFormat', FC_WEIGHTS_FORMATS), bool('keepNumDims'),
    bool('asymmetricQuantizeInputs'), tensorType('quantizedBiasType')],
  SoftmaxOptions: [f32('beta')],
  ConcatenationOptions: [i32('axis'), activation],
  AddOptions: [activation, bool('potScaleInt16', true)],
  SubOptions: [activation, bool('potScaleInt16', true)],
  MulOptions: [activation],
  DivOptions: [activation],
  L2NormOptions: [activation],
  ReshapeOptions: [i32s('newShape')],
  ReducerOptions: [bool('keepDims')],
  SqueezeOptions: [i32s('squeezeDims')],
  LeakyReluOptions: [f32('alpha')],
  StridedSliceOptions: [i32('beginMask'), i32('endMask'), i32('ellipsisMask'), i32('newAxisMask'),
    i32('shrinkAxisMask'), bool('offset')],
  ResizeBilinearOptions: [i32('newHeight'), i32('newWidth'), bool('alignCorners'), bool('halfPixelCenters')],
  ResizeNearestNeighborOptions: [bool('alignCorners'), bool('halfPixelCenters')],
  SpaceToDepthOptions: [i32('blockSize')],
  DepthToSpaceOptions: [i32('blockSize')],
  GatherOptions: [i32('axis'), i32('batchDims')],
  SplitOptions: [i32('numSplits')],
  SplitVOptions: [i32('numSplits')],
  CastOptions: [tensorType('inDataType'), tensorType('outDataType')],
  ArgMaxOptions: [tensorType('outputType')],
  ArgMinOptions: [tensorType('outputType')],
  PackOptions: [i32('valuesCount'), i32('axis')],
  UnpackOptions: [i32('num'), i32('axis')],
  TransposeConvOptions: [padding, i32('strideW'), i32('strideH'), activation, tensorType('quantizedBiasType')],
  ShapeOptions: [tensorType('outType')],
  MirrorPadOptions: [en('mode', MIRROR_PAD_MODES)],
  FakeQuantOptions: [f32('min'), f32('max'), i32('numBits'), bool('narrowRange')],
  BatchMatMulOptions: [bool('adjX'), bool('adjY'), bool('asymmetricQuantizeInputs')],
  GeluOptions: [bool('approximate')],
  CallOptions: [u32('subgraph')],
  IfOptions: [i32('thenSubgraphIndex'), i32('elseSubgraphIndex')],
  WhileOptions: [i32('condSubgraphIndex'), i32('bodySubgraphIndex')],
  CallOnceOptions: [i32('initSubgraphIndex')],
  RandomOptions: [i64('seed'), i64('seed2')],
  PadOptions: [], PadV2Options: [], TransposeOptions: [], ExpOptions: [], CosOptions: [], DequantizeOptions: [],
  QuantizeOptions: [], HardSwishOptions: [], MaximumMinimumOptions: [], TileOptions: [], ExpandDimsOptions: [],
  SliceOptions: [], LogSoftmaxOptions: [], TopKV2Options: [], SpaceToBatchNDOptions: [],
  BatchToSpaceNDOptions: [], AbsOptions: [], SquareOptions: [], NegOptions: [], LessOptions: [],
  GreaterOptions: [], EqualOptions: [], NotEqualOptions: [], SelectOptions: [], SelectV2Options: [],
  ZerosLikeOptions: [], FillOptions: [], RankOptions: [], PowOptions: [], GatherNdOptions: [],
  SquaredDifferenceOptions: [], BroadcastToOptions: [], SignOptions: [],
};

/** The options table the converter writes for each builtin op Quantbench builds. */
export const DEFAULT_OPTIONS_TYPE: Record<string, BuiltinOptionsType | undefined> = {
  CONV_2D: 'Conv2DOptions',
  DEPTHWISE_CONV_2D: 'DepthwiseConv2DOptions',
  FULLY_CONNECTED: 'FullyConnectedOptions',
  AVERAGE_POOL_2D: 'Pool2DOptions',
  MAX_POOL_2D: 'Pool2DOptions',
  L2_POOL_2D: 'Pool2DOptions',
  MEAN: 'ReducerOptions',
  SUM: 'ReducerOptions',
  REDUCE_MAX: 'ReducerOptions',
  REDUCE_MIN: 'ReducerOptions',
  REDUCE_PROD: 'ReducerOptions',
  ADD: 'AddOptions',
  SUB: 'SubOptions',
  MUL: 'MulOptions',
  DIV: 'DivOptions',
  CONCATENATION: 'ConcatenationOptions',
  PAD: 'PadOptions',
  PADV2: 'PadV2Options',
  RESHAPE: 'ReshapeOptions',
  SOFTMAX: 'SoftmaxOptions',
  LEAKY_RELU: 'LeakyReluOptions',
  HARD_SWISH: 'HardSwishOptions',
  QUANTIZE: 'QuantizeOptions',
  DEQUANTIZE: 'DequantizeOptions',
  SQUEEZE: 'SqueezeOptions',
  STRIDED_SLICE: 'StridedSliceOptions',
  TRANSPOSE: 'TransposeOptions',
};
