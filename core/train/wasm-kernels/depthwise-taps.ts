import type { backend_util } from '@tensorflow/tfjs';

/**
 * Visits every (output position, filter tap) pair of a depthwise convolution whose input
 * pixel lies inside the image (padding contributes nothing), in the order of dy's NHWC
 * layout, with the flat offsets of that input pixel's channel run, the tap's channel run in
 * the filter and the output position's channel run in dy. Both backprop kernels walk this
 * window; they differ only in what they accumulate per channel.
 */
export function forEachDepthwiseTap(
  info: backend_util.Conv2DInfo,
  visit: (xBase: number, wBase: number, dyBase: number) => void,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } =
    info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
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
            visit(
              xBatch + (iy * inWidth + ix) * inChannels,
              (i * filterWidth + j) * outChannels,
              dyBase,
            );
          }
        }
      }
    }
  }
}
