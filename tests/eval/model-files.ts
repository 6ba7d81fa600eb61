import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** Saves a LayersModel as tfjs model.json + one weight shard, the layout core/model reads. */
export async function saveTfjsModel(model: tf.LayersModel, dir: string): Promise<string> {
  const file = path.join(dir, 'model.json');
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      writeFileSync(
        file,
        JSON.stringify({
          format: 'layers-model',
          modelTopology: a.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
        }),
      );
      writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(a.weightData as ArrayBuffer));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return file;
}
