import {
  Tile,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  type TileAttrs,
} from '@tensorflow/tfjs';
import type { WasmBackend } from './wasm-backend';

type Typed = Float32Array | Int32Array | Uint8Array;

/**
 * Fills one axis level: the input's rows for this axis go in once, then the whole block is
 * doubled with copyWithin until the repeats are done. Every copy is a memmove, where the
 * backend's own Tile computes a multi-index per element; BatchNormalization's gradient tiles
 * per-channel vectors to full activation size on every training step.
 */
function fill(
  src: Typed,
  dst: Typed,
  shape: readonly number[],
  reps: readonly number[],
  inStrides: number[],
  outStrides: number[],
  dim: number,
  inOffset: number,
  outOffset: number,
): void {
  const rank = shape.length;
  const rows = shape[dim]!;
  if (dim === rank - 1) {
    dst.set(src.subarray(inOffset, inOffset + rows), outOffset);
  } else {
    for (let i = 0; i < rows; i++) {
      fill(
        src,
        dst,
        shape,
        reps,
        inStrides,
        outStrides,
        dim + 1,
        inOffset + i * inStrides[dim]!,
        outOffset + i * outStrides[dim]!,
      );
    }
  }
  const block = rows * outStrides[dim]!;
  const total = block * reps[dim]!;
  for (let filled = block; filled < total; filled *= 2) {
    dst.copyWithin(outOffset + filled, outOffset, outOffset + Math.min(filled, total - filled));
  }
}

function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) out[i] = out[i + 1]! * shape[i + 1]!;
  return out;
}

function tile(args: {
  inputs: { x: TensorInfo };
  backend: WasmBackend;
  attrs: TileAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x } = inputs;
  const outShape = x.shape.map((d, i) => d * attrs.reps[i]!);
  const out = backend.makeOutput(outShape, x.dtype);
  if (outShape.some((d) => d === 0)) return out;
  const dst = backend.typedArrayFromHeap(out);
  const src = backend.typedArrayFromHeap(x);
  if (x.shape.length === 0) {
    dst.set(src);
    return out;
  }
  fill(src, dst, x.shape, attrs.reps, strides(x.shape), strides(outShape), 0, 0, 0);
  return out;
}

export const tileConfig: KernelConfig = {
  kernelName: Tile,
  backendName: 'wasm',
  kernelFunc: tile as unknown as KernelFunc,
};
