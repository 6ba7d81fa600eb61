import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sampleModelPath } from '../../core/app/sample';
import { runCliAsync } from '../helpers/cli';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { tempDir } from '../helpers/tmp';

const skip = existsSync(sampleModelPath()) ? false : `sample model missing at ${sampleModelPath()}`;

describe('quantbench eval on a .tflite', { skip }, () => {
  it('evaluates an int8 .tflite with the firmware runtime and agrees with compress on the same samples', async () => {
    const out = tempDir();
    const compress = await runCliAsync(
      ['compress', sampleModelPath(), '--recipe', 'int8', '--data', 'fashion-mnist:test', '--eval-samples', '300', '--out', out, '--no-record', '--json'],
      { timeoutMs: 300_000 },
    );
    assert.equal(compress.status, 0, compress.stderr);
    const report = JSON.parse(compress.stdout) as { int8: { accuracy: number; samples: number } };

    const evaluated = await runCliAsync(['eval', path.join(out, 'model.tflite'), '--data', 'fashion-mnist:test', '--limit', '300', '--json'], { timeoutMs: 120_000 });
    assert.equal(evaluated.status, 0, evaluated.stderr);
    const result = JSON.parse(evaluated.stdout) as { accuracy: number; samples: number; dtype: string; backend: string; arenaBytes: number; confusion: number[][] };
    assert.equal(result.samples, 300);
    assert.equal(result.backend, 'quantbench runtime (wasm)');
    assert.ok(result.arenaBytes > 0);
    assert.equal(result.confusion.flat().reduce((a, b) => a + b, 0), 300);
    // Same bytes, same runtime, same samples: the figure must be identical, not merely close.
    assert.equal(result.accuracy, report.int8.accuracy);
    assert.ok(result.accuracy > 0.8, `int8 accuracy ${result.accuracy}`);
  });

  it('names the model and the shapes when the dataset does not fit', { skip: missingSharedModels('kws_ref_model.tflite') }, async () => {
    const kws = sharedModel('kws_ref_model.tflite');
    const r = await runCliAsync(['eval', kws, '--data', 'fashion-mnist:test', '--limit', '5']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\[28, 28\].*\[49, 10, 1\]/);
  });
});
