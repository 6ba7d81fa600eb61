import path from 'node:path';
import { locateResources } from './resources';

/** The built-in sample: a Fashion-MNIST CNN with the layers Quantbench is about. */
export function sampleModelPath(): string {
  return path.join(locateResources().samplesDir, 'fashion-mnist-cnn.keras');
}

/** Its data: Debian's Fashion-MNIST when installed, else the subset bundled beside the model. */
export const sampleDataSpec = 'fashion-mnist:test';
export const sampleCalibrationSpec = 'fashion-mnist:train';
