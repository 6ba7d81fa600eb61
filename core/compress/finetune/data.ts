import { openDataset, type OpenDatasetOptions } from '../../data';
import { FineTuneError } from './errors';
import type { TrainingData } from './trainer';

/** Reads a labelled dataset spec into memory, shaped for the model's input. */
export async function loadTrainingData(
  spec: string,
  inputShape: readonly (number | null)[],
  classes: number,
  limit?: number,
  preprocessing?: OpenDatasetOptions['preprocessing'],
): Promise<TrainingData> {
  const ds = await openDataset(spec, { inputShape, limit, preprocessing });
  if (ds.labelKind !== 'class') {
    throw new FineTuneError('FINETUNE_DATA', `dataset ${ds.name} has ${ds.labelKind} labels`, {
      hint: 'fine-tuning trains classifiers: give a dataset with class labels',
    });
  }
  const per = ds.sampleShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(ds.count * per);
  const y = new Int32Array(ds.count);
  for await (const batch of ds.batches(1024)) {
    x.set(batch.x, batch.offset * per);
    y.set(batch.y as Int32Array, batch.offset);
  }
  for (let i = 0; i < y.length; i++) {
    if (y[i]! < 0 || y[i]! >= classes) {
      throw new FineTuneError(
        'FINETUNE_DATA',
        `dataset ${ds.name}: sample ${i} has label ${y[i]}, the model has ${classes} classes`,
        {
          hint: 'pick the dataset this model was trained on',
        },
      );
    }
  }
  return { x, y, count: ds.count, sampleShape: ds.sampleShape, classes };
}
