import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { openDataset } from '../../core/data/dataset';
import { openFolder } from '../../core/data/folder';
import { tempDir } from '../helpers/tmp';

function png(
  width: number,
  height: number,
  pixel: (x: number, y: number) => [number, number, number],
  colorType: 0 | 2 = 2,
): Buffer {
  const img = new PNG({ width, height });
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      img.data.set([r, g, b, 255], (y * width + x) * 4);
    }
  return PNG.sync.write(img, { colorType, inputColorType: 6 } as never);
}

function jpg(width: number, height: number, rgb: [number, number, number]): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([...rgb, 255], i * 4);
  return jpeg.encode({ data, width, height }, 100).data;
}

describe('image folder reader', () => {
  const dir = tempDir();
  mkdirSync(path.join(dir, 'cats'));
  mkdirSync(path.join(dir, 'dogs'));
  writeFileSync(
    path.join(dir, 'cats', 'a.png'),
    png(4, 2, (x, y) => [x * 10, y * 20, 200]),
  );
  writeFileSync(path.join(dir, 'cats', 'b.jpg'), jpg(4, 2, [200, 40, 40]));
  writeFileSync(
    path.join(dir, 'dogs', 'c.png'),
    png(4, 2, () => [0, 255, 0]),
  );
  writeFileSync(path.join(dir, 'notes.txt'), 'not a class');

  it('labels images by sorted sub-folder and decodes PNG exactly and JPEG closely', async () => {
    const source = await openFolder(dir);
    assert.deepEqual(source.classNames, ['cats', 'dogs']);
    assert.deepEqual(source.sampleShape, [2, 4, 3]);
    const { x, y } = await source.read(0, 3);
    assert.deepEqual(Array.from(y), [0, 0, 1]);
    // a.png pixel (x=3, y=1)
    assert.deepEqual(Array.from(x.subarray((1 * 4 + 3) * 3, (1 * 4 + 3) * 3 + 3)), [30, 20, 200]);
    const jpegPixel = Array.from(x.subarray(24, 27));
    [200, 40, 40].forEach((v, i) =>
      assert.ok(Math.abs(jpegPixel[i]! - v) <= 4, `jpeg channel ${i}: ${jpegPixel[i]}`),
    );
    assert.deepEqual(Array.from(x.subarray(48, 51)), [0, 255, 0]);
  });

  it('treats grey PNGs as one channel', async () => {
    const grey = tempDir();
    mkdirSync(path.join(grey, 'only'));
    writeFileSync(
      path.join(grey, 'only', 'g.png'),
      png(3, 3, (x) => [x * 50, x * 50, x * 50], 0),
    );
    const source = await openFolder(grey);
    assert.deepEqual(source.sampleShape, [3, 3, 1]);
    assert.deepEqual(Array.from((await source.read(0, 1)).x.subarray(0, 3)), [0, 50, 100]);
  });

  it('resizes to the model input with bilinear half-pixel sampling and converts to grey', async () => {
    const dataset = await openDataset(`folder:${dir}`, { inputShape: [4, 8, 1] });
    assert.deepEqual(dataset.sampleShape, [4, 8, 1]);
    assert.deepEqual(dataset.preprocessing.resize, [4, 8]);
    const batches = [];
    for await (const b of dataset.batches(2)) batches.push(b);
    assert.deepEqual(
      batches.map((b) => b.size),
      [2, 1],
    );
    // The green image upsampled stays uniform: luminance 0.587 * 255.
    for (const v of batches[1]!.x) assert.ok(Math.abs(v - 0.587 * 255) < 1e-3);
  });

  it('rejects images of different sizes without a resize, naming both files', async () => {
    const mixed = tempDir();
    mkdirSync(path.join(mixed, 'k'));
    writeFileSync(
      path.join(mixed, 'k', '1.png'),
      png(2, 2, () => [1, 2, 3]),
    );
    writeFileSync(
      path.join(mixed, 'k', '2.png'),
      png(3, 2, () => [1, 2, 3]),
    );
    const source = await openFolder(mixed);
    await assert.rejects(source.read(0, 2), /2\.png is 3x2 but .*1\.png is 2x2/);
  });

  it('names a file that is not an image and a folder with no images', async () => {
    const broken = tempDir();
    mkdirSync(path.join(broken, 'k'));
    writeFileSync(path.join(broken, 'k', 'x.png'), 'text pretending to be a PNG');
    await assert.rejects(openFolder(broken), /x\.png is neither PNG nor JPEG/);
    const empty = tempDir();
    await assert.rejects(openFolder(empty), /has no PNG or JPEG images in class sub-folders/);
  });
});
