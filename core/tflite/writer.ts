import { Builder } from 'flatbuffers';
import { TfliteWriteError } from './errors';
import type {
  BuiltinOptions,
  TfliteModel,
  TfliteOperator,
  TfliteQuantization,
  TfliteSignatureDef,
  TfliteSubgraph,
  TfliteTensor,
} from './model';
import {
  OPTION_FIELDS,
  PLACEHOLDER_FOR_GREATER_OP_CODES,
  TENSOR_TYPES,
  TFLITE_FILE_IDENTIFIER,
  builtinOptionsTypeValue,
  type BuiltinOptionsType,
} from './schema';

/** The alignment schema.fbs asks for Buffer.data (force_align: 16), so kernels may read weights in place. */
const BUFFER_ALIGNMENT = 16;

/**
 * Serialises a model as a standard .tflite flatbuffer ("TFL3"). Buffer data is written first,
 * so it sits at the end of the file, 16-byte aligned, as the TFLite converter lays it out.
 */
export function writeTflite(model: TfliteModel): Uint8Array {
  validate(model);
  const dataBytes = model.buffers.reduce((n, b) => n + b.byteLength + BUFFER_ALIGNMENT, 0);
  const b = new Builder(dataBytes + 65536);

  const buffers = model.buffers.map((data) => {
    let dataOffset = 0;
    if (data.byteLength > 0) {
      b.startVector(1, data.byteLength, BUFFER_ALIGNMENT);
      for (let i = data.byteLength - 1; i >= 0; i--) b.addInt8(data[i]);
      dataOffset = b.endVector();
    }
    b.startObject(3);
    if (dataOffset) b.addFieldOffset(0, dataOffset, 0);
    return b.endObject();
  });
  const buffersVector = offsetVector(b, buffers);

  const subgraphs = offsetVector(
    b,
    model.subgraphs.map((sg) => writeSubgraph(b, sg)),
  );

  const operatorCodes = offsetVector(
    b,
    model.operatorCodes.map((code) => {
      const custom = code.customCode !== undefined ? b.createString(code.customCode) : 0;
      b.startObject(4);
      b.addFieldInt8(0, Math.min(code.builtinCode, PLACEHOLDER_FOR_GREATER_OP_CODES), 0);
      if (custom) b.addFieldOffset(1, custom, 0);
      b.addFieldInt32(2, code.version, 1);
      b.addFieldInt32(3, code.builtinCode, 0);
      return b.endObject();
    }),
  );

  const metadata = offsetVector(
    b,
    model.metadata.map((m) => {
      const name = b.createString(m.name);
      b.startObject(2);
      b.addFieldOffset(0, name, 0);
      b.addFieldInt32(1, m.buffer, 0);
      return b.endObject();
    }),
  );
  const signatureDefs = offsetVector(
    b,
    model.signatureDefs.map((s) => writeSignatureDef(b, s)),
  );
  const description = b.createString(model.description);
  const metadataBuffer = model.metadataBuffer.length ? int32Vector(b, model.metadataBuffer) : 0;

  b.startObject(8);
  b.addFieldInt32(0, model.version, 0);
  b.addFieldOffset(1, operatorCodes, 0);
  b.addFieldOffset(2, subgraphs, 0);
  b.addFieldOffset(3, description, 0);
  b.addFieldOffset(4, buffersVector, 0);
  if (metadataBuffer) b.addFieldOffset(5, metadataBuffer, 0);
  if (model.metadata.length) b.addFieldOffset(6, metadata, 0);
  if (model.signatureDefs.length) b.addFieldOffset(7, signatureDefs, 0);
  b.finish(b.endObject(), TFLITE_FILE_IDENTIFIER);
  return b.asUint8Array().slice();
}

function writeSubgraph(b: Builder, sg: TfliteSubgraph): number {
  const tensors = offsetVector(
    b,
    sg.tensors.map((t) => writeTensor(b, t)),
  );
  const inputs = int32Vector(b, sg.inputs);
  const outputs = int32Vector(b, sg.outputs);
  const operators = offsetVector(
    b,
    sg.operators.map((op) => writeOperator(b, op)),
  );
  const name = b.createString(sg.name);
  b.startObject(5);
  b.addFieldOffset(0, tensors, 0);
  b.addFieldOffset(1, inputs, 0);
  b.addFieldOffset(2, outputs, 0);
  b.addFieldOffset(3, operators, 0);
  b.addFieldOffset(4, name, 0);
  return b.endObject();
}

function writeTensor(b: Builder, t: TfliteTensor): number {
  const shape = int32Vector(b, t.shape);
  const name = b.createString(t.name);
  const quantization = t.quantization ? writeQuantization(b, t.quantization) : 0;
  const signature = t.shapeSignature ? int32Vector(b, t.shapeSignature) : 0;
  b.startObject(10);
  b.addFieldOffset(0, shape, 0);
  b.addFieldInt8(1, TENSOR_TYPES.indexOf(t.type), 0);
  b.addFieldInt32(2, t.buffer, 0);
  b.addFieldOffset(3, name, 0);
  if (quantization) b.addFieldOffset(4, quantization, 0);
  b.addFieldInt8(5, t.isVariable ? 1 : 0, 0);
  if (signature) b.addFieldOffset(7, signature, 0);
  b.addFieldInt8(8, t.hasRank ? 1 : 0, 0);
  return b.endObject();
}

function writeQuantization(b: Builder, q: TfliteQuantization): number {
  const min = q.min ? float32Vector(b, q.min) : 0;
  const max = q.max ? float32Vector(b, q.max) : 0;
  const scale = float32Vector(b, q.scale);
  b.startVector(8, q.zeroPoint.length, 8);
  for (let i = q.zeroPoint.length - 1; i >= 0; i--) b.addInt64(BigInt(q.zeroPoint[i]));
  const zeroPoint = b.endVector();
  b.startObject(7);
  if (min) b.addFieldOffset(0, min, 0);
  if (max) b.addFieldOffset(1, max, 0);
  b.addFieldOffset(2, scale, 0);
  b.addFieldOffset(3, zeroPoint, 0);
  b.addFieldInt32(6, q.quantizedDimension, 0);
  return b.endObject();
}

function writeOperator(b: Builder, op: TfliteOperator): number {
  const inputs = int32Vector(b, op.inputs);
  const outputs = int32Vector(b, op.outputs);
  const options = op.options ? writeOptions(b, op.options) : null;
  const custom = op.customOptions ? b.createByteVector(op.customOptions) : 0;
  const intermediates = op.intermediates ? int32Vector(b, op.intermediates) : 0;
  b.startObject(9);
  b.addFieldInt32(0, op.opcodeIndex, 0);
  b.addFieldOffset(1, inputs, 0);
  b.addFieldOffset(2, outputs, 0);
  if (options) {
    b.addFieldInt8(3, options.typeValue, 0);
    b.addFieldOffset(4, options.offset, 0);
  }
  if (custom) b.addFieldOffset(5, custom, 0);
  if (intermediates) b.addFieldOffset(8, intermediates, 0);
  return b.endObject();
}

function writeOptions(b: Builder, options: BuiltinOptions): { typeValue: number; offset: number } {
  const typeValue = builtinOptionsTypeValue(options.type);
  const fields = OPTION_FIELDS[options.type as BuiltinOptionsType];
  if (typeValue === undefined || !fields) {
    throw new TfliteWriteError(`options table ${options.type} is not supported by the writer`);
  }
  const values = options as unknown as Record<string, unknown>;
  // Vectors must be finished before the table that refers to them is started.
  const vectors = fields.map((f) => {
    const v = values[f.name];
    return f.type.kind === 'int32[]' && Array.isArray(v) ? int32Vector(b, v as number[]) : 0;
  });
  b.startObject(fields.length);
  fields.forEach((field, slot) => {
    const value = values[field.name] ?? field.default;
    const where = `${options.type}.${field.name}`;
    switch (field.type.kind) {
      case 'bool':
        b.addFieldInt8(slot, value ? 1 : 0, field.default ? 1 : 0);
        break;
      case 'int32':
      case 'uint32':
        b.addFieldInt32(slot, number(value, where), field.default as number);
        break;
      case 'float32':
        b.addFieldFloat32(slot, number(value, where), field.default as number);
        break;
      case 'int64':
        b.addFieldInt64(slot, BigInt(value as bigint | number), 0n);
        break;
      case 'int32[]':
        if (vectors[slot]) b.addFieldOffset(slot, vectors[slot], 0);
        break;
      case 'enum8': {
        const index = field.type.values.indexOf(value as string);
        if (index < 0)
          throw new TfliteWriteError(
            `${where} is ${JSON.stringify(value)}; expected one of ${field.type.values.join(', ')}`,
          );
        b.addFieldInt8(slot, index, field.type.values.indexOf(field.default as string));
        break;
      }
    }
  });
  return { typeValue, offset: b.endObject() };
}

function writeSignatureDef(b: Builder, s: TfliteSignatureDef): number {
  const maps = (list: TfliteSignatureDef['inputs']) =>
    offsetVector(
      b,
      list.map((m) => {
        const name = b.createString(m.name);
        b.startObject(2);
        b.addFieldOffset(0, name, 0);
        b.addFieldInt32(1, m.tensorIndex, 0);
        return b.endObject();
      }),
    );
  const inputs = maps(s.inputs);
  const outputs = maps(s.outputs);
  const key = b.createString(s.signatureKey);
  b.startObject(5);
  b.addFieldOffset(0, inputs, 0);
  b.addFieldOffset(1, outputs, 0);
  b.addFieldOffset(2, key, 0);
  b.addFieldInt32(4, s.subgraphIndex, 0);
  return b.endObject();
}

function number(value: unknown, where: string): number {
  if (typeof value !== 'number' || Number.isNaN(value))
    throw new TfliteWriteError(`${where} must be a number, got ${JSON.stringify(value)}`);
  return value;
}

function offsetVector(b: Builder, offsets: number[]): number {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
  return b.endVector();
}

function int32Vector(b: Builder, values: number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]);
  return b.endVector();
}

function float32Vector(b: Builder, values: number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addFloat32(values[i]);
  return b.endVector();
}

function validate(model: TfliteModel): void {
  const buffers = model.buffers.length;
  if (buffers === 0 || model.buffers[0].byteLength !== 0) {
    throw new TfliteWriteError(
      'buffer 0 must exist and be empty (tensors without data refer to it)',
    );
  }
  if (model.subgraphs.length === 0) throw new TfliteWriteError('the model has no subgraphs');
  model.subgraphs.forEach((sg, s) => {
    sg.tensors.forEach((t, i) => {
      if (!Number.isInteger(t.buffer) || t.buffer < 0 || t.buffer >= buffers) {
        throw new TfliteWriteError(
          `tensor ${i} (${t.name}) of subgraph ${s} uses buffer ${t.buffer}, but the model has ${buffers}`,
        );
      }
      if (!TENSOR_TYPES.includes(t.type))
        throw new TfliteWriteError(`tensor ${i} (${t.name}) has unknown type ${t.type}`);
      const q = t.quantization;
      if (q && q.scale.length !== q.zeroPoint.length) {
        throw new TfliteWriteError(
          `tensor ${i} (${t.name}) has ${q.scale.length} scales but ${q.zeroPoint.length} zero points`,
        );
      }
    });
    const checkList = (list: number[], what: string, optional: boolean) => {
      for (const index of list) {
        if (!Number.isInteger(index) || index >= sg.tensors.length || index < (optional ? -1 : 0)) {
          throw new TfliteWriteError(
            `${what} refers to tensor ${index}, but subgraph ${s} has ${sg.tensors.length}`,
          );
        }
      }
    };
    checkList(sg.inputs, `subgraph ${s} inputs`, false);
    checkList(sg.outputs, `subgraph ${s} outputs`, false);
    sg.operators.forEach((op, i) => {
      if (!model.operatorCodes[op.opcodeIndex]) {
        throw new TfliteWriteError(
          `operator ${i} (${op.op}) of subgraph ${s} uses operator code ${op.opcodeIndex}, but the model has ${model.operatorCodes.length}`,
        );
      }
      checkList(op.inputs, `operator ${i} (${op.op}) inputs`, true);
      checkList(op.outputs, `operator ${i} (${op.op}) outputs`, false);
    });
  });
}
