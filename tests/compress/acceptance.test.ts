import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { exportTflite } from '../../core/compress/export-tflite';
import { lowerKerasModel } from '../../core/compress/lower-keras';
import { compress } from '../../core/compress/pipeline';
import { parseRecipe } from '../../core/compress/recipe';
import { runCompressJob, type CompressReport } from '../../core/compress/run';
import { loadModel } from '../../core/model/index';
import { Runtime, evaluateSamples } from '../../core/runtime/index';
import { initBackend } from '../../core/train/backend';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { tempDir } from '../helpers/tmp';

const AD01_INPUT = 'ad01_input_normal_id_01_00000000.bin';

function sqnrDb(reference: Float32Array, outputs: Float32Array[]): number {
  let signal = 0;
  let noise = 0;
  outputs.forEach((o, i) =>
    o.forEach((v, j) => {
      const r = reference[i * o.length + j];
      signal += r * r;
      noise += (r - v) ** 2;
    }),
  );
  return 10 * Math.log10(signal / noise);
}

/** The trained sample model; QUANTBENCH_SAMPLE_MODEL points at another copy (e.g. a fresh training run). */
const sampleModel =
  process.env.QUANTBENCH_SAMPLE_MODEL ??
  path.resolve(
    path.dirname(fileURLToPath(import.meta.url)),
    '../../resources/samples/fashion-mnist-cnn.keras',
  );
const missingSample = existsSync(sampleModel)
  ? false
  : `sample model not trained yet: ${sampleModel} is missing`;

describe('acceptance (issue 5)', () => {
  // The backend quantbench compress and the app run on, so the figures are the ones users see.
  before(async () => {
    await initBackend();
  });

  it(
    "ad01: int8 output SQNR against float on frames 20-39, calibrated on 0-19, is not worse than the converter's",
    { skip: missingSharedModels('ad01.h5', 'ad01_int8.tflite', AD01_INPUT) },
    async () => {
      const raw = readFileSync(sharedModel(AD01_INPUT));
      const frames = new Float32Array(
        raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength),
      );
      assert.equal(frames.length, 40 * 640);
      const imported = await loadModel(sharedModel('ad01.h5'));
      const all = tf.tensor(frames, [40, 640]);
      const reference = (
        imported.model.predict(all.slice(20, 20)) as tf.Tensor
      ).dataSync() as Float32Array;
      const test = Array.from({ length: 20 }, (_, i) =>
        frames.slice((20 + i) * 640, (21 + i) * 640),
      );

      const converter = await Runtime.load(
        new Uint8Array(readFileSync(sharedModel('ad01_int8.tflite'))),
        { name: 'ad01_int8.tflite' },
      );
      const theirs = sqnrDb(
        reference,
        (await evaluateSamples(converter, test)).map((r) => r.outputs[0]),
      );
      converter.dispose();

      const result = compress(lowerKerasModel(imported.model), {
        recipe: parseRecipe({
          steps: [
            {
              step: 'quantize',
              inputType: 'int8',
              outputType: 'int8',
              calibration: { samples: 20 },
            },
          ],
        }),
        calibration: all.slice(0, 20),
      });
      assert.equal(result.folded.length, 9);
      const bytes = exportTflite(result.quantized!);
      const ours = await Runtime.load(bytes, { name: 'ad01 (Quantbench int8)' });
      const mine = sqnrDb(
        reference,
        (await evaluateSamples(ours, test)).map((r) => r.outputs[0]),
      );
      ours.dispose();
      console.log(
        `ad01 output SQNR on frames 20-39: Quantbench ${mine.toFixed(2)} dB, converter ${theirs.toFixed(2)} dB`,
      );
      assert.ok(theirs > 20, `converter SQNR ${theirs}`);
      assert.ok(mine >= theirs, `ours ${mine.toFixed(2)} dB < converter ${theirs.toFixed(2)} dB`);
    },
  );

  it(
    'sample model, preset int8: loses at most 0.5 points on Fashion-MNIST',
    { skip: missingSample },
    async () => {
      const report = await runCompressJob({
        model: sampleModel,
        recipe: 'int8',
        data: 'fashion-mnist:test',
        out: tempDir(),
      });
      console.log(`sample int8: float ${report.float.accuracy}, int8 ${report.int8.accuracy}`);
      assert.ok(report.float.accuracy! - report.int8.accuracy! <= 0.005);
    },
  );

  let pruned: Promise<CompressReport> | undefined;
  const prunedReport = () =>
    (pruned ??= runCompressJob({
      model: sampleModel,
      recipe: 'prune50-cluster16-int8-keep-rescaling-float',
      data: 'fashion-mnist:test',
      // The data-aware steps fit weights on these samples: keep them apart from the test set.
      calibData: 'fashion-mnist:train',
      out: tempDir(),
    }));

  it(
    'sample model, prune50-cluster16-int8-keep-rescaling-float: pruned weights 0, <= 16 values per layer, BN and Rescaling float ops',
    { skip: missingSample },
    async () => {
      const report = await prunedReport();
      assert.ok(report.guarantees.ok);
      for (const l of report.guarantees.layers) {
        assert.equal(l.prunedNonZero, 0, l.layer);
        if (l.k !== undefined) assert.ok(l.maxDistinctPerGroup <= 16, l.layer);
      }
      const floats = report.layers.filter(
        (l) => l.type === 'BatchNormalization' || l.type === 'Rescaling',
      );
      assert.ok(floats.length > 0);
      for (const l of floats) assert.equal(l.policy, 'float', l.name);
      for (const g of report.guarantees.layers.filter((x) =>
        floats.some((f) => f.name === x.layer),
      )) {
        assert.equal(g.outputType, 'float32', g.layer);
      }
    },
  );

  // One-shot on the full test set, 90.09% float: 87.13% int8, 2.96 points, the figure the CLI
  // reports (docs/recipes.md). It passes by 0.04 points; a fine-tune brings the loss to 0.99.
  it(
    'sample model, prune50-cluster16-int8-keep-rescaling-float: loses at most 3 points',
    { skip: missingSample },
    async () => {
      const report = await prunedReport();
      console.log(
        `sample prune50-cluster16: float ${report.float.accuracy}, int8 ${report.int8.accuracy}`,
      );
      assert.ok(report.float.accuracy! - report.int8.accuracy! <= 0.03);
    },
  );
});
