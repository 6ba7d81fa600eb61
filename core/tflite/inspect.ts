import type { TfliteModel, TfliteOperator, TfliteQuantization, TfliteTensor } from './model';
import type { TensorType } from './schema';

export interface TensorSummary {
  index: number;
  name: string;
  shape: number[];
  dtype: TensorType;
  /** True for tensors whose values are stored in the file (weights, biases, shape operands). */
  constant: boolean;
  /** Bytes of stored data (0 for activations). */
  bytes: number;
  quantization: (TfliteQuantization & { perAxis: boolean }) | null;
}

export interface OpSummary {
  index: number;
  op: string;
  version: number;
  inputs: number[];
  outputs: number[];
  /** Option fields without the `type` tag. */
  options: Record<string, unknown> | null;
  /** Elements of constant inputs (weights and biases). */
  params: number;
  /**
   * Multiply-accumulates of one inference: conv, depthwise conv and fully connected count
   * MACs; pooling and MEAN count one per element summed or compared; elementwise arithmetic
   * one per output element; data movement (RESHAPE, PAD, CONCATENATION, QUANTIZE...) zero.
   */
  macs: number;
}

export interface TfliteInspection {
  description: string;
  schemaVersion: number;
  minRuntimeVersion: string | null;
  inputs: number[];
  outputs: number[];
  ops: OpSummary[];
  tensors: TensorSummary[];
  totals: { ops: number; params: number; macs: number; weightBytes: number };
  /** Bytes of working memory the int8 runtime plans for this model; filled by the caller that loaded it. */
  arenaBytes: number | null;
}

const elements = (shape: number[]) => shape.reduce((n, d) => n * d, 1);

/** Describes the main subgraph: what runs, on which tensors, with what cost. */
export function inspectTflite(model: TfliteModel): TfliteInspection {
  const graph = model.subgraphs[0];
  const tensors = graph.tensors.map((t, index) => summariseTensor(model, t, index));
  const ops = graph.operators.map((op, index) =>
    summariseOp(model, op, index, graph.tensors, tensors),
  );
  const constantBuffers = new Set(
    graph.tensors.filter((t) => model.buffers[t.buffer]?.byteLength).map((t) => t.buffer),
  );
  const weightBytes = [...constantBuffers].reduce((n, b) => n + model.buffers[b].byteLength, 0);
  const runtime = model.metadata.find((m) => m.name === 'min_runtime_version');
  return {
    description: model.description,
    schemaVersion: model.version,
    minRuntimeVersion: runtime ? decodeCString(model.buffers[runtime.buffer]) : null,
    inputs: graph.inputs,
    outputs: graph.outputs,
    ops,
    tensors,
    totals: {
      ops: ops.length,
      params: ops.reduce((n, o) => n + o.params, 0),
      macs: ops.reduce((n, o) => n + o.macs, 0),
      weightBytes,
    },
    arenaBytes: null,
  };
}

function decodeCString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end >= 0 ? bytes.subarray(0, end) : bytes);
}

function summariseTensor(model: TfliteModel, t: TfliteTensor, index: number): TensorSummary {
  const bytes = model.buffers[t.buffer]?.byteLength ?? 0;
  return {
    index,
    name: t.name,
    shape: t.shape,
    dtype: t.type,
    constant: bytes > 0,
    bytes,
    quantization: t.quantization
      ? { ...t.quantization, perAxis: t.quantization.scale.length > 1 }
      : null,
  };
}

function summariseOp(
  model: TfliteModel,
  op: TfliteOperator,
  index: number,
  tensors: TfliteTensor[],
  summaries: TensorSummary[],
): OpSummary {
  const input = (i: number) => (op.inputs[i] >= 0 ? tensors[op.inputs[i]] : undefined);
  const outElements = op.outputs.length ? elements(tensors[op.outputs[0]].shape) : 0;
  const params = op.inputs.reduce(
    (n, i) => (i >= 0 && summaries[i].constant ? n + elements(summaries[i].shape) : n),
    0,
  );
  const options = op.options
    ? Object.fromEntries(Object.entries(op.options).filter(([k]) => k !== 'type'))
    : null;
  return {
    index,
    op: op.op,
    version: model.operatorCodes[op.opcodeIndex].version,
    inputs: op.inputs,
    outputs: op.outputs,
    options,
    params,
    macs: macsOf(op, input, outElements, options),
  };
}

function macsOf(
  op: TfliteOperator,
  input: (i: number) => TfliteTensor | undefined,
  outElements: number,
  options: Record<string, unknown> | null,
): number {
  const filter = input(1)?.shape ?? [];
  switch (op.op) {
    case 'CONV_2D': // filter [out, kh, kw, in]
      return filter.length === 4 ? outElements * filter[1] * filter[2] * filter[3] : 0;
    case 'DEPTHWISE_CONV_2D': // filter [1, kh, kw, out]
      return filter.length === 4 ? outElements * filter[1] * filter[2] : 0;
    case 'TRANSPOSE_CONV': // inputs: output shape, filter [out, kh, kw, in], input
      return input(2) && filter.length === 4
        ? elements(input(2)!.shape) * filter[0] * filter[1] * filter[2]
        : 0;
    case 'FULLY_CONNECTED': // weights [out, in]
      return filter.length >= 2 ? outElements * filter[filter.length - 1] : 0;
    case 'AVERAGE_POOL_2D':
    case 'MAX_POOL_2D':
    case 'L2_POOL_2D':
      return outElements * Number(options?.filterWidth ?? 0) * Number(options?.filterHeight ?? 0);
    case 'MEAN':
    case 'SUM':
      return input(0) ? elements(input(0)!.shape) : 0;
    case 'ADD':
    case 'SUB':
    case 'MUL':
    case 'DIV':
    case 'SQUARED_DIFFERENCE':
      return outElements;
    default:
      return 0;
  }
}

/** The inspection as text for a terminal: ops with their costs, then tensors. */
export function formatInspection(inspection: TfliteInspection): string {
  const lines: string[] = [];
  const t = inspection.totals;
  lines.push(
    `schema v${inspection.schemaVersion}` +
      (inspection.minRuntimeVersion ? `, min runtime ${inspection.minRuntimeVersion}` : '') +
      (inspection.description ? `, "${inspection.description}"` : ''),
  );
  lines.push(
    `${t.ops} ops, ${t.params.toLocaleString('en-US')} params, ${t.macs.toLocaleString('en-US')} MACs, ` +
      `${t.weightBytes.toLocaleString('en-US')} weight bytes` +
      (inspection.arenaBytes !== null
        ? `, arena ${inspection.arenaBytes.toLocaleString('en-US')} bytes`
        : ''),
  );
  const io = (list: number[]) => list.map((i) => describeTensor(inspection.tensors[i])).join('; ');
  lines.push(`inputs:  ${io(inspection.inputs)}`);
  lines.push(`outputs: ${io(inspection.outputs)}`);
  lines.push('', 'ops:');
  for (const op of inspection.ops) {
    const list = (l: number[]) => l.map((i) => (i < 0 ? '-' : `#${i}`)).join(',');
    lines.push(
      `  ${String(op.index).padStart(3)}  ${op.op.padEnd(20)} in ${list(op.inputs).padEnd(14)} out ${list(op.outputs).padEnd(6)}` +
        ` params ${String(op.params).padStart(8)}  MACs ${String(op.macs).padStart(11)}`,
    );
  }
  lines.push('', 'tensors:');
  for (const tensor of inspection.tensors)
    lines.push(`  #${String(tensor.index).padEnd(4)} ${describeTensor(tensor)}`);
  return lines.join('\n');
}

function describeTensor(t: TensorSummary): string {
  let s = `${t.name} ${t.dtype}[${t.shape.join(',')}]`;
  if (t.constant) s += ` const ${t.bytes}B`;
  const q = t.quantization;
  if (q && q.scale.length) {
    s += q.perAxis
      ? ` q per-axis(dim ${q.quantizedDimension}, ${q.scale.length} scales ${fmt(Math.min(...q.scale))}..${fmt(Math.max(...q.scale))})`
      : ` q scale ${fmt(q.scale[0])} zp ${q.zeroPoint[0]}`;
  }
  return s;
}

const fmt = (x: number) => x.toPrecision(4);
