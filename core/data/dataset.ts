import { DatasetError } from './errors';
import type { FashionMnistOptions } from './fashion-mnist';
import {
  applyPreprocessing,
  checkPreprocessing,
  fitSampleShape,
  type Preprocessing,
} from './preprocess';
import { openSource } from './registry';
import { formatDatasetSpec, parseDatasetSpec, type DatasetSpec } from './spec';
import type { Batch, DatasetSource, LabelKind } from './types';

export interface OpenDatasetOptions {
  fashionMnist?: FashionMnistOptions;
  /** The model's input shape without the batch axis; samples are reshaped (or images resized) to fit. */
  inputShape?: readonly (number | null)[];
  /** Scale, offset, mean and std; reshape and resize are filled in here. */
  preprocessing?: Pick<Preprocessing, 'scale' | 'offset' | 'mean' | 'std'>;
  /** At most this many samples (after the spec's slice). */
  limit?: number;
}

/** A dataset ready to feed a model: sliced, reshaped, preprocessed, read in batches. */
export class Dataset {
  constructor(
    readonly spec: DatasetSpec,
    readonly source: DatasetSource,
    /** First sample of the source that belongs to this dataset. */
    readonly start: number,
    readonly count: number,
    readonly sampleShape: number[],
    readonly preprocessing: Preprocessing,
  ) {}

  get name(): string {
    return formatDatasetSpec(this.spec);
  }
  get labelKind(): LabelKind {
    return this.source.labelKind;
  }
  get notices(): string[] {
    return this.source.notices;
  }

  async *batches(batchSize: number): AsyncGenerator<Batch> {
    const channels = this.sampleShape.at(-1) ?? 1;
    for (let offset = 0; offset < this.count; offset += batchSize) {
      const size = Math.min(batchSize, this.count - offset);
      const { x, y } = await this.source.read(this.start + offset, size);
      applyPreprocessing(x, this.preprocessing, channels);
      yield { x, y, size, shape: [size, ...this.sampleShape], offset };
    }
  }
}

export async function openDataset(
  spec: string | DatasetSpec,
  options: OpenDatasetOptions = {},
): Promise<Dataset> {
  const parsed = typeof spec === 'string' ? parseDatasetSpec(spec) : spec;
  const name = formatDatasetSpec(parsed);
  const input = options.inputShape;
  // Image folders are decoded straight to the model's height, width and channels.
  const folderFit =
    parsed.kind === 'folder' && input?.length === 3 && input.every((d) => d !== null);
  const resize = folderFit ? ([input[0], input[1]] as [number, number]) : undefined;
  const source = await openSource(parsed, {
    fashionMnist: options.fashionMnist,
    folder: folderFit ? { resize, channels: input[2] === 1 ? 1 : 3 } : {},
  });

  const start = parsed.slice?.start ?? 0;
  const end = Math.min(parsed.slice?.end ?? source.count, source.count);
  if (start >= source.count) {
    throw new DatasetError(
      `dataset ${name} has ${source.count} samples; the slice starts at ${start}`,
      'choose a slice inside the dataset',
    );
  }
  const count = Math.min(end - start, options.limit ?? Infinity);

  const sampleShape = input
    ? fitSampleShape(name, source.sampleShape, input)
    : [...source.sampleShape];
  const sameShape =
    sampleShape.length === source.sampleShape.length &&
    sampleShape.every((d, i) => d === source.sampleShape[i]);
  const preprocessing: Preprocessing = {
    scale: options.preprocessing?.scale ?? 1,
    offset: options.preprocessing?.offset ?? 0,
    ...(options.preprocessing?.mean ? { mean: options.preprocessing.mean } : {}),
    ...(options.preprocessing?.std ? { std: options.preprocessing.std } : {}),
    ...(sameShape ? {} : { reshape: { from: [...source.sampleShape], to: sampleShape } }),
    ...(resize ? { resize } : {}),
  };
  checkPreprocessing(preprocessing, sampleShape.at(-1) ?? 1, name);
  return new Dataset(parsed, source, start, count, sampleShape, preprocessing);
}
