import { Mean, util, type KernelConfig, type MeanAttrs, type TensorInfo } from '@tensorflow/tfjs';
import { op, simdLoader, simdModule } from './simd-module';
import { replacingKernel, runReplaced, type HeapBackend } from './wasm-backend';

/**
 * `mean(x, y, outer, reduce, innerBytes, divisor)`: x is `outer` blocks of `reduce` rows of
 * innerBytes / 4 floats; y gets one row per block, `(sum of the block's rows) / divisor`,
 * four columns at a time. Per column that is the backend's C loop over the transposed
 * input: a float sum that starts at +0 and adds the rows in order, then one float division.
 * The rows are added into y itself (zeroed first), a row at a time, so the columns' sums are
 * independent additions rather than one chain per column.
 */
// prettier-ignore
function moduleBytes(): Uint8Array {
  const [X, Y, OUTER, REDUCE, INNER, DIV, O, C, P, K] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [f32Splat, f32Add, f32Div] = [0x13, 0xe4, 0xe7].map(op.simd);
  // for (c = 0; c < innerBytes; c += 16) body
  const columns = (body: number[]) => [
    ...op.i32(0), ...op.set(C),
    ...op.loop,
    ...body,
    ...op.get(C), ...op.i32(16), ...op.i32Add, ...op.tee(C), ...op.get(INNER), ...op.i32LtU, ...op.brIf(0),
    ...op.end,
  ];
  const yAtC = [...op.get(Y), ...op.get(C), ...op.i32Add];
  const code = [
    ...op.block,
    ...op.loop, // blocks
    ...op.get(O), ...op.get(OUTER), ...op.i32GeU, ...op.brIf(1),
    ...columns([...yAtC, ...op.zero, ...op.store()]),
    ...op.get(REDUCE), ...op.set(K),
    ...op.loop, // rows
    ...columns([
      ...yAtC, ...op.tee(P),
      ...op.get(P), ...op.load(),
      ...op.get(X), ...op.get(C), ...op.i32Add, ...op.load(),
      ...f32Add, // sum first, as in `sum += *x`
      ...op.store(),
    ]),
    ...op.get(X), ...op.get(INNER), ...op.i32Add, ...op.set(X),
    ...op.get(K), ...op.i32(1), ...op.i32Sub, ...op.tee(K), ...op.brIf(0),
    ...op.end,
    ...columns([
      ...yAtC, ...op.tee(P),
      ...op.get(P), ...op.load(),
      ...op.get(DIV), ...f32Splat, ...f32Div,
      ...op.store(),
    ]),
    ...op.get(Y), ...op.get(INNER), ...op.i32Add, ...op.set(Y),
    ...op.get(O), ...op.i32(1), ...op.i32Add, ...op.set(O),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
  return simdModule('mean', ['i32', 'i32', 'i32', 'i32', 'i32', 'f32'], ['i32', 'i32', 'i32', 'i32'], code);
}

const meanLoop = simdLoader('mean', moduleBytes);

/** Whether Mean takes the SIMD loop on this backend (tests check it does). */
export function meanSimdReady(backend: object): boolean {
  return meanLoop((backend as HeapBackend).wasm?.asm?.memory) !== null;
}

interface MeanArgs {
  inputs: { x: TensorInfo };
  backend: HeapBackend;
  attrs: MeanAttrs;
}

/**
 * The loop's geometry for a mean of `shape` over `axis`: consecutive, ascending axes (the
 * backend sums over the reduced axes in the order given) followed by at least one axis that
 * is kept, its values a multiple of four; null for anything else.
 */
export function meanLoopGeometry(
  shape: readonly number[],
  axis: number | number[],
): { outer: number; reduce: number; inner: number; first: number; last: number } | null {
  const axes = util.parseAxisParam(axis, [...shape]);
  const first = axes[0];
  const last = axes.at(-1);
  if (first === undefined || last === undefined || axes.some((a, i) => a !== first + i))
    return null;
  const product = (from: number, to: number) => shape.slice(from, to).reduce((a, b) => a * b, 1);
  const outer = product(0, first);
  const reduce = product(first, last + 1);
  const inner = product(last + 1, shape.length);
  // The C kernel divides by its size_t count converted to float: exact below 2^24.
  if (
    last === shape.length - 1 ||
    inner % 4 !== 0 ||
    outer * reduce * inner === 0 ||
    reduce >= 2 ** 24
  )
    return null;
  return { outer, reduce, inner, first, last };
}

/**
 * tfjs-backend-wasm 4.22's Mean over axes that are not the innermost transposes them to
 * the end first and then sums each output's values one after the other; on the sample model
 * GlobalAveragePooling2D's mean over height and width took 8.4 of the 95 ms a 256-image
 * batch took (tf.profile). Where meanLoopGeometry() takes the shape (float32 input) this runs
 * the loop above in place of the transpose, the same sums in the same order, so the same
 * floats; anything else goes to the backend's own kernel.
 */
function mean(args: MeanArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x } = inputs;
  const loop = meanLoop(backend.wasm.asm?.memory);
  const g = x.dtype === 'float32' ? meanLoopGeometry(x.shape, attrs.axis) : null;
  if (!loop || !g) return runReplaced(Mean, args);
  const outShape = attrs.keepDims
    ? x.shape.map((d, i) => (i >= g.first && i <= g.last ? 1 : d))
    : x.shape.filter((_, i) => i < g.first || i > g.last);
  const out = backend.makeOutput(outShape, 'float32');
  const xAt = backend.dataIdMap.get(x.dataId)!.memoryOffset;
  const yAt = backend.dataIdMap.get(out.dataId)!.memoryOffset;
  loop(xAt, yAt, g.outer, g.reduce, 4 * g.inner, g.reduce);
  return out;
}

export const meanConfig: KernelConfig = replacingKernel(Mean, mean);
