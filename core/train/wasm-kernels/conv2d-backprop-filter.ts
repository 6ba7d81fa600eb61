import {
  backend_util,
  Conv2DBackpropFilter,
  getKernel,
  type Conv2DBackpropFilterAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { assertChannelsLast, heapFloats, type WasmBackend } from './wasm-backend';

/**
 * dW = im2col(x)ᵀ · dy. The patch matrix is built in the wasm heap by one copy pass and the
 * product (nearly all of the work) runs in the backend's own BatchMatMul.
 */
function conv2dBackpropFilter(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: WasmBackend;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  assertChannelsLast(Conv2DBackpropFilter, attrs.dataFormat);
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } =
    info;
  const rows = batchSize * outHeight * outWidth;
  const cols = filterHeight * filterWidth * inChannels;

  // A 1x1 kernel with unit stride and no padding reads x exactly as laid out: skip the copy.
  const identityPatches =
    filterHeight === 1 &&
    filterWidth === 1 &&
    strideHeight === 1 &&
    strideWidth === 1 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0;
  let patches: TensorInfo;
  if (identityPatches) {
    patches = { dataId: x.dataId, shape: [1, rows, cols], dtype: 'float32' };
  } else {
    patches = backend.makeOutput([1, rows, cols], 'float32');
    const p = heapFloats(backend, patches);
    const xs = heapFloats(backend, x);
    const padTop = info.padInfo.top;
    const padLeft = info.padInfo.left;
    let row = 0;
    for (let n = 0; n < batchSize; n++) {
      const xBatch = n * inHeight * inWidth * inChannels;
      for (let oy = 0; oy < outHeight; oy++) {
        for (let ox = 0; ox < outWidth; ox++, row++) {
          let dst = row * cols;
          for (let i = 0; i < filterHeight; i++) {
            const iy = oy * strideHeight - padTop + i * dilationHeight;
            const rowInside = iy >= 0 && iy < inHeight;
            for (let j = 0; j < filterWidth; j++, dst += inChannels) {
              const ix = ox * strideWidth - padLeft + j * dilationWidth;
              if (!rowInside || ix < 0 || ix >= inWidth) {
                p.fill(0, dst, dst + inChannels);
                continue;
              }
              const src = xBatch + (iy * inWidth + ix) * inChannels;
              p.set(xs.subarray(src, src + inChannels), dst);
            }
          }
        }
      }
    }
  }

  const matMul = getKernel('BatchMatMul', 'wasm')!.kernelFunc as KernelFunc;
  const product = matMul({
    inputs: {
      a: patches,
      b: { dataId: dy.dataId, shape: [1, rows, outChannels], dtype: 'float32' },
    },
    backend: backend as never,
    attrs: { transposeA: true, transposeB: false },
  }) as TensorInfo;
  if (!identityPatches) backend.disposeData(patches.dataId);
  return { dataId: product.dataId, shape: [...attrs.filterShape], dtype: 'float32' };
}

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as unknown as KernelFunc,
};
