import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { idxBytes } from '../data/write-arrays';
import { tempDir } from '../helpers/tmp';
import { saveTfjsModel } from './model-files';

const run = promisify(execFile);
const bin = path.resolve(import.meta.dirname, '..', '..', 'bin', 'quantbench.mjs');

async function quantbench(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      env: { ...process.env, QUANTBENCH_DATA_DIR: tempDir() },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('quantbench eval', () => {
  const dir = tempDir();
  // 2x2 images, brightest pixel's index is the class; a Dense layer with identity weights on
  // the flattened image (after --input-scale) predicts exactly that.
  const images = path.join(dir, 'images');
  const labels = path.join(dir, 'labels');
  const pixels = [9, 0, 0, 0, 0, 9, 0, 0, 0, 0, 9, 0, 0, 0, 0, 9, 9, 0, 0, 0];
  writeFileSync(images, idxBytes(0x08, [5, 2, 2], pixels));
  writeFileSync(labels, idxBytes(0x08, [5], [0, 1, 2, 3, 1]));
  const data = `idx:${images},${labels}`;

  const modelDir = path.join(dir, 'model');
  const ready = (async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(modelDir);
    const model = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [2, 2, 1] }),
        tf.layers.dense({ units: 4, useBias: false, activation: 'softmax' }),
      ],
    });
    model.layers[1]!.setWeights([tf.eye(4)]);
    return saveTfjsModel(model, modelDir);
  })();

  it('prints accuracy, samples, dtype, backend, the confusion matrix and preprocessing as JSON', async () => {
    const file = await ready;
    const { code, stdout, stderr } = await quantbench([
      'eval',
      file,
      '--data',
      data,
      '--input-scale',
      '0.00392156862745098',
      '--json',
    ]);
    assert.equal(code, 0, stderr);
    const doc = JSON.parse(stdout);
    assert.equal(doc.accuracy, 0.8);
    assert.equal(doc.samples, 5);
    assert.equal(doc.dtype, 'float32');
    assert.ok(['tensorflow', 'wasm', 'cpu'].includes(doc.backend));
    assert.equal(doc.confusion[1][0], 1);
    assert.deepEqual(doc.preprocessing, {
      scale: 0.00392156862745098,
      offset: 0,
      reshape: { from: [2, 2], to: [2, 2, 1] },
    });
  });

  it('honours --limit and --backend cpu, and prints a human summary without --json', async () => {
    const file = await ready;
    const { code, stdout, stderr } = await quantbench([
      'eval',
      file,
      '--data',
      data,
      '--limit',
      '4',
      '--backend',
      'cpu',
    ]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /4 samples/);
    assert.match(stdout, /backend +cpu, float32/);
    assert.match(stdout, /accuracy +100\.00%/);
  });

  it('fails in one line naming the dataset and both shapes when samples do not fit the model', async () => {
    const file = await ready;
    const wide = path.join(dir, 'wide');
    writeFileSync(wide, idxBytes(0x08, [5, 3, 3], new Array(45).fill(1)));
    const { code, stdout, stderr } = await quantbench([
      'eval',
      file,
      '--data',
      `idx:${wide},${labels}`,
      '--json',
    ]);
    assert.equal(code, 1);
    assert.equal(JSON.parse(stdout).error.code, 'DATASET_SHAPE');
    assert.equal(stderr.trim().split('\n').length, 1);
    assert.match(
      stderr,
      /has samples of shape \[3, 3\] \(9 values\) but the model's input is \[2, 2, 1\]/,
    );
  });

  it('rejects a missing --data as a usage error', async () => {
    const file = await ready;
    const { code, stderr } = await quantbench(['eval', file]);
    assert.equal(code, 2);
    assert.match(stderr, /--data SPEC is required/);
  });
});
