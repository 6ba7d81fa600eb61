import { TfliteWriteError } from './errors';
import type {
  BuiltinOptions,
  TfliteModel,
  TfliteQuantization,
  TfliteSubgraph,
  TfliteTensor,
} from './model';
import {
  DEFAULT_OPTIONS_TYPE,
  OPTION_FIELDS,
  TFLITE_SCHEMA_VERSION,
  builtinOperatorCode,
  type BuiltinOptionsType,
  type TensorType,
} from './schema';
import { writeTflite } from './writer';

export interface TensorSpec {
  name: string;
  shape: number[];
  type: TensorType;
  /** Constant data (weights, bias, shape operands); stored little-endian in a new buffer. */
  data?: ArrayBufferView;
  quantization?: Partial<TfliteQuantization> & { scale: number[]; zeroPoint: number[] };
}

/**
 * Builds a single-subgraph model op by op, for code that constructs graphs (the compression
 * engine, tests). Options not given take the schema defaults of the op's usual options table.
 */
export class TfliteModelBuilder {
  private readonly model: TfliteModel;
  private readonly graph: TfliteSubgraph;
  private readonly opcodeIndex = new Map<string, number>();

  constructor(options: { description?: string; subgraphName?: string } = {}) {
    this.graph = {
      name: options.subgraphName ?? 'main',
      tensors: [],
      inputs: [],
      outputs: [],
      operators: [],
    };
    this.model = {
      version: TFLITE_SCHEMA_VERSION,
      description: options.description ?? 'Quantbench',
      operatorCodes: [],
      subgraphs: [this.graph],
      buffers: [new Uint8Array(0)],
      metadataBuffer: [],
      metadata: [],
      signatureDefs: [],
    };
  }

  /** Adds a data buffer and returns its index. */
  addBuffer(data: ArrayBufferView): number {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    this.model.buffers.push(bytes);
    return this.model.buffers.length - 1;
  }

  /** Adds a tensor (with a new buffer when `data` is given) and returns its index. */
  addTensor(spec: TensorSpec): number {
    const tensor: TfliteTensor = {
      name: spec.name,
      shape: [...spec.shape],
      type: spec.type,
      buffer: spec.data ? this.addBuffer(spec.data) : 0,
      isVariable: false,
    };
    if (spec.quantization) {
      const q = spec.quantization;
      if (q.scale.length !== q.zeroPoint.length) {
        throw new TfliteWriteError(
          `tensor ${spec.name}: ${q.scale.length} scales but ${q.zeroPoint.length} zero points`,
        );
      }
      tensor.quantization = {
        scale: [...q.scale],
        zeroPoint: [...q.zeroPoint],
        quantizedDimension: q.quantizedDimension ?? 0,
      };
      if (q.min) tensor.quantization.min = [...q.min];
      if (q.max) tensor.quantization.max = [...q.max];
    }
    this.graph.tensors.push(tensor);
    return this.graph.tensors.length - 1;
  }

  /**
   * Appends an operator. `options` fills fields of the op's options table (for ops with
   * several possible tables, pass `type`); omitted fields take schema defaults.
   */
  addOperator(
    op: string,
    inputs: number[],
    outputs: number[],
    options: Record<string, unknown> & { type?: string } = {},
    version = 1,
  ): number {
    const builtinCode = builtinOperatorCode(op);
    if (builtinCode === undefined) throw new TfliteWriteError(`unknown builtin operator ${op}`);
    let opcodeIndex = this.opcodeIndex.get(op);
    if (opcodeIndex === undefined) {
      opcodeIndex = this.model.operatorCodes.length;
      this.model.operatorCodes.push({ name: op, builtinCode, version });
      this.opcodeIndex.set(op, opcodeIndex);
    }
    this.graph.operators.push({
      opcodeIndex,
      op,
      inputs: [...inputs],
      outputs: [...outputs],
      options: this.options(op, options),
    });
    return this.graph.operators.length - 1;
  }

  private options(
    op: string,
    given: Record<string, unknown> & { type?: string },
  ): BuiltinOptions | null {
    const type = (given.type ?? DEFAULT_OPTIONS_TYPE[op]) as BuiltinOptionsType | undefined;
    if (!type) {
      if (Object.keys(given).length)
        throw new TfliteWriteError(`${op} takes no options, got ${Object.keys(given).join(', ')}`);
      return null;
    }
    const fields = OPTION_FIELDS[type];
    if (!fields) throw new TfliteWriteError(`options table ${type} is not supported by the writer`);
    const known = new Set(fields.map((f) => f.name));
    for (const key of Object.keys(given)) {
      if (key !== 'type' && !known.has(key))
        throw new TfliteWriteError(
          `${op}: ${type} has no field ${key} (fields: ${[...known].join(', ')})`,
        );
    }
    const options: Record<string, unknown> = { type };
    for (const f of fields) options[f.name] = given[f.name] ?? f.default;
    return options as BuiltinOptions;
  }

  setInputs(...tensors: number[]): this {
    this.graph.inputs = tensors;
    return this;
  }

  setOutputs(...tensors: number[]): this {
    this.graph.outputs = tensors;
    return this;
  }

  /** Adds a "serving_default" signature naming the subgraph inputs and outputs by tensor name. */
  addDefaultSignature(): this {
    const map = (i: number) => ({ name: this.graph.tensors[i].name, tensorIndex: i });
    this.model.signatureDefs.push({
      signatureKey: 'serving_default',
      subgraphIndex: 0,
      inputs: this.graph.inputs.map(map),
      outputs: this.graph.outputs.map(map),
    });
    return this;
  }

  /** Records the oldest TFLite runtime version able to run the model, as the converter does. */
  setMinRuntimeVersion(version: string): this {
    const bytes = new TextEncoder().encode(version);
    this.model.metadata.push({ name: 'min_runtime_version', buffer: this.addBuffer(bytes) });
    return this;
  }

  build(): TfliteModel {
    return this.model;
  }

  toBytes(): Uint8Array {
    return writeTflite(this.model);
  }
}
