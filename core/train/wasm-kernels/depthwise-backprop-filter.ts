import {
  backend_util,
  DepthwiseConv2dNativeBackpropFilter,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { forEachDepthwiseTap } from './depthwise-taps';
import { heapFloats, type WasmBackend } from './wasm-backend';

/**
 * Each filter tap is a per-channel dot product over every output position, which is not a
 * matrix product; one pass over dy with contiguous channel runs is as cheap as the im2col
 * copy alone would be. Sums run in float64 because a tap sums batch·height·width terms.
 */
function depthwiseBackpropFilter(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: WasmBackend;
  attrs: DepthwiseConv2dNativeBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  const { inChannels, outChannels } = info;
  const mult = outChannels / inChannels;
  const acc = new Float64Array(info.filterHeight * info.filterWidth * outChannels);

  const out = backend.makeOutput([...attrs.filterShape], 'float32');
  const xs = heapFloats(backend, x);
  const dys = heapFloats(backend, dy);
  forEachDepthwiseTap(info, (xBase, wBase, dyBase) => {
    if (mult === 1) {
      for (let c = 0; c < inChannels; c++) acc[wBase + c]! += xs[xBase + c]! * dys[dyBase + c]!;
    } else {
      for (let c = 0; c < inChannels; c++) {
        const xv = xs[xBase + c]!;
        const o = c * mult;
        for (let m = 0; m < mult; m++) acc[wBase + o + m]! += xv * dys[dyBase + o + m]!;
      }
    }
  });
  heapFloats(backend, out).set(acc);
  return out;
}

export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter as unknown as KernelFunc,
};
