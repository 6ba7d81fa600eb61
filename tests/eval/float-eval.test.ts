import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { zipSync } from 'fflate';
import { openDataset } from '../../core/data/dataset';
import { evaluateFloat } from '../../core/eval/float-eval';
import { argmaxRows, ClassificationTally } from '../../core/eval/metrics';
import { initBackend } from '../../core/train/backend';
import { idxBytes, npyBytes } from '../data/write-arrays';
import { tempDir } from '../helpers/tmp';

/**
 * A classifier whose answer is known in advance: a Dense layer with identity weights picks
 * the largest of three inputs, so the expected confusion matrix follows from the data.
 */
function argmaxModel(): tf.LayersModel {
  const model = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [3], units: 3, useBias: false, activation: 'softmax' })],
  });
  model.layers[0]!.setWeights([tf.eye(3)]);
  return model;
}

describe('float evaluation', () => {
  const dir = tempDir();
  let backend: string;
  before(async () => {
    backend = await initBackend();
  });

  it('counts top-1 accuracy, the confusion matrix and per-class accuracy, reporting progress', async () => {
    // argmax of each row, and the label each sample claims
    const x = [5, 0, 0, 0, 5, 0, 0, 0, 5, 5, 0, 0, 0, 5, 0, 0, 0, 5, 0, 5, 0];
    const y = [0, 1, 2, 1, 1, 2, 2];
    writeFileSync(
      path.join(dir, 'c.npz'),
      zipSync({ 'x.npy': npyBytes('<f4', [7, 3], x), 'y.npy': npyBytes('<i4', [7], y) }),
    );
    const dataset = await openDataset(`npz:${path.join(dir, 'c.npz')}`, { inputShape: [3] });
    const progress: number[] = [];
    const result = await evaluateFloat(argmaxModel(), dataset, {
      batchSize: 3,
      onProgress: (p) => progress.push(p.done),
    });
    if (result.task !== 'classification') assert.fail(`scored as ${result.task}`);
    assert.equal(result.samples, 7);
    assert.equal(result.accuracy, 5 / 7);
    assert.deepEqual(result.confusion, [
      [1, 0, 0],
      [1, 2, 0],
      [0, 1, 2],
    ]);
    assert.deepEqual(result.perClassAccuracy, [1, 2 / 3, 2 / 3]);
    assert.deepEqual(progress, [3, 6, 7]);
    assert.equal(result.backend, backend);
    assert.equal(result.dtype, 'float32');
  });

  it('reports MSE for regression targets', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1 })] });
    model.layers[0]!.setWeights([tf.tensor2d([[2], [-1]]), tf.tensor1d([0.5])]);
    // predictions: 2a − b + 0.5
    writeFileSync(path.join(dir, 'rx.npy'), npyBytes('<f4', [3, 2], [1, 1, 0, 2, 3, 0]));
    writeFileSync(path.join(dir, 'ry.npy'), npyBytes('<f4', [3, 1], [1.5, -1, 6]));
    const dataset = await openDataset(
      `npy:${path.join(dir, 'rx.npy')},${path.join(dir, 'ry.npy')}`,
      { inputShape: [2] },
    );
    const result = await evaluateFloat(model, dataset);
    if (result.task !== 'regression') assert.fail(`scored as ${result.task}`);
    // errors 0, −0.5, 0.5
    assert.ok(Math.abs(result.mse - 0.5 / 3) < 1e-6, String(result.mse));
  });

  it('scores an autoencoder against its inputs', async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [4], units: 4, useBias: false })],
    });
    model.layers[0]!.setWeights([tf.eye(4).mul(0.5)]);
    writeFileSync(path.join(dir, 'ax'), idxBytes(0x08, [2, 4], [2, 2, 2, 2, 4, 4, 4, 4]));
    writeFileSync(path.join(dir, 'ay'), idxBytes(0x08, [2], [0, 0]));
    const dataset = await openDataset(`idx:${path.join(dir, 'ax')},${path.join(dir, 'ay')}`, {
      inputShape: [4],
    });
    const result = await evaluateFloat(model, dataset, { reconstruction: true });
    if (result.task !== 'reconstruction') assert.fail(`scored as ${result.task}`);
    assert.equal(result.mse, (4 * 1 + 4 * 4) / 8);
  });

  it('treats one sigmoid output as two classes split at 0.5', async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [1], units: 1, activation: 'sigmoid' })],
    });
    model.layers[0]!.setWeights([tf.tensor2d([[1]]), tf.tensor1d([0])]);
    writeFileSync(path.join(dir, 'sx.npy'), npyBytes('<f4', [4, 1], [-2, 3, 1, -1]));
    writeFileSync(path.join(dir, 'sy.npy'), npyBytes('<i8', [4], [0, 1, 0, 0]));
    const result = await evaluateFloat(
      model,
      await openDataset(`npy:${path.join(dir, 'sx.npy')},${path.join(dir, 'sy.npy')}`),
    );
    if (result.task !== 'classification') assert.fail(`scored as ${result.task}`);
    assert.deepEqual(result.confusion, [
      [2, 1],
      [0, 1],
    ]);
  });

  it('names the sample whose label the model cannot have', async () => {
    writeFileSync(
      path.join(dir, 'bad.npz'),
      zipSync({
        'x.npy': npyBytes('<f4', [2, 3], [1, 0, 0, 0, 1, 0]),
        'y.npy': npyBytes('<i4', [2], [0, 7]),
      }),
    );
    const dataset = await openDataset(`npz:${path.join(dir, 'bad.npz')}`);
    await assert.rejects(
      evaluateFloat(argmaxModel(), dataset),
      /sample 1 has label 7 but the model has 3 classes/,
    );
  });
});

describe('metrics', () => {
  it('argmax keeps the first of equal values, as tf.argMax does', () => {
    assert.deepEqual(Array.from(argmaxRows(Float32Array.from([1, 3, 3, 0, 0, 0]), 2, 3)), [1, 0]);
  });
  it('leaves per-class accuracy empty for classes without samples', () => {
    const t = new ClassificationTally(3);
    t.add(0, 0);
    t.add(2, 1);
    assert.deepEqual(t.perClassAccuracy(), [1, null, 0]);
  });
});
