import { readTflite } from '../tflite/index';

/** One model input or output as firmware code sees it. */
export interface ModelTensorAbout {
  name: string;
  type: string;
  shape: number[];
  bytes: number;
  /** real = scale * (q - zeroPoint); scale 0 when the tensor is not quantized. */
  scale: number;
  zeroPoint: number;
}

/** What a firmware project needs beside the model bytes. */
export interface ModelAbout {
  /** qb_arena_required() of the Quantbench runtime for this model. */
  arenaBytes: number;
  inputs: ModelTensorAbout[];
  outputs: ModelTensorAbout[];
  /** Distinct builtin ops in first-use order. */
  ops: string[];
}

const typeBytes: Record<string, number> = { float32: 4, int32: 4, int8: 1, uint8: 1, int16: 2, int64: 8, float16: 2, bool: 1 };

/** Reads inputs, outputs and ops from the .tflite; the arena comes from the runtime's planner. */
export function describeModel(tflite: Uint8Array, arenaBytes: number): ModelAbout {
  const graph = readTflite(tflite).subgraphs[0];
  const about = (index: number): ModelTensorAbout => {
    const t = graph.tensors[index];
    const q = t.quantization;
    const quantized = q !== undefined && q.scale.length === 1;
    return {
      name: t.name,
      type: t.type,
      shape: t.shape,
      bytes: t.shape.reduce((a, b) => a * b, 1) * (typeBytes[t.type] ?? 1),
      scale: quantized ? q.scale[0] : 0,
      zeroPoint: quantized ? q.zeroPoint[0] : 0,
    };
  };
  return {
    arenaBytes,
    inputs: graph.inputs.map(about),
    outputs: graph.outputs.map(about),
    ops: [...new Set(graph.operators.map((o) => o.op))],
  };
}
