export { readTflite, type ReadOptions } from './reader';
export { writeTflite } from './writer';
export { readTfliteFile, writeTfliteFile, TfliteFileError } from './file';
export { TfliteModelBuilder, type TensorSpec } from './builder';
export {
  inspectTflite,
  formatInspection,
  type TfliteInspection,
  type OpSummary,
  type TensorSummary,
} from './inspect';
export { TfliteFormatError, TfliteWriteError } from './errors';
export * from './model';
export {
  TENSOR_TYPES,
  TENSOR_TYPE_BYTES,
  BUILTIN_OPERATORS,
  BUILTIN_OPTIONS_TYPES,
  OPTION_FIELDS,
  builtinOperatorName,
  builtinOperatorCode,
  type TensorType,
  type Padding,
  type Activation,
} from './schema';
