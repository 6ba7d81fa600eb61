import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DatasetError } from '../../core/data/errors';
import { openIdx, readIdx } from '../../core/data/idx';
import { tempDir } from '../helpers/tmp';
import { gzip, idxBytes } from './write-arrays';

describe('IDX reader', () => {
  const dir = tempDir();
  const pixels = Array.from({ length: 5 * 3 * 2 }, (_, i) => (i * 7) % 256);
  const labels = [3, 1, 4, 1, 5];
  writeFileSync(path.join(dir, 'images'), idxBytes(0x08, [5, 3, 2], pixels));
  writeFileSync(path.join(dir, 'labels'), idxBytes(0x08, [5], labels));
  writeFileSync(path.join(dir, 'images.gz'), gzip(idxBytes(0x08, [5, 3, 2], pixels)));
  writeFileSync(path.join(dir, 'labels.gz'), gzip(idxBytes(0x08, [5], labels)));

  it('reads uint8 images and labels, plain and gzipped alike', async () => {
    for (const ext of ['', '.gz']) {
      const source = await openIdx(path.join(dir, `images${ext}`), path.join(dir, `labels${ext}`));
      assert.deepEqual(source.sampleShape, [3, 2]);
      assert.equal(source.count, 5);
      assert.equal(source.labelKind, 'class');
      const { x, y } = await source.read(1, 3);
      assert.deepEqual(Array.from(x), pixels.slice(6, 24));
      assert.ok(y instanceof Int32Array);
      assert.deepEqual(Array.from(y), [1, 4, 1]);
    }
  });

  it('reads the wider element types big-endian', async () => {
    const cases: [number, number[]][] = [
      [0x09, [-3, 5, -128, 127]],
      [0x0b, [-300, 30000, 1, -1]],
      [0x0c, [-70000, 123456, 0, 7]],
      [0x0d, [1.5, -2.25, 0.125, 1e6]],
      [0x0e, [Math.PI, -Math.E, 0, 1e-3]],
    ];
    for (const [code, values] of cases) {
      const file = path.join(dir, `t${code}`);
      writeFileSync(file, idxBytes(code, [2, 2], values));
      const a = await readIdx(file);
      assert.deepEqual(a.shape, [2, 2]);
      const labelsFile = path.join(dir, 'two-labels');
      writeFileSync(labelsFile, idxBytes(0x08, [2], [0, 1]));
      const { x } = await (await openIdx(file, labelsFile)).read(0, 2);
      assert.deepEqual(
        Array.from(x),
        values.map((v) => Math.fround(v)),
      );
    }
  });

  it('names the file when the data is shorter than the header says', async () => {
    const file = path.join(dir, 'truncated');
    writeFileSync(file, idxBytes(0x08, [5, 3, 2], pixels).subarray(0, 20));
    await assert.rejects(
      readIdx(file),
      (e: Error) =>
        e instanceof DatasetError &&
        e.message.includes(file) &&
        /header says shape \[5, 3, 2\]/.test(e.message),
    );
  });

  it('rejects a file that is not IDX and a damaged gzip', async () => {
    const notIdx = path.join(dir, 'not-idx');
    writeFileSync(notIdx, 'hello world');
    await assert.rejects(readIdx(notIdx), /not-idx is not an IDX file/);
    const badGz = path.join(dir, 'bad.gz');
    writeFileSync(badGz, gzip(idxBytes(0x08, [5], labels)).subarray(0, 12));
    await assert.rejects(readIdx(badGz), /bad\.gz is a damaged gzip file/);
  });

  it('rejects labels that do not match the image count', async () => {
    const few = path.join(dir, 'few-labels');
    writeFileSync(few, idxBytes(0x08, [4], [0, 1, 2, 3]));
    await assert.rejects(
      openIdx(path.join(dir, 'images'), few),
      /has 4 labels but .*images has 5 images/,
    );
  });
});
