import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, runCliAsync } from '../helpers/cli';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { tempDir } from '../helpers/tmp';

/** `quantbench inspect` run as a user runs it: its own process, real files. */
describe('quantbench inspect', () => {
  it(
    'reports format, Keras version, every layer and the totals of a Keras 2 .h5 as JSON',
    { skip: missingSharedModels('pretrainedResnet.h5') },
    async () => {
      const r = await runCliAsync(['inspect', sharedModel('pretrainedResnet.h5'), '--json']);
      assert.equal(r.status, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.format, 'keras2-h5');
      assert.equal(doc.kerasVersion, '2.4.0');
      assert.deepEqual(doc.inputShape, [null, 32, 32, 3]);
      assert.equal(doc.layers.length, doc.totals.layers);
      assert.equal(doc.totals.params, 78_666);
      const first = doc.layers.find((l: { className: string }) => l.className === 'Conv2D');
      // 3x3 conv, 3 -> 16 channels over a 32x32 output: 32*32*3*3*3*16 MACs.
      assert.deepEqual(first.outputShape, [null, 32, 32, 16]);
      assert.equal(first.macs, 32 * 32 * 3 * 3 * 3 * 16);
      assert.equal(first.params, 3 * 3 * 3 * 16 + 16);
      assert.equal(
        doc.totals.macs,
        doc.layers.reduce((n: number, l: { macs: number }) => n + l.macs, 0),
      );
    },
  );

  it(
    'prints a readable table for a Keras 3 .keras file',
    { skip: missingSharedModels('mnist_moonflower_cnn.keras') },
    async () => {
      const r = await runCliAsync(['inspect', sharedModel('mnist_moonflower_cnn.keras')]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /format\s+Keras 3 \(\.keras\), written by Keras 3\.1\.1/);
      assert.match(r.stdout, /conv2d_1 \(Conv2D\)\s+\(None, 11, 11, 64\)\s+18,496\s+2,230,272/);
      assert.match(
        r.stdout,
        /7 layers, 34,826 parameters \(34,826 trainable\), 2,440,960 MACs per inference/,
      );
    },
  );

  it(
    'hands .tflite files to the TFLite reader',
    {
      skip:
        missingSharedModels('kws_ref_model.tflite') ||
        (!existsSync(path.join(repoRoot, 'core', 'tflite', 'index.ts')) &&
          'core/tflite is not in this tree'),
    },
    async () => {
      const r = await runCliAsync(['inspect', sharedModel('kws_ref_model.tflite'), '--json']);
      assert.equal(r.status, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.format, 'tflite');
      assert.ok(doc.totals.ops > 0);
    },
  );

  it('fails with one line naming the file and the problem, and a JSON error with --json', async () => {
    const file = path.join(tempDir(), 'broken.keras');
    writeFileSync(file, 'PK\x03\x04 not really a zip');
    const r = await runCliAsync(['inspect', file]);
    assert.equal(r.status, 1);
    const line = r.stderr.split('\n').find((l) => l.startsWith('quantbench inspect:'));
    assert.ok(line, r.stderr);
    assert.ok(line.includes(file));
    assert.match(line, /zip/);
    const j = await runCliAsync(['inspect', file, '--json']);
    assert.equal(j.status, 1);
    assert.equal(JSON.parse(j.stdout).error.code, 'MODEL_KERAS_ZIP_INVALID');
  });
});
