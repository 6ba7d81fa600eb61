export { Dataset, openDataset, type OpenDatasetOptions } from './dataset';
export { DatasetError, DatasetShapeError, DatasetSpecError } from './errors';
export {
  FASHION_MNIST_CLASSES,
  resolveFashionMnist,
  type FashionMnistOptions,
} from './fashion-mnist';
export { applyPreprocessing, fitSampleShape, type Preprocessing } from './preprocess';
export { datasetReaders } from './registry';
export { formatDatasetSpec, parseDatasetSpec, type DatasetSpec } from './spec';
export type { Batch, DatasetSource, Labels } from './types';
