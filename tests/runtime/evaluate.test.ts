import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Runtime, evaluateSamples, quantizeInt8, runSamples, dequantize } from '../../core/runtime';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';

const load = (name: string) => new Uint8Array(readFileSync(sharedModel(name)));

function frames(): Float32Array[] {
  const all = new Float32Array(load('ad01_input_normal_id_01_00000000.bin').buffer);
  return Array.from({ length: 40 }, (_, f) => all.slice(f * 640, (f + 1) * 640));
}

describe('runSamples / evaluateSamples', () => {
  const skip = missingSharedModels(
    'ad01_int8.tflite',
    'ad01_fp32.tflite',
    'ad01_input_normal_id_01_00000000.bin',
  );

  it(
    'quantizes float samples with the input scale and zero point, as a manual run does',
    { skip },
    async () => {
      const int8 = await Runtime.load(load('ad01_int8.tflite'), { name: 'ad01_int8' });
      const { scale, zeroPoint } = int8.inputs[0];
      const results = await evaluateSamples(int8, frames());
      assert.equal(results.length, 40);
      for (const [f, frame] of frames().entries()) {
        int8.setInput(0, quantizeInt8(frame, scale, zeroPoint));
        int8.invoke();
        assert.deepEqual(results[f].raw[0], int8.getOutput(0));
        assert.deepEqual(
          results[f].outputs[0],
          dequantize(results[f].raw[0], int8.outputs[0].scale, int8.outputs[0].zeroPoint),
        );
        assert.equal(results[f].index, f);
      }
    },
  );

  it(
    'int8 ad01 tracks the float model on the real input (reconstruction error within 10%)',
    { skip },
    async () => {
      const int8 = await Runtime.load(load('ad01_int8.tflite'));
      const fp32 = await Runtime.load(load('ad01_fp32.tflite'));
      const input = frames();
      const q = await evaluateSamples(int8, input);
      const f = await evaluateSamples(fp32, input);
      // the anomaly score is the mean squared reconstruction error over the 40 frames
      const score = (rs: typeof q) =>
        rs.reduce(
          (s, r, i) => s + r.outputs[0].reduce((a, v, k) => a + (v - input[i][k]) ** 2, 0) / 640,
          0,
        ) / 40;
      const [sq, sf] = [score(q), score(f)];
      assert.ok(Math.abs(sq - sf) / sf < 0.1, `int8 score ${sq} vs float ${sf}`);
      assert.ok(f[0].raw[0] instanceof Float32Array);
    },
  );

  it('accepts async iterables and stops when the caller stops', { skip }, async () => {
    const int8 = await Runtime.load(load('ad01_int8.tflite'));
    async function* source() {
      for (const frame of frames()) yield frame;
    }
    let seen = 0;
    for await (const r of runSamples(int8, source())) {
      seen++;
      if (r.index === 4) break;
    }
    assert.equal(seen, 5);
  });

  it('rejects a sample of the wrong length with the sample index', { skip }, async () => {
    const int8 = await Runtime.load(load('ad01_int8.tflite'), { name: 'ad01' });
    await assert.rejects(evaluateSamples(int8, [new Float32Array(640), new Float32Array(3)]), {
      code: 'RUNTIME_INPUT',
      message: /ad01 sample 1 input 0 takes 640 values/,
    });
  });
});
