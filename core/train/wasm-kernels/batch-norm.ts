import {
  FusedBatchNorm,
  type FusedBatchNormAttrs,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { leb, simdLoader, simdModule, type ValueType } from './simd-module';
import { replacingKernel, runReplaced, type HeapBackend } from './wasm-backend';

/**
 * The SIMD loop, as WebAssembly bytes: `bn(x, y, bytes, channelBytes, mean, scale, norm,
 * offset)`, every argument a byte address in the backend's own memory (imported, so no copy).
 * mean and scale are float32 per channel, norm and offset float64 per channel. Four channels
 * at a time it computes the backend's C expression `offset + (x - mean) * scale / norm` with
 * its types: `(x - mean) * scale` in float32 (f32x4), the division by the double norm and the
 * addition of the offset in float64 (two f64x2 halves), one rounding to float32 at the end.
 * Hand-assembled (264 bytes of module; simd-module.ts).
 */
// prettier-ignore
function moduleBytes(): Uint8Array {
  const get = (i: number) => [0x20, i];
  const simd = (op: number) => [0xfd, ...leb(op)];
  const load = (offset: number) => [...simd(0x00), 0x02, offset]; // v128.load align=4
  const store = [...simd(0x0b), 0x02, 0x00];
  const [f32Sub, f32Mul, f64Add, f64Div] = [0xe5, 0xe6, 0xf0, 0xf3].map(simd);
  const promoteLow = simd(0x5f); // f64x2.promote_low_f32x4
  const demote = simd(0x5e); // f32x4.demote_f64x2_zero
  const shuffle = (lanes: number[]) => [...simd(0x0d), ...lanes];
  const range = (from: number) => Array.from({ length: 8 }, (_, k) => from + k);
  const [X, Y, BYTES, CB, MEAN, SCALE, NORM, OFFSET, I, C, Q] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const f32At = (base: number) => [...get(base), ...get(C), 0x6a, ...load(0)]; // 4 floats of channel c
  // Two doubles of channel c (+ 2 when half is 1): their arrays hold 8 bytes a channel.
  const f64At = (base: number, half: number) => [...get(base), ...get(C), 0x41, 0x01, 0x74, 0x6a, ...load(16 * half)];
  const half = (h: number) => [
    ...get(Q),
    ...(h ? [...get(Q), ...shuffle([...range(8), ...range(0)])] : []),
    ...promoteLow,
    ...f64At(NORM, h), ...f64Div,
    ...f64At(OFFSET, h), ...f64Add,
    ...demote,
  ];
  const code = [
    0x02, 0x40, // block $done
    0x03, 0x40, // loop $rows
    ...get(I), ...get(BYTES), 0x4f, 0x0d, 0x01, // if i >= bytes: br $done
    0x41, 0x00, 0x21, C, // c = 0
    0x03, 0x40, // loop $channels
    ...get(Y), ...get(I), 0x6a, ...get(C), 0x6a, // &y[i + c]
    ...get(X), ...get(I), 0x6a, ...get(C), 0x6a, ...load(0), // x[i + c]
    ...f32At(MEAN), ...f32Sub,
    ...f32At(SCALE), ...f32Mul,
    0x21, Q, // q = (x - mean) * scale
    ...half(0), ...half(1),
    ...shuffle([...range(0), ...range(16)]), // the two halves' floats side by side
    ...store,
    ...get(C), 0x41, 0x10, 0x6a, 0x22, C, // c += 16
    ...get(CB), 0x49, 0x0d, 0x00, // if c < channelBytes: next channel group
    0x0b,
    ...get(I), ...get(CB), 0x6a, 0x21, I, // i += channelBytes
    0x0c, 0x00, // next row
    0x0b,
    0x0b,
  ];
  // locals after the eight parameters: i, c (bytes), q
  return simdModule('bn', new Array<ValueType>(8).fill('i32'), ['i32', 'i32', 'v128'], code);
}

const simdLoop = simdLoader('bn', moduleBytes);

/** Whether FusedBatchNorm takes the SIMD loop on this backend (tests check it does). */
export function batchNormSimdReady(backend: object): boolean {
  return simdLoop((backend as BatchNormBackend).wasm?.asm?.memory) !== null;
}

interface BatchNormBackend extends HeapBackend {
  wasm: HeapBackend['wasm'] & {
    HEAPF32: Float32Array;
    _malloc(bytes: number): number;
    _free(ptr: number): void;
  };
}

interface BatchNormArgs {
  inputs: {
    x: TensorInfo;
    mean: TensorInfo;
    variance: TensorInfo;
    offset?: TensorInfo;
    scale?: TensorInfo;
  };
  backend: BatchNormBackend;
  attrs: FusedBatchNormAttrs;
}

/**
 * tfjs-backend-wasm 4.22's FusedBatchNorm computes, per element, `offset + (x - mean) * scale /
 * norm` (norm = sqrt(variance + epsilon) per channel, a float kept in a double) while advancing
 * four wrapping parameter indices, one element at a time; on the sample model that is 125 of
 * the 281 ms a 256-image batch takes (tf.profile). For the usual case (every parameter one
 * value per channel, channels a multiple of four) this runs the SIMD loop above, same types
 * and order, so the same floats; anything else goes to the backend's own kernel.
 */
function fusedBatchNorm(args: BatchNormArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, mean, variance, offset, scale } = inputs;
  const size = x.shape.reduce((a, b) => a * b, 1);
  const channels = x.shape.at(-1) ?? 1;
  const length = (t: TensorInfo | undefined) => (t ? t.shape.reduce((a, b) => a * b, 1) : 1);
  const lengths = [mean, variance, offset, scale].map(length);
  const bn = simdLoop(backend.wasm.asm?.memory);
  if (
    !bn ||
    x.dtype !== 'float32' ||
    size === 0 ||
    channels % 4 !== 0 ||
    !lengths.every((l) => l === channels || l === 1)
  )
    return runReplaced(FusedBatchNorm, args);
  const out = backend.makeOutput(x.shape, x.dtype);
  // mean and scale as float32, norm and offset as float64: 24 bytes a channel.
  const params = backend.wasm._malloc(24 * channels);
  try {
    // Views after every allocation: growing the heap detaches the old ones.
    const heap = backend.wasm.HEAPF32;
    const floats = (t: TensorInfo | undefined, fill: number) => {
      if (!t) return new Float32Array(channels).fill(fill);
      const at = backend.dataIdMap.get(t.dataId)!.memoryOffset / 4;
      const v = heap.subarray(at, at + length(t));
      return v.length === channels ? v : new Float32Array(channels).fill(v[0]!);
    };
    const epsilon = Math.fround(attrs.varianceEpsilon); // the C kernel takes a float
    const cb = 4 * channels;
    heap.set(floats(mean, 0), params / 4);
    heap.set(floats(scale, 1), params / 4 + channels);
    const doubles = new Float64Array(heap.buffer, params + 2 * cb, 2 * channels);
    // std::sqrt of a float is a float; the C kernel keeps it in a double.
    doubles.set(
      floats(variance, 0).map((v) => Math.sqrt(Math.fround(v + epsilon))),
      0,
    );
    doubles.set(floats(offset, 0), channels);
    const xAt = backend.dataIdMap.get(x.dataId)!.memoryOffset;
    const yAt = backend.dataIdMap.get(out.dataId)!.memoryOffset;
    bn(xAt, yAt, 4 * size, cb, params, params + cb, params + 2 * cb, params + 4 * cb);
  } finally {
    backend.wasm._free(params);
  }
  return out;
}

export const fusedBatchNormConfig: KernelConfig = replacingKernel(FusedBatchNorm, fusedBatchNorm);
