import {
  backend_util,
  DepthwiseConv2dNativeBackpropInput,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { forEachDepthwiseTap } from './depthwise-taps';
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
  const { inChannels, outChannels } = info;
  const mult = outChannels / inChannels;

  const out = backend.makeOutput([...attrs.inputShape], 'float32');
  const dx = heapFloats(backend, out);
  dx.fill(0);
  const dys = heapFloats(backend, dy);
  const w = heapFloats(backend, filter);
  forEachDepthwiseTap(info, (xBase, wBase, dyBase) => {
    if (mult === 1) {
      for (let c = 0; c < inChannels; c++) dx[xBase + c]! += dys[dyBase + c]! * w[wBase + c]!;
    } else {
      for (let c = 0; c < inChannels; c++) {
        const o = c * mult;
        let sum = 0;
        for (let m = 0; m < mult; m++) sum += dys[dyBase + o + m]! * w[wBase + o + m]!;
        dx[xBase + c]! += sum;
      }
    }
  });
  return out;
}

export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput as unknown as KernelFunc,
};
