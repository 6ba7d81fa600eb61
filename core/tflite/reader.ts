import { QuantbenchError } from '../errors';
import { TfliteFormatError } from './errors';
import { FlatbufferBoundsError, FlatbufferView, type Table } from './flatbuffer-view';
import type {
  BuiltinOptions,
  TfliteModel,
  TfliteOperator,
  TfliteOperatorCode,
  TfliteQuantization,
  TfliteSignatureDef,
  TfliteSubgraph,
  TfliteTensor,
} from './model';
import {
  BUILTIN_OPTIONS_TYPES,
  OPTION_FIELDS,
  TENSOR_TYPES,
  TFLITE_FILE_IDENTIFIER,
  builtinOperatorName,
  type FieldSpec,
} from './schema';

export interface ReadOptions {
  /** Names the file in error messages. */
  source?: string;
}

/** Parses a .tflite flatbuffer; throws TfliteFormatError for anything that is not a valid model. */
export function readTflite(bytes: Uint8Array, options: ReadOptions = {}): TfliteModel {
  const source = options.source ?? '.tflite data';
  try {
    return decodeModel(bytes);
  } catch (error) {
    if (error instanceof QuantbenchError) throw error;
    if (error instanceof FlatbufferBoundsError || error instanceof FormatProblem) {
      throw new TfliteFormatError(source, error.message);
    }
    // Anything else (a RangeError from a typed array, say) is still a corrupt file, not a crash.
    throw new TfliteFormatError(source, error instanceof Error ? error.message : String(error));
  }
}

class FormatProblem extends Error {}

function problem(message: string): never {
  throw new FormatProblem(message);
}

function decodeModel(bytes: Uint8Array): TfliteModel {
  if (bytes.byteLength < 8) problem(`only ${bytes.byteLength} bytes`);
  const identifier = String.fromCharCode(bytes[4], bytes[5], bytes[6], bytes[7]);
  if (identifier !== TFLITE_FILE_IDENTIFIER) {
    problem(
      `file identifier is ${JSON.stringify(identifier)}, expected "${TFLITE_FILE_IDENTIFIER}"`,
    );
  }
  const fb = new FlatbufferView(bytes);
  const root = fb.rootTable();

  const operatorCodes = root.tables(1, 'operator_codes').map(readOperatorCode);
  const buffers = root.tables(4, 'buffers').map((t, i) => readBuffer(fb, t, i));
  const model: TfliteModel = {
    version: root.u32(0),
    description: root.string(3, 'description') ?? '',
    operatorCodes,
    subgraphs: [],
    buffers,
    metadataBuffer: root.i32s(5, 'metadata_buffer') ?? [],
    metadata: root.tables(6, 'metadata').map((t, i) => ({
      name: t.string(0, `metadata[${i}].name`) ?? '',
      buffer: t.u32(1),
    })),
    signatureDefs: root.tables(7, 'signature_defs').map(readSignatureDef),
  };
  model.subgraphs = root.tables(2, 'subgraphs').map((t, i) => readSubgraph(t, i, model));
  if (model.subgraphs.length === 0) problem('the model has no subgraphs');
  validateIndices(model);
  return model;
}

function readOperatorCode(t: Table, i: number): TfliteOperatorCode {
  // Files from before the int32 builtin_code field only set the int8 one; newer files set both.
  const builtinCode = Math.max(t.i8(0), t.i32(3));
  const customCode = t.string(1, `operator_codes[${i}].custom_code`) ?? undefined;
  const code: TfliteOperatorCode = {
    name:
      customCode !== undefined && builtinOperatorName(builtinCode) === 'CUSTOM'
        ? customCode
        : builtinOperatorName(builtinCode),
    builtinCode,
    version: t.i32(2, 1),
  };
  if (customCode !== undefined) code.customCode = customCode;
  return code;
}

function readBuffer(fb: FlatbufferView, t: Table, i: number): Uint8Array {
  const data = t.bytes(0, `buffers[${i}].data`);
  if (data && data.length > 0) return data;
  // Models over 2 GB keep buffer data after the flatbuffer and point at it with offset/size.
  const offset = t.u64(1);
  const size = t.u64(2);
  if (offset > 1n) {
    const end = offset + size;
    if (end > BigInt(fb.bytes.byteLength))
      problem(`buffers[${i}] points past the end of the file (offset ${offset}, size ${size})`);
    fb.spend(Number(size), `buffers[${i}]`);
    return fb.bytes.slice(Number(offset), Number(end));
  }
  return data ?? new Uint8Array(0);
}

function readSignatureDef(t: Table, i: number): TfliteSignatureDef {
  const maps = (slot: number, what: string) =>
    t.tables(slot, `signature_defs[${i}].${what}`).map((m, j) => ({
      name: m.string(0, `signature_defs[${i}].${what}[${j}].name`) ?? '',
      tensorIndex: m.u32(1),
    }));
  return {
    signatureKey: t.string(2, `signature_defs[${i}].signature_key`) ?? '',
    subgraphIndex: t.u32(4),
    inputs: maps(0, 'inputs'),
    outputs: maps(1, 'outputs'),
  };
}

function readSubgraph(t: Table, index: number, model: TfliteModel): TfliteSubgraph {
  const where = `subgraphs[${index}]`;
  return {
    name: t.string(4, `${where}.name`) ?? '',
    tensors: t
      .tables(0, `${where}.tensors`)
      .map((tt, i) => readTensor(tt, `${where}.tensors[${i}]`)),
    inputs: t.i32s(1, `${where}.inputs`) ?? [],
    outputs: t.i32s(2, `${where}.outputs`) ?? [],
    operators: t
      .tables(3, `${where}.operators`)
      .map((ot, i) => readOperator(ot, `${where}.operators[${i}]`, model)),
  };
}

function readTensor(t: Table, where: string): TfliteTensor {
  const typeValue = t.i8(1);
  const type = TENSOR_TYPES[typeValue];
  if (type === undefined) problem(`${where} has unknown tensor type ${typeValue}`);
  const tensor: TfliteTensor = {
    name: t.string(3, `${where}.name`) ?? '',
    shape: t.i32s(0, `${where}.shape`) ?? [],
    type,
    buffer: t.u32(2),
    isVariable: t.bool(5),
  };
  const q = t.table(4, `${where}.quantization`);
  if (q) {
    const quantization = readQuantization(q, where);
    if (quantization) tensor.quantization = quantization;
  }
  if (t.has(6)) problem(`${where} is a sparse tensor; sparse storage is not supported`);
  const signature = t.i32s(7, `${where}.shape_signature`);
  if (signature) tensor.shapeSignature = signature;
  if (t.bool(8)) tensor.hasRank = true;
  return tensor;
}

function readQuantization(q: Table, where: string): TfliteQuantization | undefined {
  const scale = q.f32s(2, `${where}.quantization.scale`) ?? [];
  const zeroPoint = (q.i64s(3, `${where}.quantization.zero_point`) ?? []).map((z) => {
    if (z > 2147483647n || z < -2147483648n) problem(`${where} has zero point ${z} outside int32`);
    return Number(z);
  });
  const min = q.f32s(0, `${where}.quantization.min`);
  const max = q.f32s(1, `${where}.quantization.max`);
  if (q.u8(4) !== 0) problem(`${where} uses custom quantization details, which are not supported`);
  // The converter writes an empty QuantizationParameters table for float tensors.
  if (scale.length === 0 && zeroPoint.length === 0 && !min && !max) return undefined;
  const quantization: TfliteQuantization = { scale, zeroPoint, quantizedDimension: q.i32(6) };
  if (min) quantization.min = min;
  if (max) quantization.max = max;
  return quantization;
}

function readOperator(t: Table, where: string, model: TfliteModel): TfliteOperator {
  const opcodeIndex = t.u32(0);
  const code = model.operatorCodes[opcodeIndex];
  if (!code)
    problem(
      `${where} uses operator code ${opcodeIndex}, but the model has ${model.operatorCodes.length}`,
    );
  const op: TfliteOperator = {
    opcodeIndex,
    op: code.name,
    inputs: t.i32s(1, `${where}.inputs`) ?? [],
    outputs: t.i32s(2, `${where}.outputs`) ?? [],
    options: readOptions(t, where),
  };
  const custom = t.bytes(5, `${where}.custom_options`);
  if (custom) op.customOptions = custom;
  const intermediates = t.i32s(8, `${where}.intermediates`);
  if (intermediates) op.intermediates = intermediates;
  return op;
}

function readOptions(t: Table, where: string): BuiltinOptions | null {
  const typeValue = t.u8(3);
  if (typeValue === 0) return null;
  const type = BUILTIN_OPTIONS_TYPES[typeValue - 1];
  if (!type) problem(`${where} has unknown builtin options type ${typeValue}`);
  const table = t.table(4, `${where}.builtin_options`);
  const fields = OPTION_FIELDS[type];
  if (!fields) return { type, unmodelled: true };
  const options: Record<string, unknown> = { type };
  fields.forEach((field, slot) => {
    options[field.name] = table
      ? readField(table, slot, field, `${where}.${type}.${field.name}`)
      : field.default;
  });
  return options as BuiltinOptions;
}

function readField(t: Table, slot: number, field: FieldSpec, where: string): unknown {
  const type = field.type;
  switch (type.kind) {
    case 'bool':
      return t.bool(slot, field.default as boolean);
    case 'int32':
      return t.i32(slot, field.default as number);
    case 'uint32':
      return t.u32(slot, field.default as number);
    case 'float32':
      return t.f32(slot, field.default as number);
    case 'int64':
      return t.i64(slot);
    case 'int32[]':
      return t.i32s(slot, where);
    case 'enum8': {
      const value = t.has(slot) ? t.i8(slot) : type.values.indexOf(field.default as string);
      const name = type.values[value];
      if (name === undefined) problem(`${where} has unknown value ${value}`);
      return name;
    }
  }
}

function validateIndices(model: TfliteModel): void {
  const buffers = model.buffers.length;
  model.subgraphs.forEach((sg, s) => {
    const count = sg.tensors.length;
    sg.tensors.forEach((tensor, i) => {
      if (tensor.buffer >= buffers)
        problem(
          `subgraphs[${s}].tensors[${i}] (${tensor.name}) uses buffer ${tensor.buffer}, but the model has ${buffers}`,
        );
      if (tensor.shape.some((d) => d < 0))
        problem(
          `subgraphs[${s}].tensors[${i}] (${tensor.name}) has a negative dimension in shape [${tensor.shape}]`,
        );
    });
    const checkList = (list: number[], what: string, optional: boolean) => {
      for (const index of list) {
        if (index >= count || index < (optional ? -1 : 0))
          problem(`${what} refers to tensor ${index}, but subgraph ${s} has ${count}`);
      }
    };
    checkList(sg.inputs, `subgraphs[${s}].inputs`, false);
    checkList(sg.outputs, `subgraphs[${s}].outputs`, false);
    sg.operators.forEach((op, i) => {
      checkList(op.inputs, `subgraphs[${s}].operators[${i}] (${op.op}) inputs`, true);
      checkList(op.outputs, `subgraphs[${s}].operators[${i}] (${op.op}) outputs`, false);
      if (op.intermediates)
        checkList(op.intermediates, `subgraphs[${s}].operators[${i}] intermediates`, false);
    });
  });
  for (const m of model.metadata) {
    if (m.buffer >= buffers)
      problem(`metadata "${m.name}" uses buffer ${m.buffer}, but the model has ${buffers}`);
  }
  for (const sig of model.signatureDefs) {
    const sg = model.subgraphs[sig.subgraphIndex];
    if (!sg)
      problem(
        `signature "${sig.signatureKey}" refers to subgraph ${sig.subgraphIndex}, but the model has ${model.subgraphs.length}`,
      );
    for (const m of [...sig.inputs, ...sig.outputs]) {
      if (m.tensorIndex >= sg.tensors.length)
        problem(
          `signature "${sig.signatureKey}" maps "${m.name}" to tensor ${m.tensorIndex}, but subgraph ${sig.subgraphIndex} has ${sg.tensors.length}`,
        );
    }
  }
}
