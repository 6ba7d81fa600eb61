import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openDataset } from '../../core/data/dataset';
import { DatasetShapeError } from '../../core/data/errors';
import { applyPreprocessing, fitSampleShape } from '../../core/data/preprocess';
import { tempDir } from '../helpers/tmp';
import { idxBytes } from './write-arrays';

describe('preprocessing', () => {
  it('applies scale and offset, then per-channel mean and std', () => {
    const x = Float32Array.from([0, 255, 51, 102]);
    applyPreprocessing(x, { scale: 1 / 255, offset: -0.5, mean: [0.1, 0.2], std: [2, 4] }, 2);
    const expected = [
      (0 - 0.5 - 0.1) / 2,
      (1 - 0.5 - 0.2) / 4,
      (0.2 - 0.5 - 0.1) / 2,
      (0.4 - 0.5 - 0.2) / 4,
    ];
    expected.forEach((v, i) => assert.ok(Math.abs(x[i]! - v) < 1e-6, `${i}: ${x[i]} vs ${v}`));
  });

  it('reshapes when element counts match', () => {
    assert.deepEqual(fitSampleShape('d', [28, 28], [28, 28, 1]), [28, 28, 1]);
    assert.deepEqual(fitSampleShape('d', [28, 28], [784]), [784]);
    assert.deepEqual(fitSampleShape('d', [28, 28, 1], [28, 28]), [28, 28]);
    assert.deepEqual(fitSampleShape('d', [28, 28], [null, null, 1]), [28, 28, 1]);
    assert.deepEqual(fitSampleShape('d', [40, 640], [null, 640]), [40, 640]);
  });

  it('names the dataset, its sample shape and the model input when nothing fits', () => {
    assert.throws(
      () => fitSampleShape('fashion-mnist:test', [28, 28], [32, 32, 3]),
      (e: unknown) =>
        e instanceof DatasetShapeError &&
        e.message ===
          "dataset fashion-mnist:test has samples of shape [28, 28] (784 values) but the model's input is [32, 32, 3]" &&
        !!e.hint,
    );
    assert.throws(() => fitSampleShape('d', [28, 28], [null, 27, 1]), /input is \[\?, 27, 1\]/);
  });
});

describe('openDataset', () => {
  const dir = tempDir();
  const images = path.join(dir, 'images');
  const labels = path.join(dir, 'labels');
  writeFileSync(
    images,
    idxBytes(
      0x08,
      [10, 2, 2],
      Array.from({ length: 40 }, (_, i) => i),
    ),
  );
  writeFileSync(labels, idxBytes(0x08, [10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  const spec = `idx:${images},${labels}`;

  it('slices, limits, reshapes and preprocesses, and records what it did', async () => {
    const ds = await openDataset(`${spec}[2:9]`, {
      inputShape: [2, 2, 1],
      preprocessing: { scale: 0.5, offset: 1 },
      limit: 5,
    });
    assert.equal(ds.count, 5);
    assert.deepEqual(ds.sampleShape, [2, 2, 1]);
    assert.deepEqual(ds.preprocessing, {
      scale: 0.5,
      offset: 1,
      reshape: { from: [2, 2], to: [2, 2, 1] },
    });
    const batches = [];
    for await (const b of ds.batches(2)) batches.push(b);
    assert.deepEqual(
      batches.map((b) => [b.offset, b.size]),
      [
        [0, 2],
        [2, 2],
        [4, 1],
      ],
    );
    assert.deepEqual(batches[0]!.shape, [2, 2, 2, 1]);
    assert.deepEqual(Array.from(batches[0]!.x.subarray(0, 4)), [5, 5.5, 6, 6.5]);
    assert.deepEqual(Array.from(batches[2]!.y), [6]);
  });

  it('rejects a dataset whose samples do not fit the model and a mean with the wrong channel count', async () => {
    await assert.rejects(
      openDataset(spec, { inputShape: [3, 3, 1] }),
      /dataset idx:.* has samples of shape \[2, 2\] \(4 values\) but the model's input is \[3, 3, 1\]/,
    );
    await assert.rejects(
      openDataset(spec, {
        inputShape: [1, 2, 2],
        preprocessing: { scale: 1, offset: 0, mean: [1, 2, 3] },
      }),
      /--input-mean has 3 values but samples have 2 channels/,
    );
    await assert.rejects(openDataset(`${spec}[10:]`), /has 10 samples; the slice starts at 10/);
  });
});
