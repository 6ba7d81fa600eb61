import { readTflite } from '../tflite/reader';
import { outputChannels } from './graph';
import { tfliteKernel } from './export-tflite';
import type { QuantizedModel } from './quantize';

export interface LayerGuarantee {
  layer: string;
  policy: 'int8' | 'float';
  /** The op that computes the layer in the file, and the type of its output. */
  op: string;
  outputType: string;
  /** Weights the mask pruned that are not exactly 0 in the file (must be 0). */
  prunedNonZero: number;
  /** Most distinct stored weight values in one clustering group. */
  maxDistinctPerGroup: number;
  /** k when the layer is clustered. */
  k?: number;
  ok: boolean;
}

/**
 * Reads an exported .tflite back and checks what the pipeline promises, on the bytes a
 * board will run: pruned weights are exactly 0, a clustered layer holds at most k values
 * per group, and a float-policy layer is computed by a float op.
 */
export function checkExportedGuarantees(
  bytes: Uint8Array,
  model: QuantizedModel,
): LayerGuarantee[] {
  const file = readTflite(bytes);
  const g = file.subgraphs[0];
  const tensorByName = new Map(g.tensors.map((t, i) => [t.name, i]));
  const out: LayerGuarantee[] = [];
  for (const node of model.graph.nodes) {
    if (node.op === 'input') continue;
    const qn = model.nodes.get(node.name)!;
    const outIndex = tensorByName.get(node.name);
    const producer = g.operators.find((o) => o.outputs.includes(outIndex ?? -2));
    const result: LayerGuarantee = {
      layer: node.name,
      policy: qn.policy,
      op: producer?.op ?? 'missing',
      outputType: outIndex === undefined ? 'missing' : g.tensors[outIndex].type,
      prunedNonZero: 0,
      maxDistinctPerGroup: 0,
      k: node.clusters?.k,
      ok: true,
    };
    result.ok =
      producer !== undefined && (qn.policy === 'float') === (result.outputType === 'float32');
    const kIndex = tensorByName.get(`${node.name}/kernel`);
    if (node.kernel && kIndex !== undefined) {
      const t = g.tensors[kIndex];
      const raw = file.buffers[t.buffer];
      const values =
        t.type === 'int8'
          ? new Int8Array(raw.buffer, raw.byteOffset, raw.byteLength)
          : new Float32Array(raw.slice().buffer);
      if (node.mask) {
        const mask = tfliteKernel(node, node.mask, (n) => new Uint8Array(n)).data;
        for (let i = 0; i < values.length; i++)
          if (mask[i] === 0 && values[i] !== 0) result.prunedNonZero++;
      }
      // Channel of element i in the file layout: leading axis for conv and dense, last for depthwise.
      const channels = outputChannels(node.kernel, node.op);
      const perChannel = node.clusters?.granularity === 'per-channel';
      const groupOf = (i: number) =>
        !perChannel
          ? 0
          : node.op === 'depthwise_conv2d'
            ? i % channels
            : Math.floor(i / (values.length / channels));
      const sets = new Map<number, Set<number>>();
      for (let i = 0; i < values.length; i++) {
        const gi = groupOf(i);
        let s = sets.get(gi);
        if (!s) sets.set(gi, (s = new Set()));
        s.add(values[i]);
      }
      result.maxDistinctPerGroup = Math.max(...[...sets.values()].map((s) => s.size));
      if (result.prunedNonZero > 0) result.ok = false;
      if (node.clusters && result.maxDistinctPerGroup > node.clusters.k) result.ok = false;
    }
    out.push(result);
  }
  return out;
}
