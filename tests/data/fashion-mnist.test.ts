import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openDataset } from '../../core/data/dataset';
import { DatasetError } from '../../core/data/errors';
import {
  BUNDLED_FASHION_MNIST_DIR,
  DEBIAN_FASHION_MNIST_DIR,
  resolveFashionMnist,
} from '../../core/data/fashion-mnist';
import { tempDir } from '../helpers/tmp';
import { gzip, idxBytes } from './write-arrays';

function fakeSet(dir: string, prefix: 't10k' | 'train', count: number, gz: boolean): void {
  mkdirSync(dir, { recursive: true });
  const ext = gz ? '.gz' : '';
  const wrap = gz ? gzip : (b: Buffer) => b;
  writeFileSync(
    path.join(dir, `${prefix}-images-idx3-ubyte${ext}`),
    wrap(idxBytes(0x08, [count, 28, 28], new Array(count * 784).fill(7))),
  );
  writeFileSync(
    path.join(dir, `${prefix}-labels-idx1-ubyte${ext}`),
    wrap(idxBytes(0x08, [count], new Array(count).fill(3))),
  );
}

describe('fashion-mnist resolution', () => {
  const root = tempDir();
  const option = path.join(root, 'option');
  const env = path.join(root, 'env');
  const debian = path.join(root, 'debian');
  const bundled = path.join(root, 'bundled');
  fakeSet(option, 't10k', 3, true);
  fakeSet(env, 't10k', 4, false);
  fakeSet(debian, 't10k', 5, true);
  fakeSet(bundled, 't10k', 6, true);
  const missing = path.join(root, 'missing');

  it('prefers the explicit dir, then the environment, then Debian, then the bundled subset', () => {
    const base = { debianDir: debian, bundledDir: bundled };
    assert.equal(
      resolveFashionMnist('test', {
        ...base,
        dir: option,
        env: { QUANTBENCH_FASHION_MNIST_DIR: env },
      }).origin,
      'option',
    );
    assert.equal(
      resolveFashionMnist('test', { ...base, env: { QUANTBENCH_FASHION_MNIST_DIR: env } }).origin,
      'environment',
    );
    assert.equal(resolveFashionMnist('test', { ...base, env: {} }).origin, 'debian');
    const fallback = resolveFashionMnist('test', {
      debianDir: missing,
      bundledDir: bundled,
      env: {},
    });
    assert.equal(fallback.origin, 'bundled');
    assert.equal(fallback.images, path.join(bundled, 't10k-images-idx3-ubyte.gz'));
  });

  it('finds uncompressed files too', () => {
    assert.equal(
      resolveFashionMnist('test', { dir: env, env: {} }).images,
      path.join(env, 't10k-images-idx3-ubyte'),
    );
  });

  it('fails on an explicit dir without the files instead of falling through', () => {
    assert.throws(
      () => resolveFashionMnist('test', { dir: missing, debianDir: debian, env: {} }),
      (e: Error) => e.message.includes('--fashion-mnist-dir points at ' + missing),
    );
    assert.throws(
      () =>
        resolveFashionMnist('train', {
          env: { QUANTBENCH_FASHION_MNIST_DIR: option },
          debianDir: debian,
        }),
      /QUANTBENCH_FASHION_MNIST_DIR points at .* no Fashion-MNIST train files/,
    );
    assert.throws(
      () => resolveFashionMnist('train', { debianDir: missing, bundledDir: missing, env: {} }),
      (e: DatasetError) =>
        /train files not found/.test(e.message) &&
        /install the Debian package dataset-fashion-mnist/.test(e.hint ?? ''),
    );
  });

  it('says so when the bundled subset is used', async () => {
    const ds = await openDataset('fashion-mnist:test', {
      fashionMnist: { debianDir: missing, bundledDir: bundled, env: {} },
    });
    assert.equal(ds.count, 6);
    assert.match(
      ds.notices.join('\n'),
      /using the 6-image Fashion-MNIST test subset bundled with Quantbench/,
    );
    const full = await openDataset('fashion-mnist:test', {
      fashionMnist: { debianDir: debian, bundledDir: bundled, env: {} },
    });
    assert.deepEqual(full.notices, []);
  });

  it('ships a real 1,000 test + 2,000 train subset', async () => {
    for (const [split, count] of [
      ['test', 1000],
      ['train', 2000],
    ] as const) {
      const ds = await openDataset(`fashion-mnist:${split}`, {
        fashionMnist: { debianDir: missing, env: {} },
      });
      assert.equal(ds.count, count);
      assert.deepEqual(ds.sampleShape, [28, 28]);
      const first = (await ds.batches(count).next()).value!;
      const seen = new Set(first.y);
      assert.equal(seen.size, 10, 'every class is present');
      assert.ok(
        first.x.some((v: number) => v === 255) && first.x.every((v: number) => v >= 0 && v <= 255),
      );
    }
    assert.ok(
      existsSync(path.join(BUNDLED_FASHION_MNIST_DIR, 'README.md')),
      'the subset carries its license notice',
    );
  });

  it(
    'reads the full Debian set when it is installed',
    {
      skip: existsSync(DEBIAN_FASHION_MNIST_DIR)
        ? false
        : `${DEBIAN_FASHION_MNIST_DIR} not installed`,
    },
    async () => {
      const ds = await openDataset('fashion-mnist:test', { fashionMnist: { env: {} } });
      assert.equal(ds.count, 10000);
      assert.deepEqual(ds.notices, []);
    },
  );
});
