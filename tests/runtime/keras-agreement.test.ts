import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../core/model/index';
import { Runtime } from '../../core/runtime';
import {
  AD01_FEATURES,
  AD01_FRAMES,
  ad01Frames,
  ad01RuntimeOutputs,
  dropBiasesBeforeBatchNorm,
  frameErrors,
} from '../helpers/ad01';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { randomFloat32 } from '../firmware/firmware-build';

/**
 * The converter's float .tflite files, run by our runtime, against tfjs running the Keras
 * .h5 they were converted from (imported by core/model) on the same inputs. The .tflite has
 * BatchNormalization folded into the weights, so the two differ by float rounding only, once
 * the converter's own change to ad01 (below) is applied to the Keras model too.
 */
describe('float .tflite in our runtime = the Keras model in tfjs', () => {
  // The converter that wrote ad01_fp32.tflite folded each BatchNormalization into the Dense
  // before it and dropped that Dense's bias (tests/model/tflite-agreement.test.ts shows it
  // weight by weight; docs/runtime.md). So the file is ad01.h5 with those nine biases at zero:
  // that is the Keras model it must match, and the saved one differs by the dropped biases alone.
  it(
    "ad01_fp32.tflite matches ad01.h5 with the converter's dropped Dense biases (relative error < 1e-4)",
    {
      skip: missingSharedModels(
        'ad01.h5',
        'ad01_fp32.tflite',
        'ad01_input_normal_id_01_00000000.bin',
      ),
    },
    async (t) => {
      const keras = await loadModel(sharedModel('ad01.h5'));
      const frames = ad01Frames();
      const ours = await ad01RuntimeOutputs(frames);
      const predict = () =>
        tf.tidy(() =>
          (
            keras.model.predict(tf.tensor2d(frames, [AD01_FRAMES, AD01_FEATURES])) as tf.Tensor
          ).dataSync(),
        );
      const asSaved = predict();
      dropBiasesBeforeBatchNorm(keras.model);
      const errors = frameErrors(ours, predict(), AD01_FEATURES);
      t.diagnostic(JSON.stringify(errors));
      assert.ok(errors.worstRelative < 1e-4, JSON.stringify(errors));
      // Single outputs carry the float32 cancellation in the first layer: about 1e-4 of the
      // frame's range against float64, for tfjs and for us (tests/runtime/tflite-agreement.test.ts).
      assert.ok(errors.worstElementOfRange < 2e-4, JSON.stringify(errors));

      // Against ad01.h5 as saved, the anomaly score (reconstruction mean squared error) moves by
      // what the dropped biases do: measured 9.709 for the .tflite against 9.484 for the .h5.
      const score = (out: ArrayLike<number>) => {
        let s = 0;
        for (let i = 0; i < frames.length; i++) s += (out[i]! - frames[i]!) ** 2;
        return s / frames.length;
      };
      t.diagnostic(`anomaly score ${score(ours)}; ad01.h5 as saved ${score(asSaved)}`);
      const shift = (score(ours) - score(asSaved)) / score(asSaved);
      assert.ok(shift > 0.01 && shift < 0.05, `anomaly score shift ${shift}`);
    },
  );

  it(
    'pretrainedResnet.tflite matches pretrainedResnet.h5 (relative error < 1e-4)',
    { skip: missingSharedModels('pretrainedResnet.h5', 'pretrainedResnet.tflite') },
    async () => {
      let keras;
      try {
        keras = await loadModel(sharedModel('pretrainedResnet.h5'));
      } catch (e) {
        assert.fail(`core/model could not import pretrainedResnet.h5: ${String(e)}`);
      }
      const interpreter = await Runtime.load(
        new Uint8Array(readFileSync(sharedModel('pretrainedResnet.tflite'))),
      );
      let worst = 0;
      for (let s = 0; s < 4; s++) {
        const x = randomFloat32(3072, 40 + s);
        const expected = tf.tidy(() =>
          (keras.model.predict(tf.tensor4d(x, [1, 32, 32, 3])) as tf.Tensor).dataSync(),
        );
        interpreter.setInput(0, x);
        interpreter.invoke();
        const ours = interpreter.getOutput(0) as Float32Array;
        for (let i = 0; i < ours.length; i++)
          worst = Math.max(
            worst,
            Math.abs(ours[i] - expected[i]) / Math.max(Math.abs(expected[i]), 1e-2),
          );
      }
      assert.ok(worst < 1e-4, `largest relative error ${worst}`);
    },
  );
});
