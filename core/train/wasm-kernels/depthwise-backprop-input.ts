import {
  backend_util,
  DepthwiseConv2dNativeBackpropInput,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { heapFloats, type WasmBackend } from './wasm-backend';

/**
 * Scatters each output gradient back through the taps that produced it: one pass over dy,
 * contiguous channel runs, no gather bookkeeping. Each dx element receives at most
 * filterHeight·filterWidth terms, so float32 accumulation is as exact as the cpu kernel.
 */
function depthwiseBackpropInput(args: {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: WasmBackend;
  attrs: DepthwiseConv2dNativeBackpropInputAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  const info = backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } =
    info;
  const mult = outChannels / inChannels;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;

  const out = backend.makeOutput([...attrs.inputShape], 'float32');
  const dx = heapFloats(backend, out);
  dx.fill(0);
  const dys = heapFloats(backend, dy);
  const w = heapFloats(backend, filter);
  let dyBase = 0;
  for (let n = 0; n < batchSize; n++) {
    const xBatch = n * inHeight * inWidth * inChannels;
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++, dyBase += outChannels) {
        for (let i = 0; i < filterHeight; i++) {
          const iy = oy * strideHeight - padTop + i * dilationHeight;
          if (iy < 0 || iy >= inHeight) continue;
          for (let j = 0; j < filterWidth; j++) {
            const ix = ox * strideWidth - padLeft + j * dilationWidth;
            if (ix < 0 || ix >= inWidth) continue;
            const xBase = xBatch + (iy * inWidth + ix) * inChannels;
            const wBase = (i * filterWidth + j) * outChannels;
            if (mult === 1) {
              for (let c = 0; c < inChannels; c++)
                dx[xBase + c]! += dys[dyBase + c]! * w[wBase + c]!;
            } else {
              for (let c = 0; c < inChannels; c++) {
                const o = c * mult;
                let sum = 0;
                for (let m = 0; m < mult; m++) sum += dys[dyBase + o + m]! * w[wBase + o + m]!;
                dx[xBase + c]! += sum;
              }
            }
          }
        }
      }
    }
  }
  return out;
}

export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput as unknown as KernelFunc,
};
