import {
  UnsortedSegmentSum,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  type UnsortedSegmentSumAttrs,
} from '@tensorflow/tfjs';
import type { WasmBackend } from '../../../train/wasm-kernels/wasm-backend';

/**
 * The gradient of Gather: a centroid's gradient is the sum of its members' gradients.
 * tfjs-backend-wasm 4.22 has no UnsortedSegmentSum, so cluster-preserving training (whose
 * kernels are gathered from centroids) would fail on wasm without it. Rows of x are summed
 * into output rows by segment id; ids outside [0, numSegments) are dropped, as in TensorFlow.
 */
function unsortedSegmentSum(args: {
  inputs: { x: TensorInfo; segmentIds: TensorInfo };
  backend: WasmBackend;
  attrs: UnsortedSegmentSumAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, segmentIds } = inputs;
  const segments = attrs.numSegments;
  const idRank = segmentIds.shape.length;
  const rowLength = x.shape.slice(idRank).reduce((a, b) => a * b, 1);
  const rows = segmentIds.shape.reduce((a, b) => a * b, 1);
  const out = backend.makeOutput([segments, ...x.shape.slice(idRank)], x.dtype);
  const dst = backend.typedArrayFromHeap(out);
  const src = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  dst.fill(0);
  for (let r = 0; r < rows; r++) {
    const id = ids[r]!;
    if (id < 0 || id >= segments) continue;
    const from = r * rowLength;
    const to = id * rowLength;
    for (let j = 0; j < rowLength; j++) dst[to + j] += src[from + j]!;
  }
  return out;
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as KernelFunc,
};
